import { describe, expect, it } from 'vitest';
import { SeenCache } from '../src/chat/dedupe.ts';

function cache(maxEntries: number, ttlMs: number): { seen: SeenCache, clock: { now: number } } {
  const clock = { now: 1_000 };
  return { seen: new SeenCache({ maxEntries, ttlMs, now: () => clock.now }), clock };
}

describe('SeenCache', () => {
  it('reports an ID as new exactly once', () => {
    const { seen } = cache(10, 1_000);
    expect(seen.add('a')).toBe(true);
    expect(seen.add('a')).toBe(false);
    expect(seen.has('a')).toBe(true);
    expect(seen.has('b')).toBe(false);
  });

  it('forgets an ID after its TTL', () => {
    const { seen, clock } = cache(10, 1_000);
    seen.add('a');
    clock.now += 999;
    expect(seen.has('a')).toBe(true);
    clock.now += 1;
    expect(seen.has('a')).toBe(false);
    expect(seen.add('a')).toBe(true);
  });

  it('keeps at most maxEntries, forgetting the oldest first', () => {
    const { seen } = cache(3, 60_000);
    for (const id of ['a', 'b', 'c', 'd']) seen.add(id);
    expect(seen.size).toBe(3);
    expect(seen.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => seen.has(id))).toBe(true);
  });

  it('evicts expired entries as new ones arrive', () => {
    const { seen, clock } = cache(100, 1_000);
    for (let i = 0; i < 50; i++) seen.add(`old-${i}`);
    clock.now += 1_000;
    seen.add('new');
    expect(seen.size).toBe(1);
  });

  it('stays bounded when the clock steps back', () => {
    const { seen, clock } = cache(5, 1_000);
    seen.add('a');
    clock.now -= 10_000;
    for (let i = 0; i < 10; i++) seen.add(`x-${i}`);
    expect(seen.size).toBe(5);
  });

  it('refuses nonsense bounds', () => {
    expect(() => cache(0, 1_000)).toThrow(RangeError);
    expect(() => cache(1, 0)).toThrow(RangeError);
  });
});
