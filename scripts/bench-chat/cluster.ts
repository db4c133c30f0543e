/**
 * A cluster of the chat benchmark: N processes, the first one the publisher driven through
 * stdin, the others receivers whose `message` events are read from stdout. Two kinds:
 *
 *   chat  real peers (`node peer/src/main.ts --json ...`) registered with one bootstrap
 *         server process, all in room lobby; a stdin line is a chat message.
 *   bare  `scripts/bench-chat/bare-node.ts`: the same libp2p and gossipsub settings without
 *         the chat layer; each node dials every earlier node (the full mesh of connections
 *         the chat peers build from the bootstrap set); a stdin line is published as bytes.
 *
 * Every message carries `bench <seq> ` in its text. Latency is the time this process reads
 * the receiver's event minus the time it wrote the line to the publisher.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Child } from './children.ts';

export type Kind = 'chat' | 'bare';

const READY_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 20_000;
/** Chat peers: how long membership must go without a suspicion before measuring, and the bound on waiting. */
const MEMBERSHIP_QUIET_MS = 3_000;
const MEMBERSHIP_TIMEOUT_MS = 30_000;
const WARMUP_TIMEOUT_MS = 30_000;
const WARMUP_INTERVAL_MS = 100;
/** Warm-up ends when this many consecutive messages each reached every receiver. */
const WARMUP_STREAK = 5;
const ROOM = 'lobby';
/** Length of each message's text; the bare cluster's payload is the chat wire message of the same text. */
const TEXT_LENGTH = 64;
const POLL_MS = 10;

const MESSAGE_PREFIX = '{"type":"message"';
const SENT_PREFIX = '{"type":"sent"';
const SEQ = /(bench|warm) (\d+) /;
const TS = /"ts":(\d+)/;

export interface Message {
  seq: number;
  phase: string;
  /** performance.now() when the line was written to the publisher's stdin. */
  writtenAt: number;
  /** performance.now() when the publisher's `sent` event was read. */
  sentAt: number;
  /** Per receiver: performance.now() when its event was read; NaN until then. */
  receivedAt: Float64Array;
  /** Per receiver (chat only): Date.now() at reading minus the message's own `ts`. */
  tsLagMs: Float64Array;
  received: number;
}

export interface Member {
  index: number;
  label: string;
  child: Child;
  /** ms from spawn to the `ready` event. */
  readyMs?: number;
  peerId?: string;
  addrs: string[];
  connected: Set<string>;
  errors: string[];
  rejected: number;
  rssAfterWarmupMb?: number;
  rssEndMb?: number;
  connectionsAfterWarmup?: number;
  /** Connections lost while the cluster was running (a ping timeout on a loaded host, say). */
  disconnects: number;
  /** From `/peers`: open connections, and distinct peers they go to. */
  connectionCount?: { connections: number, peers: number };
  /** Chat peers: the members this one has reported joined and not since lost. */
  members: Set<string>;
}

export interface ClusterOptions {
  kind: Kind;
  size: number;
  repo: string;
  workDir: string;
  /** Members to run under --cpu-prof, by index, with the profile file name. */
  profile: Map<number, string>;
  profileDir: string;
  /** More arguments for every member (bare: e.g. --connection-monitor). */
  extraArgs?: string[];
  /** More Node flags for every member (e.g. --import of an experiment hook). */
  extraNodeFlags?: string[];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(POLL_MS);
  }
}

export class Cluster {
  readonly kind: Kind;
  readonly options: ClusterOptions;
  readonly members: Member[] = [];
  readonly messages = new Map<number, Message>();
  bootstrap: Child | undefined;
  bootstrapUrl: string | undefined;
  warmupMs: number | undefined;
  warmupMessages = 0;
  /** Monotonic-clock windows (µs) of the 50 msg/s phase, for the profile summary. */
  readonly profileWindows: { startUs: number, endUs: number }[] = [];
  stopped = false;
  private stopping = false;
  private askedPeers = false;
  readonly warnings: string[] = [];
  private nextSeq = 1;
  /** performance.now() of the last member-suspect or member-failed any chat peer reported. */
  private lastSuspicionAt = 0;
  /** member-suspect events reported so far, summed over the members (chat peers only). */
  suspicions = 0;
  private readonly warm = new Map<number, Set<number>>();
  private warmSeq = 0;

