/**
 * Direct-message benchmark: `node scripts/bench-dm.ts [--messages N] [--rate R] [--block B]`.
 *
 * How long does a direct message take between two peer processes? Two real peers on
 * 127.0.0.1 (`peer/src/main.ts --json --no-mdns ...` through peer/test/support/processes.ts)
 * against one bootstrap server (`--no-data-file`), both in room `dm`. Once each knows the
 * other as a member and a few unmeasured messages have opened the way, alice is sent N
 * lines `/msg bob ...` through her stdin (default 400) at R a second (default 4, under the
 * recipient's limit of 5 a second per peer, burst 20), and as many room lines at the same
 * rate, half a period later, so that the room's one-way latency is measured beside the
 * direct message's in the same minutes. A peer reads its stdin one command at a time, so
 * the offset keeps a room line from queueing behind a direct message still in flight.
 *
 * Times, by this process's clock when it reads each event, from writing the line to alice:
 * round trip to her `dm-delivered` (the recipient's acknowledgement back), one way to bob's
 * `dm`, and for room lines one way to bob's `message`. p50, p90, p99 and max pooled; the
 * spread is the range of p50 and p99 over blocks of B messages (default 100), in order.
 *
 * Writes bench-results/dm.json and bench-results/dm.md and prints the table. Every child is
 * killed and temp dirs removed on exit, error, SIGINT or SIGTERM.
 */
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startBootstrapServer, startPeer } from '../peer/test/support/processes.ts';
import type { PeerProc } from '../peer/test/support/processes.ts';
import type { PeerEvent } from '../peer/src/events.ts';
import { DM_BURST, DM_RATE_PER_S } from '../peer/src/direct/messages.ts';
import { cleanUpOnExit } from './cleanup.ts';
import { percentile, runBench, writeResults } from './bench-figures.ts';

const ROOM = 'dm';
const WARM_UP = 5;
const GRACE_MS = 3_000;

const { values: flags } = parseArgs({
  options: {
    messages: { type: 'string', default: '400' },
    rate: { type: 'string', default: '4' },
    block: { type: 'string', default: '100' }
  }
});
const MESSAGES = Number(flags.messages);
const RATE = Number(flags.rate);
const BLOCK = Number(flags.block);
if (!Number.isInteger(MESSAGES) || MESSAGES < 1) throw new Error('--messages takes an integer >= 1');
if (!(RATE > 0 && RATE < DM_RATE_PER_S)) throw new Error(`--rate takes messages per second, under the recipient's limit of ${DM_RATE_PER_S}`);
if (!Number.isInteger(BLOCK) || BLOCK < 1) throw new Error('--block takes an integer >= 1');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function log(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

const tempDirs = cleanUpOnExit(() => {}, (signal) => log(`${signal}: killing every child and exiting`));

type Ready = Extract<PeerEvent, { type: 'ready' }>;

/** When this process read each event of interest, by the message's text (direct messages' IDs are mapped to texts by `dm-sent`). */
const read = {
  dmSent: new Map<string, number>(),
  delivered: new Map<string, number>(),
  dm: new Map<string, number>(),
  message: new Map<string, number>()
};
const textOfId = new Map<string, string>();

/** A second reader of a peer's stdout, to stamp each event as it is read. */
function watch(proc: PeerProc): void {
  createInterface({ input: proc.child.stdout }).on('line', (line) => {
    const at = Date.now();
    let event: PeerEvent;
    try { event = JSON.parse(line) as PeerEvent; } catch { return; }
    if (event.type === 'dm-sent') {
      textOfId.set(event.id, event.text);
      read.dmSent.set(event.text, at);
    } else if (event.type === 'dm-delivered') {
      const text = textOfId.get(event.id);
      if (text !== undefined) read.delivered.set(text, at);
    } else if (event.type === 'dm') {
      read.dm.set(event.text, at);
    } else if (event.type === 'message') {
      read.message.set(event.text, at);
    }
  });
}

async function start(nick: string, url: string): Promise<{ proc: PeerProc, peerId: string }> {
  const dir = await mkdtemp(join(tmpdir(), `bench-dm-${nick}-`));
  tempDirs.push(dir);
  const proc = startPeer(['--nick', nick, '--data-dir', dir, '--bootstrap', url, '--room', ROOM]);
  proc.child.stdin.on('error', () => undefined);
  watch(proc);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, 30_000) as Ready;
  return { proc, peerId: ready.peerId };
}

// ---------------------------------------------------------------------------------------
// Figures


interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** p50 and p99 of each block of BLOCK messages, in sending order. */
  blocks: { p50: number, p99: number }[];
}

