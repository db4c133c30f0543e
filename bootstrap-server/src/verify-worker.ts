/**
 * Runs in a worker thread of the verification pool: one registration check per task.
 * Errors cross the thread boundary as plain data, since an ApiError would arrive as a
 * bare Error without its code.
 */
import { ApiError, verifyRecord } from '@cli-chat/bootstrap-api';
import type { VerifiedRecord } from '@cli-chat/bootstrap-api';
import { checkSignature } from './ed25519.ts';

export interface VerifyTask {
  record: string;
  now: number;
}

export type VerifyOutcome = { ok: VerifiedRecord } | { error: { code: ApiError['code'], message: string } };

export default async function verify({ record, now }: VerifyTask): Promise<VerifyOutcome> {
  try {
    return { ok: await verifyRecord(record, { now, checkSignature }) };
  } catch (err) {
    if (err instanceof ApiError) return { error: { code: err.code, message: err.message } };
    throw err;
  }
}
