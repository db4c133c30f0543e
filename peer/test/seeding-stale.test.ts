import { describe, expect, it } from 'vitest';
import { seedsStale } from '../src/seeding/stale.ts';
import type { MemberState } from '../src/membership/index.ts';

function know(states: Record<string, MemberState>, unreachable: string[] = []): Parameters<typeof seedsStale>[2] {
  return { stateOf: (id) => states[id], unreachable: (id) => unreachable.includes(id) };
}

const seeds = (...ids: string[]): { peerId: string }[] => ids.map((peerId) => ({ peerId }));

describe('a stale bootstrap set', () => {
  it('is stale when every other seed failed, left or cannot be dialled', () => {
    expect(seedsStale('me', seeds('me', 'a', 'b', 'c'), know({ a: 'dead', b: 'left' }, ['c']))).toBe(true);
  });

  it('is not stale while one seed is alive or suspect to membership, even if dialling it failed', () => {
    expect(seedsStale('me', seeds('a', 'b'), know({ a: 'dead', b: 'alive' }))).toBe(false);
    expect(seedsStale('me', seeds('a', 'b'), know({ a: 'dead', b: 'suspect' }, ['b']))).toBe(false);
  });

  it('is not stale while a seed unknown to membership has not failed a dial yet', () => {
    expect(seedsStale('me', seeds('a', 'b'), know({ a: 'dead' }))).toBe(false);
  });

  it('is not stale when it is empty or holds only ourselves', () => {
    expect(seedsStale('me', [], know({}))).toBe(false);
    expect(seedsStale('me', seeds('me'), know({}))).toBe(false);
  });
});
