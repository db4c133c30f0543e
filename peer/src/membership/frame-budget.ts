/**
 * Per-peer token buckets for inbound frames: each peer may send `ratePerSecond` frames a
 * second on average and `burst` at once. Pure: the caller passes the time.
 */
interface Bucket {
  tokens: number;
  at: number;
}

export class FrameBudgets {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(ratePerSecond: number, burst: number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
  }

  /** Takes one frame's token from `peer`'s bucket; false (nothing taken) if it is empty. */
  take(peer: string, now: number): boolean {
    let bucket = this.#buckets.get(peer);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(peer, bucket);
    }
    this.#refill(bucket, now);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets peers whose bucket has filled up again: they are as new, and memory stays bounded. */
  prune(now: number): void {
    for (const [peer, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.#burst) this.#buckets.delete(peer);
    }
  }

  /** Peers with a bucket not yet full. */
  get size(): number {
    return this.#buckets.size;
  }

  #refill(bucket: Bucket, now: number): void {
    // A clock that steps back gives nothing and takes nothing.
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsed * this.#ratePerMs);
    bucket.at = Math.max(bucket.at, now);
  }
}
