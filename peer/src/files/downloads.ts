/**
 * The downloads directory on disk: partial files of running transfers, what the directory
 * holds against the quota, and moving a finished file to its final name without ever
 * replacing a file that is already there.
 */
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_PREFIX } from './constants.ts';
import { candidateName } from './safe-name.ts';

/** Names tried before a file is refused as having no free name. */
const MAX_NAME_ATTEMPTS = 1_000;

/** Where the bytes of transfer `id` (32 hex digits, checked by the codec) are written until verified. */
export function partialPath(dir: string, id: string): string {
  return join(dir, PARTIAL_PREFIX + id);
}

/** Creates the directory if needed and deletes partial files a crash or kill left behind. */
export async function prepareDownloads(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.startsWith(PARTIAL_PREFIX)) await removeIfPresent(join(dir, entry.name));
  }
}

/** Bytes of the regular files directly in `dir`, except those named in `skip`. */
export async function downloadsUsage(dir: string, skip: ReadonlySet<string>): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || skip.has(entry.name)) continue;
    try {
      total += (await lstat(join(dir, entry.name))).size;
    } catch {
      // Deleted since readdir: it no longer counts.
    }
  }
  return total;
}

/**
 * Gives the partial file its final name in `dir`: `name`, else `name (1)`, ... Each try is
 * a hard link, which fails rather than replace an existing file, so a file that appears
 * meanwhile is never overwritten; then the partial name is removed. Where hard links are
 * not supported, an exclusive copy does the same. Returns the final path.
 */
export async function publishPartial(partial: string, dir: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const target = join(dir, candidateName(name, n));
    try {
      await linkOrCopy(partial, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n + 1 >= MAX_NAME_ATTEMPTS) throw err;
      continue;
    }
    await unlink(partial);
    return target;
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
    await copyFile(from, to, constants.COPYFILE_EXCL);
  }
}

/** Deletes a file if it is there; a partial file must never survive an error path. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
