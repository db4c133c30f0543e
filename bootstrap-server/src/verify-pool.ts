/**
 * Signature verification off the event loop. Opening and checking a record (about 100 µs
 * with libsodium on the development machine) costs about as much as the rest of a join,
 * so on a machine with spare cores a pool of worker threads raises the join rate and
 * keeps list answers (served from a cache) quick while joins verify.
 */
import { Piscina } from 'piscina';
import { ApiError } from '@cli-chat/bootstrap-api';
import type { RecordVerifier } from '@cli-chat/bootstrap-api';
import type { VerifyOutcome, VerifyTask } from './verify-worker.ts';

/**
 * More than the requests a loaded server holds at once (50 connections in the benchmark),
 * so every check goes to a worker as soon as it is asked for and waits in that worker's
 * message queue, first in first out, rather than in the pool's own queue for a slot.
 */
const TASKS_QUEUED_PER_WORKER = 64;

export interface VerifyPool {
  verify: RecordVerifier;
  close(): Promise<void>;
}

export function createVerifyPool(threads: number): VerifyPool {
  const pool = new Piscina<VerifyTask, VerifyOutcome>({
    filename: new URL('./verify-worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // Tasks queue inside the worker instead of waiting for the event loop to hand over the
    // next one after each answer: a busy event loop would otherwise leave the worker idle.
    concurrentTasksPerWorker: TASKS_QUEUED_PER_WORKER,
    // The worker takes tasks from its event loop instead of blocking in Atomics.wait between
    // them. With the join benchmark's load (50 connections, two cores, 3 runs each) the
    // p99 went from 32-38 ms to 29-33 ms and the slowest answer from 147-227 ms to 44-50 ms.
    atomics: 'disabled',
    // No one reads the pool's run and wait time histograms.
    recordTiming: false,
    // Workers live as long as the server: starting one costs more than thousands of checks.
    idleTimeout: Number.POSITIVE_INFINITY
  });
  return {
    verify: async (record, now) => {
      const outcome = await pool.run({ record, now });
      if ('error' in outcome) throw new ApiError(outcome.error.code, outcome.error.message);
      return outcome.ok;
    },
    // Not destroy(): requests still being answered at shutdown would fail with "Terminating worker thread".
    close: () => pool.close()
  };
}
