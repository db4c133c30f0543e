import { describe, expect, it } from 'vitest';
import { createAliveClaim, createLeaveClaim } from '../../src/membership/claims.ts';
import { MembershipCore, MembershipInputError } from '../../src/membership/core.ts';
import { LAN_PROFILE, suspicionBounds } from '../../src/membership/profiles.ts';
import { seededRandom } from '../../src/membership/random.ts';
import { simulatedSigner } from '../../src/membership/simulated-signer.ts';
import { HandCluster, claimOf, ids, metaOf } from './support.ts';
import type { Sent } from './support.ts';
import type { Message } from '../../src/membership/messages.ts';

const P = LAN_PROFILE;
const isPingTo = (to: string) => (s: Sent): boolean => s.message.type === 'ping' && s.to === to;

/** Runs a's probes until one targets `target` (others are answered normally); returns its ping. */
function nextPingTo(cluster: HandCluster, from: string, target: string): Sent {
  for (let i = 0; i < 20; i++) {
    const due = cluster.core(from).nextDeadline()!;
    cluster.advance(due - 1);
    cluster.time = due;
    cluster.input(from, { type: 'tick' });
    const [ping] = cluster.take((s) => s.from === from && isPingTo(target)(s));
    if (ping) return ping;
    cluster.flush();
  }
  throw new Error(`${from} never probed ${target}`);
}

