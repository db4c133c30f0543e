/**
 * Daemon benchmark: `node scripts/bench-daemon.ts [--rounds N] [--duration S] [--rate R] [--idle S]`.
 *
 * 1. Event delivery through the control API. A daemon (`peer/src/daemon.ts --json
 *    --api-port 0`) and a sender peer process in one room, both with the room rate limit
 *    off; the sender writes R lines a second (default 50) for S seconds (default 20) per
 *    round, N rounds (default 3). Each message the daemon receives reaches this process
 *    three ways at once: the daemon's `--json` stdout (the baseline), its event stream over
 *    the Unix socket, and its event stream over TCP with the token. Latency per path: when
 *    this process read the event (performance.timeOrigin + performance.now()) minus the
 *    message's `ts` (the sender's clock; one host). Target: p99 through the socket within
 *    1.2x of stdout's, the median of the rounds' ratios; the paired difference per message
 *    says what the API hop itself adds.
 * 2. Idle cost. A fresh daemon with the TCP API and the web page on and one event stream
 *    attached, beside a plain peer (`npm start -- --json`, stdin open), both in one
 *    network and idle: CPU time and RSS over `--idle` seconds (default 60) after a settle.
 *
 * Writes bench-results/daemon.json and bench-results/daemon.md and prints the table. Every
 * child is killed and temp dirs removed however it ends. A missed target is reported, not failed.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBootstrapServer, startDaemon, startPeer } from '../peer/test/support/processes.ts';
import type { DaemonProc, PeerProc } from '../peer/test/support/processes.ts';
import { openEvents } from '../peer/test/support/control.ts';
import type { PeerEvent } from '../peer/src/events.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { median, percentile, runBench, writeResults } from './bench-figures.ts';
import { processCpuMs } from './bench-chat/children.ts';

const ROOM = 'bench';
const TARGET_P99_RATIO = 1.2;
const GRACE_MS = 2_000;
const SETTLE_MS = 15_000;

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    rate: { type: 'string', default: '50' },
    idle: { type: 'string', default: '60' }
  }
});
const ROUNDS = Number(flags.rounds);
const DURATION_S = Number(flags.duration);
const RATE = Number(flags.rate);
const IDLE_S = Number(flags.idle);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds takes an integer >= 1');
if (!(DURATION_S >= 1) || !(RATE > 0) || !(IDLE_S >= 5)) throw new Error('--duration >= 1, --rate > 0, --idle >= 5 seconds');

const tempDirs = cleanUpOnExit();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nowMs = (): number => performance.timeOrigin + performance.now();

function log(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}



const round2 = (v: number): number => Math.round(v * 100) / 100;

type Path = 'stdout' | 'socket' | 'tcp';
const PATHS: readonly Path[] = ['stdout', 'socket', 'tcp'];
type Arrivals = Map<string, { at: number, ts: number }>;

/** Records when each room message first arrived, by its text. */
function timing(into: Arrivals): (event: PeerEvent | { type: string }) => void {
  return (event) => {
    const e = event as PeerEvent;
    if (e.type === 'message' && e.room === ROOM && !into.has(e.text)) into.set(e.text, { at: nowMs(), ts: e.ts });
  };
}

interface Daemon {
  proc: DaemonProc;
  dataDir: string;
  socket: string;
  port: number;
  token: string;
  ready: Extract<PeerEvent, { type: 'ready' }>;
}

async function daemon(dir: string, url: string, name: string, extra: string[]): Promise<Daemon> {
  const dataDir = join(dir, name);
  const { proc, started } = startDaemon(['--nick', name, '--bootstrap', url, '--data-dir', dataDir, '--room', ROOM,
    '--room-rate-limit', 'off', '--api-port', '0', ...extra]);
  const line = await started;
  const ready = await proc.waitFor((e) => e.type === 'ready', `${name} ready`) as Extract<PeerEvent, { type: 'ready' }>;
  const token = (await readFile(line.tokenFile, 'utf8')).trim();
  return { proc, dataDir, socket: line.socket, port: Number(new URL(line.api as string).port), token, ready };
}

