/**
 * Membership benchmark:
 * `node scripts/bench-membership.ts [--members N] [--in-process H [--threads T]] [--rounds R] [--profile lan] [--steady S]`.
 *
 * Real peer processes on 127.0.0.1 (`peer/src/main.ts --json --no-mdns ...`, through
 * peer/test/support/processes.ts) against one bootstrap server (`--no-data-file --max-peers 16`),
 * each peer with its own temp data dir and `--membership-profile <profile>`. Start: N peers,
 * one after the other, until every peer has emitted member-joined for every other (bounded wait).
 *
 * With `--in-process H [--threads T]`, H of the N members are hosted in this process instead,
 * spread over T worker threads (default: one per CPU): the same `Peer` class the command line
 * runs (libp2p over TCP on 127.0.0.1, gossipsub, chat, bootstrap lease), minus the terminal;
 * see membership-host.ts. Each Node process costs about 20 ms of CPU a second at rest on top
 * of the peer's own work, so 50 processes do not fit on two cores, and the issue asks for
 * N=100 or more in one process where processes do not fit. Every scenario's subject is still
 * a peer process, killed or stopped with a real signal; the hosted peers are the observers,
 * and their events are timed as they are emitted. The start, ready and departure of a process
 * are the same in both modes.
 * Load: once the cluster is quiet, a steady window of S seconds (default 60: it spans several of
 * the LAN profile's 10 s anti-entropy syncs, whose bursts make a shorter window noisy) with no joins,
 * leaves or faults: every peer's membership counters (`/stats`) are read at its start and end,
 * giving the membership protocol's bytes and frames sent and received per member per second
 * (its own frames only: not gossipsub, chat or the transport beneath); any member event in the
 * window is reported with it, as it would make the window not steady.
 * Then R rounds, each starting from N members, of:
 *   join    start one new peer; time until every existing peer emitted member-joined for it,
 *           measured from the new peer's `ready` line (and, apart, from its spawn); then one
 *           old peer quits, unmeasured, to bring the cluster back to N
 *   leave   write `/quit` to one peer; time until every other emitted member-left for it
 *   crash   SIGKILL one peer; time until every survivor emitted member-failed for it
 *   freeze  SIGSTOP one peer; time until every survivor emitted member-failed; then SIGKILL
 * A departed peer is replaced by a fresh one (fresh data dir, so a fresh identity) before the
 * next scenario. Times are this process's performance.now() when it read each survivor's line,
 * minus the time of the action; the figure per round is the LAST survivor's time.
 * False positives: member-suspect or member-failed about a peer that was alive and not acted
 * upon at the time, and member-failed about a peer that left with /quit.
 *
 * Writes bench-results/membership-n<N>.json and .md (one pair per cluster size, so that the runs
 * at N=10 and N=50 sit side by side) and prints the tables, with the load of every size found
 * there, for comparison.
 * Every child is killed on exit, error, SIGINT or SIGTERM; temp dirs are removed.
 * Targets missed are reported, not failed.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { killAll, REPO_ROOT, startBootstrapServer, startPeer } from '../peer/test/support/processes.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { HostThread } from './membership-host.ts';
import type { PeerProc } from '../peer/test/support/processes.ts';
import { LOAD_TABLE_HEADER, loadBetween, loadRow, readStats, summariseLoad } from './membership-load.ts';
import type { LoadSummary, MemberLoad, Observation, StatsSample } from './membership-load.ts';

const RESULTS_DIR = join(REPO_ROOT, 'bench-results');
const STAGGER_MS = 150;
const READY_DEADLINE_MS = 30_000;
const STATS_DEADLINE_MS = 10_000;
const JOIN_DEADLINE_MS = 20_000;
const LEAVE_DEADLINE_MS = 10_000;
const FAIL_DEADLINE_MS = 30_000;
const EXIT_GRACE_MS = 5_000;
const SETTLE_MS = 500;
/**
 * Before round 1 and before each scenario: wait for this long without any member event (at
 * most QUIET_MAX_MS), so that a scenario starts from a settled cluster and not while the
 * last one's replacement is still being let in.
 */