describe('membership core', () => {
  it('probes round-robin and records the RTT of the ack', () => {
    const c = new HandCluster(3);
    const [a, b] = c.ids as [string, string];
    const ping = nextPingTo(c, a, b);
    c.time += 3;
    c.deliver(ping);
    const [ack] = c.take((s) => s.message.type === 'ack');
    expect(ack).toMatchObject({ from: b, to: a });
    c.time += 4;
    c.deliver(ack!);
    expect(c.core(a).member(b)).toMatchObject({ state: 'alive', rtt: 7 });
    c.advance(c.time + 5000);
    expect(c.eventsOf('member-suspect')).toEqual([]);
  });

  it('probe timeout -> ping-req -> nack -> suspect -> buddy -> refute', () => {
    const c = new HandCluster(3);
    const [a, b, r] = c.ids as [string, string, string];
    nextPingTo(c, a, b); // lost
    const start = c.time;
    c.time = start + P.probeTimeout;
    c.input(a, { type: 'tick' });
    const [req] = c.take((s) => s.message.type === 'ping-req');
    expect(req).toMatchObject({ from: a, to: r, message: { target: b, nack: true } });
    c.take(isPingTo(b)); // the direct retry is lost too
    c.deliver(req!);
    c.take((s) => s.from === r && isPingTo(b)(s)); // the relay's ping is lost
    c.time = start + P.probeTimeout + P.relayTimeout;
    c.input(r, { type: 'tick' });
    const [nack] = c.take((s) => s.message.type === 'nack');
    expect(nack).toMatchObject({ from: r, to: a });
    c.deliver(nack!);
    c.time = start + P.probeTimeout + P.indirectTimeout;
    c.input(a, { type: 'tick' });
    expect(c.eventsOf('member-suspect', b)).toMatchObject([{ observer: a, event: { peerId: b, incarnation: 0 } }]);
    expect(c.core(a).member(b)?.state).toBe('suspect');
    // Buddy system: the suspicion goes to the suspect first, which refutes with incarnation 1.
    const toB = c.take((s) => s.to === b);
    expect(toB.some((s) => s.message.updates.some((u) => u.kind === 'suspect' && u.id === b))).toBe(true);
    for (const sent of toB) c.deliver(sent);
    expect(c.core(b).stats.refutations).toBe(1);
    c.flush();
    expect(c.eventsOf('member-alive', b).map((e) => e.observer)).toContain(a);
    expect(c.core(a).member(b)).toMatchObject({ state: 'alive', incarnation: 1 });
    expect(c.core(r).member(b)).toMatchObject({ state: 'alive', incarnation: 1 });
  });

  it('hears an ack that waited unread past the probe deadlines before it judges the probe', () => {
    const c = new HandCluster(3);
    const [a, b] = c.ids as [string, string];
    const ping = nextPingTo(c, a, b);
    c.deliver(ping);
    const [ack] = c.take((s) => s.message.type === 'ack');
    // a was starved: by the time it reads the ack, both probe deadlines have passed.
    c.time += P.probeTimeout + P.indirectTimeout + 100;
    c.deliver(ack!);
    c.input(a, { type: 'tick' });
    expect(c.take((s) => s.message.type === 'ping-req')).toEqual([]);
    expect(c.eventsOf('member-suspect')).toEqual([]);
    expect(c.core(a).member(b)?.state).toBe('alive');
  });

  it('declares a silent suspect dead when its suspicion times out', () => {
    const c = new HandCluster(3);
    const [a, b] = c.ids as [string, string];
    c.stopped.add(b);
    const fromB = (s: Sent): boolean => s.to === b || s.from === b;
    nextPingTo(c, a, b);
    const start = c.time;
    c.advance(start + P.probeTimeout + P.indirectTimeout, fromB);
    const suspectedAt = c.eventsOf('member-suspect', b).find((e) => e.observer === a)!.at;
    // Three members: nobody can confirm, so the minimum timeout applies.
    const bounds = suspicionBounds(P, 3, false);
    expect(bounds.confirmations).toBe(0);
    c.advance(suspectedAt + bounds.min - 1, fromB);
    expect(c.eventsOf('member-failed', b)).toEqual([]);
    c.advance(suspectedAt + bounds.min + 50, fromB);
    const failed = c.eventsOf('member-failed', b);
    expect(failed.map((e) => e.observer).sort()).toEqual(c.ids.filter((id) => id !== b).sort());
    expect(failed.find((e) => e.observer === a)!.at).toBe(suspectedAt + bounds.min);
  });

  it('a refutation still clears a suspicion that a doubt about the refuted life confirmed', () => {
    const c = new HandCluster(4);
    const [a, x, m, r] = c.ids as [string, string, string, string];
    const gossip = (from: string, updates: Message['updates']): void =>
      void c.input(a, { type: 'message', from, message: { type: 'gossip', updates } });
    gossip(m, [{ kind: 'suspect', id: x, incarnation: 0, from: m, evidence: 'timeout' }]);
    expect(c.core(a).member(x)?.state).toBe('suspect');
    // x refuted with incarnation 1, and r already doubts that new life too; its suspicion
    // reaches a before x's refutation does.
    gossip(r, [{ kind: 'suspect', id: x, incarnation: 1, from: r, evidence: 'unreachable' }]);
    gossip(m, [{ kind: 'alive', claim: claimOf(x, 1, 1) }]);
    expect(c.core(a).member(x)).toMatchObject({ state: 'alive', incarnation: 1 });
    expect(c.eventsOf('member-alive', x).map((e) => e.observer)).toEqual([a]);
  });

  it('sends first-hand news and gossip only to members it holds a connection to, when there are any', () => {
    const members = ids(8);
    const [self, linked] = members as [string, string];
    const core = (connected?: (id: string) => boolean): MembershipCore => new MembershipCore({
      self: { id: self, meta: metaOf(0) }, profile: P, now: () => 1000, random: seededRandom(5),
      signer: simulatedSigner(self), knownMembers: members.map((id, i) => claimOf(id, i)), connected
    });
    const targetsOfNews = (c: MembershipCore): Set<string> => new Set(c.handle({ type: 'update-meta', meta: { ...metaOf(0), rooms: ['news'] } })
      .flatMap((o) => (o.type === 'send' ? [o.to] : [])));
    expect(targetsOfNews(core((id) => id === linked))).toEqual(new Set([linked]));
    // Connected to nobody: random members, as without the predicate.
    expect(targetsOfNews(core(() => false)).size).toBe(members.length - 1);
    expect(targetsOfNews(core()).size).toBe(members.length - 1);
  });

  it('a lost connection probes at once; refused sends make it fail in half a second', () => {
    const c = new HandCluster(4);
    const [a, b] = c.ids as [string, string];
    c.stopped.add(b);
    c.input(a, { type: 'connection-lost', peerId: b });
    const pings = c.take(isPingTo(b));
    const reqs = c.outbox.filter((s) => s.message.type === 'ping-req');
    expect(pings).toHaveLength(1);
    expect(reqs.length).toBe(P.indirectChecks - 1); // only two other members can relay
    c.input(a, { type: 'unreachable', peerId: b });
    // Each relay's ping to b is refused too: they nack at once.
    c.flush((s) => s.to === b);
    for (const relay of c.ids.filter((id) => id !== a && id !== b)) c.input(relay, { type: 'unreachable', peerId: b });
    c.flush((s) => s.to === b);
    const suspected = c.eventsOf('member-suspect', b).find((e) => e.observer === a)!;
    expect(suspected.at).toBe(1000);
    c.advance(1000 + P.suspicionMinUnreachable + 10, (s) => s.to === b);
    expect(c.eventsOf('member-failed', b).find((e) => e.observer === a)?.at).toBe(1000 + P.suspicionMinUnreachable);
  });

  it('a connection lost to a live member costs one probe and no suspicion', () => {
    const c = new HandCluster(4);
    const [a, b] = c.ids as [string, string];
    c.input(a, { type: 'connection-lost', peerId: b });
    c.flush();
    c.advance(c.time + 3000);
    expect(c.eventsOf('member-suspect')).toEqual([]);
  });

  it('spreads a graceful leave, then reports left', () => {
    const c = new HandCluster(5);
    const [a, ...others] = c.ids as [string, ...string[]];
    c.input(a, { type: 'leave' });
    c.flush();
    c.advance(c.time + P.leaveTimeout);
    expect(c.left.has(a)).toBe(true);
    expect(c.eventsOf('member-left', a).map((e) => e.observer).sort()).toEqual([...others].sort());
    expect(c.eventsOf('member-failed')).toEqual([]);
    expect(c.core(a).handle({ type: 'tick' })).toEqual([]);
  });

  it('refuses a forged alive claim for another member and changes nothing', () => {
    const c = new HandCluster(3);
    const [a, b, mallory] = c.ids as [string, string, string];
    const before = c.core(a).member(b);
    // Mallory signs a claim that b is at incarnation 5 with her address.
    const forged = createAliveClaim(simulatedSigner(mallory), b, 5, { ...metaOf(1), addrs: ['/ip4/6.6.6.6/tcp/1'] });
    c.input(a, { type: 'message', from: mallory, message: { type: 'gossip', updates: [{ kind: 'alive', claim: forged }] } });
    expect(c.core(a).member(b)).toEqual(before);
    expect(c.core(a).stats.rejectedClaims).toBe(1);
    expect(c.outbox).toEqual([]);
    // A forged leave is refused the same way.
    const leave = createLeaveClaim(simulatedSigner(mallory), b, 0);
    c.input(a, { type: 'message', from: mallory, message: { type: 'gossip', updates: [{ kind: 'left', claim: leave }] } });
    expect(c.core(a).member(b)?.state).toBe('alive');
    expect(c.core(a).stats.rejectedClaims).toBe(2);
    expect(c.events).toEqual([]);
  });

  it('accepts a member\'s own new metadata as member-updated everywhere', () => {
    const c = new HandCluster(3);
    const [a] = c.ids as [string];
    c.input(a, { type: 'update-meta', meta: { ...metaOf(0), nick: 'renamed', rooms: ['lobby', 'dev'] } });
    c.flush();
    c.advance(c.time + 500);
    const updated = c.eventsOf('member-updated', a);
    expect(updated).toHaveLength(2);
    expect(updated[0]!.event).toMatchObject({ nick: 'renamed', incarnation: 1 });
    expect(() => c.input(a, { type: 'update-meta', meta: { ...metaOf(0), nick: '' } })).toThrow(MembershipInputError);
    expect(c.core(a).stats.incarnation).toBe(1);
  });

  it('joins through a seed: both learn each other, the rest learn the newcomer', () => {
    const c = new HandCluster(4);
    const [seed] = c.ids as [string];
    const [newcomer] = ids(5).slice(4) as [string];
    const joiner = new MembershipCore({
      self: { id: newcomer, meta: metaOf(4) }, profile: P, now: () => c.time, random: seededRandom(77), signer: simulatedSigner(newcomer)
    });
    c.cores.set(newcomer, joiner);
    c.input(newcomer, { type: 'join', seeds: [{ id: seed, addrs: metaOf(0).addrs }] });
    c.flush();
    expect(joiner.members().map((m) => m.id).sort()).toEqual([...c.ids, newcomer].sort());
    expect(c.eventsOf('member-joined', newcomer).map((e) => e.observer).sort()).toEqual(c.ids.filter((id) => id !== newcomer).sort());
    expect(c.eventsOf('member-joined').filter((e) => e.observer === newcomer)).toHaveLength(4);
    // The members hear the newcomer arrive, so the service leaves it time to dial its seeds
    // first; the newcomer learns members that were there before it and may dial them at once.
    expect(c.eventsOf('member-joined', newcomer).every((e) => e.arrival)).toBe(true);
    expect(c.eventsOf('member-joined').filter((e) => e.observer === newcomer).some((e) => e.arrival)).toBe(false);
  });

  it('a seed announces a newcomer to announceNodes members at once (not a re-join); a leaver announces its leave', () => {
    // One gossip target, so that the eager push is told apart from the announcements.
    const profile = { ...P, announceNodes: 5, gossipNodes: 1 };
    const c = new HandCluster(8, profile);
    const [seed] = c.ids as [string];
    const [newcomer] = ids(9).slice(8) as [string];
    c.cores.set(newcomer, new MembershipCore({
      self: { id: newcomer, meta: metaOf(8) }, profile, now: () => c.time, random: seededRandom(77), signer: simulatedSigner(newcomer)
    }));
    const isAbout = (kind: 'alive' | 'left') => (s: Sent): boolean => s.message.type === 'gossip' && s.message.updates.length === 1 &&
      s.message.updates[0]!.kind === kind && s.message.updates[0]!.claim.id === newcomer;
    /** The newcomer's join syncs, delivered; then what the seed announced, taken. */
    const joinAndTakeAnnouncements = (): Sent[] => {
      c.input(newcomer, { type: 'join', seeds: [{ id: seed, addrs: [] }] });
      for (const sync of c.take((s) => s.from === newcomer && s.message.type === 'sync')) c.deliver(sync);
      return c.take((s) => s.from === seed && isAbout('alive')(s));
    };
    const first = joinAndTakeAnnouncements();
    expect(new Set(first.map((s) => s.to)).size).toBeGreaterThanOrEqual(5);
    expect(first.every((s) => s.to !== newcomer && c.ids.includes(s.to))).toBe(true);
    for (const announcement of first) c.deliver(announcement);
    expect(c.eventsOf('member-joined', newcomer).length).toBeGreaterThanOrEqual(6);
    c.flush();
    c.advance(c.time + 2000);
    expect(c.eventsOf('member-joined', newcomer)).toHaveLength(8);
    expect(joinAndTakeAnnouncements()).toEqual([]);
    c.flush();
    c.input(newcomer, { type: 'leave' });
    expect(new Set(c.take((s) => s.from === newcomer && isAbout('left')(s)).map((s) => s.to)).size).toBeGreaterThanOrEqual(5);
  });

  it('once joined, re-joins only when a seed is not a live member (a split to heal)', () => {
    const c = new HandCluster(5);
    const [a, ...seeds] = c.ids as [string, ...string[]];
    const joinSyncs = (): Sent[] => c.take((s) => s.from === a && s.message.type === 'sync' && s.message.step === 0);
    const rejoin = (): void => {
      c.input(a, { type: 'join', seeds: seeds.map((id) => ({ id, addrs: [] })) });
    };
    rejoin();
    for (const sync of joinSyncs()) c.deliver(sync);
    c.flush();
    rejoin();
    expect(joinSyncs()).toEqual([]);
    // The cluster saw a seed leave; the bootstrap set still lists it.
    c.input(seeds[0]!, { type: 'leave' });
    c.flush();
    c.advance(c.time + P.leaveTimeout);
    expect(c.core(a).member(seeds[0]!)).toMatchObject({ state: 'left' });
    rejoin();
    expect(joinSyncs().length).toBeGreaterThan(0);
  });

  it('joins through joinSeeds of its seeds at a time', () => {
    const c = new HandCluster(8);
    const [a, ...seeds] = c.ids as [string, ...string[]];
    c.input(a, { type: 'join', seeds: seeds.map((id) => ({ id, addrs: [] })) });
    const syncs = c.take((s) => s.from === a && s.message.type === 'sync' && s.message.step === 0);
    expect(new Set(syncs.map((s) => s.to)).size).toBe(P.joinSeeds);
  });

  it('a member re-joining a cluster that already knows it is answered once, and stops retrying', () => {
    // The peer re-joins through its seeds at every lease renewal; in a converged cluster
    // the seeds have nothing to send back, yet must answer, or the join retries forever.
    const c = new HandCluster(4);
    const [a, ...seeds] = c.ids as [string, ...string[]];
    c.input(a, { type: 'join', seeds: seeds.map((id) => ({ id, addrs: [] })) });
    const joinSyncs = c.outbox.filter((s) => s.from === a && s.message.type === 'sync' && s.message.step === 0);
    expect(joinSyncs).toHaveLength(seeds.length);
    const session = (joinSyncs[0]!.message as { session: number }).session;
    let retries = 0;
    const count = (sent: Sent): boolean => {
      if (sent.from === a && sent.message.type === 'sync' && sent.message.session === session && sent.message.step === 0) retries++;
      return false;
    };
    c.flush();
    c.advance(c.time + 5 * P.joinRetryInterval, count);
    expect(retries).toBe(0);
  });

  it('a restarted member outdoes the claims of its earlier life', () => {
    const c = new HandCluster(3);
    const [a, b] = c.ids as [string, string];
    // The cluster knows b at incarnation 2; then b crashes and restarts at 0.
    c.input(a, { type: 'message', from: b, message: { type: 'gossip', updates: [{ kind: 'alive', claim: createAliveClaim(simulatedSigner(b), b, 2, metaOf(1)) }] } });
    c.flush((s) => s.to === b);
    const reborn = new MembershipCore({ self: { id: b, meta: { ...metaOf(1), nick: 'reborn' } }, profile: P, now: () => c.time, random: seededRandom(5), signer: simulatedSigner(b) });
    c.cores.set(b, reborn);
    c.input(b, { type: 'join', seeds: [{ id: a, addrs: [] }] });
    c.flush();
    expect(reborn.stats.incarnation).toBe(3);
    expect(c.core(a).member(b)).toMatchObject({ incarnation: 3, meta: { nick: 'reborn' } });
  });

  it('rejects bad local input with a typed error', () => {
    const [a] = ids(1) as [string];
    expect(() => new MembershipCore({ self: { id: 'not a peer id!', meta: metaOf(0) }, profile: P, now: () => 0, random: Math.random, signer: simulatedSigner(a) }))
      .toThrow(MembershipInputError);
  });

  it('after a pause, hears what it missed before any timer concludes', () => {
    const c = new HandCluster(3);
    const [a, b] = c.ids as [string, string];
    const ping = nextPingTo(c, a, b);
    c.deliver(ping);
    const [ack] = c.take((s) => s.message.type === 'ack' && s.to === a);
    // a is stopped for 5 s with the ack waiting in its socket.
    c.time += 5000;
    c.input(a, { type: 'tick' });
    c.deliver(ack!);
    c.flush();
    expect(c.eventsOf('member-suspect')).toEqual([]);
  });
});
