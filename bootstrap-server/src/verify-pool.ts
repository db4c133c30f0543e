/**
 * Signature verification off the event loop, handed over in batches. Opening and
 * checking a record (about 80 µs with libsodium on the development machine) costs about
 * as much as the rest of a join, so on a machine with spare cores worker threads raise
 * the join rate and keep list answers (served from a cache) quick while joins verify.
 *
 * Every check asked for during one turn of the event loop goes to a thread in a single
 * message, and the thread answers the batch in a single message: one hand-off each way
 * per turn rather than per request, which took a quarter to a third off the server's CPU per
 * join against a task per request (Piscina).
 */
import { Worker } from 'node:worker_threads';
import { ApiError } from '@cli-chat/bootstrap-api';
import type { RecordVerifier, VerifiedRecord } from '@cli-chat/bootstrap-api';
import type { VerifyBatch, VerifyOutcome } from './verify-worker.ts';

const WORKER_FILE = new URL('./verify-worker.ts', import.meta.url);

interface Waiting {
  resolve: (record: VerifiedRecord) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  /** Batches sent and not yet answered, oldest first: a thread answers them in order. */
  sent: Waiting[][];
  /** Checks sent and not yet answered, to give the next batch to the least busy thread. */
  outstanding: number;
}

export interface VerifyPool {
  verify: RecordVerifier;
  /** Waits for every check asked for so far to be answered, then stops the threads. */
  close(): Promise<void>;
}

function settle(waiting: Waiting, outcome: VerifyOutcome | undefined): void {
  if (outcome === undefined) waiting.reject(new Error('the verification thread answered fewer checks than it was sent'));
  else if ('ok' in outcome) waiting.resolve(outcome.ok);
  else if ('refused' in outcome) waiting.reject(new ApiError(outcome.refused.code, outcome.refused.message));
  else waiting.reject(new Error(`signature check failed: ${outcome.failed}`));
}

export function createVerifyPool(threads: number): VerifyPool {
  if (!(Number.isSafeInteger(threads) && threads > 0)) throw new RangeError(`threads must be a whole number > 0, not ${threads}`);
  let batch: VerifyBatch = { records: [], nows: [] };
  let waiting: Waiting[] = [];
  let closing = false;
  /** Set once the last check is answered at shutdown: the threads are going away. */
  let stopped = false;
  let drained: (() => void) | undefined;
  const pool: Thread[] = [];

  const busy = (): boolean => waiting.length > 0 || pool.some((t) => t.outstanding > 0);
  const checkDrained = (): void => {
    if (drained !== undefined && !busy()) drained();
  };

  const start = (): Thread => {
    const thread: Thread = { worker: new Worker(WORKER_FILE), sent: [], outstanding: 0 };
    thread.worker.on('message', (outcomes: VerifyOutcome[]) => {
      const answered = thread.sent.shift() ?? [];
      thread.outstanding -= answered.length;
      answered.forEach((w, i) => settle(w, outcomes[i]));
      checkDrained();
    });
    // A thread that dies fails the checks it held (their requests answer 500) and is
    // replaced, so one crash does not stop every later join.
    thread.worker.once('error', (err) => {
      for (const held of thread.sent) for (const w of held) w.reject(err);
      thread.sent = [];
      thread.outstanding = 0;
      const at = pool.indexOf(thread);
      if (!closing && at >= 0) pool[at] = start();
      checkDrained();
    });
    return thread;
  };
  for (let i = 0; i < threads; i++) pool.push(start());

  const send = (): void => {
    const thread = pool.reduce((least, t) => (t.outstanding < least.outstanding ? t : least));
    thread.sent.push(waiting);
    thread.outstanding += waiting.length;
    thread.worker.postMessage(batch);
    batch = { records: [], nows: [] };
    waiting = [];
  };

  return {
    verify: (record, now) => new Promise<VerifiedRecord>((resolve, reject) => {
      if (stopped) {
        reject(new ApiError('UNAVAILABLE', 'the server is shutting down'));
        return;
      }
      // The first check of a turn schedules the hand-off for the end of the turn's I/O,
      // after every request that arrived with it has asked for its own.
      if (waiting.length === 0) setImmediate(send);
      batch.records.push(record);
      batch.nows.push(now);
      waiting.push({ resolve, reject });
    }),
    close: async () => {
      closing = true;
      if (busy()) await new Promise<void>((resolve) => { drained = resolve; });
      stopped = true;
      await Promise.all(pool.map((t) => t.worker.terminate()));
    }
  };
}
