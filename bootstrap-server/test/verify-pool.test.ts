/**
 * Signature checks in worker threads must answer exactly as checks on the event loop:
 * the same admissions, the same error codes and messages, nothing lost crossing threads.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { RECORD_MAX_AGE_MS, routes, sealRecord } from '@cli-chat/bootstrap-api';
import { createVerifyPool } from '../src/verify-pool.ts';
import { testApp, testPeer } from './support.ts';

const headers = { 'content-type': 'application/json' };

describe('verification in worker threads', () => {
  it('answers every join exactly as verification on the event loop does', async () => {
    const inline = testApp({ verifyThreads: 0 });
    const pooled = testApp({ verifyThreads: 2 });
    const good = await Promise.all([1, 2, 3].map(async () => (await testPeer()).signer.seal(['/ip4/127.0.0.1/tcp/4001'])));
    const tampered = Buffer.from(good[0] as string, 'base64');
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
    const old = await sealRecord(await generateKeyPair('Ed25519'), [], Date.now() - RECORD_MAX_AGE_MS - 10_000);
    const records = [...good, tampered.toString('base64'), old, Buffer.from('not an envelope').toString('base64')];

    const answers = async (app: ReturnType<typeof testApp>) => Promise.all(records.map(async (record) => {
      const res = await app.inject({ method: 'POST', url: routes.join.path, headers, payload: JSON.stringify({ record }) });
      return { status: res.statusCode, body: res.json() as unknown };
    }));
    const [fromInline, fromPool] = await Promise.all([answers(inline), answers(pooled)]);

    expect(fromPool.map((a) => a.status)).toEqual([200, 200, 200, 400, 400, 400]);
    expect(fromPool.slice(3)).toEqual(fromInline.slice(3));
    expect(fromPool.slice(3).map((a) => (a.body as { error: { code: string } }).error.code))
      .toEqual(['BAD_SIGNATURE', 'RECORD_EXPIRED', 'BAD_RECORD']);
    const listed = await pooled.inject({ method: 'GET', url: routes.list.path });
    expect((listed.json() as { peers: unknown[] }).peers).toHaveLength(3);
  });

  it('answers each of many checks handed over together with its own outcome, on the clock each was asked with', async () => {
    const pool = createVerifyPool(2);
    try {
      const peers = await Promise.all(Array.from({ length: 40 }, () => testPeer()));
      const records = await Promise.all(peers.map((p) => p.signer.seal(['/ip4/127.0.0.1/tcp/4001'])));
      const now = Date.now();
      // Every third check is asked with a clock far past the record's age limit.
      const outcomes = await Promise.allSettled(records.map((r, i) => pool.verify(r, i % 3 === 0 ? now + RECORD_MAX_AGE_MS + 60_000 : now)));
      outcomes.forEach((outcome, i) => {
        if (i % 3 === 0) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'RECORD_EXPIRED' } });
        else expect(outcome).toMatchObject({ status: 'fulfilled', value: { peerId: peers[i]?.peerId, record: records[i] } });
      });
    } finally {
      await pool.close();
    }
  });

  it('answers the checks in flight when closed, and refuses later ones as UNAVAILABLE', async () => {
    const pool = createVerifyPool(1);
    const { peerId, signer } = await testPeer();
    const record = await signer.seal([]);
    const inFlight = pool.verify(record, Date.now());
    await pool.close();
    await expect(inFlight).resolves.toMatchObject({ peerId });
    await expect(pool.verify(record, Date.now())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
