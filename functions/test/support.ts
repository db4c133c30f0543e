/**
 * Helpers of the functions backend's tests: one Firestore emulator per test file, and
 * function instances served by the real Functions Framework over HTTP on 127.0.0.1, each
 * on a project of its own in that emulator, closed after the file whatever happened.
 */
import { afterAll, beforeAll } from 'vitest';
import { http } from '@google-cloud/functions-framework';
import { startFirestoreEmulator } from '../src/dev/firestore-emulator.ts';
import type { FirestoreEmulator } from '../src/dev/firestore-emulator.ts';
import { serveFunction } from '../src/dev/local-server.ts';
import { createBootstrapFunction } from '../src/bootstrap-function.ts';
import type { BootstrapFunction } from '../src/bootstrap-function.ts';
import { loadConfig } from '../src/config.ts';

/** A cold JVM on a busy 2-core machine (the other worker runs libp2p tests) can take a while. */
export const EMULATOR_START_TIMEOUT_MS = 90_000;

// No metadata server here; without this the Firestore client probes for one and prints a warning.
process.env.METADATA_SERVER_DETECTION ??= 'none';

export interface TestBackend {
  baseUrl: string;
  projectId: string;
  fn: BootstrapFunction;
}

let functionCount = 0;

/** Starts the emulator before the file's tests and stops it (and every backend) after them. */
export function useFirestoreEmulator(): { emulator: () => FirestoreEmulator, backend: (env?: NodeJS.ProcessEnv) => Promise<TestBackend> } {
  let emulator: FirestoreEmulator | undefined;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    emulator = await startFirestoreEmulator({ startTimeoutMs: EMULATOR_START_TIMEOUT_MS });
  }, EMULATOR_START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await emulator?.stop();
  }, 30_000);

  const running = (): FirestoreEmulator => {
    if (!emulator) throw new Error('the Firestore emulator is not running');
    return emulator;
  };

  /** A function instance configured from `env` (as on Cloud Functions), on a fresh project. */
  const backend = async (env: NodeJS.ProcessEnv = {}): Promise<TestBackend> => {
    const name = `bootstrap-test-${++functionCount}`;
    const projectId = `demo-${name}`;
    await running().reset(projectId);
    const fn = createBootstrapFunction(loadConfig({ GOOGLE_CLOUD_PROJECT: projectId, FIRESTORE_EMULATOR_HOST: running().host, ...env }));
    closers.push(() => fn.close());
    http(name, fn.handler);
    const server = await serveFunction(name, { host: '127.0.0.1', port: 0 });
    closers.push(() => server.close());
    return { baseUrl: server.url, projectId, fn };
  };

  return { emulator: running, backend };
}
