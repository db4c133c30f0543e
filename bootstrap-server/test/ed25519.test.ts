import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { RecordEnvelope } from '@libp2p/peer-record';
import { sealRecord, verifyRecord } from '@cli-chat/bootstrap-api';
import { checkSignature } from '../src/ed25519.ts';

describe('libsodium Ed25519 check', () => {
  it('agrees with the key\'s own (OpenSSL) verify on valid signatures and on any flipped bit', async () => {
    const key = await generateKeyPair('Ed25519');
    await fc.assert(fc.asyncProperty(
      fc.uint8Array({ minLength: 0, maxLength: 512 }), fc.nat(), fc.boolean(),
      async (data, bit, inSignature) => {
        const signature = await key.sign(data);
        expect(checkSignature(key.publicKey, data, signature)).toBe(true);
        const target = inSignature || data.length === 0 ? signature : data;
        const flipped = Uint8Array.from(target);
        const at = Math.floor(bit / 8) % flipped.length;
        flipped[at] = (flipped[at] as number) ^ (1 << (bit % 8));
        const [d, s] = target === signature ? [data, flipped] : [flipped, signature];
        expect(checkSignature(key.publicKey, d, s)).toBe(false);
        expect(await key.publicKey.verify(d, s)).toBe(false);
      }), { numRuns: 200 });
  });

  it('refuses signatures of the wrong length instead of reading part of them', async () => {
    const key = await generateKeyPair('Ed25519');
    const data = new TextEncoder().encode('hello');
    const signature = await key.sign(data);
    expect(checkSignature(key.publicKey, data, Uint8Array.from([...signature, 0]))).toBe(false);
    expect(checkSignature(key.publicKey, data, signature.subarray(0, 63))).toBe(false);
    expect(checkSignature(key.publicKey, data, new Uint8Array(0))).toBe(false);
  });

  it('leaves other key types to their own verify', async () => {
    const key = await generateKeyPair('secp256k1');
    const data = new TextEncoder().encode('hello');
    const signature = await key.sign(data);
    expect(await checkSignature(key.publicKey, data, signature)).toBe(true);
    expect(await checkSignature(key.publicKey, new TextEncoder().encode('hellO'), signature)).toBe(false);
  });

  it('verifies registrations as the default check does, and refuses a signature padded by a byte', async () => {
    const now = Date.now();
    const key = await generateKeyPair('Ed25519');
    const record = await sealRecord(key, ['/ip4/127.0.0.1/tcp/4001'], now);
    expect(await verifyRecord(record, { now, checkSignature })).toEqual(await verifyRecord(record, { now }));

    const envelope = RecordEnvelope.createFromProtobuf(Buffer.from(record, 'base64'));
    const padded = new RecordEnvelope({
      publicKey: envelope.publicKey,
      payloadType: envelope.payloadType,
      payload: envelope.payload,
      signature: Uint8Array.from([...envelope.signature, 0])
    });
    const paddedRecord = Buffer.from(padded.marshal()).toString('base64');
    await expect(verifyRecord(paddedRecord, { now, checkSignature })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
  });
});
