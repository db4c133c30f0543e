/**
 * File-transfer benchmark: `node scripts/bench-files.ts [--size-mb 100] [--rounds 3] [--no-profile]`.
 *
 * Two processes on 127.0.0.1 (scripts/bench-files/child.ts), a fresh pair for every
 * transfer of one random file of --size-mb, real files in a temp dir:
 *   files  FileTransfer end to end (offer, bytes hashed as they are read, trailer, the
 *          receiver hashing and writing a partial file, rename, `done`); the time from
 *          send() to its result;
 *   tcp    a plain TCP copy: file read stream piped into a net.Socket, the receiver piping
 *          it into a file, one byte back once the file is closed;
 *   raw    a bare libp2p stream (the same TCP, Noise, Yamux) from memory to nowhere, raw
 *          writes with backpressure: the ceiling of the stack without disk or hashing;
 *   lp     the same in 256 KiB length-prefixed frames, to compare the two ways to write.
 * Each round runs every kind once, in an order rotated from round to round. Figures are
 * medians over the rounds, with min and max. The target: files at least half of tcp.
 *
 * Where the time of `files` goes: from send() to the offer on the wire (stat, open, the
 * stream), from there to the result, each side's CPU time, SHA-256 alone in this
 * process, and (unless --no-profile) one more `files` transfer under --cpu-prof on both
 * sides, summarised over the transfer (by library: noise, yamux, streams, our code...),
 * with the inclusive time of the steps a byte goes through (FILE_STEPS).
 *
 * Writes bench-results/files.md and files.json and prints the table. Children are killed on
 * exit, error, SIGINT or SIGTERM; a missed target is reported, not failed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summariseProfile } from './bench-chat/cpuprofile.ts';
import type { ProfileSummary, Watched } from './bench-chat/cpuprofile.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CHILD = join(REPO, 'scripts/bench-files/child.ts');
const RESULTS_DIR = join(REPO, 'bench-results');
const KINDS = ['files', 'tcp', 'raw', 'lp'] as const;
type Kind = typeof KINDS[number];
const TARGET_RATIO = 0.5;

/** The steps a file's bytes go through on either side, each timed inclusive of what it calls. */
const FILE_STEPS: Watched[] = [
  ['noise: encrypt (ChaCha20-Poly1305, framing)', '@chainsafe/libp2p-noise/dist/src/utils.js', 'encrypt'],
  ['noise: decrypt, whole messages (ChaCha20-Poly1305)', '@chainsafe/libp2p-noise/dist/src/utils.js', 'decrypt'],
  ['noise: decrypt, messages over two reads (ours, not joined)', 'peer/src/node/noise-decrypt.ts', 'decryptWithoutJoining'],
  ['noise: length-prefix re-assembly of 64 KiB messages', '@libp2p/utils/dist/src/length-prefixed-decoder.js', 'decode'],
  ['yamux: frame re-assembly (Decoder.emitFrames)', '@chainsafe/libp2p-yamux/dist/src/decode.js', 'emitFrames'],
  ['uint8arraylist: subarray (copies a span over two buffers)', 'uint8arraylist/dist/src/index.js', 'subarray'],
  ['files: sendBytes (read, hash, send)', 'peer/src/files/send-bytes.ts', 'sendBytes'],
  ['files: receiveBytes onMessage (hash, write)', 'peer/src/files/receive-bytes.ts', 'onMessage'],
  ['SHA-256 (Hash.update)', 'node:internal/crypto/hash', 'update'],
  ['TCP: sendCorked (socket writes)', 'peer/src/node/tcp-writes.ts', 'sendCorked']
];
const CHILD_TIMEOUT_MS = 120_000;

const { values: flags } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    'no-profile': { type: 'boolean', default: false }
  }
});
const SIZE = Math.round(Number(flags['size-mb']) * 1e6);
const ROUNDS = Number(flags.rounds);
if (!(SIZE > 0) || !(ROUNDS >= 1)) throw new Error('--size-mb and --rounds take positive numbers');

interface SenderResult { size: number, startUs: number, offeredUs?: number, endUs: number, cpuMs: number }
interface ReceiverResult { startUs: number, endUs: number, cpuMs: number }
interface Run {
  kind: Kind;
  mbPerS: number;
  totalMs: number;
  /** files only: send() to the offer written (stat, open, stream). */
  offerMs?: number;
  /** files only: offer to result. */
  transferMs?: number;
  senderCpuMs: number;
  receiverCpuMs: number;
  /** Each side's measured stretch, in µs of the clock --cpu-prof samples use. */
  windows: { sender: { startUs: number, endUs: number }, receiver: { startUs: number, endUs: number } };
}

