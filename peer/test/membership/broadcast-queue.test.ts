import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BroadcastQueue } from '../../src/membership/broadcast-queue.ts';
import type { Update } from '../../src/membership/messages.ts';

const dead = (id: string, incarnation = 0): Update => ({ kind: 'dead', id, incarnation, from: 'x' });

describe('broadcast queue', () => {
  it('sends each update at most `limit` times, then drops it', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', dead('a'), 10);
    for (let i = 0; i < 3; i++) expect(q.take(100, 3)).toHaveLength(1);
    expect(q.take(100, 3)).toHaveLength(0);
    expect(q.length).toBe(0);
  });

  it('sends the least-sent first, and the newest among equals', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', dead('a'), 10);
    q.take(100, 10);
    q.enqueue('b', dead('b'), 10);
    q.enqueue('c', dead('c'), 10);
    expect(q.hasFresh).toBe(true);
    expect(q.take(10, 10).map((u) => (u as { id: string }).id)).toEqual(['c']);
    expect(q.take(10, 10).map((u) => (u as { id: string }).id)).toEqual(['b']);
    expect(q.hasFresh).toBe(false);
    // b and c were sent once, a twice: a comes last.
    expect(q.take(100, 10).map((u) => (u as { id: string }).id)).toEqual(['b', 'c', 'a']);
  });

  it('replaces an older update about the same member', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', dead('a', 1), 10);
    q.enqueue('a', dead('a', 2), 10);
    expect(q.length).toBe(1);
    expect(q.take(100, 5)).toEqual([dead('a', 2)]);
  });

  it('respects the byte budget and skips what does not fit', () => {
    const q = new BroadcastQueue();
    q.enqueue('big', dead('big'), 80);
    q.enqueue('small', dead('small'), 15);
    expect(q.take(50, 5)).toEqual([dead('small')]);
    expect(q.take(100, 5)).toHaveLength(2);
  });

  it('never exceeds the limit per update, whatever the sequence of operations', () => {
    fc.assert(fc.property(fc.array(fc.oneof(
      fc.record({ op: fc.constant('enqueue' as const), key: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 1, max: 60 }) }),
      fc.record({ op: fc.constant('take' as const), budget: fc.integer({ min: 0, max: 200 }) })
    ), { maxLength: 200 }), (ops) => {
      const q = new BroadcastQueue();
      const sent = new Map<Update, number>();
      for (const op of ops) {
        if (op.op === 'enqueue') q.enqueue(String(op.key), dead(String(op.key), Math.random()), op.size);
        else {
          const taken = q.take(op.budget, 4);
          const keys = new Set<string>();
          for (const u of taken) {
            sent.set(u, (sent.get(u) ?? 0) + 1);
            const key = (u as { id: string }).id;
            expect(keys.has(key)).toBe(false);
            keys.add(key);
          }
        }
      }
      for (const count of sent.values()) expect(count).toBeLessThanOrEqual(4);
    }), { numRuns: 300 });
  });
});
