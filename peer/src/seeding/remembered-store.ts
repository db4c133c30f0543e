/**
 * The I/O edge of seeding/remembered.ts: DATA_DIR/members.json, read strictly at start
 * and rewritten (temp file, then rename) a moment after membership changes, every few
 * minutes while it is quiet, and on stop. A file that is unreadable, too large, of
 * another version or another peer's is reported once and ignored: it is only a hint, and
 * the next write replaces it.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import { MAX_ADDR_BYTES, MAX_ADDRS } from '../membership/constants.ts';
import { MAX_REMEMBER_MEMBERS, MEMBERS_FILE } from '../config.ts';
import { remember } from './remembered.ts';
import type { RememberPolicy, RememberedMember } from './remembered.ts';

export const REMEMBERED_VERSION = 1;
/** Room for MAX_REMEMBER_MEMBERS members with MAX_ADDRS addresses of MAX_ADDR_BYTES each, and their JSON. */
export const MAX_REMEMBERED_FILE_BYTES = MAX_REMEMBER_MEMBERS * (MAX_ADDRS * (MAX_ADDR_BYTES + 4) + 160) + 256;
/** A burst of membership changes (a network forming) costs one write. */
const WRITE_DELAY_MS = 2_000;
/** Refreshes the last-seen times of members that stay up, so a long quiet run does not expire them. */
const REFRESH_MS = 5 * 60_000;

/** A member as membership sees it now. */
export interface LiveMember {
  readonly peerId: string;
  readonly addrs: readonly string[];
}

export interface RememberedStoreOptions {
  path: string;
  /** Our own peer ID: the file must be ours, and we are never in it. */
  self: string;
  policy: RememberPolicy;
  /** The members alive now, with the addresses their claims carry. */
  live: () => readonly LiveMember[];
  log: Logger;
  now?: () => number;
}

/** Why a file's content cannot be used. */
export class RememberedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RememberedFileError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function member(value: unknown, at: number): RememberedMember {
  const where = `member ${at}`;
  if (!isRecord(value)) throw new RememberedFileError(`${where} is not an object`);
  const extra = Object.keys(value).find((k) => k !== 'peerId' && k !== 'addrs' && k !== 'lastSeen');
  if (extra !== undefined) throw new RememberedFileError(`${where} has an unknown field "${extra.slice(0, 40)}"`);
  const { peerId, addrs, lastSeen } = value;
  if (typeof peerId !== 'string' || peerId.length > 128) throw new RememberedFileError(`${where} has no valid peerId`);
  try {
    peerIdFromString(peerId);
  } catch {
    throw new RememberedFileError(`${where}: "${peerId.slice(0, 60)}" is not a peer ID`);
  }
  if (!Array.isArray(addrs) || addrs.length > MAX_ADDRS) throw new RememberedFileError(`${where} needs addrs: at most ${MAX_ADDRS} multiaddrs`);
  for (const addr of addrs as unknown[]) {
    if (typeof addr !== 'string' || addr.length > MAX_ADDR_BYTES) throw new RememberedFileError(`${where} has an address that is not a string of at most ${MAX_ADDR_BYTES} bytes`);
    try {
      multiaddr(addr);
    } catch {
      throw new RememberedFileError(`${where}: "${addr.slice(0, 60)}" is not a multiaddr`);
    }
    if (addr.endsWith(`/p2p/${peerId}`)) throw new RememberedFileError(`${where}: addresses are kept without the member's /p2p/ suffix`);
  }
  if (typeof lastSeen !== 'number' || !Number.isSafeInteger(lastSeen) || lastSeen < 0) {
    throw new RememberedFileError(`${where} needs lastSeen: milliseconds since the epoch`);
  }
  return { peerId, addrs: addrs as string[], lastSeen };
}

/** Strictly decodes a members file written for `self`; throws RememberedFileError naming the first fault. */
export function decodeRemembered(text: string, self: string): RememberedMember[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RememberedFileError('it is not JSON');
  }
  if (!isRecord(value)) throw new RememberedFileError('it is not a JSON object');
  if (value.version !== REMEMBERED_VERSION) {
    throw new RememberedFileError(`it has version ${JSON.stringify(value.version)?.slice(0, 20)}, and this peer reads version ${REMEMBERED_VERSION}`);
  }
  if (value.peerId !== self) throw new RememberedFileError(`it belongs to another peer (${String(value.peerId).slice(0, 60)}), not to ${self}`);
  const extra = Object.keys(value).find((k) => k !== 'version' && k !== 'peerId' && k !== 'members');
  if (extra !== undefined) throw new RememberedFileError(`it has an unknown field "${extra.slice(0, 40)}"`);
  if (!Array.isArray(value.members) || value.members.length > MAX_REMEMBER_MEMBERS) {
    throw new RememberedFileError(`members must be a list of at most ${MAX_REMEMBER_MEMBERS}`);
  }
  const seen = new Set<string>();
  return (value.members as unknown[]).map((m, i) => {
    const decoded = member(m, i);
    if (seen.has(decoded.peerId)) throw new RememberedFileError(`member ${i} repeats ${decoded.peerId}`);
    seen.add(decoded.peerId);
    return decoded;
  });
}

