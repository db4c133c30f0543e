/**
 * Peers hosted on a worker thread of the membership benchmark (`--in-process`): the same
 * `Peer` class the command line runs (libp2p over TCP on 127.0.0.1, gossipsub, chat,
 * membership, bootstrap lease), minus the terminal. The benchmark spreads its hosted peers
 * over a few of these threads so that they use every core, as separate processes would,
 * without a Node process (and its ~20 ms of CPU a second at rest) per peer.
 *
 * The thread's side runs when this module is loaded as a worker; the benchmark's side is
 * `HostThread`. Events cross as messages stamped with the epoch time they were emitted at
 * (`performance.timeOrigin + performance.now()`, one clock for every thread of a process).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { DEFAULT_LISTEN } from '../peer/src/config.ts';
import { Peer } from '../peer/src/peer.ts';
import type { MembershipServiceStats } from '../peer/src/membership/index.ts';
import type { StatsSample } from './membership-load.ts';

interface HostConfig {
  bootstrapUrl: string;
  profile: string;
}

type Request =
  | { kind: 'start', nick: string, dir: string }
  | { kind: 'stats' }
  | { kind: 'stop' };

export type HostReport =
  | { kind: 'started', nick: string }
  | { kind: 'failed', nick: string, message: string }
  | { kind: 'event', observer: string, type: string, subject: string | undefined, epochMs: number }
  | { kind: 'stats', samples: { nick: string, ts: number, membership: MembershipServiceStats }[] }
  | { kind: 'stopped' };

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function runHost(port: NonNullable<typeof parentPort>, config: HostConfig): void {
  const log = pino({ level: 'error' }, pino.destination(2));
  const peers = new Map<string, Peer>();
  const report = (message: HostReport): void => port.postMessage(message);
  port.on('message', (request: Request) => {
    switch (request.kind) {
      case 'start': {
        const peer = new Peer({
          nick: request.nick, dataDir: request.dir, listen: [DEFAULT_LISTEN], bootstrapUrl: config.bootstrapUrl,
          hostBootstrap: false, mdns: false, membershipProfile: config.profile, room: 'lobby', log
        });
        peers.set(request.nick, peer);
        // Listeners run as the peer emits: the stamp is when this observer knew.
        peer.on((event) => {
          if (event.type === 'ready' || event.type.startsWith('member-')) {
            report({ kind: 'event', observer: request.nick, type: event.type, subject: 'nick' in event && event.type !== 'ready' ? event.nick : undefined, epochMs: epochNow() });
          }
        });
        peer.start().then(
          () => report({ kind: 'started', nick: request.nick }),
          (err: unknown) => report({ kind: 'failed', nick: request.nick, message: String(err) })
        );
        break;
      }
      case 'stats':
        report({ kind: 'stats', samples: [...peers].map(([nick, peer]) => ({ nick, ts: Date.now(), membership: peer.membershipStats() })) });
        break;
      case 'stop':
        void Promise.allSettled([...peers.values()].map((peer) => peer.stop())).then(() => report({ kind: 'stopped' }));
        break;
    }
  });
}

if (!isMainThread && parentPort !== null) runHost(parentPort, workerData as HostConfig);

/** The benchmark's handle on one host thread. */
export class HostThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<string, { resolve: () => void, reject: (err: Error) => void }>();
  #onStats: ((samples: Map<string, StatsSample>) => void) | undefined;
  #onStopped: (() => void) | undefined;

  /** `onEvent` gets every ready and member event of the hosted peers, with this thread's performance.now() time. */
  constructor(config: HostConfig, onEvent: (observer: string, type: string, subject: string | undefined, at: number) => void) {
    this.#worker = new Worker(new URL(import.meta.url), { workerData: config });
    this.#worker.on('message', (report: HostReport) => {
      switch (report.kind) {
        case 'event': onEvent(report.observer, report.type, report.subject, report.epochMs - performance.timeOrigin); break;
        case 'started': this.#waiting.get(report.nick)?.resolve(); this.#waiting.delete(report.nick); break;
        case 'failed': this.#waiting.get(report.nick)?.reject(new Error(`hosted peer ${report.nick} did not start: ${report.message}`)); this.#waiting.delete(report.nick); break;
        case 'stats': this.#onStats?.(new Map(report.samples.map((s) => [s.nick, { ts: s.ts, membership: s.membership }]))); break;
        case 'stopped': this.#onStopped?.(); break;
      }
    });
    this.#worker.on('error', (err) => {
      for (const waiter of this.#waiting.values()) waiter.reject(err);
      this.#waiting.clear();
    });
  }

  /** Starts a peer on this thread; resolves once it is ready. */
  start(nick: string, dir: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.set(nick, { resolve, reject });
      this.#worker.postMessage({ kind: 'start', nick, dir } satisfies Request);
    });
  }

  /** Every hosted peer's membership counters, read on its thread. */
  stats(): Promise<Map<string, StatsSample>> {
    return new Promise((resolve) => {
      this.#onStats = resolve;
      this.#worker.postMessage({ kind: 'stats' } satisfies Request);
    });
  }

  /** Stops every hosted peer (they leave, as /quit would make them), then the thread; bounded by `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    await Promise.race([
      new Promise<void>((resolve) => {
        this.#onStopped = resolve;
        this.#worker.postMessage({ kind: 'stop' } satisfies Request);
      }),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())
    ]);
    await this.#worker.terminate();
  }
}
