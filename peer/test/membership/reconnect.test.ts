/**
 * Reconnection after a partition (the core's Serf-style reconnect): two halves that
 * declared each other dead find each other again, over dead records and over a table
 * that has forgotten them, and a member that never comes back stops being tried.
 */
import { describe, expect, it } from 'vitest';
import { LAN_PROFILE } from '../../src/membership/profiles.ts';
import { HandCluster } from './support.ts';
import type { Sent } from './support.ts';

const P = LAN_PROFILE;

/** Splits four members into {0, 1} and {2, 3}; returns the sides and a drop rule for the cut. */
function split(c: HandCluster): { left: string[], right: string[], cut: (s: Sent) => boolean } {
  const left = c.ids.slice(0, 2);
  const right = c.ids.slice(2);
  return { left, right, cut: (s) => left.includes(s.from) !== left.includes(s.to) };
}

function otherSide(c: HandCluster, id: string): string[] {
  return c.ids.slice(0, 2).includes(id) ? c.ids.slice(2) : c.ids.slice(0, 2);
}

/** Every member sees every other alive, at an incarnation above `floor(observer, subject)`. */
function allAlive(c: HandCluster, floor: (observer: string, subject: string) => number = () => -1): boolean {
  return c.ids.every((observer) => c.ids.every((subject) => {
    const view = c.core(observer).member(subject);
    return view !== undefined && view.state === 'alive' && (observer === subject || view.incarnation > floor(observer, subject));
  }));
}

/** Advances in steps of 100 ms until `done` holds; returns when, or undefined by `until`. */
function advanceUntil(c: HandCluster, until: number, done: () => boolean, drop?: (s: Sent) => boolean): number | undefined {
  while (c.time < until) {
    c.advance(c.time + 100, drop);
    if (done()) return c.time;
  }
  return undefined;
}

function failAcross(c: HandCluster, cut: (s: Sent) => boolean): void {
  const failed = (): boolean => c.ids.every((observer) => otherSide(c, observer).every((subject) =>
    c.core(observer).member(subject)?.state === 'dead'));
  expect(advanceUntil(c, c.time + 30_000, failed, cut)).toBeDefined();
}

describe('reconnection after a partition', () => {
  it('dead on both sides: fresh alive claims with higher incarnations override the dead records', () => {
    const c = new HandCluster(4);
    const { cut } = split(c);
    failAcross(c, cut);
    // Each side's dead record, and the incarnation it was declared dead at.
    const deadAt = new Map(c.ids.flatMap((o) => otherSide(c, o).map((s) => [`${o}/${s}`, c.core(o).member(s)!.incarnation] as const)));
    expect(c.eventsOf('member-failed')).toHaveLength(8);
    // Past gossipToTheDead: only reconnection can bring them together.
    c.advance(c.time + 2 * P.gossipToTheDead, cut);
    const healedAt = c.time;
    const joinedBefore = c.eventsOf('member-joined').length;
    const done = advanceUntil(c, healedAt + 4 * P.reconnectInterval, () => allAlive(c, (o, s) => deadAt.get(`${o}/${s}`) ?? -1));
    expect(done).toBeDefined();
    // Every observer reported each member of the other side back exactly once.
    expect(c.eventsOf('member-joined').length - joinedBefore).toBe(8);
    expect(c.eventsOf('member-failed')).toHaveLength(8);
  });

  it('reconnects after deadRetention forgot the other side, from the addresses it last claimed', () => {
    const c = new HandCluster(4);
    const { left, right, cut } = split(c);
    failAcross(c, cut);
    c.advance(c.time + P.deadRetention + P.deadRetention / 4 + 1000, cut);
    // Forgotten by the table, yet reachable: the reconnection target keeps its addresses.
    expect(c.core(left[0]!).member(right[0]!)).toBeUndefined();
    expect(c.core(left[0]!).addressesOf(right[0]!)).toEqual(c.core(right[0]!).member(right[0]!)!.meta.addrs);
    const healedAt = c.time;
    expect(advanceUntil(c, healedAt + 4 * P.reconnectInterval, () => allAlive(c))).toBeDefined();
  });

  it('stops trying a failed member after reconnectTimeout', () => {
    const profile = { ...P, reconnectTimeout: 60_000 };
    const c = new HandCluster(3, profile);
    const gone = c.ids[2]!;
    c.stopped.add(gone);
    const toGone = (s: Sent): boolean => s.to === gone || s.from === gone;
    expect(advanceUntil(c, c.time + 30_000, () => c.ids.slice(0, 2).every((o) => c.core(o).member(gone)?.state === 'dead'), toGone)).toBeDefined();
    const failedAt = c.time;
    // Syncs to a member held dead are reconnection attempts; count them in two windows.
    let attempts = 0;
    const countAndCut = (s: Sent): boolean => {
      if (s.to === gone && s.message.type === 'sync') attempts++;
      return toGone(s);
    };
    c.advance(failedAt + profile.reconnectTimeout - profile.reconnectInterval, countAndCut);
    // Two survivors and one failed member: each tries it with probability 1/2 per interval.
    expect(attempts).toBeGreaterThan(2);
    c.advance(failedAt + profile.reconnectTimeout + profile.reconnectInterval, countAndCut);
    attempts = 0;
    c.advance(c.time + 10 * profile.reconnectInterval, countAndCut);
    expect(attempts).toBe(0);
  });
});
