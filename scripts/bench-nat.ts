/**
 * Across-NATs benchmark: `node scripts/bench-nat.ts [--pairs N] [--rate R] [--seconds S] [--idle-seconds I]`.
 *
 * What does the relay cost two peers behind NATs, against two peers that reach each other
 * directly? The namespace topology of the NAT test (peer/test/support/nat-topology.ts,
 * needs root): the bootstrap server and a peer with `--relay` in the public namespace;
 * a relayed round starts two peers in the two home namespaces (each behind its own
 * MASQUERADE router, reachable only through the relay), a direct round two peers in the
 * public namespace (`--reserve-relays 0`, reachable directly). N pairs of rounds
 * (default 3), relayed and direct alternating, the order swapped from pair to pair. In
 * each round, with fresh data dirs (so fresh identities), both in room `nat`
 * (`--room-rate-limit off`):
 *
 * - first message: both spawned at once; A writes a numbered line every 50 ms from its
 *   `ready` until B shows one. Spawn to B's first `message`, and the later `ready` to it.
 * - relay CPU idle: the relay's utime + stime from /proc/PID/stat over I seconds (default
 *   5) with the pair connected and silent.
 * - latency: A and B each send R lines a second (default 20) to the other for S seconds
 *   (default 20); from the line written to the sender's stdin to the receiver's event read.
 *   The relay's CPU over the same stretch, minus its idle rate, per message delivered.
 * - failure detection: B is SIGKILLed; time to A's and to the relay's `member-failed`.
 *
 * No direct upgrade is measured: no direct path between two NATed peers can be made on this
 * runtime (docs/reach.md), so the relayed figures are the steady state.
 *
 * Writes bench-results/nat.json and bench-results/nat.md and prints the table. Every child
 * is killed, every namespace deleted and temp dirs removed on exit, error, SIGINT or SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PeerEvent } from '../peer/src/events.ts';
import { createNatTopology, natTopologyUnavailable } from '../peer/test/support/nat-topology.ts';
import type { NatTopology, NetnsHost } from '../peer/test/support/nat-topology.ts';
import { Proc, parseJsonLine, startBootstrapServer } from '../peer/test/support/processes.ts';
import type { PeerProc } from '../peer/test/support/processes.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { median, percentile, runBench, writeResults } from './bench-figures.ts';

const ROOM = 'nat';
const FIRST_EVERY_MS = 50;
const START_MS = 30_000;
const EVENT_MS = 30_000;
const DRAIN_MS = 10_000;
/** /proc/PID/stat counts CPU time in clock ticks (`getconf CLK_TCK`: 100 on Linux). */
const TICK_MS = 10;

const { values: flags } = parseArgs({
  options: {
    pairs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '20' },
    'idle-seconds': { type: 'string', default: '5' }
  }
});
const PAIRS = Number(flags.pairs);
const RATE = Number(flags.rate);
const SECONDS = Number(flags.seconds);
const IDLE_S = Number(flags['idle-seconds']);
if (!Number.isInteger(PAIRS) || PAIRS < 1) throw new Error('--pairs takes an integer >= 1');
if (!(RATE > 0 && RATE <= 200)) throw new Error('--rate takes messages per second each way, above 0 and at most 200');
if (!(SECONDS > 0)) throw new Error('--seconds takes a positive number');
if (!(IDLE_S > 0)) throw new Error('--idle-seconds takes a positive number');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function log(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

let net: NatTopology | undefined;
// 'exit' handlers cannot wait: the namespaces go synchronously.
const tempDirs = cleanUpOnExit(() => {
  for (const host of net === undefined ? [] : [net.home1, net.home2, net.nat1, net.nat2, net.pub]) {
    try { execFileSync('ip', ['netns', 'del', host.ns], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
  net = undefined;
}, (signal) => log(`${signal}: killing every child, deleting the namespaces and exiting`));

interface Started {
  readonly proc: PeerProc;
  readonly id: string;
  readonly nick: string;
  readonly spawnAt: number;
  readonly readyAt: number;
  /** When this process read each room message, by its text. */
  readonly read: Map<string, number>;
}

async function startPeerIn(where: NetnsHost, nick: string, url: string, extra: string[]): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), `bench-nat-${nick}-`));
  tempDirs.push(dir);
  const spawnAt = Date.now();
  const proc = new Proc<PeerEvent>([
    'peer/src/main.ts', '--json', '--no-mdns', '--no-host-bootstrap', '--listen', `/ip4/${where.ip}/tcp/0`,
    '--bootstrap', url, '--nick', nick, '--data-dir', dir, ...extra
  ], parseJsonLine, {}, where.launcher);
  proc.child.stdin.on('error', () => undefined);
  const read = new Map<string, number>();
  let readyAt = 0;
  proc.onItem((e) => {
    if (e.type === 'message') read.set(e.text, Date.now());
    else if (e.type === 'ready') readyAt = Date.now();
  });
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, START_MS) as Extract<PeerEvent, { type: 'ready' }>;
  return { proc, id: ready.peerId, nick, spawnAt, readyAt, read };
}