export function encodeRemembered(self: string, members: readonly RememberedMember[]): string {
  return `${JSON.stringify({ version: REMEMBERED_VERSION, peerId: self, members }, null, 1)}\n`;
}

export class RememberedStore {
  private readonly options: RememberedStoreOptions;
  private readonly now: () => number;
  private known: RememberedMember[] = [];
  private writeTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private writeFailed = false;

  constructor(options: RememberedStoreOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /**
   * Reads the file. Resolves with what is wrong with it when it cannot be used (it is
   * then ignored), undefined when it was fine or absent.
   */
  async load(): Promise<string | undefined> {
    const { path, self, policy } = this.options;
    try {
      const { size } = await stat(path);
      if (size > MAX_REMEMBERED_FILE_BYTES) throw new RememberedFileError(`it is ${size} bytes, over the ${MAX_REMEMBERED_FILE_BYTES} a members file may have`);
      this.known = remember(decodeRemembered(await readFile(path, 'utf8'), self), [], policy, this.now(), self);
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      const reason = err instanceof RememberedFileError ? err.message : (err as Error).message;
      return `ignoring the remembered members in ${path}: ${reason}`;
    }
  }

  /** For `/show config`. */
  describe(): string {
    const { path, policy } = this.options;
    return `up to ${policy.max}, each for ${Math.round(policy.maxAgeMs / 86_400_000)} days unseen, in ${path}`;
  }

  /** Starts refreshing the file while membership is quiet. */
  start(): void {
    this.refreshTimer = setInterval(() => this.changed(), REFRESH_MS);
    this.refreshTimer.unref();
  }

  /** The members remembered, newest first, the expired left out. */
  members(): RememberedMember[] {
    const { policy, self } = this.options;
    return remember(this.known, [], policy, this.now(), self);
  }

  /** Membership changed: records the live members a moment later, in one write for a burst. */
  changed(): void {
    if (this.writeTimer !== undefined) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      void this.save();
    }, WRITE_DELAY_MS);
    this.writeTimer.unref();
  }

  /** Records the live members now and stops; resolves once the file is written. */
  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.save();
  }

  /** Merges the live members in and writes the file; writes run one at a time, in order. */
  save(): Promise<void> {
    const { policy, self, live, log } = this.options;
    const now = this.now();
    let members: readonly LiveMember[];
    try {
      members = live();
    } catch (err) {
      // A node stopped under us: what was remembered stays as it was.
      log.debug({ err }, 'no live members to remember');
      return this.writing;
    }
    const seen = members.map((m) => ({ peerId: m.peerId, addrs: m.addrs.filter((a) => a.length <= MAX_ADDR_BYTES).slice(0, MAX_ADDRS), lastSeen: now }));
    this.known = remember(this.known, seen, policy, now, self);
    const text = encodeRemembered(self, this.known);
    this.writing = this.writing.then(() => this.write(text));
    return this.writing;
  }

  private async write(text: string): Promise<void> {
    const { path, log } = this.options;
    const temp = `${path}.tmp`;
    try {
      await writeFile(temp, text, { mode: 0o600 });
      await rename(temp, path);
      this.writeFailed = false;
    } catch (err) {
      // Once per run of failures: a full disk must not fill the log as well.
      if (!this.writeFailed) log.warn({ err, path }, 'could not write the remembered members');
      this.writeFailed = true;
    }
  }
}

/**
 * The store of DATA_DIR/members.json, read and refreshing; none when `max` is 0. A file
 * that cannot be used is logged, and its problem returned for the caller to report.
 */
export async function openRememberedStore(options: { dataDir: string, max: number, days: number } & Pick<RememberedStoreOptions, 'self' | 'live' | 'log'>):
Promise<{ store: RememberedStore | undefined, problem: string | undefined }> {
  const { dataDir, max, days, ...rest } = options;
  if (max === 0) return { store: undefined, problem: undefined };
  const store = new RememberedStore({ ...rest, path: join(dataDir, MEMBERS_FILE), policy: { max, maxAgeMs: days * 86_400_000 } });
  const problem = await store.load();
  if (problem !== undefined) rest.log.warn(problem);
  store.start();
  return { store, problem };
}
