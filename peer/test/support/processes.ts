/**
 * Real processes for end-to-end tests: spawn, read JSON events from stdout, wait for
 * an event with a deadline, write commands to stdin, kill with real signals. Every
 * process started here is killed by `killAll`, which each test file calls after its tests.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { PeerEvent } from '../../src/events.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const running = new Set<ChildProcessWithoutNullStreams>();

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
}

export class Proc<T> {
  readonly child: ChildProcessWithoutNullStreams;
  readonly items: T[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<Waiter<T>>();
  private readonly listeners: ((item: T) => void)[] = [];

  /**
   * `launcher` runs node through another program that execs it, e.g. `ip netns exec NS`,
   * so the child is still node itself and real signals reach it.
   */
  constructor(args: string[], parse: (line: string) => T | undefined, env: NodeJS.ProcessEnv = {}, launcher: readonly string[] = []) {
    const [command, ...prefix] = [...launcher, process.execPath];
    this.child = spawn(command!, [...prefix, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe']
    });
    running.add(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      running.delete(this.child);
      resolve({ code, signal });
    }));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let item: T | undefined;
      try {
        item = parse(line);
      } catch (err) {
        // A process we signalled may die in the middle of a line; anything else is a fault.
        if (this.child.killed) return;
        throw err;
      }
      if (item === undefined) return;
      this.items.push(item);
      for (const listener of this.listeners) listener(item);
      for (const w of this.waiters) if (w.match(item)) { this.waiters.delete(w); w.resolve(item); }
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => this.stderr.push(line));
  }

  /** Resolves with the first item (past or future) that matches; rejects at the deadline. */
  waitFor(match: (item: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
    const seen = this.items.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = { match, resolve: (item) => { clearTimeout(timer); resolve(item); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr tail:\n${this.stderr.slice(-15).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Calls `listener` with each item as its line is read (benchmarks time them). */
  onItem(listener: (item: T) => void): void {
    this.listeners.push(listener);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

export type PeerProc = Proc<PeerEvent>;

export function parseJsonLine(line: string): PeerEvent {
  // --json promises nothing but JSON on stdout; a stray line fails the test loudly.
  return JSON.parse(line) as PeerEvent;
}

/**
 * Until gossipsub has learnt who subscribes, a line may reach nobody: sends numbered lines
 * until one reaches every receiver.
 */
export async function warmUp(sender: PeerProc, receivers: readonly PeerProc[], tag: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    sender.write(`warm-${tag}-${i}`);
    const all = await Promise.all(receivers.map((r) =>
      r.waitFor((e) => e.type === 'message' && e.text.startsWith(`warm-${tag}-`), `warm-up ${tag}`, 400).then(() => true, () => false)));
    if (all.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`mesh did not form for ${tag}`);
  }
}

/** Starts the peer exactly as `npm start -- <args>` does, with --json for the test to read. */
export function startPeer(args: string[], env: NodeJS.ProcessEnv = {}): PeerProc {
  return new Proc<PeerEvent>(['peer/src/main.ts', '--json', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', ...args], parseJsonLine, env);
}

/** What `npm run daemon -- --json` prints first: where its control API listens. */
export interface DaemonLine {
  type: 'daemon';
  socket: string;
  api: string | null;
  web: string | null;
  login: string | null;
  tokenFile: string;
}

export type DaemonProc = Proc<PeerEvent | DaemonLine>;

/** Starts a daemon as `npm run daemon -- <args>` does, with --json; `started` resolves with its API line. */
export function startDaemon(args: string[]): { proc: DaemonProc, started: Promise<DaemonLine> } {
  const proc = new Proc<PeerEvent | DaemonLine>(['peer/src/daemon.ts', '--json', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', ...args],
    (line) => JSON.parse(line) as PeerEvent | DaemonLine);
  const started = proc.waitFor((e) => e.type === 'daemon', 'the daemon to open its API') as Promise<DaemonLine>;
  return { proc, started };
}

/** What support/flooder.ts prints, one JSON object a line. */
export type FlooderEvent =
  | { type: 'ready', peerId: string }
  | { type: 'progress' | 'stopped', sent: number, failed: number, ms: number }
  | { type: 'redialled', connected: number, errors: string[] };

/** Starts support/flooder.ts: a node that floods a room once it reads `start`; see there for its flags and `Proc` for `launcher`. */
export function startFlooder(args: string[], launcher: readonly string[] = []): Proc<FlooderEvent> {
  return new Proc<FlooderEvent>(['peer/test/support/flooder.ts', ...args], (line) => JSON.parse(line) as FlooderEvent, {}, launcher);
}

/** Starts the bootstrap server as `npm run bootstrap-server -- <args>` does; resolves with its URL. */
export async function startBootstrapServer(args: string[] = [], host = '127.0.0.1', launcher: readonly string[] = []): Promise<{ proc: Proc<string>, url: string }> {
  const proc = new Proc<string>(['bootstrap-server/src/main.ts', '--host', host, '--port', '0', ...args], (line) => line, {}, launcher);
  const line = await proc.waitFor((l) => l.includes('listening on'), 'bootstrap server to listen');
  const url = /(http:\/\/\S+)/.exec(line)?.[1];
  if (!url) throw new Error(`no URL in "${line}"`);
  return { proc, url };
}

/** A TCP port that was free a moment ago, for tests that need a fixed URL before a server exists. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function killAll(): Promise<void> {
  const exits = [...running].map((child) => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGKILL');
  }));
  await Promise.all(exits);
}
