import { describe, expect, it } from 'vitest';
import { CutOff, cutOffLimit } from '../src/node/cut-off.ts';
import { AUTHOR_BURST, AUTHOR_RATE } from '../src/chat/constants.ts';

const options = { limit: { rate: 10, burst: 20 }, refuseMs: 60_000, maxPeers: 8 };

/** Messages `peer` gets counted on `topic` at `now` before the one that cuts it off (or `max`). */
function countUntilCutOff(cutOff: CutOff, peer: string, topic: string, now: number, max = 1_000): number {
  let counted = 0;
  while (counted < max && !cutOff.authored(peer, topic, now)) counted++;
  return counted;
}

describe('cutOffLimit', () => {
  it('is the room limit times the factor, the default one when none is given, and none when rooms have none', () => {
    expect(cutOffLimit(undefined, 2)).toEqual({ rate: 2 * AUTHOR_RATE, burst: 2 * AUTHOR_BURST });
    expect(cutOffLimit({ rate: 2.5, burst: 9 }, 1.5)).toEqual({ rate: 3.75, burst: 14 });
    expect(cutOffLimit(false, 2)).toBeUndefined();
  });
});

describe('CutOff', () => {
  it('cuts a peer off at its burst plus one, once, refuses it for refuseMs and then lets it back', () => {
    const cutOff = new CutOff(options);
    expect(countUntilCutOff(cutOff, 'f', 't', 1_000)).toBe(20);
    expect(cutOff.refuses('f', 1_000)).toBe(true);
    // Counted again while refused, it is not cut off a second time.
    expect(cutOff.authored('f', 't', 2_000)).toBe(false);
    expect(cutOff.refuses('f', 60_999)).toBe(true);
    expect(cutOff.refuses('f', 61_000)).toBe(false);
    // Let back with a bucket refilled meanwhile, and cut off again when it floods again.
    expect(countUntilCutOff(cutOff, 'f', 't', 61_000)).toBe(20);
    expect(cutOff.refuses('f', 61_000)).toBe(true);
  });

  it('lets a peer send at the rate for ever', () => {
    const cutOff = new CutOff(options);
    for (let now = 0; now < 100_000; now += 100) expect(cutOff.authored('p', 't', now)).toBe(false);
    expect(cutOff.refuses('p', 100_000)).toBe(false);
  });

  it('counts each peer and topic apart, and refuses only the peer that went over', () => {
    const cutOff = new CutOff(options);
    expect(countUntilCutOff(cutOff, 'p', 'a', 0, 20)).toBe(20);
    expect(countUntilCutOff(cutOff, 'p', 'b', 0, 20)).toBe(20);
    expect(countUntilCutOff(cutOff, 'q', 'a', 0, 20)).toBe(20);
    expect(cutOff.refuses('p', 0)).toBe(false);
    expect(cutOff.authored('p', 'a', 0)).toBe(true);
    expect(cutOff.refuses('p', 0)).toBe(true);
    expect(cutOff.refuses('q', 0)).toBe(false);
  });

  it('refuses at most maxPeers peers, letting the oldest cut-off back first', () => {
    const cutOff = new CutOff({ ...options, maxPeers: 2 });
    for (const [i, peer] of ['a', 'b', 'c'].entries()) expect(countUntilCutOff(cutOff, peer, 't', i)).toBe(20);
    expect(cutOff.refuses('a', 10)).toBe(false);
    expect(cutOff.refuses('b', 10)).toBe(true);
    expect(cutOff.refuses('c', 10)).toBe(true);
  });

  it('refuses a bad refusal time', () => {
    expect(() => new CutOff({ ...options, refuseMs: 0 })).toThrow(RangeError);
    expect(() => new CutOff({ ...options, refuseMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});
