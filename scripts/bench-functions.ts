/**
 * The functions backend beside the Fastify backend, in one run: `node scripts/bench-functions.ts`.
 *
 * Starts `npm run functions` (the Functions Framework on 127.0.0.1 with the official Firestore
 * emulator) and `npm run bootstrap-server` (memory only, no rate limit) as child processes,
 * fills each set to maxPeers 8, then drives both with autocannon, alternating backends phase
 * by phase so both share whatever else the machine does:
 *
 *   list  GET /v1/peers, at 1 and at 10 connections, PHASE_SECONDS each
 *   join  POST /v1/join, bodies rotating over records of 200 keys sealed just before: the 8
 *         registered peers renew, the other 192 are answered "full" (each a transaction
 *         that reads the set on the functions backend), at 1 and at 10 connections
 *
 * CPU seconds of the function's Node process, of the emulator's JVM and of the Fastify
 * server during each phase show what dominates. Writes bench-results/functions.json and
 * functions.md and prints the table. Exits 1 only if the harness fails; errors are reported.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { autocannon } from './autocannon.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { BootstrapClient, RecordSigner, routes } from '@cli-chat/bootstrap-api';
import { processCpuMs } from './bench-chat/children.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = join(REPO, 'bench-results');
const PHASE_SECONDS = 6;
const CONNECTIONS = [1, 10];
const KEYS = 200;
const START_DEADLINE_MS = 120_000;

interface Backend {
  name: 'fastify' | 'functions';
  url: string;
  child: ChildProcess;
  /** Processes whose CPU time counts for this backend, by role. */
  pids: Record<string, number>;
}

const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const child of children) {
    // `npm run functions` stops its emulator on SIGTERM; SIGKILL would leave the JVM behind.
    child.kill('SIGTERM');
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** Starts `node <script> <args>` and resolves with the URL of its "listening on" line and every line before it. */
function start(script: string, args: string[], env: Record<string, string>): Promise<{ child: ChildProcess, url: string, lines: string[] }> {
  const child = spawn(process.execPath, [join(REPO, script), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not listen within ${START_DEADLINE_MS} ms:\n${stderr.join('\n')}`)), START_DEADLINE_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${stderr.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const url = /listening on (http:\/\/\S+)$/.exec(line)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ child, url, lines });
    });
  });
}

/** The emulator's JVM: the launcher script starts it in the group of `npm run functions`' emulator child. */
function emulatorJvm(): number {
  const out = execFileSync('pgrep', ['-f', 'cloud-firestore-emulator.jar'], { encoding: 'utf8' }).trim().split('\n');
  const pid = Number(out[0]);
  if (!Number.isInteger(pid)) throw new Error('cannot find the Firestore emulator JVM');
  return pid;
}

interface Phase {
  backend: Backend['name'];
  route: 'list' | 'join';
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  /** CPU seconds per second of each process of the backend during the phase. */
  cpu: Record<string, number>;
}

async function phase(backend: Backend, route: Phase['route'], connections: number, bodies: string[]): Promise<Phase> {
  let next = 0;
  const request = route === 'list'
    ? { method: 'GET' as const, path: routes.list.path }
    : {
        method: 'POST' as const, path: routes.join.path, headers: { 'content-type': 'application/json' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] })
      };
  const before = Object.fromEntries(Object.entries(backend.pids).map(([role, pid]) => [role, processCpuMs(pid)]));
  const result = await autocannon({ url: backend.url, connections, duration: PHASE_SECONDS, requests: [request] });
  const cpu = Object.fromEntries(Object.entries(backend.pids).map(([role, pid]) =>
    [role, Number(((processCpuMs(pid) - (before[role] ?? 0)) / (result.duration * 1000)).toFixed(2))]));
  return {
    backend: backend.name, route, connections,
    requestsPerSecond: Math.round(result.requests.total / result.duration),
    p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max,
    errors: result.errors, non2xx: result.non2xx, cpu
  };
}

async function main(): Promise<void> {
  const [functions, fastify] = await Promise.all([
    start('functions/src/dev/main.ts', ['--port', '0'], { BOOTSTRAP_ADMIN_TOKEN: 'bench-admin' }),
    start('bootstrap-server/src/main.ts', ['--port', '0', '--no-data-file', '--rate-limit', '0', '--log-level', 'warn', '--admin-token', 'bench-admin'], {})
  ]);
  const backends: Backend[] = [
    { name: 'fastify', url: fastify.url, child: fastify.child, pids: { server: fastify.child.pid! } },
    { name: 'functions', url: functions.url, child: functions.child, pids: { 'function (node)': functions.child.pid!, 'emulator (jvm)': emulatorJvm() } }
  ];
  const signers = await Promise.all(Array.from({ length: KEYS }, async () => new RecordSigner(await generateKeyPair('Ed25519'))));
  for (const backend of backends) {
    const client = new BootstrapClient({ baseUrl: backend.url, adminToken: 'bench-admin' });
    await client.reset();
    const config = await client.getConfig();
    for (const signer of signers.slice(0, config.maxPeers)) await client.join(await signer.seal(['/ip4/127.0.0.1/tcp/4001']));
    process.stdout.write(`${backend.name}: ${backend.url}, ${(await client.list()).peers.length} registered\n`);
  }
  const results: Phase[] = [];
  for (const route of ['list', 'join'] as const) {
    for (const connections of CONNECTIONS) {
      // Records are valid for 60 s: seal them again before every join phase.
      const bodies = route === 'join'
        ? await Promise.all(signers.map(async (s, i) => JSON.stringify({ record: await s.seal([`/ip4/127.0.0.1/tcp/${4001 + i}`]) })))
        : [];
      const order = results.length % 2 === 0 ? backends : [...backends].reverse();
      for (const backend of order) {
        const figures = await phase(backend, route, connections, bodies);
        results.push(figures);
        process.stdout.write(`${JSON.stringify(figures)}\n`);
      }
    }
  }

  const rows = results.map((r) => `| ${r.route} | ${r.connections} | ${r.backend} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.errors + r.non2xx} | ${Object.entries(r.cpu).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
  const md = [
    '# Bootstrap API: functions backend (emulator) beside Fastify',
    '',
    `${new Date().toISOString()}, ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average before ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
    `autocannon ${PHASE_SECONDS} s per phase, maxPeers 8, join bodies over ${KEYS} keys (8 renew, the rest are answered "full").`,
    '',
    '| route | connections | backend | req/s | p50 ms | p99 ms | max ms | errors + non-2xx | CPU s/s |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    ''
  ].join('\n');
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, 'functions.json'), `${JSON.stringify({ at: new Date().toISOString(), phaseSeconds: PHASE_SECONDS, results }, null, 2)}\n`);
  await writeFile(join(RESULTS_DIR, 'functions.md'), md);
  process.stdout.write(`\n${md}`);
  for (const backend of backends) {
    const exited = new Promise((resolve) => backend.child.once('exit', resolve));
    backend.child.kill('SIGTERM');
    await exited;
  }
}

await main();
