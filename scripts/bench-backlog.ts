/**
 * Backlog benchmark: `node scripts/bench-backlog.ts [--messages N] [--pairs P] [--publish-rate R] [--cpu-prof]`.
 *
 * How long does a late joiner take to receive and show a room's last N messages (default
 * 10,000; target: at most 2 s)? Real peer processes on 127.0.0.1 (`peer/src/main.ts --json
 * --no-mdns ...` through peer/test/support/processes.ts) against one bootstrap server
 * (`--no-data-file`), in room `backlog`:
 *
 * - a publisher writes N lines to its stdin at R a second (default 2,000), each a real
 *   signed gossipsub message; a holder (`--room-rate-limit off`)
 *   receives, verifies and stores every one as it would live traffic. The publisher then
 *   quits, so the holder is the one member a joiner can ask and its history DB holds N
 *   signed records;
 * - P pairs of rounds (default 5), each a fresh late joiner (a new data dir and identity)
 *   started with `--backlog N`, and a baseline round started with `--backlog 1`, which
 *   pays for everything but the backlog's size (start, bootstrap, membership, one record);
 *   the order swapped from pair to pair. A round ends at the joiner's `history` event with
 *   `source: "peer"` and all the entries asked for, then the joiner quits.
 *
 * Times, by this process's clock, from spawning the joiner and from reading its
 * `room-joined` event: to the first bytes of the `history` line on its stdout (the event
 * emitted and serialised), and to the end of that line (the whole backlog rendered as
 * --json renders it). The joiner's and the holder's CPU over the round come from /proc.
 * With --cpu-prof, one more round of N runs the joiner under `node --cpu-prof`; its main
 * thread's profile is summarised from `room-joined` to the `history` line, with the busy
 * time of its signature worker threads beside it (not among the figures: profiling slows it).
 *
 * Writes bench-results/backlog.json and bench-results/backlog.md and prints the table.
 * Every child is killed and temp dirs removed on exit, error, SIGINT or SIGTERM. A missed
 * target is reported, not failed.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startBootstrapServer, startPeer } from '../peer/test/support/processes.ts';
import type { PeerProc } from '../peer/test/support/processes.ts';
import type { PeerEvent } from '../peer/src/events.ts';
import { MAX_BACKLOG_ENTRIES } from '../peer/src/history/constants.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { median, runBench, writeResults } from './bench-figures.ts';
import { processCpuMs } from './bench-chat/children.ts';
import { summariseProfile } from './bench-chat/cpuprofile.ts';
import type { ProfileSummary, Watched } from './bench-chat/cpuprofile.ts';

const ROOM = 'backlog';
const TARGET_MS = 2_000;
const WARM_DEADLINE_MS = 20_000;
/** A joiner's path from the backlog stream to the event on stdout, for the profile's inclusive times. */
const WATCHED: Watched[] = [
  ['Backlog.fetch: read the stream, verify each record', 'peer/src/history/backlog.ts', 'fetch'],
  ['verifyRecords: decode, checks, this thread\'s share of the signatures, message IDs', 'peer/src/history/record.ts', 'verifyRecords'],
  ['Ed25519 verify (node:crypto), this thread', 'node:internal/crypto/sig', 'verifyOneShot'],
  ['decodeChatMessage', 'peer/src/chat/codec.ts', 'decodeChatMessage'],
  ['chatMessageId (sha256)', 'peer/src/chat/codec.ts', 'chatMessageId'],
  ['HistoryStore.add: SQLite inserts, one transaction', 'peer/src/history/store.ts', 'add'],
  ['Session.show: JSON.stringify and write to stdout', 'peer/src/cli/session.ts', 'show']
];

const { values: flags } = parseArgs({
  options: {
    messages: { type: 'string', default: String(MAX_BACKLOG_ENTRIES) },
    pairs: { type: 'string', default: '5' },
    'publish-rate': { type: 'string', default: '2000' },
    'cpu-prof': { type: 'boolean', default: false }
  }
});
const MESSAGES = Number(flags.messages);
const PAIRS = Number(flags.pairs);
const PUBLISH_RATE = Number(flags['publish-rate']);
if (!Number.isInteger(MESSAGES) || MESSAGES < 2 || MESSAGES > MAX_BACKLOG_ENTRIES) throw new Error(`--messages takes an integer from 2 to ${MAX_BACKLOG_ENTRIES}`);
if (!Number.isInteger(PAIRS) || PAIRS < 1) throw new Error('--pairs takes an integer >= 1');
if (!(PUBLISH_RATE > 0)) throw new Error('--publish-rate takes messages per second');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

