/**
 * The list answer, serialized once and reused. Listing is the hot read (every peer
 * start, every refill decision), while the set changes only on writes and when a lease
 * runs out; so the JSON is rebuilt only after a change of the store or once the
 * earliest lease in it has expired, and is otherwise sent as a ready string.
 */
import { livePeers, nextExpiry } from '@cli-chat/bootstrap-api';
import type { ListResponse } from '@cli-chat/bootstrap-api';
import type { VersionedStore } from './file-store.ts';

export class ListCache {
  private readonly store: VersionedStore;
  private readonly now: () => number;
  private json: string | undefined;
  private revision = -1;
  private validUntil = 0;

  constructor(store: VersionedStore, now: () => number) {
    this.store = store;
    this.now = now;
  }

  /**
   * The JSON text of the list response, true at this moment: synchronously while the
   * cached text holds (the hot path), through one read of the store when it does not.
   */
  body(): string | Promise<string> {
    if (this.json !== undefined && this.revision === this.store.revision && this.now() < this.validUntil) return this.json;
    return this.rebuild();
  }

  private async rebuild(): Promise<string> {
    const now = this.now();
    const revision = this.store.revision;
    const [entries, config] = await Promise.all([this.store.entries(), this.store.config()]);
    // One clock reading for both the answer and its expiry, so the cached text never
    // outlives the first lease it lists.
    const answer: ListResponse = { peers: livePeers(entries, now), ttlMs: config.ttlMs };
    this.json = JSON.stringify(answer);
    this.revision = revision;
    this.validUntil = nextExpiry(entries, now);
    return this.json;
  }
}