const QUIET_MS = 3_000;
const QUIET_MAX_MS = 20_000;
const POLL_MS = 5;

/** memberlist, LAN config, N=10, measured on this machine (seconds). */
const MEMBERLIST = { join: 0.38, leave: 0.19, crash: 6.2, freeze: null } as const;
const TARGETS = {
  join: { median: 0.3, p99: null },
  leave: { median: 0.3, p99: null },
  crash: { median: 1.5, p99: 3 },
  freeze: { median: 5, p99: 8 }
} as const;

const SCENARIOS = ['join', 'leave', 'crash', 'freeze'] as const;
type Scenario = typeof SCENARIOS[number];

const { values: flags } = parseArgs({
  options: {
    members: { type: 'string', default: '10' },
    'in-process': { type: 'string', default: '0' },
    threads: { type: 'string', default: String(availableParallelism()) },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'string', default: 'lan' },
    steady: { type: 'string', default: '60' }
  }
});
const MEMBERS = Number(flags.members);
const ROUNDS = Number(flags.rounds);
const HOSTED = Number(flags['in-process']);
const THREADS = Number(flags.threads);
const PROFILE = flags.profile;
const STEADY_S = Number(flags.steady);
if (!Number.isInteger(MEMBERS) || MEMBERS < 3) throw new Error('--members takes an integer >= 3');
if (!Number.isInteger(HOSTED) || HOSTED < 0 || HOSTED > MEMBERS - 1) {
  throw new Error('--in-process takes an integer from 0 to members - 1: every scenario needs a peer process');
}
if (!Number.isInteger(THREADS) || THREADS < 1) throw new Error('--threads takes an integer >= 1');
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds takes an integer >= 1');
if (!(STEADY_S >= 1)) throw new Error('--steady takes a number of seconds >= 1');
/** Each process costs about a second of CPU to start: a bigger cluster needs longer to form. */
const FORM_DEADLINE_MS = Math.max(60_000, MEMBERS * 2_000);
const RESULTS_STEM = `membership-n${MEMBERS}`;

interface Member {
  nick: string;
  /** A peer process, or undefined for a peer hosted in this process (on a HostThread). */
  proc: PeerProc | undefined;
  dir: string;
  spawnedAt: number;
  readyAt: number | null;
}

type Departure = { kind: 'quit' | 'kill' | 'stop', at: number };

const observations: Observation[] = [];
/** When each observer emitted each event about each subject, in order: `seen` without a scan. */
const seenAt = new Map<string, number[]>();
const departures = new Map<string, Departure>();
const tempDirs = cleanUpOnExit();
let live: Member[] = [];
let nextNick = 0;
let bootstrapUrl = '';
const hosts: HostThread[] = [];
const hostedByNick = new Map<string, Member>();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


function observe(o: Observation): void {
  observations.push(o);
  const key = `${o.observer} ${o.type} ${o.subject}`;
  const times = seenAt.get(key);
  if (times === undefined) seenAt.set(key, [o.at]);
  else times.push(o.at);
}

/** This process's performance.now() at a peer's Date.now() `ts` (one host, one clock). */
function localTime(ts: number): number {
  return ts - performance.timeOrigin;
}

async function memberDir(nick: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `bench-membership-${nick}-`));
  tempDirs.push(dir);
  return dir;
}

/** Spawns a peer process; it is ready once it printed `ready`. */
async function startMember(): Promise<Member> {
  const nick = `p${nextNick++}`;
  const dir = await memberDir(nick);
  const spawnedAt = performance.now();
  const proc = startPeer(['--nick', nick, '--data-dir', dir, '--bootstrap', bootstrapUrl, '--membership-profile', PROFILE]);
  const member: Member = { nick, proc, dir, spawnedAt, readyAt: null };
  proc.child.stdin.on('error', () => undefined);
  // A second reader of the same stdout, to stamp each line with the time it was read.
  createInterface({ input: proc.child.stdout }).on('line', (line) => {
    const at = performance.now();
    let event: { type?: unknown, nick?: unknown, ts?: unknown };
    try { event = JSON.parse(line) as { type?: unknown, nick?: unknown, ts?: unknown }; } catch { return; }
    // When this process is busy (hosting peers), a line is read a while after it was written.
    if (event.type === 'ready') member.readyAt = typeof event.ts === 'number' ? localTime(event.ts) : at;
    if (typeof event.type === 'string' && event.type.startsWith('member-') && typeof event.nick === 'string') {
      observe({ at, observer: nick, type: event.type, subject: event.nick });
    }
  });
  return member;
}

