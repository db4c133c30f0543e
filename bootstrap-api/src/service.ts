/**
 * The endpoints' behaviour, shared by every backend: verify, then run the pure policy
 * inside the store's atomic update. A backend supplies the store and the transport.
 */
import { parseWith } from './validation.ts';
import { verifyRecord } from './registration.ts';
import type { VerifiedRecord } from './registration.ts';
import { decideJoin, decideLeave, decideRefill, livePeers } from './registry.ts';
import type { Decision, JoinResult, RefillResult, Registration } from './registry.ts';
import { API_VERSION } from './constants.ts';
import { ConfigPatch, RecordRequest } from './schemas.ts';
import type { Config, ListResponse, PingResponse } from './schemas.ts';

/** Storage of one backend. `update` must run `decide` and apply its decision atomically. */
export interface RegistryStore {
  update<R>(decide: (entries: readonly Registration[], config: Config) => Decision<R>): Promise<R>;
  entries(): Promise<Registration[]>;
  config(): Promise<Config>;
  setConfig(patch: ConfigPatch): Promise<Config>;
  /** Deletes every registration and returns how many there were. */
  clear(): Promise<number>;
}

/** Checks a registration; a backend may move this CPU-bound work off its event loop. */
export type RecordVerifier = (record: string, now: number) => Promise<VerifiedRecord>;

export interface RegistryServiceOptions {
  backend: string;
  now?: () => number;
  /** Defaults to `verifyRecord` on the calling thread. */
  verify?: RecordVerifier;
}

export class RegistryService {
  readonly store: RegistryStore;
  private readonly backend: string;
  private readonly now: () => number;
  private readonly verify: RecordVerifier;

  constructor(store: RegistryStore, options: RegistryServiceOptions) {
    this.store = store;
    this.backend = options.backend;
    this.now = options.now ?? Date.now;
    this.verify = options.verify ?? ((record, now) => verifyRecord(record, { now }));
  }

  ping(): PingResponse {
    return { ok: true, version: API_VERSION, backend: this.backend, time: this.now() };
  }

  async list(): Promise<ListResponse> {
    const [entries, config] = await Promise.all([this.store.entries(), this.store.config()]);
    return { peers: livePeers(entries, this.now()), ttlMs: config.ttlMs };
  }

  async join(body: unknown): Promise<JoinResult> {
    const candidate = await this.verified(body);
    return this.store.update((entries, config) => decideJoin(entries, config, candidate, this.now()));
  }

  async refill(body: unknown): Promise<RefillResult> {
    const candidate = await this.verified(body);
    return this.store.update((entries, config) => decideRefill(entries, config, candidate, this.now()));
  }

  async leave(body: unknown): Promise<{ removed: boolean }> {
    const candidate = await this.verified(body);
    return this.store.update((entries) => decideLeave(entries, candidate, this.now()));
  }

  async reset(): Promise<{ removed: number }> {
    return { removed: await this.store.clear() };
  }

  getConfig(): Promise<Config> {
    return this.store.config();
  }

  setConfig(body: unknown): Promise<Config> {
    return this.store.setConfig(parseWith(ConfigPatch, body));
  }

  private async verified(body: unknown) {
    const { record } = parseWith(RecordRequest, body);
    return this.verify(record, this.now());
  }
}
