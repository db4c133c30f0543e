import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { acquireDataDirLock, IDENTITY_FILE, LOCK_FILE, loadOrCreateIdentity } from '../src/identity.ts';

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'cli-chat-identity-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('child has no pid');
  return child.pid;
}

describe('loadOrCreateIdentity', () => {
  it('creates an Ed25519 key in a new data dir, mode 0600, and loads the same key after', async () => {
    const dir = join(base, 'nested', 'alice');
    const first = await loadOrCreateIdentity(dir);
    expect(first.type).toBe('Ed25519');
    const file = join(dir, IDENTITY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateIdentity(dir);
    expect(again.equals(first)).toBe(true);
    expect(peerIdFromPrivateKey(again).toString()).toBe(peerIdFromPrivateKey(first).toString());
    // No temporary files are left behind.
    expect(await readdir(dir)).toEqual([IDENTITY_FILE]);
  });

  it('gives concurrent callers the same key', async () => {
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateIdentity(base)));
    for (const key of keys) expect(key.equals(keys[0])).toBe(true);
  });

  it('refuses a corrupt key file, naming it, and leaves it untouched', async () => {
    const file = join(base, IDENTITY_FILE);
    await writeFile(file, 'not a key');
    await expect(loadOrCreateIdentity(base)).rejects.toThrow(`identity key file ${file} is corrupt`);
    expect(await readFile(file, 'utf8')).toBe('not a key');
  });

  it('names a data dir it cannot create', async () => {
    const blocker = join(base, 'file');
    await writeFile(blocker, '');
    await expect(loadOrCreateIdentity(join(blocker, 'dir'))).rejects.toThrow(`cannot create data dir ${join(blocker, 'dir')}`);
  });

  it('refuses a truncated key file', async () => {
    await loadOrCreateIdentity(base);
    const file = join(base, IDENTITY_FILE);
    const good = await readFile(file);
    await writeFile(file, good.subarray(0, 20));
    await expect(loadOrCreateIdentity(base)).rejects.toThrow(/is corrupt/);
  });
});

describe('acquireDataDirLock', () => {
  it('writes our pid and removes the lock on release', async () => {
    const release = await acquireDataDirLock(base);
    expect((await readFile(join(base, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
    await release();
    await expect(stat(join(base, LOCK_FILE))).rejects.toThrow(/ENOENT/);
    await release();
  });

  it('refuses a data dir locked by a live process', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(base, LOCK_FILE), `${child.pid}\n`);
      await expect(acquireDataDirLock(base)).rejects.toThrow(`data dir ${base} is in use by pid ${child.pid}; pass --data-dir`);
      expect((await readFile(join(base, LOCK_FILE), 'utf8')).trim()).toBe(String(child.pid));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a second lock from the same process', async () => {
    const release = await acquireDataDirLock(base);
    await expect(acquireDataDirLock(base)).rejects.toThrow(`is in use by pid ${process.pid}`);
    await release();
  });

  it('takes over a lock left by a dead process', async () => {
    const pid = await deadPid();
    await writeFile(join(base, LOCK_FILE), `${pid}\n`);
    const release = await acquireDataDirLock(base);
    expect((await readFile(join(base, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
    await release();
  });

  it('takes over a lock file that holds no pid', async () => {
    await writeFile(join(base, LOCK_FILE), 'garbage');
    const release = await acquireDataDirLock(base);
    await release();
    expect(await readdir(base)).toEqual([]);
  });

  it('lets exactly one of several concurrent contenders win a stale lock', async () => {
    await writeFile(join(base, LOCK_FILE), `${await deadPid()}\n`);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => acquireDataDirLock(base)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/in use by pid/);
    await (won[0] as PromiseFulfilledResult<() => Promise<void>>).value();
  });
});
