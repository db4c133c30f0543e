/**
 * Signature verification off the event loop. An Ed25519 check costs more than the rest
 * of a join together, so on a machine with spare cores a pool of worker threads raises
 * the join rate and keeps list answers (served from a cache) quick while joins verify.
 */
import { Piscina } from 'piscina';
import { ApiError } from '@cli-chat/bootstrap-api';
import type { RecordVerifier } from '@cli-chat/bootstrap-api';
import type { VerifyOutcome, VerifyTask } from './verify-worker.ts';

/** About the requests one busy event loop has parsed and waiting at once. */
const TASKS_QUEUED_PER_WORKER = 16;

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
    // Workers live as long as the server: starting one costs more than thousands of checks.
    idleTimeout: Number.POSITIVE_INFINITY
  });
  return {
    verify: async (record, now) => {
      const outcome = await pool.run({ record, now });
      if ('error' in outcome) throw new ApiError(outcome.error.code, outcome.error.message);
      return outcome.ok;
    },
    close: () => pool.destroy()
  };
}