interface RoundFigures {
  round: number;
  sent: number;
  received: Record<Path, number>;
  p50Ms: Record<Path, number>;
  p99Ms: Record<Path, number>;
  /** Per message, socket arrival minus stdout arrival. */
  addedP50Ms: number;
  addedP99Ms: number;
  p99Ratio: number;
}

/** Sends the round's messages on schedule, then waits for late ones. */
async function sendRound(round: number, sender: PeerProc): Promise<number> {
  const total = Math.round(RATE * DURATION_S);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await sleep(wait);
    sender.write(`r${round} m${i}`);
  }
  await sleep(GRACE_MS);
  return total;
}

function figures(round: number, sent: number, arrivals: Record<Path, Arrivals>): RoundFigures {
  const mine = (path: Path): [string, { at: number, ts: number }][] => [...arrivals[path]].filter(([text]) => text.startsWith(`r${round} `));
  const latencies = (path: Path): number[] => mine(path).map(([, v]) => v.at - v.ts).sort((a, b) => a - b);
  const added = mine('socket').flatMap(([text, v]) => {
    const base = arrivals.stdout.get(text);
    return base === undefined ? [] : [v.at - base.at];
  }).sort((a, b) => a - b);
  const p50 = Object.fromEntries(PATHS.map((p) => [p, round2(percentile(latencies(p), 50))])) as Record<Path, number>;
  const p99 = Object.fromEntries(PATHS.map((p) => [p, round2(percentile(latencies(p), 99))])) as Record<Path, number>;
  return {
    round, sent,
    received: Object.fromEntries(PATHS.map((p) => [p, mine(p).length])) as Record<Path, number>,
    p50Ms: p50, p99Ms: p99,
    addedP50Ms: round2(percentile(added, 50)), addedP99Ms: round2(percentile(added, 99)),
    p99Ratio: round2(p99.socket / p99.stdout)
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-bench-daemon-'));
  tempDirs.push(dir);
  const { url } = await startBootstrapServer(['--no-data-file']);

  log('event delivery: daemon, sender, two event streams');
  const d = await daemon(dir, url, 'dee', []);
  const arrivals: Record<Path, Arrivals> = { stdout: new Map(), socket: new Map(), tcp: new Map() };
  d.proc.onItem(timing(arrivals.stdout));
  const sender = startPeer(['--nick', 'sam', '--bootstrap', url, '--data-dir', join(dir, 'sam'), '--room', ROOM, '--room-rate-limit', 'off']);
  const samId = (await sender.waitFor((e) => e.type === 'ready', 'sender ready') as Extract<PeerEvent, { type: 'ready' }>).peerId;
  await d.proc.waitFor((e) => e.type === 'member-joined' && e.peerId === samId, 'the daemon to see the sender');
  const streams = {
    socket: await openEvents({ socketPath: d.socket }),
    tcp: await openEvents({ port: d.port }, { authorization: `Bearer ${d.token}`, host: `127.0.0.1:${d.port}` })
  };
  streams.socket.onEvent(timing(arrivals.socket));
  streams.tcp.onEvent(timing(arrivals.tcp));
  // Warm up: the mesh formed and every path delivering.
  for (let i = 0; ; i++) {
    sender.write(`warm ${i}`);
    await sleep(200);
    if (PATHS.every((p) => arrivals[p].has(`warm ${i}`))) break;
    if (i > 100) throw new Error('warm-up: the daemon never delivered on every path');
  }

  const rounds: RoundFigures[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    log(`round ${r}/${ROUNDS}: ${RATE} msg/s for ${DURATION_S} s`);
    const result = figures(r, await sendRound(r, sender), arrivals);
    rounds.push(result);
    log(`  p99 stdout ${result.p99Ms.stdout} ms, socket ${result.p99Ms.socket} ms, tcp ${result.p99Ms.tcp} ms (ratio ${result.p99Ratio})`);
  }
  for (const s of Object.values(streams)) s.close();
  sender.write('/quit');
  d.proc.kill('SIGTERM');
  await Promise.all([sender.exited, d.proc.exited]);

  log(`idle: a daemon with TCP API, web page and one stream beside a plain peer, ${IDLE_S} s after ${SETTLE_MS / 1000} s settling`);
  const idleDaemon = await daemon(dir, url, 'idle-daemon', ['--web', '0']);
  const plain = startPeer(['--nick', 'idle-peer', '--bootstrap', url, '--data-dir', join(dir, 'idle-peer'), '--room', ROOM]);
  await plain.waitFor((e) => e.type === 'ready', 'plain peer ready');
  const idleStream = await openEvents({ socketPath: idleDaemon.socket });
  await sleep(SETTLE_MS);
  const pids = { daemon: idleDaemon.proc.child.pid as number, peer: plain.child.pid as number };
  const cpuBefore = { daemon: processCpuMs(pids.daemon), peer: processCpuMs(pids.peer) };
  await sleep(IDLE_S * 1000);
  const cpuAfter = { daemon: processCpuMs(pids.daemon), peer: processCpuMs(pids.peer) };
  const rss = async (pid: number): Promise<number> => Number(/^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;
  const idle = {
    daemon: { cpuPct: round2(((cpuAfter.daemon - cpuBefore.daemon) / (IDLE_S * 1000)) * 100), rssMb: round2(await rss(pids.daemon)) },
    peer: { cpuPct: round2(((cpuAfter.peer - cpuBefore.peer) / (IDLE_S * 1000)) * 100), rssMb: round2(await rss(pids.peer)) }
  };
  idleStream.close();
  plain.write('/quit');
  idleDaemon.proc.kill('SIGTERM');
  await Promise.all([plain.exited, idleDaemon.proc.exited]);

  const ratios = rounds.map((r) => r.p99Ratio);
  const medianRatio = round2(median(ratios));
  const loadAfter = loadavg();
  const report = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    node: process.version,
    settings: { rounds: ROUNDS, durationS: DURATION_S, rate: RATE, idleS: IDLE_S, settleMs: SETTLE_MS },
    target: { p99Ratio: TARGET_P99_RATIO, ratios, medianRatio, met: medianRatio <= TARGET_P99_RATIO },
    rounds,
    idle
  };
  const lines = [
    '# Daemon: event delivery through the control API, and idle cost',
    '',
    `${startedAt}; ${report.machine.cpus} CPUs (${report.machine.model}), Node ${report.node}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. Command: \`node scripts/bench-daemon.ts --rounds ${ROUNDS} --duration ${DURATION_S} --rate ${RATE} --idle ${IDLE_S}\`.`,
    '',
    `A sender peer writes ${RATE} msg/s for ${DURATION_S} s a round to a daemon; each message is read from the daemon's --json stdout, its event stream ` +
      'over the Unix socket and its event stream over TCP, all at once. Latency: read time minus the message\'s `ts` (one host, one clock).',
    '',
    '| round | received stdout / socket / TCP of sent | p50 ms stdout / socket / TCP | p99 ms stdout / socket / TCP | socket minus stdout per message, p50 / p99 ms | p99 ratio socket / stdout |',
    '| ---: | --- | --- | --- | --- | ---: |',
    ...rounds.map((r) => `| ${r.round} | ${r.received.stdout} / ${r.received.socket} / ${r.received.tcp} of ${r.sent} | ` +
      `${r.p50Ms.stdout} / ${r.p50Ms.socket} / ${r.p50Ms.tcp} | ${r.p99Ms.stdout} / ${r.p99Ms.socket} / ${r.p99Ms.tcp} | ${r.addedP50Ms} / ${r.addedP99Ms} | ${r.p99Ratio} |`),
    '',
    `Target: p99 through the API within ${TARGET_P99_RATIO}x of stdout's, median of the rounds: ${medianRatio}x ` +
      `(range ${Math.min(...ratios)}-${Math.max(...ratios)}): ${report.target.met ? 'met' : '**not met**'}.`,
    '',
    `Idle over ${IDLE_S} s (after ${SETTLE_MS / 1000} s settling), one network of the two:`,
    '',
    '| process | CPU % of a core | RSS MB |',
    '| --- | ---: | ---: |',
    `| daemon (socket, TCP API, web page, one event stream) | ${idle.daemon.cpuPct} | ${idle.daemon.rssMb} |`,
    `| plain peer (npm start -- --json) | ${idle.peer.cpuPct} | ${idle.peer.rssMb} |`,
    ''
  ];
  const md = lines.join('\n');
  await writeResults('daemon', report, md);
}

await runBench(main, tempDirs);