/** Starts a peer on host thread `host`; resolves once it is ready. */
async function startHosted(host: HostThread): Promise<Member> {
  const nick = `p${nextNick++}`;
  const dir = await memberDir(nick);
  const member: Member = { nick, proc: undefined, dir, spawnedAt: performance.now(), readyAt: null };
  hostedByNick.set(nick, member);
  await host.start(nick, dir);
  return member;
}

/** An event of a hosted peer, timed when the peer emitted it. */
function onHostedEvent(observer: string, type: string, subject: string | undefined, at: number): void {
  if (type === 'ready') {
    const member = hostedByNick.get(observer);
    if (member !== undefined) member.readyAt = at;
  } else if (subject !== undefined) {
    observe({ at, observer, type, subject });
  }
}

function processOf(member: Member): PeerProc {
  if (member.proc === undefined) throw new Error(`${member.nick} is hosted in this process, not a peer process`);
  return member.proc;
}

function seen(observer: string, type: string, subject: string, since: number): number | null {
  return seenAt.get(`${observer} ${type} ${subject}`)?.find((at) => at >= since) ?? null;
}

/** Waits until every observer emitted `type` about `subject` (at or after `since`); times in ms after `since`, null if missed. */
async function waitAll(observers: string[], type: string, subject: string, since: number, deadlineMs: number): Promise<Record<string, number | null>> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const times = Object.fromEntries(observers.map((o) => {
      const at = seen(o, type, subject, since);
      return [o, at === null ? null : at - since];
    }));
    if (Object.values(times).every((t) => t !== null) || performance.now() > end) return times;
    await sleep(POLL_MS);
  }
}

async function waitExit(member: Member): Promise<void> {
  const proc = processOf(member);
  const timer = new Promise((resolve) => setTimeout(resolve, EXIT_GRACE_MS));
  const exited = await Promise.race([proc.exited.then(() => true), timer.then(() => false)]);
  if (!exited) proc.kill('SIGKILL');
  await proc.exited;
}

/** Every pair of `members` (or every pair involving `newcomer`) has seen member-joined. */
async function waitMesh(members: Member[], deadlineMs: number, newcomer?: Member): Promise<void> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const missing: string[] = [];
    for (const a of members) {
      for (const b of members) {
        if (a === b) continue;
        if (newcomer !== undefined && a !== newcomer && b !== newcomer) continue;
        if (seen(a.nick, 'member-joined', b.nick, 0) === null) missing.push(`${a.nick}->${b.nick}`);
      }
    }
    if (missing.length === 0) return;
    if (performance.now() > end) {
      throw new Error(`cluster did not form within ${deadlineMs} ms; missing ${missing.length}: ${missing.slice(0, 10).join(' ')}\n${diagnose(members, missing)}`);
    }
    await sleep(20);
  }
}

/** What each member that others still miss did, and what they said of it: enough to tell a stuck start from a protocol fault. */
function diagnose(members: Member[], missing: string[]): string {
  const subjects = [...new Set(missing.map((pair) => pair.split('->')[1] as string))];
  return subjects.map((nick) => {
    const member = members.find((m) => m.nick === nick);
    const about = new Map<string, number>();
    for (const o of observations) if (o.subject === nick) about.set(o.type, (about.get(o.type) ?? 0) + 1);
    const own = new Map<string, number>();
    for (const o of observations) if (o.observer === nick) own.set(o.type, (own.get(o.type) ?? 0) + 1);
    const exitCode = member?.proc?.child.exitCode ?? null;
    const state = member === undefined ? 'unknown' : exitCode !== null ? `exited ${exitCode}`
      : member.readyAt === null ? 'not ready' : `ready after ${((member.readyAt - member.spawnedAt) / 1000).toFixed(1)} s` +
        (member.proc === undefined ? ' (in this process)' : '');
    return `  ${nick}: ${state}; others said ${JSON.stringify(Object.fromEntries(about))}; it said ${JSON.stringify(Object.fromEntries(own))}; ` +
      `missed by ${missing.filter((pair) => pair.endsWith(`->${nick}`)).length}; stderr tail: ${member?.proc?.stderr.slice(-3).join(' | ') ?? ''}`;
  }).join('\n');
}

