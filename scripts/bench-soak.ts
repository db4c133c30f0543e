/**
 * Soak benchmark: `node scripts/bench-soak.ts [--duration S] [--peers N] [--cpu-pct P] [--rate R] [--starve auto|cgroup|signals]`.
 *
 * The target (issue 4): zero false positives in a 10-minute run of 20 peers with one peer
 * starved of CPU and chat traffic at 50 msg/s. Every peer stays alive for the whole run, the
 * starved one included, so every member-failed in the measured window is a false positive.
 *
 * Real peer processes on 127.0.0.1 (`peer/src/main.ts --json --no-mdns ...`, through
 * peer/test/support/processes.ts) against one bootstrap server (`--no-data-file --max-peers 16`),
 * each peer with its own temp data dir, `--membership-profile lan --room-rate-limit off`, all in room `soak`:
 *   form     N peers, staggered, until every peer emitted member-joined for every other; then
 *            until no member-suspect/failed for 3 s (start-up load raises a few, reported apart)
 *   warm     a chat line every 200 ms from the publisher until three in a row reached everyone
 *   starve   the last peer gets P% of one core (default 5) for the rest of the run:
 *            cgroup v2 `cpu.max` where the cpu controller is available, else cgroup v1's
 *            `cpu.cfs_quota_us`, else (or with --starve signals) a SIGSTOP/SIGCONT duty cycle
 *            of the same share in 100 ms periods. It is started unstarved: Node takes about a
 *            second of CPU to start, which at 5% would be 20 s of its run.
 *   window   S seconds (default 600): peer 0 (never the starved one) publishes R lines a second
 *            (default 50) through its stdin; then 10 s more for late deliveries. Every member
 *            event in the window is counted, per observer and subject.
 * Chat latency is when this process reads a receiver's `message` event minus when it wrote the
 * line to the publisher. Membership load comes from each peer's `/stats` before starving and at
 * the end of publishing (a starved peer that cannot answer in time is left out).
 *
 * Writes bench-results/soak.json and bench-results/soak.md and prints the tables. Every child is
 * killed and the cgroup removed (the starved peer moved out first) on exit, error, SIGINT or
 * SIGTERM; temp dirs are removed. Targets missed are reported, not failed: the exit code is
 * non-zero only when the harness itself fails.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { killAll, REPO_ROOT, startBootstrapServer, startPeer } from '../peer/test/support/processes.ts';
import type { PeerProc } from '../peer/test/support/processes.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { machineCpu, processCpuMs } from './bench-chat/children.ts';
import { LOAD_TABLE_HEADER, loadBetween, loadRow, readStats, summariseLoad } from './membership-load.ts';
import type { Observation, StatsSample } from './membership-load.ts';

const RESULTS_DIR = join(REPO_ROOT, 'bench-results');
const ROOM = 'soak';
const STAGGER_MS = 150;
const FORM_DEADLINE_MS = 120_000;
const QUIET_MS = 3_000;
const QUIET_MAX_MS = 30_000;
const WARM_INTERVAL_MS = 200;
const WARM_IN_A_ROW = 3;
const WARM_DEADLINE_MS = 60_000;
/** After the last line is written: how long late deliveries and membership events still count. */
const GRACE_MS = 10_000;
/** A starved peer answers /stats late, if at all: it is left out after this. */
const STATS_DEADLINE_MS = 15_000;
const PROGRESS_MS = 30_000;
/** observer -> subject pairs listed in the markdown; the JSON has them all. */
const PAIRS_SHOWN = 20;
/** Proc keeps every event a peer printed (tests look back through them); this run reads its own copy. */
const FORGET_MS = 10_000;
const CGROUP_PERIOD_US = 100_000;
const DUTY_PERIOD_MS = 100;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    peers: { type: 'string', default: '20' },
    'cpu-pct': { type: 'string', default: '5' },
    rate: { type: 'string', default: '50' },
    starve: { type: 'string', default: 'auto' }
  }
});
const DURATION_S = Number(flags.duration);
const PEERS = Number(flags.peers);
const CPU_PCT = Number(flags['cpu-pct']);
const RATE = Number(flags.rate);
const STARVE = flags.starve;
if (!(DURATION_S >= 1)) throw new Error('--duration takes a number of seconds >= 1');
if (!Number.isInteger(PEERS) || PEERS < 3) throw new Error('--peers takes an integer >= 3');
if (!(CPU_PCT > 0 && CPU_PCT < 100)) throw new Error('--cpu-pct takes a percentage of one core between 0 and 100');
if (!(RATE > 0)) throw new Error('--rate takes a positive number of messages per second');
if (STARVE !== 'auto' && STARVE !== 'cgroup' && STARVE !== 'signals') throw new Error('--starve takes auto, cgroup or signals');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function log(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

// ---------------------------------------------------------------------------------------
// Starving one process of CPU

interface Starver {
  /** How, in words, for the report. */
  readonly method: string;
  /** Gives the process its CPU back and removes what was set up; synchronous (it runs in exit handlers) and idempotent. */
  release(): void;
}

/** Mount points of cgroup hierarchies: v2 ones, and v1 ones with the cpu controller. */
function cgroupMounts(): { v2: string[], v1cpu: string[] } {
  const v2: string[] = [];
  const v1cpu: string[] = [];
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (mountPoint === undefined || options === undefined) continue;
    if (type === 'cgroup2') v2.push(mountPoint);
    if (type === 'cgroup' && options.split(',').includes('cpu')) v1cpu.push(mountPoint);
  }
  return { v2, v1cpu };
}

