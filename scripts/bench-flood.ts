/**
 * Flood benchmark: `node scripts/bench-flood.ts [--pairs N] [--duration S] [--rate R] [--flood-rate F] [--pin auto|off] [--control none|idle]`.
 *
 * Does a flooder in a room slow the people in it? Two real peer processes on 127.0.0.1
 * (`peer/src/main.ts --json --no-mdns ...` through peer/test/support/processes.ts, default
 * room rate limit) against one bootstrap server (`--no-data-file`), both in room `flood`,
 * each sending R lines a second (default 20, the room limit) to the other through its stdin for S seconds
 * (default 20) per round. Rounds come in N pairs (default 3): one round with a flooder, one
 * without, the order swapped from pair to pair. The flooder is peer/test/support/flooder.ts,
 * a fresh node (a new identity) for each round, dialled to both peers and subscribed before
 * the round; it floods valid messages from the round's start to its end, flat out
 * (F = 0, the default) or at F msg/s. Flat out it needs about a core of its own, which a
 * flooder elsewhere on the network would not take from the peers: with `--pin auto` (the
 * default, on a host with 2 CPUs or more and taskset) this process, and so the server and
 * the peers it starts, run on CPU 0, the flooder on the others, in every round alike.
 * `--control idle` runs a flooder dialled to nobody in the rounds "without" it: the same CPU
 * busy beside the peers, no traffic to them, which tells the flood's cost from that of a
 * busy CPU 1 on a host whose other load then moves to CPU 0.
 *
 * Latency: when this process reads the receiver's `message` event (Date.now()) minus the
 * message's own `ts` (the sender's Date.now() at sending; one host, one clock). At each
 * round's end, `/stats` of both peers (graylisted and cut-off peers) while the flood still runs, then
 * GRACE_MS more for late deliveries.
 * The target: the median over the pairs of (p99 with the flooder / p99 without) at most 2.
 * The same ratio over the messages sent SETTLED_MS or more after a round's start is reported
 * beside it: it leaves out the flood's first moments, before the peers cut the flooder off.
 *
 * Writes bench-results/flood.json and bench-results/flood.md and prints the table. Every
 * child is killed and temp dirs removed on exit, error, SIGINT or SIGTERM. A missed target
 * is reported, not failed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startBootstrapServer, startFlooder, startPeer } from '../peer/test/support/processes.ts';
import type { FlooderEvent, PeerProc, Proc } from '../peer/test/support/processes.ts';
import type { PeerEvent } from '../peer/src/events.ts';
import { AUTHOR_BURST, AUTHOR_RATE } from '../peer/src/chat/constants.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { median, percentile, runBench, writeResults } from './bench-figures.ts';
import { machineCpu, processCpuMs } from './bench-chat/children.ts';

const ROOM = 'flood';
const GRACE_MS = 3_000;
const WARM_DEADLINE_MS = 20_000;
const TARGET_P99_RATIO = 2;
/** The flood's first moments, before the cut-off, reported apart: messages sent this long after a round's start are "later". */
const SETTLED_MS = 1_000;

