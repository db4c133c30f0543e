/**
 * The peer's persistent identity and the lock that keeps it to one process.
 *
 * The identity is an Ed25519 key in `<dataDir>/identity.key` (libp2p's protobuf encoding,
 * mode 0600): the peer ID is derived from it, so a peer keeps its ID across restarts. A
 * damaged key file is an error, never silently replaced, because replacing it changes the
 * peer ID. The lock file `<dataDir>/lock` holds the owner's pid: two peers on one data dir
 * would share a peer ID and fight over every connection.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';

export const IDENTITY_FILE = 'identity.key';
export const LOCK_FILE = 'lock';

/** Contenders for a stale lock take turns; this bounds how long one waits for its turn. */
const LOCK_ATTEMPTS = 40;
const LOCK_RETRY_MS = 25;

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** A unique temporary name beside `file`, for write-then-link. */
function temporaryName(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Writes `content` to `file` only if `file` does not exist, and never leaves a partial
 * file behind: the content is written to a temporary file first, then hard-linked into
 * place (link, unlike rename, refuses to replace). Returns false if `file` existed.
 */
async function createExclusively(file: string, content: string | Uint8Array): Promise<boolean> {
  const tmp = temporaryName(file);
  await writeFile(tmp, content, { mode: 0o600, flush: true });
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errorCode(err) ?? '')) throw err;
    return await createWithoutLink(file, content);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Error codes of file systems without hard links (FAT, some network and FUSE mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Exclusive create in place: still atomic, but a crash mid-write leaves a partial file. */
async function createWithoutLink(file: string, content: string | Uint8Array): Promise<boolean> {
  try {
    await writeFile(file, content, { mode: 0o600, flag: 'wx', flush: true });
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  }
}

async function ensureDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create data dir ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
}

export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  await ensureDataDir(dataDir);
  const file = join(dataDir, IDENTITY_FILE);
  const existing = await readKeyFile(file);
  if (existing) return existing;
  const key = await generateKeyPair('Ed25519');
  if (await createExclusively(file, privateKeyToProtobuf(key))) return key;
  // Another process created it between our read and our write: use theirs.
  const created = await readKeyFile(file);
  if (!created) throw new Error(`identity key file ${file} vanished while it was being created`);
  return created;
}

async function readKeyFile(file: string): Promise<PrivateKey | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw new Error(`cannot read identity key file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new Error(
      `identity key file ${file} is corrupt (${(err as Error).message}); ` +
      'restore it from a backup, or move it away to start with a new identity (and a new peer ID)',
      { cause: err }
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(err) === 'EPERM';
  }
}

/** The pid in a lock file, or undefined if it holds none (a lock from something else). */
function parsePid(content: string): number | undefined {
  const text = content.trim();
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  return Number(text);
}

async function readLock(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes `<dataDir>/lock` for this process and returns its release function. A lock whose
 * pid is dead (a crashed peer) is taken over; a live one is an error. A pid reused by an
 * unrelated process since the crash looks alive: the error names the lock file to delete.
 */
export async function acquireDataDirLock(dataDir: string): Promise<() => Promise<void>> {
  await ensureDataDir(dataDir);
  const file = join(dataDir, LOCK_FILE);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (await createExclusively(file, mine)) return () => releaseLock(file, mine);
    const content = await readLock(file);
    // Released between our two steps: try again.
    if (content === undefined) continue;
    const pid = parsePid(content);
    if (pid !== undefined && isAlive(pid)) {
      throw new Error(`data dir ${dataDir} is in use by pid ${pid}; pass --data-dir (or delete ${file} if that process is not a cli-chat peer)`);
    }
    if (!await removeStaleLock(file, content, mine)) await delay(LOCK_RETRY_MS);
  }
  throw new Error(`could not take the lock ${file}: other processes keep contending for it`);
}

/**
 * Deletes the lock if it still holds `staleContent`. Contenders take turns through a guard
 * file, so none of them can delete the fresh lock another has just created in place of
 * the stale one. Returns false if another contender holds the guard.
 */
async function removeStaleLock(file: string, staleContent: string, mine: string): Promise<boolean> {
  const guard = `${file}.takeover`;
  if (!await createExclusively(guard, mine)) {
    // A guard is held for a few microseconds; one whose holder died would block forever.
    const holder = parsePid(await readLock(guard) ?? '');
    if (holder === undefined || !isAlive(holder)) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    if (await readLock(file) === staleContent) await unlink(file);
  } finally {
    await unlink(guard).catch(() => {});
  }
  return true;
}

async function releaseLock(file: string, mine: string): Promise<void> {
  if (await readLock(file) === mine) await unlink(file).catch(() => {});
}
