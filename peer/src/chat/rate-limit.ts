/**
 * Per-key rate limits and per-key throttled reports, for a room's authors. Pure: the
 * caller passes the time, in ms. Both are bounded in memory: at most `maxKeys` entries,
 * and making room for a new key forgets the one idle longest, so minting keys cannot
 * grow them.
 */

/** A token bucket's shape: `rate` tokens a second on average, `burst` at once. */
export interface RateLimit {
  rate: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Returns `limit` if its rate is positive and its burst a whole number >= 1, else throws RangeError. */
export function checkRateLimit(limit: RateLimit): RateLimit {
  if (!(limit.rate > 0 && Number.isFinite(limit.rate))) throw new RangeError(`rate must be a positive number, not ${limit.rate}`);
  if (!Number.isInteger(limit.burst) || limit.burst < 1) throw new RangeError(`burst must be a whole number >= 1, not ${limit.burst}`);
  return limit;
}

function checkMaxKeys(maxKeys: number): void {
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a whole number >= 1, not ${maxKeys}`);
}

/**
 * A token bucket per key. A key seen for the first time starts with a full bucket. The
 * bucket forgotten to make room is the one idle longest: full again unless more than
 * maxKeys keys took a token within the last burst / rate seconds, and even then forgetting
 * it gives its key at most one extra burst.
 */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  /** Least recently used first: a Map iterates in insertion order, and take() re-inserts. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit, maxKeys: number) {
    checkRateLimit(limit);
    checkMaxKeys(maxKeys);
    this.#ratePerMs = limit.rate / 1000;
    this.#burst = limit.burst;
    this.#maxKeys = maxKeys;
  }

  /** Takes one token from `key`'s bucket; false (nothing taken) if it holds less than one. */
  take(key: string, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
      bucket = { tokens: this.#burst, at: now };
    } else {
      this.#buckets.delete(key);
      // A clock that steps back gives nothing and takes nothing.
      bucket.tokens = Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.at) * this.#ratePerMs);
      bucket.at = Math.max(bucket.at, now);
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Keys with a bucket. */
  get size(): number {
    return this.#buckets.size;
  }
}

interface Pending {
  reportedAt: number;
  unreported: number;
}

/**
 * Events worth a report, reported per key at most once per interval: the first at once,
 * the ones after it summed up and handed to `report` by flush() once the interval is over.
 * Every event counted is reported exactly once: a key forgotten to make room hands over
 * what it still holds.
 */
export class ThrottledReports {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #report: (key: string, count: number) => void;
  /** Least recently counted first. */
  readonly #pending = new Map<string, Pending>();

  constructor(intervalMs: number, maxKeys: number, report: (key: string, count: number) => void) {
    if (!(intervalMs >= 0 && Number.isFinite(intervalMs))) throw new RangeError(`intervalMs must be a number >= 0, not ${intervalMs}`);
    checkMaxKeys(maxKeys);
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
    this.#report = report;
  }

  /** Counts one event for `key`; reports it (with any held back) if the key's last report is an interval old. */
  count(key: string, now: number): void {
    let entry = this.#pending.get(key);
    if (entry === undefined) {
      if (this.#pending.size >= this.#maxKeys) this.#forget(this.#pending.keys().next().value as string);
      entry = { reportedAt: Number.NEGATIVE_INFINITY, unreported: 0 };
    } else {
      this.#pending.delete(key);
    }
    this.#pending.set(key, entry);
    entry.unreported++;
    if (now - entry.reportedAt >= this.#intervalMs) this.#send(key, entry, now);
  }

  /** Reports what each key held back once its interval is over, and forgets keys with nothing left to report. */
  flush(now: number): void {
    for (const [key, entry] of this.#pending) {
      if (now - entry.reportedAt < this.#intervalMs) continue;
      if (entry.unreported > 0) this.#send(key, entry, now);
      else this.#pending.delete(key);
    }
  }

  /** Keys tracked: reported within the interval, or holding events back. */
  get size(): number {
    return this.#pending.size;
  }

  #send(key: string, entry: Pending, now: number): void {
    const count = entry.unreported;
    entry.unreported = 0;
    entry.reportedAt = now;
    this.#report(key, count);
  }

  #forget(key: string): void {
    const entry = this.#pending.get(key);
    this.#pending.delete(key);
    if (entry !== undefined && entry.unreported > 0) this.#report(key, entry.unreported);
  }
}