/**
 * A child cgroup at the root of a hierarchy with a CPU quota of `pct`% of one core, holding `pid`.
 * Throws with the reason when this hierarchy cannot do it (not root, no cpu controller, read-only).
 */
function cgroupStarver(pid: number, pct: number): Starver {
  const quotaUs = Math.round((CGROUP_PERIOD_US * pct) / 100);
  const name = `cli-chat-soak-${process.pid}`;
  const { v2, v1cpu } = cgroupMounts();
  const reasons: string[] = [];
  const attempt = (root: string, limit: (dir: string) => void, method: string): Starver | undefined => {
    const dir = join(root, name);
    try {
      mkdirSync(dir);
    } catch (err) {
      reasons.push(`${root}: ${(err as Error).message}`);
      return undefined;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      // A cgroup with a process in it cannot be removed: move it back to the root first.
      try { writeFileSync(join(root, 'cgroup.procs'), String(pid)); } catch { /* it has exited */ }
      try { rmdirSync(dir); } catch (err) { log(`could not remove the cgroup ${dir}: ${(err as Error).message}`); }
    };
    try {
      limit(dir);
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (err) {
      reasons.push(`${root}: ${(err as Error).message}`);
      release();
      return undefined;
    }
    return { method: `${method} (${dir})`, release };
  };
  for (const root of v2) {
    const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!controllers.includes('cpu')) {
      reasons.push(`${root}: cgroup v2 without the cpu controller`);
      continue;
    }
    try {
      // The root cgroup may hold processes and still delegate: enable cpu for its children.
      if (!readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) {
        writeFileSync(join(root, 'cgroup.subtree_control'), '+cpu');
      }
    } catch (err) {
      reasons.push(`${root}: ${(err as Error).message}`);
      continue;
    }
    const starver = attempt(root, (dir) => writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${CGROUP_PERIOD_US}`),
      `cgroup v2 cpu.max ${quotaUs} ${CGROUP_PERIOD_US}`);
    if (starver !== undefined) return starver;
  }
  for (const root of v1cpu) {
    const starver = attempt(root, (dir) => {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CGROUP_PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
    }, `cgroup v1 cpu.cfs_quota_us ${quotaUs} per ${CGROUP_PERIOD_US} us (no cpu controller in cgroup v2 here)`);
    if (starver !== undefined) return starver;
  }
  throw new Error(reasons.length > 0 ? reasons.join('; ') : 'no cgroup hierarchy with a cpu controller is mounted');
}

/** SIGCONT for `pct`% of every DUTY_PERIOD_MS, SIGSTOP for the rest. */
function signalStarver(pid: number, pct: number, why: string): Starver {
  const runMs = Math.max(1, Math.round((DUTY_PERIOD_MS * pct) / 100));
  let stop: ReturnType<typeof setTimeout> | undefined;
  const signal = (name: NodeJS.Signals): void => {
    try { process.kill(pid, name); } catch { /* it has exited */ }
  };
  const cycle = setInterval(() => {
    signal('SIGCONT');
    stop = setTimeout(() => signal('SIGSTOP'), runMs);
  }, DUTY_PERIOD_MS);
  signal('SIGSTOP');
  let released = false;
  return {
    method: `SIGSTOP/SIGCONT duty cycle, ${runMs} ms running in every ${DUTY_PERIOD_MS} ms (${why})`,
    release: () => {
      if (released) return;
      released = true;
      clearInterval(cycle);
      clearTimeout(stop);
      signal('SIGCONT');
    }
  };
}

function starve(pid: number): Starver {
  if (STARVE === 'signals') return signalStarver(pid, CPU_PCT, 'asked for with --starve signals');
  try {
    return cgroupStarver(pid, CPU_PCT);
  } catch (err) {
    if (STARVE === 'cgroup') throw err;
    log(`cgroups are not usable (${(err as Error).message}); falling back to signals`);
    return signalStarver(pid, CPU_PCT, `cgroups not usable: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------
// The cluster and what it reports

interface Member {
  index: number;
  nick: string;
  proc: PeerProc;
  dir: string;
  errors: string[];
}

interface Sent {
  writtenAt: number;
  /** When this process read each peer's `message` event for it; NaN until then (and for the publisher). */
  receivedAt: Float64Array;
}

const observations: Observation[] = [];
const members: Member[] = [];
const messages: Sent[] = [];
/** Warm-up lines: receivers that got each. */
const warm: Set<number>[] = [];
let starver: Starver | undefined;
const tempDirs = cleanUpOnExit(() => starver?.release(),
  (signal) => log(`${signal}: releasing the starved peer, killing every child and exiting`));
let bootstrapUrl = '';


async function startMember(index: number): Promise<Member> {
  const nick = `s${index}`;
  const dir = await mkdtemp(join(tmpdir(), `bench-soak-${nick}-`));
  tempDirs.push(dir);
  // One publisher at RATE msg/s, above the room rate limit of one author.
  const proc = startPeer(['--nick', nick, '--data-dir', dir, '--bootstrap', bootstrapUrl, '--membership-profile', 'lan', '--room', ROOM,
    '--room-rate-limit', 'off']);
  const member: Member = { index, nick, proc, dir, errors: [] };
  proc.child.stdin.on('error', () => undefined);
  // A second reader of the same stdout, to stamp each line with the time it was read.
  createInterface({ input: proc.child.stdout }).on('line', (line) => {
    const at = performance.now();
    let event: { type?: unknown, nick?: unknown, text?: unknown, message?: unknown };
    try { event = JSON.parse(line) as typeof event; } catch { return; }
    if (typeof event.type !== 'string') return;
    if (event.type.startsWith('member-') && typeof event.nick === 'string') {
      observations.push({ at, observer: nick, type: event.type, subject: event.nick });
    } else if (event.type === 'message' && typeof event.text === 'string') {
      const [kind, n] = event.text.split(' ');
      const seq = Number(n);
      if (kind === 'soak') {
        const sent = messages[seq];
        if (sent !== undefined && Number.isNaN(sent.receivedAt[index] ?? 0)) sent.receivedAt[index] = at;
      } else if (kind === 'warm') {
        warm[seq]?.add(index);
      }
    } else if (event.type === 'error' && typeof event.message === 'string') {
      member.errors.push(event.message);
    }
  });
  return member;
}

function seen(observer: string, type: string, subject: string): boolean {
  return observations.some((o) => o.observer === observer && o.type === type && o.subject === subject);
}

async function waitMesh(): Promise<void> {
  const end = performance.now() + FORM_DEADLINE_MS;
  for (;;) {
    const missing: string[] = [];
    for (const a of members) {
      for (const b of members) if (a !== b && !seen(a.nick, 'member-joined', b.nick)) missing.push(`${a.nick}->${b.nick}`);
    }
    if (missing.length === 0) return;
    if (performance.now() > end) throw new Error(`cluster did not form within ${FORM_DEADLINE_MS} ms; missing ${missing.length}: ${missing.slice(0, 10).join(' ')}`);
    await sleep(50);
  }
}

async function waitQuiet(): Promise<void> {
  const end = performance.now() + QUIET_MAX_MS;
  for (;;) {
    const lastAlarm = observations.filter((o) => o.type === 'member-suspect' || o.type === 'member-failed').at(-1)?.at ?? 0;
    if (performance.now() - lastAlarm >= QUIET_MS || performance.now() > end) return;
    await sleep(100);
  }
}

/** Until WARM_IN_A_ROW lines in a row reached every receiver (the gossipsub mesh is up); false at the deadline. */
async function warmUp(publisher: Member): Promise<boolean> {
  const end = performance.now() + WARM_DEADLINE_MS;
  const everyone = (k: number): boolean => (warm[k]?.size ?? 0) >= PEERS - 1;
  for (let k = 0; performance.now() < end; k++) {
    warm[k] = new Set();
    publisher.proc.write(`warm ${k}`);
    await sleep(WARM_INTERVAL_MS);
    const last = warm.length - WARM_IN_A_ROW - 1;
    // The newest lines may still be in flight: look at the run that ended a few lines ago.
    if (last >= 0 && Array.from({ length: WARM_IN_A_ROW }, (_, i) => everyone(last + i)).every(Boolean)) return true;
  }
  return false;
}

/** Writes RATE lines a second to the publisher for `seconds`, on a fixed schedule (late ticks catch up). */
async function publish(publisher: Member, seconds: number, onProgress: (elapsedS: number) => void): Promise<void> {
  const start = performance.now();
  const total = Math.round(RATE * seconds);
  let nextProgress = PROGRESS_MS;
  let nextForget = FORGET_MS;
  while (messages.length < total) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed * RATE) / 1000) + 1);
    while (messages.length < due) {
      const receivedAt = new Float64Array(PEERS).fill(Number.NaN);
      messages.push({ writtenAt: performance.now(), receivedAt });
      publisher.proc.write(`soak ${messages.length - 1}`);
    }
    if (elapsed >= nextForget) {
      for (const member of members) member.proc.items.length = 0;
      nextForget += FORGET_MS;
    }
    if (elapsed >= nextProgress) {
      onProgress(elapsed / 1000);
      nextProgress += PROGRESS_MS;
    }
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------
// Figures

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

const round1 = (v: number | null): number | null => (v === null ? null : Math.round(v * 10) / 10);

interface Delivery {
  receiver: string;
  starved: boolean;
  sent: number;
  delivered: number;
  deliveredPct: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

function deliveryOf(index: number, nick: string, starved: boolean): Delivery {
  const latencies: number[] = [];
  for (const m of messages) {
    const at = m.receivedAt[index] ?? Number.NaN;
    if (!Number.isNaN(at)) latencies.push(at - m.writtenAt);
  }
  latencies.sort((a, b) => a - b);
  return {
    receiver: nick, starved, sent: messages.length, delivered: latencies.length,
    deliveredPct: Math.round((10_000 * latencies.length) / Math.max(1, messages.length)) / 100,
    p50Ms: round1(percentile(latencies, 50)), p99Ms: round1(percentile(latencies, 99)), maxMs: round1(latencies.at(-1) ?? null)
  };
}

/** All healthy receivers' deliveries pooled. */
function pooled(indices: readonly number[]): Omit<Delivery, 'receiver' | 'starved'> {
  const latencies: number[] = [];
  for (const m of messages) {
    for (const i of indices) {
      const at = m.receivedAt[i] ?? Number.NaN;
      if (!Number.isNaN(at)) latencies.push(at - m.writtenAt);
    }
  }
  latencies.sort((a, b) => a - b);
  const expected = messages.length * indices.length;
  return {
    sent: expected, delivered: latencies.length, deliveredPct: Math.round((10_000 * latencies.length) / Math.max(1, expected)) / 100,
    p50Ms: round1(percentile(latencies, 50)), p99Ms: round1(percentile(latencies, 99)), maxMs: round1(latencies.at(-1) ?? null)
  };
}

type Counts = Record<string, number>;

function countBy(list: readonly Observation[], key: (o: Observation) => string): Counts {
  const counts: Counts = {};
  for (const o of list) counts[key(o)] = (counts[key(o)] ?? 0) + 1;
  return counts;
}

interface EventSummary {
  total: number;
  aboutStarved: number;
  aboutOthers: number;
  byStarvedObserver: number;
  bySubject: Counts;
  byObserver: Counts;
  /** "observer -> subject": count. */
  pairs: Counts;
}

function summariseEvents(list: readonly Observation[], starvedNick: string): EventSummary {
  return {
    total: list.length,
    aboutStarved: list.filter((o) => o.subject === starvedNick).length,
    aboutOthers: list.filter((o) => o.subject !== starvedNick).length,
    byStarvedObserver: list.filter((o) => o.observer === starvedNick).length,
    bySubject: countBy(list, (o) => o.subject),
    byObserver: countBy(list, (o) => o.observer),
    pairs: countBy(list, (o) => `${o.observer} -> ${o.subject}`)
  };
}

function describeCounts(counts: Counts, limit = Number.POSITIVE_INFINITY): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '-';
  const more = entries.length > limit ? `, ... (${entries.length - limit} more)` : '';
  return entries.slice(0, limit).map(([k, n]) => `${k} ${n}`).join(', ') + more;
}

// ---------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const { url } = await startBootstrapServer(['--no-data-file', '--max-peers', '16']);
  bootstrapUrl = url;
  log(`starting ${PEERS} peers`);
  const formStart = performance.now();
  for (let i = 0; i < PEERS; i++) {
    members.push(await startMember(i));
    await sleep(STAGGER_MS);
  }
  await waitMesh();
  const formMs = performance.now() - formStart;
  await waitQuiet();
  const publisher = members[0] as Member;
  const starved = members[PEERS - 1] as Member;
  log(`cluster formed in ${(formMs / 1000).toFixed(1)} s; warming up the chat mesh`);
  const warmStart = performance.now();
  const warmed = await warmUp(publisher);
  const warmMs = performance.now() - warmStart;
  if (!warmed) log(`WARNING: the chat mesh did not warm up within ${WARM_DEADLINE_MS} ms; going on`);
  const formEvents = observations.filter((o) => o.type === 'member-suspect' || o.type === 'member-failed');

  const statsBefore = await readStats(members, STATS_DEADLINE_MS);
  const pid = starved.proc.child.pid;
  if (pid === undefined) throw new Error('the peer to starve has no PID');
  starver = starve(pid);
  const windowStart = performance.now();
  const starvedCpuBefore = processCpuMs(pid);
  // How busy the host is: the starvation is only meaningful when the others have CPU to spare.
  const peersCpuBefore = members.map((m) => processCpuMs(m.proc.child.pid ?? -1));
  const machineBefore = machineCpu();
  log(`${starved.nick} starved to ${CPU_PCT}% of a core by ${starver.method}; ${publisher.nick} publishes ${RATE} msg/s for ${DURATION_S} s`);

  const inWindow = (): Observation[] => observations.filter((o) => o.at >= windowStart);
  await publish(publisher, DURATION_S, (elapsedS) => {
    const events = inWindow();
    const suspects = events.filter((o) => o.type === 'member-suspect');
    const failed = events.filter((o) => o.type === 'member-failed');
    const healthy = members.filter((m) => m !== publisher && m !== starved).map((m) => m.index);
    log(`${elapsedS.toFixed(0)} s: ${messages.length} sent, healthy delivery ${pooled(healthy).deliveredPct}%, ` +
      `${starved.nick} ${deliveryOf(starved.index, starved.nick, true).deliveredPct}%; member-suspect ${suspects.length} ` +
      `(about ${starved.nick}: ${suspects.filter((o) => o.subject === starved.nick).length}), member-failed ${failed.length}`);
  });
  const publishEnd = performance.now();
  const statsAfter = await readStats(members, STATS_DEADLINE_MS);
  const starvedCpuMs = processCpuMs(pid) - starvedCpuBefore;
  const peersCpuMs = members.reduce((sum, m, i) => sum + processCpuMs(m.proc.child.pid ?? -1) - (peersCpuBefore[i] ?? 0), 0);
  const machineAfter = machineCpu();
  const cpuWindowMs = performance.now() - windowStart;
  const machineBusyPct = Math.round((1000 * (machineAfter.busy - machineBefore.busy)) / Math.max(1, machineAfter.total - machineBefore.total)) / 10;
  const peersCores = Math.round((100 * peersCpuMs) / cpuWindowMs) / 100;
  log(`publishing done; ${GRACE_MS / 1000} s for late deliveries`);
  await sleep(Math.max(0, GRACE_MS - (performance.now() - publishEnd)));
  const windowEnd = performance.now();
  starver.release();
  const loadAfter = loadavg();

  // ------------------------------------------------------------------ figures
  const events = observations.filter((o) => o.at >= windowStart && o.at <= windowEnd);
  const ofType = (type: string): Observation[] => events.filter((o) => o.type === type);
  const failed = summariseEvents(ofType('member-failed'), starved.nick);
  const suspect = summariseEvents(ofType('member-suspect'), starved.nick);
  const alive = summariseEvents(ofType('member-alive'), starved.nick);
  const left = ofType('member-left').length;
  const rejoined = ofType('member-joined').length;
  const receivers = members.filter((m) => m !== publisher);
  const deliveries = receivers.map((m) => deliveryOf(m.index, m.nick, m === starved));
  const healthy = pooled(receivers.filter((m) => m !== starved).map((m) => m.index));
  const starvedDelivery = deliveries.find((d) => d.starved) as Delivery;
  const loads = loadBetween(statsBefore, statsAfter);
  const healthyLoads = loads.filter((l) => l.nick !== starved.nick);
  const starvedStats: StatsSample | undefined = statsAfter.get(starved.nick);
  const starvedCpuPct = Math.round((1000 * starvedCpuMs) / cpuWindowMs) / 10;
  const falsePositives = failed.total;

  const report = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    node: process.version,
    settings: { peers: PEERS, durationS: DURATION_S, rate: RATE, cpuPct: CPU_PCT, profile: 'lan', room: ROOM, graceMs: GRACE_MS },
    publisher: publisher.nick,
    starved: { nick: starved.nick, method: starver.method, cpuPctOfOneCoreUsed: starvedCpuPct, stats: starvedStats ?? null },
    /** While publishing: the whole host's busy share, and the cores the peers used between them. */
    cpu: { machineBusyPct, peersCores },
    formation: { ms: Math.round(formMs), warmMs: Math.round(warmMs), warmed, alarms: formEvents },
    windowS: Math.round((windowEnd - windowStart) / 100) / 10,
    target: { falsePositives: 0, met: falsePositives === 0 },
    membership: { failed, suspect, alive, left, joined: rejoined, events },
    chat: { healthy, starved: starvedDelivery, perReceiver: deliveries },
    load: {
      healthy: healthyLoads.length > 0 ? summariseLoad(healthyLoads) : null,
      starved: loads.find((l) => l.nick === starved.nick) ?? null,
      perMember: loads
    },
    errors: members.flatMap((m) => m.errors.map((e) => `${m.nick}: ${e}`))
  };

  const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(1));
  const lines: string[] = [
    `# Soak: ${PEERS} peers, one starved of CPU, chat at ${RATE} msg/s for ${DURATION_S} s`,
    '',
    `${startedAt}; ${report.machine.cpus} CPUs (${report.machine.model}), Node ${report.node}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. LAN profile, all peers in #${ROOM}; cluster formed in ${(formMs / 1000).toFixed(1)} s, ` +
      `chat mesh warm ${warmed ? `after ${(warmMs / 1000).toFixed(1)} s` : 'NOT reached'}; ${formEvents.length} suspicions during start-up (not counted below).`,
    '',
    `Starved: ${starved.nick}, ${CPU_PCT}% of one core by ${starver.method}; it used ${starvedCpuPct}% of a core in the window. ` +
      `Publisher: ${publisher.nick}. Measured window: ${report.windowS} s (publishing, then ${GRACE_MS / 1000} s for late deliveries). ` +
      'Every peer stayed alive throughout, so every member-failed is a false positive.',
    '',
    `While publishing the host was ${machineBusyPct}% busy (all ${report.machine.cpus} cores) and the peers used ${peersCores} cores between them` +
      (machineBusyPct >= 95 ? ': **the host was saturated**, so every peer was short of CPU, not only the starved one.' : '.'),
    '',
    '## Membership',
    '',
    '| event | total | about the starved peer | about others | raised by the starved peer | by subject | by observer |',
    '|---|---:|---:|---:|---:|---|---|',
    ...([['member-failed (false positives)', failed], ['member-suspect', suspect], ['member-alive (refuted)', alive]] as const).map(([name, s]) =>
      `| ${name} | ${s.total} | ${s.aboutStarved} | ${s.aboutOthers} | ${s.byStarvedObserver} | ${describeCounts(s.bySubject)} | ${describeCounts(s.byObserver)} |`),
    '',
    `member-left: ${left}; member-joined (a member re-joining after being failed): ${rejoined}. ` +
      `Target: zero false positives: ${report.target.met ? 'met' : `**NOT met** (${falsePositives})`}.`,
    ...(failed.total > 0 ? ['', `member-failed, observer -> subject (most frequent; all in soak.json): ${describeCounts(failed.pairs, PAIRS_SHOWN)}.`] : []),
    ...(suspect.total > 0 ? ['', `member-suspect, observer -> subject (most frequent): ${describeCounts(suspect.pairs, PAIRS_SHOWN)}.`] : []),
    '',
    '## Chat delivery',
    '',
    `Latency: this process writes the line to ${publisher.nick}'s stdin -> reads the receiver's \`message\` event. Deliveries read after the window count as missing.`,
    '',
    '| receivers | delivered / sent | delivered % | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|',
    `| ${PEERS - 2} healthy, pooled | ${healthy.delivered} / ${healthy.sent} | ${healthy.deliveredPct} | ${ms(healthy.p50Ms)} | ${ms(healthy.p99Ms)} | ${ms(healthy.maxMs)} |`,
    `| ${starved.nick} (starved) | ${starvedDelivery.delivered} / ${starvedDelivery.sent} | ${starvedDelivery.deliveredPct} | ${ms(starvedDelivery.p50Ms)} | ${ms(starvedDelivery.p99Ms)} | ${ms(starvedDelivery.maxMs)} |`,
    '',
    `Per receiver, delivered % (p99 ms): ${deliveries.map((d) => `${d.receiver} ${d.deliveredPct} (${ms(d.p99Ms)})`).join(', ')}.`,
    '',
    '## Membership load during the run',
    '',
    'Membership protocol bytes and frames per member per second, from `/stats` before starving and at the end of publishing ' +
      `(chat traffic flowing); healthy peers, then the starved one${starvedStats === undefined ? ' (it did not answer /stats in time)' : ''}.`,
    '',
    ...LOAD_TABLE_HEADER,
    ...(report.load.healthy !== null ? [loadRow(report.load.healthy)] : []),
    ...(report.load.starved !== null ? [loadRow(summariseLoad([report.load.starved]))] : []),
    ''
  ];
  if (starvedStats !== undefined) {
    const s = starvedStats.membership;
    lines.push(`The starved peer at the end: health ${s.health} (0 is healthy), incarnation ${s.incarnation}, ${s.refutations} refutations, ` +
      `${s.droppedSends} sends dropped, ${s.rateLimitedFrames} frames over the rate limit.`, '');
  }
  if (report.errors.length > 0) lines.push(`Errors reported by peers (${report.errors.length}): ${report.errors.slice(0, 10).join('; ')}`, '');
  const md = lines.join('\n');
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(RESULTS_DIR, 'soak.md'), md);
  console.log(md);
}

try {
  await main();
} finally {
  starver?.release();
  await killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs.length = 0;
}
