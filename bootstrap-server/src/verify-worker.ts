/**
 * Runs in a verification thread. Each message is a batch of registrations to check and
 * is answered by one message holding an outcome for each, in order. Errors cross the
 * thread boundary as plain data, since an ApiError would arrive as a bare Error without
 * its code.
 */
import { parentPort } from 'node:worker_threads';
import { ApiError, verifyRecord } from '@cli-chat/bootstrap-api';
import type { VerifiedRecord } from '@cli-chat/bootstrap-api';
import { checkSignature } from './ed25519.ts';

export interface VerifyBatch {
  records: string[];
  /** The server's clock for each record, read when its request asked for the check. */
  nows: number[];
}

export type VerifyOutcome =
  | { ok: VerifiedRecord }
  | { refused: { code: ApiError['code'], message: string } }
  | { failed: string };

async function check(record: string, now: number): Promise<VerifyOutcome> {
  try {
    return { ok: await verifyRecord(record, { now, checkSignature }) };
  } catch (err) {
    if (err instanceof ApiError) return { refused: { code: err.code, message: err.message } };
    return { failed: err instanceof Error ? err.message : String(err) };
  }
}

parentPort?.on('message', async ({ records, nows }: VerifyBatch) => {
  const outcomes: VerifyOutcome[] = [];
  for (let i = 0; i < records.length; i++) outcomes.push(await check(records[i] as string, nows[i] as number));
  parentPort?.postMessage(outcomes);
});
