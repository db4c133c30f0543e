/**
 * A bounded set of recently seen message IDs. Gossipsub forgets IDs after two minutes;
 * this cache remembers them for as long as a message may still be accepted, so a late
 * replay is never shown twice. Pure: the clock is injected.
 *
 * IDs sit in a ring in arrival order, with a Map for lookups. The ring, not the Map's own
 * order, finds the oldest entry: V8 leaves a deleted Map entry as a hole until the table
 * is rebuilt, and a walk from the front skips every hole: a full cache evicting through the
 * Map cost about forty times more per message, on every receiver.
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
  /** ID -> expiry time, for lookups. */
  private readonly expiries = new Map<string, number>();
  /** The ring: IDs and their expiry times in arrival order, `count` of them from `head`. */
  private readonly ids: (string | undefined)[];
  private readonly expiresAt: Float64Array;
  private head = 0;
  private count = 0;

  constructor(options: SeenCacheOptions) {
    if (!(options.maxEntries >= 1) || !(options.ttlMs > 0)) {
      throw new RangeError('SeenCache needs maxEntries >= 1 and ttlMs > 0');
    }
    this.options = options;
    this.ids = new Array<string | undefined>(options.maxEntries).fill(undefined);
    this.expiresAt = new Float64Array(options.maxEntries);
  }

  get size(): number {
    return this.expiries.size;
  }

  has(id: string): boolean {
    const expiry = this.expiries.get(id);
    if (expiry === undefined) return false;
    if (expiry > this.options.now()) return true;
    // Its ring slot stays until it is the oldest; dropOldest() then leaves the Map alone.
    this.expiries.delete(id);
    return false;
  }

  /** Records `id`; true if it was not already seen (the caller should deliver it). */
  add(id: string): boolean {
    if (this.has(id)) return false;
    const now = this.options.now();
    this.evictExpired(now);
    if (this.count === this.ids.length) this.dropOldest();
    const expiry = now + this.options.ttlMs;
    const slot = (this.head + this.count) % this.ids.length;
    this.ids[slot] = id;
    this.expiresAt[slot] = expiry;
    this.count++;
    this.expiries.set(id, expiry);
    return true;
  }

  /**
   * Drops expired entries from the oldest end. Arrival order is expiry order unless the
   * clock stepped back; then a few expired entries linger until evicted by size or looked
   * up, which is harmless.
   */
  private evictExpired(now: number): void {
    while (this.count > 0 && this.expiresAt[this.head]! <= now) this.dropOldest();
  }

  private dropOldest(): void {
    const id = this.ids[this.head];
    // After the clock stepped back, an expired entry can linger behind an unexpired one
    // while its ID is added again: the Map then holds the newer entry, which stays.
    if (id !== undefined && this.expiries.get(id) === this.expiresAt[this.head]) this.expiries.delete(id);
    this.ids[this.head] = undefined;
    this.head = (this.head + 1) % this.ids.length;
    this.count--;
  }
}
