/**
 * A worker thread of history/signatures.ts: checks one share of a batch of Ed25519
 * signatures and posts back one boolean each. Keys come as KeyObjects, which cross
 * threads as OpenSSL handles.
 */
import { verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export interface SignatureShare {
  keys: KeyObject[];
  jobs: { signed: Uint8Array, key: number, signature: Uint8Array }[];
}

parentPort?.once('message', (share: SignatureShare) => {
  parentPort?.postMessage(share.jobs.map((job) => {
    const key = share.keys[job.key];
    return key !== undefined && verify(null, job.signed, key, job.signature);
  }));
});