function log(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

const tempDirs = cleanUpOnExit(() => {}, (signal) => log(`${signal}: killing every child and exiting`));

type Ready = Extract<PeerEvent, { type: 'ready' }>;
type History = Extract<PeerEvent, { type: 'history' }>;

async function start(nick: string, url: string, extra: string[]): Promise<{ proc: PeerProc, peerId: string }> {
  const dir = await mkdtemp(join(tmpdir(), `bench-backlog-${nick}-`));
  tempDirs.push(dir);
  const proc = startPeer(['--nick', nick, '--data-dir', dir, '--bootstrap', url, '--room', ROOM, ...extra]);
  proc.child.stdin.on('error', () => undefined);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, 30_000) as Ready;
  return { proc, peerId: ready.peerId };
}

/** A line of typical chat length, distinct for each i. */
const line = (i: number): string => `backlog ${i}: a line of about the length people type in a chat room, give or take`;

/** Fills the holder's history with the publisher's N messages, received live; resolves with how long that took. */
async function fill(url: string, holder: PeerProc): Promise<number> {
  const publisher = await start('alice', url, []);
  await holder.waitFor((e) => e.type === 'member-joined' && e.peerId === publisher.peerId, 'the holder to see the publisher', 30_000);
  // Until a line reaches the holder: the gossipsub mesh is up, so nothing published is lost to its absence.
  const end = Date.now() + WARM_DEADLINE_MS;
  for (let i = 0; ; i++) {
    publisher.proc.write(`warm ${i}`);
    const got = await holder.waitFor((e) => e.type === 'message' && e.text.startsWith('warm '), 'a warm-up line', 300).then(() => true, () => false);
    if (got) break;
    if (Date.now() > end) throw new Error(`no line from the publisher reached the holder within ${WARM_DEADLINE_MS} ms`);
  }
  const received = (): number => holder.items.filter((e) => e.type === 'message' && e.text.startsWith('backlog ')).length;
  const startedAt = Date.now();
  let written = 0;
  while (written < MESSAGES) {
    const due = Math.min(MESSAGES, Math.floor(((Date.now() - startedAt) * PUBLISH_RATE) / 1000) + 1);
    for (; written < due; written++) publisher.proc.write(line(written));
    await sleep(5);
  }
  const deadline = Date.now() + 60_000;
  while (received() < MESSAGES) {
    if (Date.now() > deadline) throw new Error(`the holder received ${received()} of ${MESSAGES} messages within 60 s of the last one sent`);
    await sleep(100);
  }
  const ms = Date.now() - startedAt;
  // Gone, so that the holder is the one member a joiner asks.
  publisher.proc.write('/quit');
  if ((await publisher.proc.exited).code !== 0) throw new Error('the publisher did not exit cleanly');
  await holder.waitFor((e) => e.type === 'member-left' && e.peerId === publisher.peerId, 'the holder to see the publisher leave', 30_000);
  return ms;
}

/** When this process read the joiner's milestones: Date.now() in ms, and hrtime in µs (the clock of a --cpu-prof profile). */
interface Marks {
  joinedAt?: number;
  joinedUs?: number;
  firstByteAt?: number;
  shownAt?: number;
  shownUs?: number;
  lineBytes?: number;
}

const HISTORY_START = '{"type":"history"';