/** Waits for QUIET_MS without member events (see there). */
async function quiet(): Promise<void> {
  const end = performance.now() + QUIET_MAX_MS;
  for (;;) {
    const last = observations.at(-1)?.at ?? 0;
    if (performance.now() - last >= QUIET_MS || performance.now() > end) return;
    await sleep(100);
  }
}

/** A random peer process: the subject of a departure (hosted peers only observe). */
function pick(): Member {
  const processes = live.filter((m) => m.proc !== undefined);
  const member = processes[Math.floor(Math.random() * processes.length)];
  if (member === undefined) throw new Error('no member to pick');
  return member;
}

async function replace(): Promise<void> {
  const member = await startMember();
  live.push(member);
  await waitMesh(live, JOIN_DEADLINE_MS, member);
  await sleep(SETTLE_MS);
}

function depart(member: Member, kind: Departure['kind'], at: number): void {
  departures.set(member.nick, { kind, at });
  live = live.filter((m) => m !== member);
}

interface RoundResult {
  scenario: Scenario;
  round: number;
  subject: string;
  /** ms after the action (join: after the newcomer's ready line) per survivor; null = missed the deadline. */
  survivors: Record<string, number | null>;
  /** The last survivor's time, null if any missed. */
  allKnowMs: number | null;
  /** join only: the same, from the newcomer's spawn. */
  allKnowFromSpawnMs?: number | null;
  falsePositives: Observation[];
}

function falsePositivesBetween(from: number, to: number): Observation[] {
  return observations.filter((o) => o.at >= from && o.at <= to && isFalsePositive(o));
}

function isFalsePositive(o: Observation): boolean {
  if (o.type !== 'member-failed' && o.type !== 'member-suspect') return false;
  const d = departures.get(o.subject);
  if (d === undefined || o.at < d.at) return true;
  return d.kind === 'quit' && o.type === 'member-failed';
}

function lastOf(times: Record<string, number | null>): number | null {
  const values = Object.values(times);
  if (values.some((t) => t === null)) return null;
  return Math.max(...(values as number[]));
}

async function runJoin(round: number): Promise<RoundResult> {
  const existing = live.map((m) => m.nick);
  const member = await startMember();
  const start = performance.now();
  const fromSpawn = await waitAll(existing, 'member-joined', member.nick, member.spawnedAt, JOIN_DEADLINE_MS);
  const readyAt = member.readyAt ?? member.spawnedAt;
  const fromReady = Object.fromEntries(Object.entries(fromSpawn).map(([k, v]) => [k, v === null ? null : v - (readyAt - member.spawnedAt)]));
  live.push(member);
  const result: RoundResult = {
    scenario: 'join', round, subject: member.nick, survivors: fromReady, allKnowMs: lastOf(fromReady),
    allKnowFromSpawnMs: lastOf(fromSpawn), falsePositives: falsePositivesBetween(start, performance.now())
  };
  await waitMesh(live, JOIN_DEADLINE_MS, member);
  // Back to N: the oldest other peer process quits, unmeasured.
  const old = live.find((m) => m !== member && m.proc !== undefined);
  if (old === undefined) throw new Error('no old member');
  processOf(old).write('/quit');
  depart(old, 'quit', performance.now());
  await waitAll(live.map((m) => m.nick), 'member-left', old.nick, departures.get(old.nick)?.at ?? 0, LEAVE_DEADLINE_MS);
  await waitExit(old);
  await sleep(SETTLE_MS);
  return result;
}