const { values: flags } = parseArgs({
  options: {
    pairs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    rate: { type: 'string', default: String(AUTHOR_RATE) },
    'flood-rate': { type: 'string', default: '0' },
    pin: { type: 'string', default: 'auto' },
    control: { type: 'string', default: 'none' }
  }
});
const PAIRS = Number(flags.pairs);
const DURATION_S = Number(flags.duration);
const RATE = Number(flags.rate);
const FLOOD_RATE = Number(flags['flood-rate']);
if (!Number.isInteger(PAIRS) || PAIRS < 1) throw new Error('--pairs takes an integer >= 1');
if (!(DURATION_S >= 1)) throw new Error('--duration takes a number of seconds >= 1');
if (!(RATE > 0 && RATE <= AUTHOR_RATE)) throw new Error(`--rate takes messages per second per peer, at most the limit of ${AUTHOR_RATE}`);
if (!(FLOOD_RATE >= 0)) throw new Error('--flood-rate takes messages per second, 0 for flat out');
if (flags.pin !== 'auto' && flags.pin !== 'off') throw new Error('--pin takes auto or off');
if (flags.control !== 'none' && flags.control !== 'idle') throw new Error('--control takes none or idle');
const IDLE_CONTROL = flags.control === 'idle';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function log(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** Pins this process (all its threads; children inherit it) to CPU 0; returns the flooder's launcher and how, in words. */
function pin(): { launcher: string[], how: string } {
  const count = cpus().length;
  if (flags.pin === 'off') return { launcher: [], how: 'no pinning (--pin off): the flooder shares every CPU with the peers' };
  if (count < 2) return { launcher: [], how: 'no pinning (one CPU): the flooder shares it with the peers' };
  try {
    execFileSync('taskset', ['-apc', '0', String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    return { launcher: [], how: `no pinning (taskset failed: ${(err as Error).message}): the flooder shares every CPU with the peers` };
  }
  const others = count === 2 ? '1' : `1-${count - 1}`;
  return { launcher: ['taskset', '-c', others], how: `server, peers and this process on CPU 0, the flooder on CPU ${others} (taskset)` };
}

const tempDirs = cleanUpOnExit(() => {}, (signal) => log(`${signal}: killing every child and exiting`));

interface Honest {
  nick: string;
  proc: PeerProc;
  peerId: string;
  addr: string;
}

/** Texts `b <round> <nick> <seq>` -> when each copy was read and the message's ts. */
const receipts = new Map<string, { ts: number, readAt: number[] }>();
/** Rate-limited messages reported by each peer, by flooder peer ID. */
const refused = new Map<string, number>();

function watch(nick: string, proc: PeerProc): void {
  // A second reader of the same stdout, to stamp each line with the time it was read.
  createInterface({ input: proc.child.stdout }).on('line', (line) => {
    const readAt = Date.now();
    let event: PeerEvent;
    try { event = JSON.parse(line) as PeerEvent; } catch { return; }
    if (event.type === 'message' && event.text.startsWith('b ')) {
      const entry = receipts.get(event.text) ?? { ts: event.ts, readAt: [] };
      entry.readAt.push(readAt);
      receipts.set(event.text, entry);
    } else if (event.type === 'rejected' && event.reason.startsWith('rate-limited:')) {
      refused.set(`${nick} ${event.from}`, (refused.get(`${nick} ${event.from}`) ?? 0) + event.count);
    }
  });
}

async function startHonest(nick: string, url: string): Promise<Honest> {
  const dir = await mkdtemp(join(tmpdir(), `bench-flood-${nick}-`));
  tempDirs.push(dir);
  const proc = startPeer(['--nick', nick, '--data-dir', dir, '--bootstrap', url, '--room', ROOM]);
  proc.child.stdin.on('error', () => undefined);
  watch(nick, proc);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, 30_000) as Extract<PeerEvent, { type: 'ready' }>;
  return { nick, proc, peerId: ready.peerId, addr: ready.addrs[0] ?? '' };
}

/** Until a line from each reaches the other: the gossipsub mesh is up. */
async function warmUp(a: Honest, b: Honest): Promise<void> {
  const end = Date.now() + WARM_DEADLINE_MS;
  for (const [from, to] of [[a, b], [b, a]] as const) {
    for (let i = 0; ; i++) {
      from.proc.write(`warm ${i}`);
      const got = await to.proc.waitFor((e) => e.type === 'message' && e.text.startsWith('warm '), 'a warm-up line', 300).then(() => true, () => false);
      if (got) break;
      if (Date.now() > end) throw new Error(`no line from ${from.nick} reached ${to.nick} within ${WARM_DEADLINE_MS} ms`);
    }
  }
}

async function askStats(peer: Honest): Promise<Extract<PeerEvent, { type: 'stats' }>> {
  const from = peer.proc.items.length;
  peer.proc.write('/stats');
  return await peer.proc.waitFor((e) => peer.proc.items.indexOf(e) >= from && e.type === 'stats', `${peer.nick} /stats`) as Extract<PeerEvent, { type: 'stats' }>;
}

// ---------------------------------------------------------------------------------------
// Figures



const round1 = (v: number): number => Math.round(v * 10) / 10;

interface Round {
  pair: number;
  flooded: boolean;
  sent: number;
  delivered: number;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 of the messages sent SETTLED_MS or more after the round's start. */
  laterP99Ms: number;
  maxMs: number;
  /** The flooder's figures; null in a round without it. */
  flood: null | {
    sent: number;
    failed: number;
    perSecond: number;
    /** Flood messages each honest peer showed, and reported refused by the rate limit. */
    shown: Record<string, number>;
    refused: Record<string, number>;
    /** /stats at the round's end, the flood still running: peers each honest peer holds graylisted, and has cut off. */
    graylisted: Record<string, number>;
    cutOff: Record<string, number>;
    cpuCores: number;
  };
  /** CPU of both honest peers together, in cores, and of the whole host, in percent, during the round. */
  honestCores: number;
  machineBusyPct: number;
}

async function runRound(pair: number, flooded: boolean, a: Honest, b: Honest, launcher: string[]): Promise<Round> {
  const tag = `${pair}${flooded ? 'f' : 'q'}`;
  let flooder: Proc<FlooderEvent> | undefined;
  let flooderId = '';
  if (flooded || IDLE_CONTROL) {
    flooder = startFlooder(['--room', ROOM, '--rate', String(FLOOD_RATE), ...(flooded ? ['--dial', a.addr, '--dial', b.addr] : [])], launcher);
    flooder.child.stdin.on('error', () => undefined);
    const ready = await flooder.waitFor((e) => e.type === 'ready', 'the flooder to connect', 30_000);
    if (ready.type === 'ready') flooderId = ready.peerId;
  }
  const cpuBefore = [a, b].map((p) => processCpuMs(p.proc.child.pid ?? -1));
  const flooderCpuBefore = flooder === undefined ? 0 : processCpuMs(flooder.child.pid ?? -1);
  const machineBefore = machineCpu();
  const start = Date.now();
  flooder?.write('start');
  // Both on one schedule, half a period apart; a late tick catches up.
  const total = Math.round(RATE * DURATION_S);
  const texts: string[] = [];
  let written = 0;
  while (written < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * RATE) / 1000) + 1);
    for (; written < due; written++) {
      for (const peer of [a, b]) {
        const text = `b ${tag} ${peer.nick} ${written}`;
        texts.push(text);
        peer.proc.write(text);
      }
    }
    await sleep(5);
  }
  const elapsedMs = Date.now() - start;
  // Asked while the flood still runs: once it stops the flooder's counter decays back within seconds.
  const stats = await Promise.all([a, b].map(askStats));
  let floodStats: FlooderEvent | undefined;
  if (flooder !== undefined) {
    const from = flooder.items.length;
    flooder.write('stop');
    floodStats = await flooder.waitFor((e) => flooder.items.indexOf(e) >= from && e.type === 'stopped', 'the flooder to stop');
  }
  const flooderCpuMs = flooder === undefined ? 0 : processCpuMs(flooder.child.pid ?? -1) - flooderCpuBefore;
  const honestCpuMs = [a, b].reduce((sum, p, i) => sum + processCpuMs(p.proc.child.pid ?? -1) - (cpuBefore[i] ?? 0), 0);
  const machineAfter = machineCpu();
  await sleep(GRACE_MS);
  flooder?.child.stdin.end();
  await flooder?.exited;

  const latencies: number[] = [];
  const later: number[] = [];
  let duplicates = 0;
  for (const text of texts) {
    const got = receipts.get(text);
    if (got === undefined) continue;
    duplicates += got.readAt.length - 1;
    latencies.push((got.readAt[0] ?? 0) - got.ts);
    if (got.ts - start >= SETTLED_MS) later.push((got.readAt[0] ?? 0) - got.ts);
  }
  latencies.sort((x, y) => x - y);
  later.sort((x, y) => x - y);
  const shownOf = (peer: Honest): number => peer.proc.items.filter((e) => e.type === 'message' && e.from === flooderId).length;
  return {
    pair, flooded, sent: texts.length, delivered: latencies.length, duplicates,
    p50Ms: round1(percentile(latencies, 50)), p99Ms: round1(percentile(latencies, 99)), laterP99Ms: round1(percentile(later, 99)), maxMs: round1(latencies.at(-1) ?? Number.NaN),
    flood: !flooded || floodStats?.type !== 'stopped' ? null : {
      sent: floodStats.sent, failed: floodStats.failed, perSecond: Math.round((1000 * floodStats.sent) / floodStats.ms),
      shown: { [a.nick]: shownOf(a), [b.nick]: shownOf(b) },
      refused: { [a.nick]: refused.get(`${a.nick} ${flooderId}`) ?? 0, [b.nick]: refused.get(`${b.nick} ${flooderId}`) ?? 0 },
      graylisted: { [a.nick]: stats[0]?.chat.graylisted ?? -1, [b.nick]: stats[1]?.chat.graylisted ?? -1 },
      // Counted since the peer started: the rounds before this one each cut off their own flooder.
      cutOff: { [a.nick]: stats[0]?.chat.cutOff ?? -1, [b.nick]: stats[1]?.chat.cutOff ?? -1 },
      cpuCores: Math.round((100 * flooderCpuMs) / elapsedMs) / 100
    },
    honestCores: Math.round((100 * honestCpuMs) / elapsedMs) / 100,
    machineBusyPct: Math.round((1000 * (machineAfter.busy - machineBefore.busy)) / Math.max(1, machineAfter.total - machineBefore.total)) / 10
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const pinning = pin();
  log(pinning.how);
  const { url } = await startBootstrapServer(['--no-data-file']);
  const a = await startHonest('alice', url);
  const b = await startHonest('bob', url);
  await a.proc.waitFor((e) => e.type === 'member-joined' && e.peerId === b.peerId, 'alice to see bob', 30_000);
  await warmUp(a, b);
  log(`two peers in #${ROOM}; ${PAIRS} pairs of ${DURATION_S} s rounds, ${RATE} msg/s from each, flood ${FLOOD_RATE === 0 ? 'flat out' : `${FLOOD_RATE} msg/s`}`);

  const rounds: Round[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? [false, true] : [true, false];
    for (const flooded of order) {
      const result = await runRound(pair + 1, flooded, a, b, pinning.launcher);
      rounds.push(result);
      log(`pair ${pair + 1} ${flooded ? 'with' : 'without'} the flooder: ${result.delivered}/${result.sent} delivered, p50 ${result.p50Ms} ms, ` +
        `p99 ${result.p99Ms} ms (${result.laterP99Ms} from ${SETTLED_MS / 1000} s)${result.flood ? `; flooder sent ${result.flood.sent} (${result.flood.perSecond}/s), shown ${JSON.stringify(result.flood.shown)}, ` +
          `graylisted ${JSON.stringify(result.flood.graylisted)}, cut off so far ${JSON.stringify(result.flood.cutOff)}` : ''}`);
    }
  }
  const loadAfter = loadavg();

  const pairRatios = (p99: (r: Round) => number): number[] => Array.from({ length: PAIRS }, (_, i) => {
    const of = (flooded: boolean): Round => rounds.find((r) => r.pair === i + 1 && r.flooded === flooded) as Round;
    return Math.round((100 * p99(of(true))) / p99(of(false))) / 100;
  });
  const ratios = pairRatios((r) => r.p99Ms);
  const medianRatio = Math.round(100 * median(ratios)) / 100;
  const laterRatios = pairRatios((r) => r.laterP99Ms);
  const laterMedianRatio = Math.round(100 * median(laterRatios)) / 100;
  const kind = (flooded: boolean): Round[] => rounds.filter((r) => r.flooded === flooded);
  const summary = (flooded: boolean): { p50Ms: number, p99Ms: number, p99Range: [number, number], delivered: number, sent: number, duplicates: number } => {
    const list = kind(flooded);
    const p99s = list.map((r) => r.p99Ms);
    return {
      p50Ms: round1(median(list.map((r) => r.p50Ms))), p99Ms: round1(median(p99s)), p99Range: [Math.min(...p99s), Math.max(...p99s)],
      delivered: list.reduce((s, r) => s + r.delivered, 0), sent: list.reduce((s, r) => s + r.sent, 0), duplicates: list.reduce((s, r) => s + r.duplicates, 0)
    };
  };
  const withFlood = summary(true);
  const without = summary(false);
  const report = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    node: process.version,
    settings: {
      pairs: PAIRS, durationS: DURATION_S, ratePerPeer: RATE, floodRate: FLOOD_RATE, graceMs: GRACE_MS, limit: { rate: AUTHOR_RATE, burst: AUTHOR_BURST },
      pinning: pinning.how, control: flags.control
    },
    target: { p99Ratio: TARGET_P99_RATIO, ratios, medianRatio, met: medianRatio <= TARGET_P99_RATIO },
    laterThanFirstSecond: { ratios: laterRatios, medianRatio: laterMedianRatio },
    with: withFlood,
    without,
    rounds
  };

  const range = (values: number[]): string => `${Math.min(...values)}-${Math.max(...values)}`;
  const floods = kind(true).map((r) => r.flood).filter((f) => f !== null);
  const lines = [
    '# Flood: two peers chatting beside a flooder',
    '',
    `${startedAt}; ${report.machine.cpus} CPUs (${report.machine.model}), Node ${report.node}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. Command: \`node scripts/bench-flood.ts --pairs ${PAIRS} --duration ${DURATION_S} --rate ${RATE} --flood-rate ${FLOOD_RATE} --pin ${flags.pin} --control ${flags.control}\`; ${pinning.how}` +
      `${IDLE_CONTROL ? '; the rounds "without" run a flooder dialled to nobody (--control idle)' : ''}.`,
    '',
    `Two peer processes in #${ROOM} with the default limit (${AUTHOR_RATE} msg/s per author, ${AUTHOR_BURST} at once), each sending ${RATE} msg/s to the other ` +
      `for ${DURATION_S} s per round; ${PAIRS} pairs of rounds with and without a flooder (a fresh identity each round, dialled to both, ` +
      `flooding ${FLOOD_RATE === 0 ? 'flat out' : `at ${FLOOD_RATE} msg/s`}), the order swapped from pair to pair. ` +
      'Latency: the receiver\'s `message` event read minus the message\'s `ts` (one host, one clock).',
    '',
    '| | p50 ms (median of rounds) | p99 ms (median, range) | delivered / sent | duplicates |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...([['without the flooder', without], ['with the flooder', withFlood]] as const).map(([name, s]) =>
      `| ${name} | ${s.p50Ms} | ${s.p99Ms} (${s.p99Range[0]}-${s.p99Range[1]}) | ${s.delivered} / ${s.sent} | ${s.duplicates} |`),
    '',
    `Target: p99 with the flooder at most ${TARGET_P99_RATIO}x without, median of the pairs' ratios: ${ratios.map((r) => `${r}x`).join(', ')}; ` +
      `median ${medianRatio}x: ${report.target.met ? 'met' : '**not met**'}. ` +
      `The same ratio over the messages sent ${SETTLED_MS / 1000} s or more after a round's start (after the cut-off): ` +
      `${laterRatios.map((r) => `${r}x`).join(', ')}; median ${laterMedianRatio}x.`,
    '',
    `The flooder sent ${range(floods.map((f) => f.sent))} messages a round (${range(floods.map((f) => f.perSecond))} msg/s, ` +
      `${range(floods.map((f) => f.cpuCores))} cores); each peer showed ${range(floods.flatMap((f) => Object.values(f.shown)))} of them ` +
      `(the burst, and what the bucket refilled until the cut-off) and reported ${range(floods.flatMap((f) => Object.values(f.refused)))} ` +
      'refused by the rate limit. ' +
      `Graylisted peers at each peer at the end of each flooded round, the flood still running: ${floods.map((f) => Object.values(f.graylisted).join('/')).join(', ')}; ` +
      `peers cut off so far by each: ${floods.map((f) => Object.values(f.cutOff).join('/')).join(', ')}.`,
    '',
    `| pair | flooder | delivered / sent | p50 ms | p99 ms | p99 from ${SETTLED_MS / 1000} s ms | max ms | flooder sent (msg/s) | shown / refused per peer | peers' CPU, cores | host busy % |`,
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...rounds.map((r) => `| ${r.pair} | ${r.flooded ? 'yes' : 'no'} | ${r.delivered} / ${r.sent} | ${r.p50Ms} | ${r.p99Ms} | ${r.laterP99Ms} | ${r.maxMs} | ` +
      `${r.flood ? `${r.flood.sent} (${r.flood.perSecond})` : ''} | ` +
      `${r.flood ? Object.keys(r.flood.shown).map((k) => `${r.flood?.shown[k]} / ${r.flood?.refused[k]}`).join(', ') : ''} | ${r.honestCores} | ${r.machineBusyPct} |`),
    ''
  ];
  const md = lines.join('\n');
  await writeResults('flood', report, md);
  for (const peer of [a, b]) peer.proc.write('/quit');
  await Promise.all([a, b].map((p) => p.proc.exited));
}

await runBench(main, tempDirs);
