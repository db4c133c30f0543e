import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
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

  it('keeps an ID added again after it expired when its first entry is dropped', () => {
    const { seen, clock } = cache(3, 1_000);
    seen.add('x');
    // After the clock steps back, 'x' (still unexpired) keeps the expired first 'a' behind it in the ring.
    clock.now -= 5_000;
    seen.add('a');
    clock.now += 1_000;
    expect(seen.has('a')).toBe(false);
    expect(seen.add('a')).toBe(true);
    seen.add('b'); // full: drops 'x'
    seen.add('c'); // drops the first 'a', which must not take the second with it
    expect(seen.has('a')).toBe(true);
    expect(seen.has('x')).toBe(false);
  });

  it('answers as a plain list of the newest maxEntries unexpired IDs would, whatever the sequence', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('has' as const), id: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 600 }) })
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 80 }), (maxEntries, ops) => {
      const { seen, clock } = cache(maxEntries, 1_000);
      // The model: entries in arrival order; the expired and all but the newest maxEntries are gone.
      let model: { id: string, expiry: number }[] = [];
      const live = (id: string): boolean => model.some((e) => e.id === id && e.expiry > clock.now);
      for (const o of ops) {
        if (o.kind === 'tick') {
          clock.now += o.ms;
          continue;
        }
        const id = `m${o.id}`;
        if (o.kind === 'has') {
          expect(seen.has(id)).toBe(live(id));
          continue;
        }
        const fresh = !live(id);
        expect(seen.add(id)).toBe(fresh);
        if (fresh) {
          model = [...model.filter((e) => e.expiry > clock.now && e.id !== id), { id, expiry: clock.now + 1_000 }].slice(-maxEntries);
        }
      }
      expect(seen.size).toBeLessThanOrEqual(maxEntries);
    }));
  });

  it('refuses nonsense bounds', () => {
    expect(() => cache(0, 1_000)).toThrow(RangeError);
    expect(() => cache(1, 0)).toThrow(RangeError);
  });
});