/** A second reader of the joiner's stdout, to stamp the milestones as they are read. */
function watch(proc: PeerProc): Marks {
  const marks: Marks = {};
  // A chunk may split the marker: keep the end of the previous one.
  let tail = '';
  proc.child.stdout.on('data', (chunk: Buffer) => {
    if (marks.firstByteAt !== undefined) return;
    const text = tail + chunk.toString('latin1');
    if (text.includes(`\n${HISTORY_START}`) || text.startsWith(HISTORY_START)) marks.firstByteAt = Date.now();
    tail = text.slice(-HISTORY_START.length);
  });
  createInterface({ input: proc.child.stdout }).on('line', (text) => {
    if (text.startsWith('{"type":"room-joined"')) {
      marks.joinedAt = Date.now();
      marks.joinedUs = nowUs();
    } else if (text.startsWith(HISTORY_START) && text.includes('"source":"peer"') && marks.shownAt === undefined) {
      marks.shownAt = Date.now();
      marks.shownUs = nowUs();
      marks.lineBytes = Buffer.byteLength(text);
    }
  });
  return marks;
}

type Kind = 'backlog' | 'baseline';

interface Round {
  pair: number;
  kind: Kind;
  /** The joiner's --backlog, and what its `history` event held. */
  asked: number;
  entries: number;
  rejected: number;
  spawnToReadyMs: number;
  spawnToJoinedMs: number;
  spawnToFirstByteMs: number;
  spawnToShownMs: number;
  joinedToFirstByteMs: number;
  joinedToShownMs: number;
  historyLineBytes: number;
  /** CPU from spawn to the history line read: the joiner's, and the holder's over the same stretch. */
  joinerCpuMs: number;
  holderCpuMs: number;
}

async function runRound(pair: number, kind: Kind, url: string, holder: { proc: PeerProc, peerId: string }, profileDir?: string): Promise<{ round: Round, marks: Marks }> {
  const asked = kind === 'backlog' ? MESSAGES : 1;
  const nick = `carol${pair}${kind === 'backlog' ? 'b' : 'z'}`;
  const dir = await mkdtemp(join(tmpdir(), `bench-backlog-${nick}-`));
  tempDirs.push(dir);
  const holderCpuBefore = processCpuMs(holder.proc.child.pid ?? -1);
  const env = profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` };
  const spawnedAt = Date.now();
  const proc = startPeer(['--nick', nick, '--data-dir', dir, '--bootstrap', url, '--room', ROOM, '--backlog', String(asked)], env);
  const marks = watch(proc);
  proc.child.stdin.on('error', () => undefined);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, 30_000) as Ready;
  const readyAt = Date.now();
  const history = await proc.waitFor((e) => e.type === 'history' && e.source === 'peer', `${nick}'s backlog`, 30_000) as History;
  const joinerCpuMs = processCpuMs(proc.child.pid ?? -1);
  const holderCpuMs = processCpuMs(holder.proc.child.pid ?? -1) - holderCpuBefore;
  if (history.messages.length !== asked || history.rejected.length > 0) {
    throw new Error(`${nick} was shown ${history.messages.length} of ${asked} entries, ${history.rejected.length} rejected`);
  }
  proc.write('/quit');
  if ((await proc.exited).code !== 0) throw new Error(`${nick} did not exit cleanly`);
  await holder.proc.waitFor((e) => e.type === 'member-left' && e.peerId === ready.peerId, `the holder to see ${nick} leave`, 30_000);
  await rm(dir, { recursive: true, force: true });
  tempDirs.splice(tempDirs.indexOf(dir), 1);
  const { joinedAt = Number.NaN, firstByteAt = Number.NaN, shownAt = Number.NaN } = marks;
  return {
    marks,
    round: {
      pair, kind, asked, entries: history.messages.length, rejected: history.rejected.length,
      spawnToReadyMs: readyAt - spawnedAt, spawnToJoinedMs: joinedAt - spawnedAt, spawnToFirstByteMs: firstByteAt - spawnedAt,
      spawnToShownMs: shownAt - spawnedAt, joinedToFirstByteMs: firstByteAt - joinedAt, joinedToShownMs: shownAt - joinedAt,
      historyLineBytes: marks.lineBytes ?? 0, joinerCpuMs: Math.round(joinerCpuMs), holderCpuMs: Math.round(holderCpuMs)
    }
  };
}

// ---------------------------------------------------------------------------------------
// Figures


interface Spread {
  median: number;
  min: number;
  max: number;
}

const spread = (values: readonly number[]): Spread => ({ median: Math.round(median(values)), min: Math.min(...values), max: Math.max(...values) });
const show = (s: Spread): string => `${s.median} (${s.min}-${s.max})`;

