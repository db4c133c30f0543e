/**
 * The official Cloud Firestore emulator (the Java one that ships with the Google Cloud CLI),
 * started on a free 127.0.0.1 port for tests and for `npm run functions`.
 *
 * There is deliberately no in-memory fallback: a backend tested against an imitation would
 * prove nothing about Firestore. A missing binary is a loud error that names the path
 * looked at and how to install it.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Overrides where the emulator launcher is looked for (a path to `cloud_firestore_emulator`). */
export const EMULATOR_BINARY_ENV = 'FIRESTORE_EMULATOR_BINARY';
const KNOWN_SDK_ROOT = '/usr/lib/google-cloud-sdk';
const LAUNCHER_IN_SDK = join('platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator');
/** The JVM starts in about 5 s on an idle machine; a loaded 2-core test run can take several times that. */
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Kept to explain a failed start; the emulator is chatty, so only the end is useful. */
const OUTPUT_TAIL_CHARS = 4000;

export class EmulatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorError';
  }
}

export interface FirestoreEmulator {
  /** `127.0.0.1:PORT`, the form `FIRESTORE_EMULATOR_HOST` and the client's `host` setting take. */
  host: string;
  /** Deletes every document of one project: the emulator's own reset endpoint. */
  reset(projectId: string): Promise<void>;
  /** Stops the emulator and its JVM; resolves once they are gone. */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Environment to find the binary in; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

function sdkRootFromGcloud(): string | undefined {
  try {
    const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000
    }).trim();
    return root === '' ? undefined : root;
  } catch {
    // No gcloud on the PATH (or it failed): the known install path is the next guess.
    return undefined;
  }
}

/** Where the Google Cloud CLI may be installed: where gcloud says, and the Debian package's path. */
export function defaultSdkRoots(): string[] {
  return [...new Set([sdkRootFromGcloud(), KNOWN_SDK_ROOT].filter((r) => r !== undefined))];
}

/** The emulator launcher: the env override, else the first SDK root that has it. */
export function findEmulatorBinary(env: NodeJS.ProcessEnv = process.env, sdkRoots: () => string[] = defaultSdkRoots): string {
  const override = env[EMULATOR_BINARY_ENV];
  if (override) {
    if (!existsSync(override)) {
      throw new EmulatorError(`${EMULATOR_BINARY_ENV}=${override}, but there is no file there`);
    }
    return override;
  }
  const candidates = sdkRoots().map((root) => join(root, LAUNCHER_IN_SDK));
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  throw new EmulatorError(
    `the Cloud Firestore emulator is not installed: looked for ${candidates.join(' and ')}. ` +
    'Install it with `gcloud components install cloud-firestore-emulator` ' +
    '(or the apt package google-cloud-cli-firestore-emulator), ' +
    `or point ${EMULATOR_BINARY_ENV} at its cloud_firestore_emulator launcher.`);
}

/** A port that was free a moment ago; the emulator's own bind error covers the rare race. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new EmulatorError('could not find a free port');
  return address.port;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * The launcher is a shell script that starts java; both run in their own process group
 * (`detached`), so one signal to the group reaches the JVM too.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Starts the emulator and resolves once it answers HTTP; rejects, naming why, otherwise. */
export async function startFirestoreEmulator(options: EmulatorOptions = {}): Promise<FirestoreEmulator> {
  const binary = findEmulatorBinary(options.env);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child = spawn(binary, ['start', '--host=127.0.0.1', `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  // If this process ends without stop() (a test runner killed mid-run, an uncaught error),
  // the JVM must not outlive it. 'exit' handlers may only do synchronous work; kill is.
  const killOnExit = (): void => signalGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    const gone = exited(child);
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
    // The launcher can exit before its JVM; make sure nothing of the group is left.
    signalGroup(child, 'SIGKILL');
  };

  try {
    await waitUntilReady(child, host, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host,
    reset: async (projectId) => {
      const url = `http://${host}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`;
      const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new EmulatorError(`emulator reset of ${projectId} answered ${response.status}: ${await response.text()}`);
    },
    stop
  };
}

/**
 * Polls the emulator's root URL (it answers "Ok" once serving), and fails early if the
 * process exits first, e.g. when java is missing or the port was taken after all.
 */
async function waitUntilReady(child: ChildProcess, host: string, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  const exit = exited(child).then(() => { exitedEarly = true; });
  while (!exitedEarly) {
    if (Date.now() > deadline) {
      throw new EmulatorError(`the Firestore emulator did not answer on ${host} within ${timeoutMs} ms; its output ended with:\n${output()}`);
    }
    try {
      const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  throw new EmulatorError(`the Firestore emulator exited before it was ready (code ${String(child.exitCode)}); its output ended with:\n${output()}`);
}
