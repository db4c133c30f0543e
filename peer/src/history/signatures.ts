/**
 * Ed25519 checks of a whole backlog at once. One check costs about 0.1 ms of CPU and a
 * backlog may hold 10,000, so a large batch is spread over worker threads (this thread
 * takes a share too) when the host has cores to spare; a small one is checked here, as a
 * worker costs a few tens of ms to start.
 */
import { verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SignatureShare } from './signature-worker.ts';

export interface SignatureJob {
  signed: Uint8Array;
  key: KeyObject;
  signature: Uint8Array;
}

/** Fewer checks than this per thread are not worth a worker's start. */
const MIN_PER_THREAD = 500;
const MAX_THREADS = 4;

const check = (job: SignatureJob): boolean => verify(null, job.signed, job.key, job.signature);

/** One share in a worker; on any failure of the worker, here instead. */
async function inWorker(jobs: SignatureJob[]): Promise<boolean[]> {
  const keys: KeyObject[] = [];
  const index = new Map<KeyObject, number>();
  const share: SignatureShare = { keys, jobs: [] };
  for (const job of jobs) {
    let key = index.get(job.key);
    if (key === undefined) {
      key = keys.push(job.key) - 1;
      index.set(job.key, key);
    }
    share.jobs.push({ signed: job.signed, key, signature: job.signature });
  }
  const worker = new Worker(new URL('./signature-worker.ts', import.meta.url));
  // A peer stopping mid-batch is not kept running for it.
  worker.unref();
  try {
    return await new Promise<boolean[]>((resolve, reject) => {
      worker.once('message', (results: boolean[]) => { resolve(results.length === jobs.length ? results : jobs.map(check)); });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`signature worker exited with ${code}`)));
      worker.postMessage(share);
    });
  } catch {
    return jobs.map(check);
  } finally {
    void worker.terminate();
  }
}

/** Whether each signature matches, in the order given. */
export async function verifySignatures(jobs: readonly SignatureJob[]): Promise<boolean[]> {
  const threads = Math.min(MAX_THREADS, availableParallelism(), Math.floor(jobs.length / MIN_PER_THREAD));
  if (threads <= 1) return jobs.map(check);
  const size = Math.ceil(jobs.length / threads);
  const others = Array.from({ length: threads - 1 }, (_, t) => inWorker(jobs.slice((t + 1) * size, (t + 2) * size)));
  const mine = jobs.slice(0, size).map(check);
  return [...mine, ...(await Promise.all(others)).flat()];
}
