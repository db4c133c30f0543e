/**
 * The retransmit-limited broadcast queue: updates waiting to be piggybacked or gossiped.
 * Each update is sent at most `limit` times by this member (the limit follows the cluster
 * size, retransmitMult * log10(N + 1)), the least-sent first and, among equals, the newest
 * first. A newer update about the same member replaces the older one: only the latest
 * news about a member is worth spreading.
 */
import type { Update } from './messages.ts';

interface Item {
  readonly key: string;
  readonly update: Update;
  readonly size: number;
  transmits: number;
  /** Position in its tier, so that replacing it costs no search. */
  pos: number;
}

export class BroadcastQueue {
  /** tiers[t] holds the items sent t times, oldest first; removed items leave holes (null). */
  readonly #tiers: (Item | null)[][] = [];
  readonly #holes: number[] = [];
  readonly #byKey = new Map<string, Item>();

  /** Updates waiting. */
  get length(): number {
    return this.#byKey.size;
  }

  /** True if some update has never been sent: time for an eager gossip round. */
  get hasFresh(): boolean {
    const fresh = this.#tiers[0];
    return fresh !== undefined && fresh.length > (this.#holes[0] ?? 0);
  }

  /** Queues `update` about `key` (a member ID), replacing any pending update about it. */
  enqueue(key: string, update: Update, size: number): void {
    const old = this.#byKey.get(key);
    if (old) this.#remove(old);
    const item: Item = { key, update, size, transmits: 0, pos: 0 };
    this.#byKey.set(key, item);
    this.#push(item);
  }

  /** The pending update about `key`, if any. */
  pending(key: string): Update | undefined {
    return this.#byKey.get(key)?.update;
  }

  /**
   * Takes updates totalling at most `budget` bytes for one message, counts a transmission
   * for each, and drops those that reached `limit` transmissions.
   */
  take(budget: number, limit: number): Update[] {
    const taken: Update[] = [];
    if (this.#byKey.size === 0) return taken;
    const sent: Item[] = [];
    let left = budget;
    for (let t = 0; t < this.#tiers.length && left > 0; t++) {
      const tier = this.#tiers[t]!;
      for (let i = tier.length - 1; i >= 0 && left > 0; i--) {
        const item = tier[i];
        if (!item || item.size > left) continue;
        left -= item.size;
        taken.push(item.update);
        tier[i] = null;
        this.#holes[t] = (this.#holes[t] ?? 0) + 1;
        sent.push(item);
      }
    }
    for (const item of sent) {
      item.transmits++;
      if (item.transmits >= limit) {
        this.#byKey.delete(item.key);
      } else {
        this.#push(item);
      }
    }
    this.#compact();
    return taken;
  }

  clear(): void {
    this.#tiers.length = 0;
    this.#holes.length = 0;
    this.#byKey.clear();
  }

  #push(item: Item): void {
    while (this.#tiers.length <= item.transmits) {
      this.#tiers.push([]);
      this.#holes.push(0);
    }
    const tier = this.#tiers[item.transmits]!;
    item.pos = tier.length;
    tier.push(item);
  }

  #remove(item: Item): void {
    this.#byKey.delete(item.key);
    const tier = this.#tiers[item.transmits];
    if (tier && tier[item.pos] === item) {
      tier[item.pos] = null;
      this.#holes[item.transmits]!++;
    }
  }

  /** Squeezes the holes out of tiers that are mostly holes, and drops empty top tiers. */
  #compact(): void {
    for (let t = 0; t < this.#tiers.length; t++) {
      const tier = this.#tiers[t]!;
      const holes = this.#holes[t]!;
      if (holes > 0 && holes * 2 >= tier.length) {
        const kept = tier.filter((item): item is Item => item !== null);
        kept.forEach((item, pos) => { item.pos = pos; });
        this.#tiers[t] = kept;
        this.#holes[t] = 0;
      }
    }
    while (this.#tiers.length > 0 && this.#tiers[this.#tiers.length - 1]!.length === 0) {
      this.#tiers.pop();
      this.#holes.pop();
    }
  }
}