  constructor(options: ClusterOptions) {
    this.kind = options.kind;
    this.options = options;
  }

  get publisher(): Member {
    const first = this.members[0];
    if (!first) throw new Error('cluster has no members');
    return first;
  }

  get receivers(): number {
    return this.members.length - 1;
  }

  children(): Child[] {
    return [...(this.bootstrap ? [this.bootstrap] : []), ...this.members.map((m) => m.child)];
  }

  /** Starts the bootstrap server (chat) and the members one after the other, each to `ready`. */
  async start(): Promise<void> {
    const { repo, size } = this.options;
    if (this.kind === 'chat') {
      let url: string | undefined;
      this.bootstrap = new Child('bootstrap-server', {
        script: 'bootstrap-server/src/main.ts',
        args: ['--host', '127.0.0.1', '--port', '0', '--no-data-file', '--max-peers', '16', '--log-level', 'warn'],
        cwd: repo,
        onLine: (line) => { url ??= /(http:\/\/\S+)/.exec(line)?.[1]; }
      });
      const server = this.bootstrap;
      await waitUntil(() => url !== undefined || !server.alive, READY_TIMEOUT_MS, () => 'the bootstrap server to listen');
      if (url === undefined) throw new Error(`the bootstrap server did not start: ${server.describeFailure()}`);
      this.bootstrapUrl = url;
    }
    for (let index = 0; index < size; index++) {
      const member = await this.spawnMember(index);
      await waitUntil(() => member.readyMs !== undefined || !member.child.alive, READY_TIMEOUT_MS, () => `${member.label} to be ready`);
      if (member.readyMs === undefined) throw new Error(`${member.label} exited before ready: ${member.child.describeFailure()}`);
    }
  }

  /**
   * Waits for the full mesh of connections (both kinds dial in the background), but only so
   * long: on a loaded host a ping timeout can drop one, and warm-up is the real gate.
   */
  async awaitConnections(): Promise<void> {
    const others = this.members.length - 1;
    try {
      await waitUntil(() => this.members.every((m) => m.connected.size >= others), CONNECT_TIMEOUT_MS,
        () => `every ${this.kind} member to connect to the ${others} others`);
    } catch {
      this.warnings.push(`not fully connected after ${CONNECT_TIMEOUT_MS} ms: ${this.members.map((m) => m.connected.size).join(',')} connections`);
    }
  }

  /**
   * Chat peers: waits until every peer's membership lists every other peer and none has
   * reported a suspicion for MEMBERSHIP_QUIET_MS, so the chat cluster is measured settled,
   * as the bare one (which has no membership to settle) is. Bounded: a warning, not a failure.
   */
  async awaitMembership(): Promise<void> {
    if (this.kind !== 'chat') return;
    const others = this.members.length - 1;
    const settled = (): boolean => this.members.every((m) => m.members.size >= others) &&
      performance.now() - this.lastSuspicionAt >= MEMBERSHIP_QUIET_MS;
    try {
      await waitUntil(settled, MEMBERSHIP_TIMEOUT_MS, () => `every chat peer to list the ${others} others with no suspicion for ${MEMBERSHIP_QUIET_MS} ms`);
    } catch {
      this.warnings.push(`membership not settled after ${MEMBERSHIP_TIMEOUT_MS} ms: ${this.members.map((m) => m.members.size).join(',')} members known`);
    }
  }

  /** Connections lost so far, summed over the members. */
  disconnects(): number {
    return this.members.reduce((a, m) => a + m.disconnects, 0);
  }

