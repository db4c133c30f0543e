/**
 * The registry's data file: its format, a strict reader and an atomic writer. A file
 * that cannot be read back exactly is a startup error naming the file, never a silent
 * reset, because an empty registry looks healthy while every peer's lease is gone.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import Type from 'typebox';
import { BootstrapPeer, Config, describeErrors } from '@cli-chat/bootstrap-api';
import type { Registration } from '@cli-chat/bootstrap-api';

/** Names the format and its version, so a future layout can be told apart. */
export const DATA_FILE_FORMAT = 'cli-chat-bootstrap-registry/1';

const StoredRegistration = Type.Object({
  ...BootstrapPeer.properties,
  seq: Type.Integer({ minimum: 0 })
}, { additionalProperties: false });

const RegistryFile = Type.Object({
  format: Type.Literal(DATA_FILE_FORMAT),
  config: Config,
  registrations: Type.Array(StoredRegistration)
}, { additionalProperties: false });

export interface RegistrySnapshot {
  config: Config;
  registrations: Registration[];
}

/** The data file exists but does not hold a registry this server wrote. */
export class DataFileError extends Error {
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`bootstrap data file ${file} ${problem}; fix it, or move it away to start with an empty registry`);
    this.name = 'DataFileError';
    this.file = file;
  }
}

/** Reads and checks the data file; `undefined` when there is none yet (a first start). */
export async function readDataFile(file: string): Promise<RegistrySnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataFileError(file, `cannot be read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new DataFileError(file, `is not valid JSON (${(err as Error).message})`);
  }
  const problem = describeErrors(RegistryFile, data, 'file');
  if (problem !== undefined) throw new DataFileError(file, `does not follow the registry format: ${problem}`);
  const snapshot = data as RegistrySnapshot;
  const seen = new Set<string>();
  for (const r of snapshot.registrations) {
    if (seen.has(r.peerId)) throw new DataFileError(file, `lists peer ${r.peerId} twice`);
    seen.add(r.peerId);
  }
  return snapshot;
}

/**
 * Writes the snapshot to a temporary file beside the target, syncs it and renames it
 * over the target, so a crash leaves either the old file or the new one, never half.
 */
export async function writeDataFile(file: string, snapshot: RegistrySnapshot): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const body = JSON.stringify({ format: DATA_FILE_FORMAT, ...snapshot }, null, 2) + '\n';
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