/** A process's CPU time so far (user + system), in ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

function after(observer: Started, type: PeerEvent['type'], about: Started, from: number): Promise<number> {
  return observer.proc.waitFor((e) => observer.proc.items.indexOf(e) >= from && e.type === type && 'peerId' in e && e.peerId === about.id,
    `${observer.nick}: ${type} ${about.nick}`, EVENT_MS).then(() => Date.now());
}

type Kind = 'relayed' | 'direct';

interface Round {
  kind: Kind;
  spawnToFirstMs: number;
  readyToFirstMs: number;
  spawnToReadyMs: number;
  latency: { sent: number, delivered: number, p50: number, p90: number, p99: number, max: number };
  relayCpu: { idleMsPerS: number, busyMs: number, seconds: number, perMessageUs: number };
  failureMs: { peer: number, relay: number };
  reservationsAfter: string;
}

async function relayRow(relay: Started): Promise<string> {
  const from = relay.proc.items.length;
  relay.proc.write('/show processes');
  const answer = await relay.proc.waitFor((e) => relay.proc.items.indexOf(e) >= from && e.type === 'info', 'the relay: /show processes');
  const line = (answer as Extract<PeerEvent, { type: 'info' }>).message.split('\n').find((l) => l.includes('reservations taken')) ?? '';
  return /(\d+ of \d+) reservations taken/.exec(line)?.[1] ?? line;
}

async function round(n: number, kind: Kind, url: string, relay: Started): Promise<Round> {
  const topology = net as NatTopology;
  const [whereA, whereB] = kind === 'relayed' ? [topology.home1, topology.home2] : [topology.pub, topology.pub];
  const extra = ['--room', ROOM, '--room-rate-limit', 'off', ...(kind === 'direct' ? ['--reserve-relays', '0'] : [])];
  const relayMark = relay.proc.items.length;
  const [a, b] = await Promise.all([startPeerIn(whereA, `a${n}`, url, extra), startPeerIn(whereB, `b${n}`, url, extra)]);
  const readyAt = Math.max(a.readyAt, b.readyAt);

  // First message: a line every FIRST_EVERY_MS from A's ready until B shows one.
  const tag = `first-${n}-`;
  let firstAt: number | undefined;
  const arrived = b.proc.waitFor((e) => e.type === 'message' && e.text.startsWith(tag), `${b.nick}: the first line`, EVENT_MS)
    .then((e) => { firstAt = b.read.get((e as Extract<PeerEvent, { type: 'message' }>).text); });
  for (let i = 0; firstAt === undefined; i++) {
    a.proc.write(`${tag}${i}`);
    await Promise.race([arrived, sleep(FIRST_EVERY_MS)]);
  }
  await arrived;
  await Promise.all([after(a, 'member-joined', b, 0), after(b, 'member-joined', a, 0)]);
  if (kind === 'relayed') {
    const circuit = `/p2p/${relay.id}/p2p-circuit`;
    const from = a.proc.items.length;
    a.proc.write('/show peers');
    const peers = await a.proc.waitFor((e) => a.proc.items.indexOf(e) >= from && e.type === 'info', `${a.nick}: /show peers`);
    const line = (peers as Extract<PeerEvent, { type: 'info' }>).message.split('\n').find((l) => l.includes(b.id.slice(-8)));
    if (line?.includes(circuit) !== true) throw new Error(`${a.nick} reaches ${b.nick} other than through the relay: ${line}`);
  }

  const relayPid = relay.proc.child.pid as number;
  const idleFrom = await cpuMs(relayPid);
  const idleStart = Date.now();
  await sleep(IDLE_S * 1000);
  const idleMsPerS = (await cpuMs(relayPid) - idleFrom) / ((Date.now() - idleStart) / 1000);

  // Both ways at once, B half a period after A.
  const sentAt = new Map<string, number>();
  const texts: { text: string, to: Started }[] = [];
  const periodMs = 1000 / RATE;
  const count = Math.round(RATE * SECONDS);
  const busyFrom = await cpuMs(relayPid);
  const begin = Date.now();
  for (let i = 0; i < count; i++) {
    for (const [offset, from, to] of [[0, a, b], [periodMs / 2, b, a]] as const) {
      const wait = begin + i * periodMs + offset - Date.now();
      if (wait > 0) await sleep(wait);
      const text = `c-${n}-${from.nick}-${i}`;
      texts.push({ text, to });
      sentAt.set(text, Date.now());
      from.proc.write(text);
    }
  }
  const drainUntil = Date.now() + DRAIN_MS;
  const delivered = (): number => texts.filter(({ text, to }) => to.read.has(text)).length;
  while (delivered() < texts.length && Date.now() < drainUntil) await sleep(100);
  const busySeconds = (Date.now() - begin) / 1000;
  const busyMs = await cpuMs(relayPid) - busyFrom;
  const latencies = texts.flatMap(({ text, to }) => {
    const at = to.read.get(text);
    return at === undefined ? [] : [at - (sentAt.get(text) as number)];
  }).sort((x, y) => x - y);

  const [aMark, relayKillMark] = [a.proc.items.length, relay.proc.items.length];
  b.proc.kill('SIGKILL');
  const killedAt = Date.now();
  const [peerFailed, relayFailed] = await Promise.all([after(a, 'member-failed', b, aMark), after(relay, 'member-failed', b, relayKillMark)]);
  a.proc.write('/quit');
  await a.proc.exited;
  await after(relay, 'member-left', a, relayMark);

  return {
    kind,
    spawnToFirstMs: (firstAt as number) - Math.min(a.spawnAt, b.spawnAt),
    readyToFirstMs: (firstAt as number) - readyAt,
    spawnToReadyMs: readyAt - Math.min(a.spawnAt, b.spawnAt),
    latency: {
      sent: texts.length, delivered: latencies.length, p50: percentile(latencies, 50), p90: percentile(latencies, 90),
      p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN
    },
    relayCpu: {
      idleMsPerS, busyMs, seconds: busySeconds,
      perMessageUs: latencies.length === 0 ? Number.NaN : Math.max(0, busyMs - idleMsPerS * busySeconds) * 1000 / latencies.length
    },
    failureMs: { peer: peerFailed - killedAt, relay: relayFailed - killedAt },
    reservationsAfter: await relayRow(relay)
  };
}

async function main(): Promise<void> {
  const unavailable = await natTopologyUnavailable();
  if (unavailable !== undefined) throw new Error(`the NAT benchmark cannot run here: ${unavailable}`);
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  net = await createNatTopology(`clinb${process.pid}`, '10.217');
  const { pub } = net;
  const { url } = await startBootstrapServer(['--no-data-file'], pub.ip, pub.launcher);
  const relay = await startPeerIn(pub, 'relay', url, ['--relay']);
  const rounds: Round[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const order: Kind[] = pair % 2 === 0 ? ['relayed', 'direct'] : ['direct', 'relayed'];
    for (const kind of order) {
      const n = rounds.length;
      log(`round ${n + 1} of ${2 * PAIRS}: ${kind}`);
      const r = await round(n, kind, url, relay);
      log(`  first message ${r.spawnToFirstMs} ms from spawn, p50 ${r.latency.p50} p99 ${r.latency.p99} ms, ` +
        `relay ${r.relayCpu.perMessageUs.toFixed(0)} µs/msg, failed in ${r.failureMs.peer} ms`);
      rounds.push(r);
    }
  }
  const loadAfter = loadavg();
  relay.proc.write('/quit');
  await relay.proc.exited;

  const of = (kind: Kind): Round[] => rounds.filter((r) => r.kind === kind);
  const pairs = Array.from({ length: PAIRS }, (_, i) => {
    const [x, y] = [rounds[2 * i] as Round, rounds[2 * i + 1] as Round];
    return x.kind === 'relayed' ? { relayed: x, direct: y } : { relayed: y, direct: x };
  });
  const summary = (pick: (r: Round) => number): { relayed: number[], direct: number[], ratios: number[] } => ({
    relayed: of('relayed').map(pick),
    direct: of('direct').map(pick),
    ratios: pairs.map((p) => pick(p.relayed) / pick(p.direct))
  });
  const figures = {
    spawnToFirst: summary((r) => r.spawnToFirstMs),
    readyToFirst: summary((r) => r.readyToFirstMs),
    spawnToReady: summary((r) => r.spawnToReadyMs),
    p50: summary((r) => r.latency.p50),
    p99: summary((r) => r.latency.p99),
    relayCpuPerMessageUs: summary((r) => r.relayCpu.perMessageUs),
    relayIdleMsPerS: summary((r) => r.relayCpu.idleMsPerS),
    failurePeer: summary((r) => r.failureMs.peer),
    failureRelay: summary((r) => r.failureMs.relay)
  };
  const report = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    node: process.version,
    settings: { pairs: PAIRS, rate: RATE, seconds: SECONDS, idleSeconds: IDLE_S },
    directUpgrade: 'not measured: no direct path between two NATed peers can be made on this runtime (docs/reach.md)',
    rounds,
    figures
  };

  const fmt = (v: number): string => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)) : 'n/a');
  const cell = (values: number[]): string => `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`;
  const ratio = (values: number[]): string => `${median(values).toFixed(2)}x (${values.map((v) => v.toFixed(2)).join(', ')})`;
  const row = (name: string, s: { relayed: number[], direct: number[], ratios: number[] }, withRatio = true): string =>
    `| ${name} | ${cell(s.relayed)} | ${cell(s.direct)} | ${withRatio ? ratio(s.ratios) : ''} |`;
  const lost = rounds.reduce((sum, r) => sum + r.latency.sent - r.latency.delivered, 0);
  const lines = [
    '# Across NATs: through the relay beside direct',
    '',
    `${startedAt}; ${report.machine.cpus} CPUs (${report.machine.model}), Node ${report.node}, load ` +
      `${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. ` +
      `Command: \`node scripts/bench-nat.ts --pairs ${PAIRS} --rate ${RATE} --seconds ${SECONDS} --idle-seconds ${IDLE_S}\`.`,
    '',
    `${PAIRS} pairs of rounds, relayed and direct alternating (order swapped each pair); each round two fresh peers, ` +
      `${RATE} msg/s each way for ${SECONDS} s. Median over the rounds of a kind (range); ratio relayed / direct per pair, median (each pair).`,
    '',
    '| measure | relayed (home to home) | direct (public to public) | relayed / direct |',
    '| --- | ---: | ---: | ---: |',
    row('spawn to the first message delivered, ms', figures.spawnToFirst),
    row('later `ready` to the first message delivered, ms', figures.readyToFirst),
    row('spawn to the later `ready`, ms', figures.spawnToReady),
    row('chat latency p50, ms', figures.p50),
    row('chat latency p99, ms', figures.p99),
    row('relay CPU per message delivered (minus its idle rate), µs', figures.relayCpuPerMessageUs, false),
    row('relay CPU at rest, ms per s', figures.relayIdleMsPerS, false),
    row('SIGKILL to the other peer\'s `member-failed`, ms', figures.failurePeer),
    row('SIGKILL to the relay\'s `member-failed`, ms', figures.failureRelay),
    '',
    `Messages lost: ${lost} of ${rounds.reduce((sum, r) => sum + r.latency.sent, 0)}. ` +
      `Reservations held on the relay after each round: ${rounds.map((r) => r.reservationsAfter).join(', ')}.`,
    '',
    'After a direct upgrade: not measured. No direct path between two NATed peers can be made on this runtime ' +
      '(no DCUtR, see docs/reach.md), so the relayed figures are the steady state.',
    ''
  ];
  const md = lines.join('\n');
  await writeResults('nat', report, md);
}

await runBench(main, tempDirs).finally(async () => {
  await net?.destroy();
  net = undefined;
});