  private async spawnMember(index: number): Promise<Member> {
    const { repo, profile, profileDir } = this.options;
    const label = `${this.kind}-${index}`;
    const profileName = profile.get(index);
    const nodeFlags = [
      ...(this.options.extraNodeFlags ?? []),
      ...(profileName === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', profileName])
    ];
    let script: string;
    let args: string[];
    if (this.kind === 'chat') {
      const dataDir = await mkdtemp(join(this.options.workDir, `${label}-`));
      script = 'peer/src/main.ts';
      // One publisher at up to 800 msg/s: the room rate limit would measure itself, not the chat.
      args = ['--json', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--nick', `p${index}`, '--data-dir', dataDir,
        '--bootstrap', this.bootstrapUrl ?? '', '--room', ROOM, '--room-rate-limit', 'off'];
    } else {
      script = 'scripts/bench-chat/bare-node.ts';
      args = this.members.flatMap((m) => ['--dial', m.addrs[0] ?? '']);
    }
    args.push(...(this.options.extraArgs ?? []));
    // Filled in below; the line handler only runs after the constructor returns.
    const member: Member = { index, label, child: undefined as unknown as Child, addrs: [], connected: new Set(), members: new Set(), errors: [], rejected: 0, disconnects: 0 };
    member.child = new Child(label, { nodeFlags, script, args, cwd: repo, onLine: (line, at) => this.onLine(member, line, at) });
    this.members.push(member);
    return member;
  }

  private onLine(member: Member, line: string, at: number): void {
    if (line.startsWith(MESSAGE_PREFIX)) {
      const match = SEQ.exec(line);
      if (!match || member.index === 0) return;
      const seq = Number(match[2]);
      const receiver = member.index - 1;
      if (match[1] === 'warm') {
        const got = this.warm.get(seq);
        if (got) got.add(receiver);
        return;
      }
      const message = this.messages.get(seq);
      if (!message || !Number.isNaN(message.receivedAt[receiver])) return;
      message.receivedAt[receiver] = at;
      message.received++;
      if (this.kind === 'chat') {
        const ts = TS.exec(line);
        if (ts) message.tsLagMs[receiver] = Date.now() - Number(ts[1]);
      }
      return;
    }
    if (line.startsWith(SENT_PREFIX)) {
      const match = SEQ.exec(line);
      const message = match && match[1] === 'bench' ? this.messages.get(Number(match[2])) : undefined;
      if (message) message.sentAt = at;
      return;
    }
    let event: { type?: string, peerId?: string, addrs?: string[], message?: string, connections?: number, peers?: number, count?: number };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      member.errors.push(`not JSON on stdout: ${line.slice(0, 200)}`);
      return;
    }
    switch (event.type) {
      case 'ready':
        member.readyMs = at - member.child.spawnedAt;
        member.peerId = event.peerId;
        member.addrs = event.addrs ?? [];
        break;
      case 'peer-connected':
        if (event.peerId) member.connected.add(event.peerId);
        break;
      case 'peer-disconnected':
        if (event.peerId) member.connected.delete(event.peerId);
        if (!this.stopping) member.disconnects++;
        break;
      case 'error':
        if (member.errors.length < 10) member.errors.push(event.message ?? line);
        break;
      case 'rejected':
        member.rejected += event.count ?? 1;
        break;
      case 'member-joined':
      case 'member-alive':
        if (event.peerId) member.members.add(event.peerId);
        break;
      case 'member-left':
      case 'member-failed':
        if (event.peerId) member.members.delete(event.peerId);
        if (event.type === 'member-failed') this.lastSuspicionAt = at;
        break;
      case 'member-suspect':
        this.lastSuspicionAt = at;
        this.suspicions++;
        break;
      case 'info':
        if (event.connections !== undefined && event.peers !== undefined) {
          member.connectionCount = { connections: event.connections, peers: event.peers };
        } else if (event.message !== undefined && this.askedPeers) {
          // The peer's /peers: one "<short id>  <address>" line per connection.
          const ids = event.message === 'no connected peers' ? [] : event.message.split('\n').map((l) => l.trim().split(/\s+/)[0]);
          member.connectionCount = { connections: ids.length, peers: new Set(ids).size };
        }
        break;
    }
  }

  /** A line for the publisher: the chat text, or for bare nodes the chat wire message with that text. */
  private line(tag: 'bench' | 'warm', seq: number): string {
    const head = `${tag} ${seq} `;
    const text = head + 'x'.repeat(Math.max(1, TEXT_LENGTH - head.length));
    if (this.kind === 'chat') return text;
    return JSON.stringify({ v: 1, room: ROOM, nick: 'p0', text, ts: Date.now(), nonce: randomBytes(16).toString('hex') });
  }