async function runDeparture(scenario: Exclude<Scenario, 'join'>, round: number): Promise<RoundResult> {
  const target = pick();
  const action = performance.now();
  const proc = processOf(target);
  if (scenario === 'leave') proc.write('/quit');
  else proc.kill(scenario === 'crash' ? 'SIGKILL' : 'SIGSTOP');
  depart(target, scenario === 'leave' ? 'quit' : scenario === 'crash' ? 'kill' : 'stop', action);
  const type = scenario === 'leave' ? 'member-left' : 'member-failed';
  const survivors = await waitAll(live.map((m) => m.nick), type, target.nick, action, scenario === 'leave' ? LEAVE_DEADLINE_MS : FAIL_DEADLINE_MS);
  const result: RoundResult = {
    scenario, round, subject: target.nick, survivors, allKnowMs: lastOf(survivors),
    falsePositives: falsePositivesBetween(action, performance.now())
  };
  if (scenario === 'freeze') proc.kill('SIGKILL');
  await waitExit(target);
  await replace();
  return result;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? null;
}

interface Summary {
  scenario: Scenario;
  rounds: number;
  missed: number;
  medianS: number | null;
  p99S: number | null;
  maxS: number | null;
  perSurvivorMedianS: number | null;
  fromSpawnMedianS?: number | null;
  falsePositives: number;
  memberlistS: number | null;
  target: { median: number, p99: number | null };
  meetsTarget: boolean;
}

function summarise(scenario: Scenario, results: RoundResult[]): Summary {
  const rs = results.filter((r) => r.scenario === scenario);
  const all = rs.map((r) => r.allKnowMs).filter((t): t is number => t !== null).sort((a, b) => a - b);
  const each = rs.flatMap((r) => Object.values(r.survivors)).filter((t): t is number => t !== null).sort((a, b) => a - b);
  const s = (ms: number | null): number | null => ms === null ? null : Math.round(ms) / 1000;
  const missed = rs.filter((r) => r.allKnowMs === null).length;
  const median = s(quantile(all, 0.5));
  const p99 = s(quantile(all, 0.99));
  const target = TARGETS[scenario];
  const summary: Summary = {
    scenario, rounds: rs.length, missed, medianS: median, p99S: p99, maxS: s(all.at(-1) ?? null),
    perSurvivorMedianS: s(quantile(each, 0.5)),
    falsePositives: rs.reduce((n, r) => n + r.falsePositives.length, 0),
    memberlistS: MEMBERLIST[scenario], target,
    meetsTarget: missed === 0 && median !== null && median <= target.median && (target.p99 === null || (p99 !== null && p99 <= target.p99))
  };
  if (scenario === 'join') {
    const spawn = rs.map((r) => r.allKnowFromSpawnMs ?? null).filter((t): t is number => t !== null).sort((a, b) => a - b);
    summary.fromSpawnMedianS = s(quantile(spawn, 0.5));
  }
  return summary;
}

function table(summaries: Summary[]): string {
  const f = (v: number | null | undefined): string => v === null || v === undefined ? '-' : v.toFixed(2);
  const lines = [
    '| scenario | rounds | median s | p99 s | max s | per-survivor median s | false positives | memberlist LAN N=10 s | target (median / p99) s | met |',
    '|---|---|---|---|---|---|---|---|---|---|'
  ];
  for (const s of summaries) {
    const missed = s.missed > 0 ? ` (${s.missed} missed)` : '';
    lines.push(`| ${s.scenario} | ${s.rounds}${missed} | ${f(s.medianS)} | ${f(s.p99S)} | ${f(s.maxS)} | ${f(s.perSurvivorMedianS)} | ${s.falsePositives} | ${f(s.memberlistS)} | ${f(s.target.median)} / ${f(s.target.p99)} | ${s.meetsTarget ? 'yes' : 'NO'} |`);
  }
  return lines.join('\n');
}

interface Load {
  summary: LoadSummary;
  /** CPU this process used in the window (the hosted peers, when there are any), in ms per second. */
  benchCpuMsPerS: number;
  perMember: MemberLoad[];
  /** Member events in the window: none if it was steady. */
  events: Observation[];
}

