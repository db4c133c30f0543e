/**
 * The registry of this server: a Map in memory, optionally mirrored to a data file.
 *
 * `update` runs the policy's `decide` synchronously over the entries and applies the
 * decision before returning to the event loop, so concurrent requests are serialized by
 * the loop itself: none can see a half-applied decision, overfill the set or lose
 * another's write. The file is only a copy for restarts; memory stays authoritative.
 *
 * Config precedence: a field given in `options.config` (the command-line flags) wins over
 * the data file, which wins over the API's defaults. A given field is written back to the
 * file, so a restart without the flag keeps it, as a change through PUT /config would.
 */
import { DEFAULT_MAX_PEERS, DEFAULT_TTL_MS, isLive } from '@cli-chat/bootstrap-api';
import type { Config, ConfigPatch, Decision, Registration, RegistryStore } from '@cli-chat/bootstrap-api';
import { DataFileError, readDataFile, writeDataFile } from './data-file.ts';
import type { RegistrySnapshot } from './data-file.ts';
import { PERSIST_DELAY_MS } from './constants.ts';

export interface FileStoreOptions {
  /** Data file to load on `open` and keep up to date; absent keeps the registry in memory only. */
  file?: string;
  /** Config fields set explicitly; each one given overrides the data file. */
  config?: ConfigPatch;
  now?: () => number;
  /**
   * Called when a background write of the data file fails. Requests keep succeeding (the
   * registry in memory is authoritative) and the write is tried again on the next change.
   */
  onPersistError?: (err: Error) => void;
}

/** A `RegistryStore` that also says when its contents changed, for caches of derived answers. */
export interface VersionedStore extends RegistryStore {
  /** Grows with every change of the registrations or the config. */
  readonly revision: number;
}

export class FileStore implements VersionedStore {
  revision = 0;
  private readonly file: string | undefined;
  private readonly explicitConfig: ConfigPatch;
  private readonly now: () => number;
  private readonly onPersistError: (err: Error) => void;
  private readonly byPeer = new Map<string, Registration>();
  private current: Config;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private closing = false;

  constructor(options: FileStoreOptions = {}) {
    this.file = options.file;
    this.explicitConfig = options.config ?? {};
    this.now = options.now ?? Date.now;
    this.onPersistError = options.onPersistError ?? (() => {});
    this.current = { maxPeers: DEFAULT_MAX_PEERS, ttlMs: DEFAULT_TTL_MS, ...this.explicitConfig };
  }

  /**
   * Loads the data file, dropping expired leases, and writes it back at once: that
   * creates it on a first start and proves now, not at the first join, that it is writable.
   */
  async open(): Promise<void> {
    if (this.file === undefined) return;
    const stored = await readDataFile(this.file);
    if (stored) {
      this.current = { ...stored.config, ...this.explicitConfig };
      const now = this.now();
      for (const r of stored.registrations) if (isLive(r, now)) this.byPeer.set(r.peerId, r);
    }
    try {
      await writeDataFile(this.file, this.snapshot());
    } catch (err) {
      throw new DataFileError(this.file, `cannot be written: ${(err as Error).message}`);
    }
  }

  async update<R>(decide: (entries: readonly Registration[], config: Config) => Decision<R>): Promise<R> {
    const decision = decide([...this.byPeer.values()], { ...this.current });
    for (const peerId of decision.remove) this.byPeer.delete(peerId);
    for (const r of decision.put) this.byPeer.set(r.peerId, r);
    if (decision.put.length > 0 || decision.remove.length > 0) this.changed();
    return decision.result;
  }

  async entries(): Promise<Registration[]> {
    return [...this.byPeer.values()];
  }

  async config(): Promise<Config> {
    return { ...this.current };
  }

  async setConfig(patch: ConfigPatch): Promise<Config> {
    this.current = { ...this.current, ...patch };
    this.changed();
    return { ...this.current };
  }

  /** Counts only live leases: expired ones were already gone for every client. */
  async clear(): Promise<number> {
    const now = this.now();
    let live = 0;
    for (const r of this.byPeer.values()) if (isLive(r, now)) live++;
    this.byPeer.clear();
    this.changed();
    return live;
  }

  /** Stops the coalescing timer and writes any change not yet on disk. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing) await this.writing;
    if (this.dirty && this.file !== undefined) {
      this.dirty = false;
      await writeDataFile(this.file, this.snapshot());
    }
  }

  private changed(): void {
    this.revision++;
    if (this.file === undefined) return;
    this.dirty = true;
    this.schedulePersist();
  }

  private schedulePersist(): void {
    if (this.closing || this.timer !== undefined || this.writing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.persist();
    }, PERSIST_DELAY_MS);
  }

  private async persist(): Promise<void> {
    if (this.file === undefined) return;
    this.dirty = false;
    let failed = false;
    this.writing = writeDataFile(this.file, this.snapshot()).catch((err: unknown) => {
      failed = true;
      this.dirty = true;
      this.onPersistError(err as Error);
    });
    await this.writing;
    this.writing = undefined;
    // Changes made during the write get their own turn. After a failure the next change
    // (at the latest the next renewal) tries again, rather than a retry loop filling the log.
    if (this.dirty && !failed) this.schedulePersist();
  }

  private snapshot(): RegistrySnapshot {
    const now = this.now();
    return {
      config: { ...this.current },
      registrations: [...this.byPeer.values()].filter((r) => isLive(r, now))
    };
  }
}
