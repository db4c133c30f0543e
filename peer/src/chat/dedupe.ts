/**
 * A bounded set of recently seen message IDs. Gossipsub forgets IDs after two minutes;
 * this cache remembers them for as long as a message may still be accepted, so a late
 * replay is never shown twice. Pure: the clock is injected.
 */

export interface SeenCacheOptions {
  /** Most IDs held; the oldest are forgotten first beyond it. */
  maxEntries: number;
  /** How long an ID is remembered, in ms. */
  ttlMs: number;
  /** The clock, in ms. */
  now: () => number;
}

export class SeenCache {
  private readonly options: SeenCacheOptions;
  /** ID -> expiry time. A Map iterates in insertion order, so the oldest entry comes first. */
  private readonly expiries = new Map<string, number>();

  constructor(options: SeenCacheOptions) {
    if (!(options.maxEntries >= 1) || !(options.ttlMs > 0)) {
      throw new RangeError('SeenCache needs maxEntries >= 1 and ttlMs > 0');
    }
    this.options = options;
  }

  get size(): number {
    return this.expiries.size;
  }

  has(id: string): boolean {
    const expiry = this.expiries.get(id);
    if (expiry === undefined) return false;
    if (expiry > this.options.now()) return true;
    this.expiries.delete(id);
    return false;
  }

  /** Records `id`; true if it was not already seen (the caller should deliver it). */
  add(id: string): boolean {
    if (this.has(id)) return false;
    const now = this.options.now();
    this.evictExpired(now);
    this.expiries.set(id, now + this.options.ttlMs);
    while (this.expiries.size > this.options.maxEntries) {
      const oldest = this.expiries.keys().next();
      if (oldest.done === true) break;
      this.expiries.delete(oldest.value);
    }
    return true;
  }

  /**
   * Drops expired entries from the front. Entries are in insertion order, which is expiry
   * order unless the clock stepped back; then a few expired entries linger until evicted
   * by size or looked up, which is harmless.
   */
  private evictExpired(now: number): void {
    for (const [id, expiry] of this.expiries) {
      if (expiry > now) return;
      this.expiries.delete(id);
    }
  }
}
