/**
 * What one peer node costs: module import time, createPeerNode -> started time, and the
 * idle RSS of a process holding one started node (no peers, mDNS off), against a bare
 * Node process. Each sample is a fresh process, so import caches do not flatter it.
 *
 *   node scripts/peer-node-cost.ts [samples]     prints one JSON object and writes it to
 *                                                bench-results/peer-node.json
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const IDLE_MS = 3_000;
const RESULTS_DIR = fileURLToPath(new URL('../bench-results', import.meta.url));

interface Sample {
  importMs: number;
  createMs: number;
  startMs: number;
  rssIdleMb: number;
}

async function child(): Promise<void> {
  const t0 = performance.now();
  const [{ createPeerNode }, { generateKeyPair }] = await Promise.all([
    import('../peer/src/node/create-node.ts'),
    import('@libp2p/crypto/keys')
  ]);
  const t1 = performance.now();
  const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
  const t2 = performance.now();
  await node.start();
  node.services.chat.join('lobby');
  const t3 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const sample: Sample = {
    importMs: t1 - t0,
    createMs: t2 - t1,
    startMs: t3 - t2,
    rssIdleMb: process.memoryUsage().rss / 2 ** 20
  };
  await node.stop();
  process.stdout.write(JSON.stringify(sample));
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function main(): void {
  const samples = Number(process.argv[2] ?? 5);
  const self = fileURLToPath(import.meta.url);
  const runs: Sample[] = [];
  for (let i = 0; i < samples; i++) {
    runs.push(JSON.parse(execFileSync(process.execPath, [self, '--child'], { encoding: 'utf8' })) as Sample);
  }
  const bareRssMb = Number(execFileSync(process.execPath, ['-e', `setTimeout(() => process.stdout.write(String(process.memoryUsage().rss / 2 ** 20)), ${IDLE_MS})`], { encoding: 'utf8' }));
  const round = (n: number): number => Math.round(n * 10) / 10;
  const summary = Object.fromEntries((['importMs', 'createMs', 'startMs', 'rssIdleMb'] as const).map((key) => {
    const values = runs.map((run) => run[key]);
    return [key, { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)) }];
  }));
  const text = `${JSON.stringify({ date: new Date().toISOString(), node: process.version, samples, idleMs: IDLE_MS, ...summary, bareNodeRssMb: round(bareRssMb) }, null, 2)}\n`;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}/peer-node.json`, text);
  process.stdout.write(text);
}

if (process.argv[2] === '--child') await child();
else main();
