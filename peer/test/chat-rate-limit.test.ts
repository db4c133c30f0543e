import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkRateLimit, RateLimiter, ThrottledReports } from '../src/chat/rate-limit.ts';

describe('RateLimiter', () => {
  it('lets a burst through at once, then the rate', () => {
    const limiter = new RateLimiter({ rate: 20, burst: 60 }, 10);
    for (let i = 0; i < 60; i++) expect(limiter.take('a', 1_000)).toBe(true);
    expect(limiter.take('a', 1_000)).toBe(false);
    expect(limiter.take('a', 1_049)).toBe(false);
    expect(limiter.take('a', 1_050)).toBe(true);
    expect(limiter.take('a', 1_050)).toBe(false);
    // Other keys have buckets of their own.
    expect(limiter.take('b', 1_050)).toBe(true);
    // Idle for burst / rate seconds: the whole burst is back, and no more.
    let accepted = 0;
    while (limiter.take('a', 4_050)) accepted++;
    expect(accepted).toBe(60);
  });

  it('gives nothing for a clock that steps back, nor takes anything', () => {
    const limiter = new RateLimiter({ rate: 1, burst: 1 }, 10);
    expect(limiter.take('a', 10_000)).toBe(true);
    expect(limiter.take('a', 5_000)).toBe(false);
    expect(limiter.take('a', 10_999)).toBe(false);
    expect(limiter.take('a', 11_000)).toBe(true);
  });

  it('keeps at most maxKeys buckets, forgetting the one idle longest', () => {
    const limiter = new RateLimiter({ rate: 1, burst: 1 }, 3);
    for (const key of ['a', 'b', 'c']) expect(limiter.take(key, 0)).toBe(true);
    // Used again, so 'b' is now the one idle longest.
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('d', 0)).toBe(true);
    expect(limiter.size).toBe(3);
    // 'a' and 'c' are still empty; 'b' was forgotten and starts full again.
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('c', 0)).toBe(false);
    expect(limiter.take('b', 0)).toBe(true);
  });

  it('never accepts more than burst + rate x elapsed from one key, whatever the others do', () => {
    const step = fc.record({
      // Mostly forward, sometimes back: the clock is not trusted to be monotonic.
      dt: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 200 }) }, { weight: 1, arbitrary: fc.integer({ min: -500, max: 0 }) }),
      key: fc.constantFrom('target', 'x', 'y', 'z')
    });
    fc.assert(fc.property(
      fc.double({ min: 0.1, max: 100, noNaN: true }), fc.integer({ min: 1, max: 80 }), fc.array(step, { maxLength: 400 }),
      (rate, burst, steps) => {
        // Room for every key: forgetting a bucket would hand its key a fresh burst.
        const limiter = new RateLimiter({ rate, burst }, 4);
        let now = 1_000_000;
        let first: number | undefined;
        let latest = now;
        let accepted = 0;
        for (const { dt, key } of steps) {
          now += dt;
          latest = Math.max(latest, now);
          const ok = limiter.take(key, now);
          if (key !== 'target') continue;
          first ??= now;
          if (ok) accepted++;
          expect(accepted).toBeLessThanOrEqual(burst + (rate * (latest - first)) / 1000 + 1e-9);
        }
      }
    ));
  });

  it('never refuses a key that keeps to the rate', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 80 }), fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }),
      (rate, burst, extra) => {
        const limiter = new RateLimiter({ rate, burst }, 1);
        let now = 0;
        for (const gap of extra) {
          now += Math.ceil(1000 / rate) + gap;
          expect(limiter.take('k', now)).toBe(true);
        }
      }));
  });

  it('stays within maxKeys however many keys are minted', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.nat(1000), { maxLength: 300 }), (maxKeys, keys) => {
      const limiter = new RateLimiter({ rate: 20, burst: 60 }, maxKeys);
      keys.forEach((key, i) => {
        limiter.take(String(key), i);
        expect(limiter.size).toBeLessThanOrEqual(maxKeys);
      });
    }));
  });

  it('refuses a rate or burst that would limit nothing or everything', () => {
    expect(() => checkRateLimit({ rate: 0, burst: 1 })).toThrow(RangeError);
    expect(() => checkRateLimit({ rate: Number.POSITIVE_INFINITY, burst: 1 })).toThrow(RangeError);
    expect(() => checkRateLimit({ rate: 1, burst: 0.5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ rate: 1, burst: 1 }, 0)).toThrow(RangeError);
    expect(checkRateLimit({ rate: 0.5, burst: 1 })).toEqual({ rate: 0.5, burst: 1 });
  });
});

describe('ThrottledReports', () => {
  function reports(intervalMs: number, maxKeys: number): { throttle: ThrottledReports, sent: [string, number][] } {
    const sent: [string, number][] = [];
    return { throttle: new ThrottledReports(intervalMs, maxKeys, (key, count) => sent.push([key, count])), sent };
  }

  it('reports the first at once and sums up the rest once the interval is over', () => {
    const { throttle, sent } = reports(5_000, 10);
    throttle.count('a', 0);
    expect(sent).toEqual([['a', 1]]);
    for (let t = 1; t <= 100; t++) throttle.count('a', t);
    throttle.count('b', 100);
    expect(sent).toEqual([['a', 1], ['b', 1]]);
    throttle.flush(4_999);
    expect(sent).toHaveLength(2);
    throttle.flush(5_000);
    expect(sent).toEqual([['a', 1], ['b', 1], ['a', 100]]);
    // The next one waits for the interval after that report.
    throttle.count('a', 6_000);
    expect(sent).toHaveLength(3);
    throttle.count('a', 10_000);
    expect(sent.at(-1)).toEqual(['a', 2]);
  });

  it('forgets keys with nothing left to report', () => {
    const { throttle } = reports(1_000, 10);
    throttle.count('a', 0);
    throttle.flush(500);
    expect(throttle.size).toBe(1);
    throttle.flush(1_000);
    expect(throttle.size).toBe(0);
  });

  it('reports every event exactly once, at most once per interval per key but for keys forgotten to make room', () => {
    const event = fc.record({ dt: fc.integer({ min: 0, max: 400 }), key: fc.integer({ min: 0, max: 6 }), flush: fc.boolean() });
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 2_000 }), fc.array(event, { maxLength: 300 }),
      (maxKeys, intervalMs, events) => {
        const sent: { key: string, count: number, at: number }[] = [];
        let now = 0;
        const throttle = new ThrottledReports(intervalMs, maxKeys, (key, count) => sent.push({ key, count, at: now }));
        for (const { dt, key, flush } of events) {
          now += dt;
          throttle.count(String(key), now);
          if (flush) throttle.flush(now);
          expect(throttle.size).toBeLessThanOrEqual(maxKeys);
        }
        now += intervalMs;
        throttle.flush(now);
        expect(sent.reduce((sum, r) => sum + r.count, 0)).toBe(events.length);
        expect(sent.every((r) => r.count > 0)).toBe(true);
        if (maxKeys >= 7) {
          // Nothing was forgotten: reports of one key are an interval apart.
          for (const key of new Set(sent.map((r) => r.key))) {
            const times = sent.filter((r) => r.key === key).map((r) => r.at);
            for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(intervalMs);
          }
        }
      }));
  });
});