/** The joiner's main thread, summarised; and its signature workers' CPU, which --cpu-prof profiles one file per thread. */
async function profileRound(url: string, holder: { proc: PeerProc, peerId: string }): Promise<{ round: Round, summary: ProfileSummary, workers: { threads: number, ms: number } }> {
  const profileDir = await mkdtemp(join(tmpdir(), 'bench-backlog-prof-'));
  tempDirs.push(profileDir);
  const { round, marks } = await runRound(PAIRS + 1, 'backlog', url, holder, profileDir);
  const window = [{ startUs: marks.joinedUs ?? 0, endUs: marks.shownUs ?? 0 }];
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is thread 0.
  const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile'));
  const main = files.find((f) => f.split('.')[4] === '0');
  if (main === undefined) throw new Error('the profiled joiner wrote no profile of its main thread');
  const workers = files.filter((f) => f !== main).map((f) => summariseProfile(join(profileDir, f), window, 0));
  const busy = (s: ProfileSummary): number => s.categories.filter((c) => c.name !== 'idle').reduce((sum, c) => sum + c.ms, 0);
  return {
    round,
    summary: summariseProfile(join(profileDir, main), window, 12, WATCHED),
    workers: { threads: workers.length, ms: Math.round(workers.reduce((sum, w) => sum + busy(w), 0)) }
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const { url } = await startBootstrapServer(['--no-data-file']);
  // The default --history-limit (10,000) already keeps every message a backlog may carry.
  const holder = await start('bob', url, ['--room-rate-limit', 'off']);
  const fillMs = await fill(url, holder.proc);
  log(`the holder has ${MESSAGES} messages (published at ${PUBLISH_RATE}/s, all received in ${fillMs} ms); ${PAIRS} pairs of late joiners`);

  const rounds: Round[] = [];
  for (let pair = 1; pair <= PAIRS; pair++) {
    const order: Kind[] = pair % 2 === 1 ? ['backlog', 'baseline'] : ['baseline', 'backlog'];
    for (const kind of order) {
      const { round } = await runRound(pair, kind, url, holder);
      rounds.push(round);
      log(`pair ${pair} ${kind}: ${round.entries} entries; from spawn ${round.spawnToShownMs} ms, from room-joined ${round.joinedToShownMs} ms ` +
        `(first byte ${round.joinedToFirstByteMs} ms), ${round.historyLineBytes} B; CPU joiner ${round.joinerCpuMs} ms, holder ${round.holderCpuMs} ms`);
    }
  }
  const profile = flags['cpu-prof'] ? await profileRound(url, holder) : undefined;
  const loadAfter = loadavg();

  const of = (kind: Kind): Round[] => rounds.filter((r) => r.kind === kind);
  const summary = (kind: Kind): Record<string, Spread> => {
    const list = of(kind);
    const pick = (key: keyof Round): Spread => spread(list.map((r) => r[key] as number));
    return {
      spawnToReady: pick('spawnToReadyMs'), spawnToJoined: pick('spawnToJoinedMs'), spawnToShown: pick('spawnToShownMs'),
      joinedToFirstByte: pick('joinedToFirstByteMs'), joinedToShown: pick('joinedToShownMs'),
      transfer: spread(list.map((r) => r.spawnToShownMs - r.spawnToFirstByteMs)), historyLineBytes: pick('historyLineBytes'),
      joinerCpu: pick('joinerCpuMs'), holderCpu: pick('holderCpuMs')
    };
  };
  const backlog = summary('backlog');
  const baseline = summary('baseline');
  // The backlog's own cost: each pair's difference, so a slow minute weighs on both rounds alike.
  const extra = spread(Array.from({ length: PAIRS }, (_, i) => {
    const pick = (kind: Kind): Round => rounds.find((r) => r.pair === i + 1 && r.kind === kind) as Round;
    return pick('backlog').joinedToShownMs - pick('baseline').joinedToShownMs;
  }));
  const report = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    node: process.version,
    settings: { messages: MESSAGES, pairs: PAIRS, publishRate: PUBLISH_RATE, fillMs },
    target: {
      ms: TARGET_MS,
      fromJoined: backlog.joinedToShown?.median, metFromJoined: (backlog.joinedToShown?.median ?? Infinity) <= TARGET_MS,
      fromSpawn: backlog.spawnToShown?.median, metFromSpawn: (backlog.spawnToShown?.median ?? Infinity) <= TARGET_MS
    },
    backlog,
    baseline,
    backlogExtraFromJoined: extra,
    rounds,
    profile
  };

  const row = (name: string, key: string, unit = 'ms'): string =>
    `| ${name} | ${show(backlog[key] as Spread)} ${unit} | ${show(baseline[key] as Spread)} ${unit} |`;
  const lines = [
    `# Backlog: a late joiner shown ${MESSAGES} messages`,
    '',
    `${startedAt}; ${report.machine.cpus} CPUs (${report.machine.model}), Node ${report.node}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. Command: \`node scripts/bench-backlog.ts --messages ${MESSAGES} --pairs ${PAIRS} ` +
      `--publish-rate ${PUBLISH_RATE}${flags['cpu-prof'] ? ' --cpu-prof' : ''}\`.`,
    '',
    `A holder received ${MESSAGES} signed messages live from a publisher (${PUBLISH_RATE} msg/s, all in ${fillMs} ms), which then left. ` +
      `${PAIRS} pairs of late joiners, each a fresh process and data dir: \`--backlog ${MESSAGES}\` beside \`--backlog 1\` (the baseline), ` +
      'the order swapped from pair to pair. Shown: the `history` line (`source: "peer"`) read whole from the joiner\'s stdout. Median (range), ms.',
    '',
    `| | --backlog ${MESSAGES} | --backlog 1 |`,
    '| --- | ---: | ---: |',
    row('spawn to `ready`', 'spawnToReady'),
    row('spawn to `room-joined`', 'spawnToJoined'),
    row('spawn to shown', 'spawnToShown'),
    row('`room-joined` to the first bytes of `history`', 'joinedToFirstByte'),
    row('`room-joined` to shown', 'joinedToShown'),
    row('the `history` line on the pipe, first byte to last', 'transfer'),
    row('`history` line', 'historyLineBytes', 'B'),
    row('joiner CPU, spawn to shown', 'joinerCpu'),
    row('holder CPU over the same stretch', 'holderCpu'),
    '',
    `The backlog's own cost (each pair's \`room-joined\`-to-shown difference): ${show(extra)} ms.`,
    '',
    `Target: at most ${TARGET_MS} ms. From \`room-joined\`: ${report.target.fromJoined} ms, ${report.target.metFromJoined ? 'met' : '**not met**'}; ` +
      `from spawn: ${report.target.fromSpawn} ms, ${report.target.metFromSpawn ? 'met' : '**not met**'}.`,
    '',
    '| pair | --backlog | spawn to shown | joined to first byte | joined to shown | joiner CPU | holder CPU |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rounds.map((r) => `| ${r.pair} | ${r.asked} | ${r.spawnToShownMs} | ${r.joinedToFirstByteMs} | ${r.joinedToShownMs} | ${r.joinerCpuMs} | ${r.holderCpuMs} |`),
    ''
  ];
  if (profile !== undefined) {
    const { round, summary: p, workers } = profile;
    lines.push(`## Where the joiner's time goes (--cpu-prof, one more round of ${MESSAGES}: \`room-joined\` to shown ${round.joinedToShownMs} ms, ${p.sampledMs} ms sampled)`, '',
      `The main thread below; besides it, ${workers.threads} signature worker thread(s) were busy ${workers.ms} ms in the same stretch.`, '',
      '| category | ms | % |', '| --- | ---: | ---: |',
      ...p.categories.map((c) => `| ${c.name} | ${c.ms} | ${c.pct} |`), '',
      '| function (self time) | where | ms | % |', '| --- | --- | ---: | ---: |',
      ...p.top.map((f) => `| ${f.name} | ${f.where} | ${f.ms} | ${f.pct} |`), '',
      '| inclusive | ms | % |', '| --- | ---: | ---: |',
      ...p.inclusive.map((f) => `| ${f.name} | ${f.ms} | ${f.pct} |`), '');
  }
  const md = lines.join('\n');
  await writeResults('backlog', report, md);
  holder.proc.write('/quit');
  await holder.proc.exited;
}

await runBench(main, tempDirs);