const running = new Set<ChildProcessWithoutNullStreams>();
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Spawns a child and resolves with each JSON line it prints, by type, once it exits 0. */
function child(args: string[], nodeFlags: string[], onLine?: (event: Record<string, unknown>) => void): Promise<Map<string, Record<string, unknown>>> {
  const proc = spawn(process.execPath, [...nodeFlags, CHILD, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(proc);
  const events = new Map<string, Record<string, unknown>>();
  const stderr: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    events.set(String(event.type), event);
    onLine?.(event);
  });
  createInterface({ input: proc.stderr }).on('line', (line) => stderr.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(proc);
      if (code === 0) resolve(events);
      else reject(new Error(`child ${args.slice(0, 2).join(' ')} exited with ${code ?? signal}: ${stderr.slice(-10).join('\n')}`));
    });
  });
}

async function transfer(kind: Kind, file: string, dir: string, profileDir?: string): Promise<Run> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const prof = (name: string): string[] => profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`];
  let ready: (addr: string) => void = () => undefined;
  const addr = new Promise<string>((resolve) => { ready = resolve; });
  const receiver = child(['receive', kind, '--dir', dir], prof('receiver'), (event) => {
    if (event.type === 'ready') ready(String(event.addr));
  });
  const sender = child(['send', kind, '--to', await Promise.race([addr, receiver.then(() => { throw new Error('receiver exited before ready'); })]), '--file', file], prof('sender'));
  const [sent, received] = await Promise.all([sender, receiver]);
  const s = sent.get('result') as unknown as SenderResult;
  const r = received.get('received') as unknown as ReceiverResult;
  const totalMs = (s.endUs - s.startUs) / 1000;
  const run: Run = {
    kind, totalMs, mbPerS: s.size / 1e6 / (totalMs / 1000), senderCpuMs: s.cpuMs, receiverCpuMs: r.cpuMs,
    windows: { sender: { startUs: s.startUs, endUs: s.endUs }, receiver: { startUs: r.startUs, endUs: r.endUs } }
  };
  if (s.offeredUs !== undefined) {
    run.offerMs = (s.offeredUs - s.startUs) / 1000;
    run.transferMs = (s.endUs - s.offeredUs) / 1000;
  }
  return run;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const round1 = (n: number): number => Math.round(n * 10) / 10;
const spread = (values: number[]): string => `${round1(median(values))} (${round1(Math.min(...values))}-${round1(Math.max(...values))})`;

async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= 1 << 20) {
    if (!out.write(randomBytes(Math.min(left, 1 << 20)))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

/** SHA-256 of `size` bytes in memory, in this process: what each side's hashing costs at best. */
function sha256Ms(size: number): number {
  const data = randomBytes(Math.min(size, 64 * 2 ** 20));
  const hash = createHash('sha256');
  const t0 = performance.now();
  for (let left = size; left > 0; left -= data.byteLength) hash.update(left >= data.byteLength ? data : data.subarray(0, left));
  hash.digest();
  return performance.now() - t0;
}

function profileTable(title: string, summary: ProfileSummary): string[] {
  const lines = [`#### ${title}: ${summary.sampledMs} ms sampled`, '', '| where | ms | % |', '| --- | ---: | ---: |'];
  for (const c of summary.categories.slice(0, 8)) lines.push(`| ${c.name} | ${c.ms} | ${c.pct} |`);
  lines.push('', '| top functions (self time) | where | ms | % |', '| --- | --- | ---: | ---: |');
  for (const f of summary.top.slice(0, 8)) lines.push(`| ${f.name} | ${f.where} | ${f.ms} | ${f.pct} |`);
  lines.push('', '| step (inclusive) | ms | % |', '| --- | ---: | ---: |');
  for (const step of summary.inclusive) lines.push(`| ${step.name} | ${step.ms} | ${step.pct} |`);
  return [...lines, ''];
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'cli-chat-bench-files-'));
  const loadBefore = loadavg()[0] ?? 0;
  try {
    const file = join(root, 'source.bin');
    await writeRandomFile(file, SIZE);
    const dest = join(root, 'received');
    const runs: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length]!);
      for (const kind of order) {
        const run = await transfer(kind, file, dest);
        runs.push(run);
        process.stderr.write(`round ${r + 1} ${kind}: ${round1(run.mbPerS)} MB/s\n`);
      }
    }
    const hashMs = sha256Ms(SIZE);
    let profiles: string[] = [];
    if (!flags['no-profile']) {
      const profileDir = join(root, 'profiles');
      await mkdir(profileDir);
      const run = await transfer('files', file, dest, profileDir);
      const names = await readdir(profileDir);
      profiles = [`### One more files transfer under --cpu-prof (${round1(run.mbPerS)} MB/s), each side over its measured stretch`, ''];
      for (const side of ['sender', 'receiver'] as const) {
        const name = names.find((n) => n.startsWith(side));
        if (name !== undefined) profiles.push(...profileTable(side, summariseProfile(join(profileDir, name), [run.windows[side]], 12, FILE_STEPS)));
      }
    }
    await mkdir(RESULTS_DIR, { recursive: true });
    const of = (kind: Kind): Run[] => runs.filter((run) => run.kind === kind);
    const mb = (kind: Kind): number => median(of(kind).map((run) => run.mbPerS));
    const ratio = mb('files') / mb('tcp');
    const files = of('files');
    const lines = [
      `# File transfer benchmark, ${new Date().toISOString()}`, '',
      `${SIZE / 1e6} MB random file, ${ROUNDS} rounds, each kind a fresh pair of processes on 127.0.0.1; ` +
        `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; load average ${round1(loadBefore)} before, ` +
        `${round1(loadavg()[0] ?? 0)} after (other work on the machine shows there). Median (min-max).`, '',
      '| kind | MB/s | time ms | sender CPU ms | receiver CPU ms |', '| --- | ---: | ---: | ---: | ---: |',
      ...KINDS.map((kind) => {
        const k = of(kind);
        return `| ${kind} | ${spread(k.map((x) => x.mbPerS))} | ${spread(k.map((x) => x.totalMs))} | ${spread(k.map((x) => x.senderCpuMs))} | ${spread(k.map((x) => x.receiverCpuMs))} |`;
      }),
      '',
      `files / tcp: **${ratio.toFixed(2)}** (target at least ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}); ` +
        `files / raw libp2p stream: ${(mb('files') / mb('raw')).toFixed(2)}; lp frames / raw writes: ${(mb('lp') / mb('raw')).toFixed(2)}`,
      '',
      `files, where the time goes: send() to offer written (stat, open, stream) ${spread(files.map((x) => x.offerMs ?? 0))} ms; ` +
        `offer to result (bytes hashed on both sides, trailer, receiver writing, rename, done) ${spread(files.map((x) => x.transferMs ?? 0))} ms. ` +
        `SHA-256 of ${SIZE / 1e6} MB in memory in this process: ${round1(hashMs)} ms (${round1(SIZE / 1e3 / hashMs)} MB/s).`,
      '',
      ...profiles
    ];
    const text = `${lines.join('\n')}\n`;
    const summary = (kind: Kind): Record<string, unknown> => {
      const k = of(kind);
      const stats = (values: number[]): { median: number, min: number, max: number } => ({ median: round1(median(values)), min: round1(Math.min(...values)), max: round1(Math.max(...values)) });
      return { mbPerS: stats(k.map((x) => x.mbPerS)), totalMs: stats(k.map((x) => x.totalMs)), senderCpuMs: stats(k.map((x) => x.senderCpuMs)), receiverCpuMs: stats(k.map((x) => x.receiverCpuMs)) };
    };
    const report = {
      date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', sizeBytes: SIZE, rounds: ROUNDS,
      loadBefore: round1(loadBefore), loadAfter: round1(loadavg()[0] ?? 0),
      kinds: Object.fromEntries(KINDS.map((kind) => [kind, summary(kind)])),
      filesOverTcp: Math.round(ratio * 1000) / 1000, target: TARGET_RATIO, met: ratio >= TARGET_RATIO,
      filesOfferMs: { median: round1(median(files.map((x) => x.offerMs ?? 0))) },
      filesTransferMs: { median: round1(median(files.map((x) => x.transferMs ?? 0))) },
      sha256InMemoryMs: round1(hashMs),
      runs: runs.map(({ windows: _, ...run }) => run)
    };
    await writeFile(join(RESULTS_DIR, 'files.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(RESULTS_DIR, 'files.md'), text);
    process.stdout.write(text);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