  /** Sends until WARMUP_STREAK consecutive messages have each reached every receiver. */
  async warmUp(): Promise<void> {
    const { ms, messages } = await this.untilFlowing('warm-up');
    this.warmupMs = ms;
    this.warmupMessages = messages;
  }

  /**
   * Sends a message every WARMUP_INTERVAL_MS until WARMUP_STREAK consecutive ones have each
   * reached every receiver: after start-up the code is warm, after an overload the backlog
   * is gone.
   */
  async untilFlowing(what: string): Promise<{ ms: number, messages: number }> {
    const started = performance.now();
    const order: number[] = [];
    const streak = (): number => {
      let best = 0;
      let run = 0;
      for (const seq of order) {
        run = (this.warm.get(seq)?.size ?? 0) === this.receivers ? run + 1 : 0;
        best = Math.max(best, run);
      }
      return best;
    };
    while (streak() < WARMUP_STREAK) {
      if (performance.now() - started > WARMUP_TIMEOUT_MS) {
        throw new Error(`${this.kind} cluster ${what}: no ${WARMUP_STREAK} consecutive messages reached all ${this.receivers} receivers in ${WARMUP_TIMEOUT_MS} ms`);
      }
      // Numbers run on across calls, so a late receipt of an earlier round cannot count in this one.
      const seq = ++this.warmSeq;
      this.warm.set(seq, new Set());
      order.push(seq);
      this.publisher.child.write(`${this.line('warm', seq)}\n`);
      await sleep(WARMUP_INTERVAL_MS);
    }
    return { ms: performance.now() - started, messages: order.length };
  }

  /** Writes `rate * seconds` messages at a fixed rate (late timer ticks write what is due at once). */
  async drive(rate: number, seconds: number, phase: string): Promise<Message[]> {
    const total = Math.round(rate * seconds);
    const sent: Message[] = [];
    const start = performance.now();
    let n = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
        let text = '';
        for (; n < due; n++) {
          const seq = this.nextSeq++;
          const message: Message = {
            seq, phase, writtenAt: now, sentAt: Number.NaN,
            receivedAt: new Float64Array(this.receivers).fill(Number.NaN),
            tsLagMs: new Float64Array(this.receivers).fill(Number.NaN),
            received: 0
          };
          this.messages.set(seq, message);
          sent.push(message);
          text += `${this.line('bench', seq)}\n`;
        }
        if (text !== '') this.publisher.child.write(text);
        if (n >= total) {
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, start + (n * 1000) / rate - performance.now()));
      };
      tick();
    });
    return sent;
  }

  /** Waits until every message reached every receiver, or `graceMs` after the last was written. */
  async settle(messages: Message[], graceMs: number): Promise<void> {
    const last = messages.at(-1)?.writtenAt ?? performance.now();
    const done = (): boolean => messages.every((m) => m.received === this.receivers);
    while (!done() && performance.now() < last + graceMs) await sleep(POLL_MS);
  }

  /** Waits until the publisher reported every message written so far as sent (its stdin backlog is gone). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    const pending = (): boolean => [...this.messages.values()].some((m) => Number.isNaN(m.sentAt));
    while (pending() && performance.now() < deadline) await sleep(50);
    return !pending();
  }

  /** Asks every member for `/peers` and waits (bounded) for the answers. */
  async countConnections(timeoutMs: number): Promise<void> {
    this.askedPeers = true;
    for (const member of this.members) {
      member.connectionCount = undefined;
      member.child.write('/peers\n');
    }
    const deadline = performance.now() + timeoutMs;
    while (this.members.some((m) => m.connectionCount === undefined) && performance.now() < deadline) await sleep(POLL_MS);
  }

  recordRss(key: 'rssAfterWarmupMb' | 'rssEndMb'): void {
    for (const member of this.members) {
      member[key] = member.child.rssMb();
      if (key === 'rssAfterWarmupMb') member.connectionsAfterWarmup = member.connected.size;
    }
  }

  /** Graceful stop of every process (SIGTERM, so profiles are written), SIGKILL after the grace. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    await Promise.all(this.members.map((m) => m.child.stop(graceMs)));
    await this.bootstrap?.stop(graceMs);
  }
}

export async function makeDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}