/** Latencies of the texts that arrived, in the order sent; the missing are counted by the caller. */
function latency(texts: readonly string[], sentAt: ReadonlyMap<string, number>, readAt: ReadonlyMap<string, number>): Latency {
  const values = texts.flatMap((t) => {
    const at = readAt.get(t);
    return at === undefined ? [] : [at - (sentAt.get(t) ?? at)];
  });
  const sorted = [...values].sort((x, y) => x - y);
  const blocks: { p50: number, p99: number }[] = [];
  for (let i = 0; i < values.length; i += BLOCK) {
    const block = values.slice(i, i + BLOCK).sort((x, y) => x - y);
    blocks.push({ p50: percentile(block, 50), p99: percentile(block, 99) });
  }
  return { count: values.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, blocks };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const { url } = await startBootstrapServer(['--no-data-file']);
  const alice = await start('alice', url);
  const bob = await start('bob', url);
  await alice.proc.waitFor((e) => e.type === 'member-joined' && e.peerId === bob.peerId, 'alice to see bob', 30_000);
  await bob.proc.waitFor((e) => e.type === 'member-joined' && e.peerId === alice.peerId, 'bob to see alice', 30_000);
  // Unmeasured: the first messages open the protocol's code paths, and the room's gossipsub mesh.
  for (let i = 0; i < WARM_UP; i++) {
    alice.proc.write(`/msg bob warm ${i}`);
    await alice.proc.waitFor((e) => e.type === 'dm-delivered' && textOfId.get(e.id) === `warm ${i}`, 'a warm-up direct message');
    await sleep(1000 / RATE);
  }
  for (let i = 0; ; i++) {
    alice.proc.write(`warm room ${i}`);
    const got = await bob.proc.waitFor((e) => e.type === 'message' && e.text.startsWith('warm room '), 'a warm-up room line', 300).then(() => true, () => false);
    if (got) break;
    if (i > 60) throw new Error('no room line from alice reached bob');
  }
  log(`alice and bob in #${ROOM}; ${MESSAGES} direct messages and ${MESSAGES} room lines at ${RATE}/s each`);

  const sentAt = new Map<string, number>();
  const dmTexts: string[] = [];
  const roomTexts: string[] = [];
  const periodMs = 1000 / RATE;
  const begin = Date.now();
  for (let i = 0; i < MESSAGES; i++) {
    for (const [offset, texts, text, command] of [
      [0, dmTexts, `d ${i}`, `/msg bob d ${i}`],
      [periodMs / 2, roomTexts, `r ${i}`, `r ${i}`]
    ] as const) {
      const wait = begin + i * periodMs + offset - Date.now();
      if (wait > 0) await sleep(wait);
      texts.push(text);
      sentAt.set(text, Date.now());
      alice.proc.write(command);
    }
    if ((i + 1) % 100 === 0) log(`${i + 1} of ${MESSAGES} sent`);
  }
  const end = Date.now() + 10_000;
  const arrived = (texts: readonly string[], at: ReadonlyMap<string, number>): number => texts.filter((t) => at.has(t)).length;
  while ((arrived(dmTexts, read.delivered) < MESSAGES || arrived(roomTexts, read.message) < MESSAGES) && Date.now() < end) await sleep(100);
  await sleep(GRACE_MS);
  const elapsedS = (Date.now() - begin) / 1000;
  const loadAfter = loadavg();

  const failed = alice.proc.items.filter((e) => e.type === 'dm-failed' || e.type === 'dm-queued' || e.type === 'error');
  const roundTrip = latency(dmTexts, sentAt, read.delivered);
  const oneWay = latency(dmTexts, sentAt, read.dm);
  const local = latency(dmTexts, sentAt, read.dmSent);
  const room = latency(roomTexts, sentAt, read.message);
  const report = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    node: process.version,
    settings: { messages: MESSAGES, rate: RATE, block: BLOCK, limit: { rate: DM_RATE_PER_S, burst: DM_BURST }, elapsedS },
    failed: failed.length,
    dm: { roundTrip, oneWay, sent: local },
    room: { oneWay: room }
  };

  const range = (values: number[]): string => `${Math.min(...values)}-${Math.max(...values)}`;
  const row = (name: string, l: Latency, of: number): string =>
    `| ${name} | ${l.count} / ${of} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${range(l.blocks.map((b) => b.p50))} | ${range(l.blocks.map((b) => b.p99))} |`;
  const lines = [
    '# Direct messages: latency between two peer processes',
    '',
    `${startedAt}; ${report.machine.cpus} CPUs (${report.machine.model}), Node ${report.node}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. Command: \`node scripts/bench-dm.ts --messages ${MESSAGES} --rate ${RATE} --block ${BLOCK}\`.`,
    '',
    `${MESSAGES} direct messages from alice to bob at ${RATE}/s (the recipient's limit: ${DM_RATE_PER_S}/s per peer, burst ${DM_BURST}), ` +
      `and as many room lines at the same rate, half a period later. From the line written to alice's stdin to the event read; ms. ` +
      `Spread: p50 and p99 of each block of ${BLOCK}, in order.`,
    '',
    '| | arrived | p50 | p90 | p99 | max | p50 per block | p99 per block |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('direct message, round trip (alice\'s `dm-delivered`)', roundTrip, MESSAGES),
    row('direct message, one way (bob\'s `dm`)', oneWay, MESSAGES),
    row('direct message, to alice\'s `dm-sent`', local, MESSAGES),
    row('room line, one way (bob\'s `message`)', room, MESSAGES),
    '',
    `Failed, queued or refused direct messages: ${failed.length}.`,
    ''
  ];
  const md = lines.join('\n');
  await writeResults('dm', report, md);
  for (const peer of [alice, bob]) peer.proc.write('/quit');
  await Promise.all([alice, bob].map((p) => p.proc.exited));
}

await runBench(main, tempDirs);
