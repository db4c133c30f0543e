import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeDigests } from '../../src/membership/digest.ts';
import { MemberIndex } from '../../src/membership/member-index.ts';
import { MemberTable } from '../../src/membership/member-table.ts';
import { seededRandom } from '../../src/membership/random.ts';
import { claimOf, ids } from './support.ts';

const memberIds = ids(40);

describe('member table', () => {
  it('keeps its maintained digests equal to a full recomputation', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 9 })), { maxLength: 120 }), (ops) => {
      const table = new MemberTable(new MemberIndex(), seededRandom(1));
      for (const [who, op, incarnation] of ops) {
        const id = memberIds[who]!;
        let handle = table.lookup(id);
        if (handle < 0) {
          handle = table.add(claimOf(id, who, 0));
          continue;
        }
        if (op === 0) table.setAlive(handle, claimOf(id, who, Math.max(incarnation, table.incarnation(handle))));
        else if (op === 1 && table.state(handle) <= 2) table.setSuspect(handle, Math.max(incarnation, table.incarnation(handle)), 0);
        else if (op === 2) table.setDead(handle, table.incarnation(handle), 0);
        else if (op === 3) table.remove(handle);
      }
      const root = computeDigests(table, [{ depth: 0, prefix: 0 }], true);
      // Depth 1 with children forces the full pass; compare the top levels both ways.
      const full = computeDigests(table, Array.from({ length: 16 }, (_, prefix) => ({ depth: 1, prefix })), true);
      let xor = 0;
      let count = 0;
      for (let prefix = 0; prefix < 16; prefix++) {
        const fast = table.topDigest(1, prefix);
        const slow = full.get(0x10000 + prefix) ?? { hash: 0, count: 0 };
        expect(fast).toEqual(slow);
        xor = (xor ^ slow.hash) >>> 0;
        count += slow.count;
      }
      expect(root.get(0)).toEqual({ hash: xor, count });
      expect(count).toBe(table.liveCount);
    }), { numRuns: 200 });
  });

  it('probes every live member once per round, in a new order each round', () => {
    const table = new MemberTable(new MemberIndex(), seededRandom(3));
    for (let i = 0; i < 20; i++) table.add(claimOf(memberIds[i]!, i));
    const rounds: number[][] = [];
    for (let r = 0; r < 3; r++) {
      const round: number[] = [];
      for (let i = 0; i < 20; i++) round.push(table.nextProbeTarget(() => false));
      rounds.push(round);
      expect(new Set(round).size).toBe(20);
    }
    expect(rounds[1]).not.toEqual(rounds[2]);
  });

  it('picks distinct random live members, never an excluded one', () => {
    const table = new MemberTable(new MemberIndex(), seededRandom(4));
    for (let i = 0; i < 30; i++) table.add(claimOf(memberIds[i]!, i));
    const excluded = table.lookup(memberIds[0]!);
    for (let i = 0; i < 50; i++) {
      const picked = table.randomLive(3, (h) => h === excluded);
      expect(new Set(picked).size).toBe(3);
      expect(picked).not.toContain(excluded);
    }
  });
});