/** Every live peer's membership counters: a process's through `/stats`, a hosted peer's directly. */
async function readAllStats(): Promise<Map<string, StatsSample>> {
  const samples = await readStats(live.flatMap((m) => m.proc === undefined ? [] : [{ nick: m.nick, proc: m.proc }]), STATS_DEADLINE_MS);
  for (const host of hosts) {
    for (const [nick, sample] of await host.stats()) if (live.some((m) => m.nick === nick)) samples.set(nick, sample);
  }
  return samples;
}

/** Reads every peer's counters, waits STEADY_S, reads them again. */
async function measureLoad(): Promise<Load> {
  const first = await readAllStats();
  const from = performance.now();
  const cpu = process.cpuUsage();
  await sleep(STEADY_S * 1000);
  const used = process.cpuUsage(cpu);
  const benchCpuMsPerS = Math.round((used.user + used.system) / (performance.now() - from));
  const second = await readAllStats();
  const perMember = loadBetween(first, second);
  return { summary: summariseLoad(perMember), benchCpuMsPerS, perMember, events: observations.filter((o) => o.at >= from && o.type !== 'member-updated') };
}

/** The load figures of every cluster size in bench-results (this run's included), smallest first. */
async function loadBySize(): Promise<{ members: number, hosted: number, startedAt: string, summary: LoadSummary }[]> {
  const found: { members: number, hosted: number, startedAt: string, summary: LoadSummary }[] = [];
  for (const name of await readdir(RESULTS_DIR)) {
    if (!/^membership-n\d+\.json$/.test(name)) continue;
    const data = JSON.parse(await readFile(join(RESULTS_DIR, name), 'utf8')) as { members?: number, hosted?: number, startedAt?: string, load?: Load };
    if (data.load !== undefined && data.members !== undefined && data.startedAt !== undefined) {
      found.push({ members: data.members, hosted: data.hosted ?? 0, startedAt: data.startedAt, summary: data.load.summary });
    }
  }
  return found.sort((a, b) => a.members - b.members);
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const { url } = await startBootstrapServer(['--no-data-file', '--max-peers', '16']);
  bootstrapUrl = url;
  const formStart = performance.now();
  if (HOSTED > 0) {
    for (let i = 0; i < Math.min(THREADS, HOSTED); i++) hosts.push(new HostThread({ bootstrapUrl, profile: PROFILE }, onHostedEvent));
  }
  for (let i = 0; i < HOSTED; i++) {
    live.push(await startHosted(hosts[i % hosts.length] as HostThread));
    await sleep(STAGGER_MS);
  }
  for (let i = HOSTED; i < MEMBERS; i++) {
    const member = await startMember();
    live.push(member);
    // One start at a time: a Node process spends about a second of CPU starting, and dozens
    // starting at once on two cores would starve the running members into false suspicions.
    const readyBy = performance.now() + READY_DEADLINE_MS;
    while (member.readyAt === null && performance.now() < readyBy) await sleep(POLL_MS);
    await sleep(STAGGER_MS);
  }
  await waitMesh(live, FORM_DEADLINE_MS);
  const formMs = performance.now() - formStart;
  console.error(`cluster of ${MEMBERS}${HOSTED > 0 ? ` (${HOSTED} in this process on ${hosts.length} threads)` : ''} formed in ${(formMs / 1000).toFixed(1)} s`);
  // Starting 10+ Node processes loads the CPUs for a while after the mesh forms; suspicions
  // raised then are start-up noise, so round 1 waits for the cluster to be quiet.
  await quiet();
  const formFalsePositives = falsePositivesBetween(0, performance.now());
  const quietMs = performance.now() - formStart - formMs;
  console.error(`quiet after ${(quietMs / 1000).toFixed(1)} s more; ${formFalsePositives.length} suspicions during start-up`);
  console.error(`steady window: ${STEADY_S} s with no joins, leaves or faults`);
  const load = await measureLoad();
  const l = load.summary;
  console.error(`load per member: sent ${l.sentBytesPerS.median} B/s (max ${l.sentBytesPerS.max}), ${l.sentFramesPerS.median} frames/s; ` +
    `${load.events.length} member events in the window` + (HOSTED > 0 ? `; the hosted peers used ${load.benchCpuMsPerS} ms of CPU a second` : ''));

  const results: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of SCENARIOS) {
      await quiet();
      const r = scenario === 'join' ? await runJoin(round) : await runDeparture(scenario, round);
      results.push(r);
      const t = r.allKnowMs === null ? 'MISSED' : `${(r.allKnowMs / 1000).toFixed(3)} s`;
      console.error(`round ${round} ${scenario} ${r.subject}: ${t}, false positives ${r.falsePositives.length}`);
    }
  }
  const allFalsePositives = observations.filter(isFalsePositive);
  const summaries = SCENARIOS.map((s) => summarise(s, results));
  const md = [
    `# Membership benchmark (${PROFILE} profile, N=${MEMBERS}, ${ROUNDS} rounds)`,
    ...(HOSTED > 0 ? ['', `${HOSTED} of the ${MEMBERS} peers are hosted in the benchmark process on ${hosts.length} worker threads (the observers);`,
      'the others, and every scenario\'s subject, are peer processes.'] : []),
    '',
    `${startedAt}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; cluster formed in ${(formMs / 1000).toFixed(1)} s, quiet ${(quietMs / 1000).toFixed(1)} s later (${formFalsePositives.length} false suspicions during start-up, not counted below).`,
    '',
    'Time from the action until the LAST survivor emitted the event (join: from the newcomer\'s `ready`;',
    `median from its spawn: ${summaries[0]?.fromSpawnMedianS?.toFixed(2) ?? '-'} s). p99 of ${ROUNDS} samples is their maximum.`,
    '',
    table(summaries),
    '',
    `False positives over the whole run (including formation and unmeasured steps): ${allFalsePositives.length}` +
      (allFalsePositives.length > 0 ? ` — ${allFalsePositives.slice(0, 10).map((o) => `${o.observer} ${o.type} ${o.subject}`).join('; ')}` : ''),
    '',
    `## Membership load in a steady window (${STEADY_S} s before round 1)`,
    '',
    'Bytes and frames of the membership protocol itself (length prefix and message; not gossipsub, chat,',
    'or the multistream, Yamux and Noise overhead beneath), per member per second, from each peer\'s `/stats`',
    `at the start and end of the window. Member events in the window: ${load.events.length}` +
      (load.events.length > 0 ? ` (not steady) — ${load.events.slice(0, 10).map((o) => `${o.observer} ${o.type} ${o.subject}`).join('; ')}` : '') + '.' +
      (HOSTED > 0 ? ` The ${HOSTED} hosted peers used ${load.benchCpuMsPerS} ms of CPU a second between them (this process).` : ''),
    '',
    ...LOAD_TABLE_HEADER,
    loadRow(load.summary),
    ''
  ].join('\n');
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${RESULTS_STEM}.json`), `${JSON.stringify({
    startedAt, members: MEMBERS, hosted: HOSTED, threads: hosts.length, rounds: ROUNDS, profile: PROFILE,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() },
    formMs, quietMs, formFalsePositives, load, summaries, results, allFalsePositives, memberlist: MEMBERLIST, targets: TARGETS
  }, null, 2)}\n`);
  // Beside the other sizes' runs: the target is a load nearly flat in N (at most 1.3x from 10 to 50).
  const sizes = await loadBySize();
  const smallest = sizes[0];
  const comparison = sizes.length < 2 || smallest === undefined ? '' : [
    '',
    '## Load by cluster size (every bench-results/membership-n*.json)',
    '',
    '| members | of them in one process | run | sent B/s per member, median | x smallest N |',
    '|---:|---:|---|---:|---:|',
    ...sizes.map((x) => `| ${x.members} | ${x.hosted} | ${x.startedAt} | ${x.summary.sentBytesPerS.median} | ` +
      `${(x.summary.sentBytesPerS.median / smallest.summary.sentBytesPerS.median).toFixed(2)} |`),
    ''
  ].join('\n');
  await writeFile(join(RESULTS_DIR, `${RESULTS_STEM}.md`), md + comparison);
  console.log(md + comparison);
}

try {
  await main();
} finally {
  // Hosted peers leave as /quit would make them; a stuck one does not hold the run up.
  await Promise.all(hosts.map((host) => host.stop(EXIT_GRACE_MS)));
  await killAll();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs.length = 0;
}
