/**
 * Signature verification off the event loop. An Ed25519 check costs more than the rest
 * of a join together, so on a machine with spare cores a pool of worker threads raises
 * the join rate and keeps list answers (served from a cache) quick while joins verify.
 */
import { Piscina } from 'piscina';
import { ApiError } from '@cli-chat/bootstrap-api';
import type { RecordVerifier } from '@cli-chat/bootstrap-api';
import type { VerifyOutcome, VerifyTask } from './verify-worker.ts';

export interface VerifyPool {
  verify: RecordVerifier;
  close(): Promise<void>;
}

export function createVerifyPool(threads: number): VerifyPool {
  const pool = new Piscina<VerifyTask, VerifyOutcome>({
    filename: new URL('./verify-worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
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
