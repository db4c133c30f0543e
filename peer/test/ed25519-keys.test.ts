import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { withKeptSigningHandle } from '../src/node/ed25519-keys.ts';

describe('withKeptSigningHandle', () => {
  it('signs exactly as the key itself does, and the signatures verify', async () => {
    const key = await generateKeyPair('Ed25519');
    const kept = withKeptSigningHandle(key);
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (message) => {
      const signature = await kept.sign(message);
      expect(Buffer.from(signature).equals(Buffer.from(await key.sign(message)))).toBe(true);
      expect(await key.publicKey.verify(message, signature)).toBe(true);
    }), { numRuns: 200 });
  });

  it('is the same identity in every other respect', async () => {
    const key = await generateKeyPair('Ed25519');
    const kept = withKeptSigningHandle(key);
    expect(kept.type).toBe('Ed25519');
    expect(kept.equals(key)).toBe(true);
    expect(kept.publicKey.equals(key.publicKey)).toBe(true);
    expect(peerIdFromPrivateKey(kept).equals(peerIdFromPrivateKey(key))).toBe(true);
    expect(Buffer.from(privateKeyToProtobuf(kept)).equals(Buffer.from(privateKeyToProtobuf(key)))).toBe(true);
  });

  it('honours an aborted signal as the key does', async () => {
    const kept = withKeptSigningHandle(await generateKeyPair('Ed25519'));
    expect(() => kept.sign(new Uint8Array(8), { signal: AbortSignal.abort() })).toThrow();
  });

  it('leaves keys of other types as they are', async () => {
    const key = await generateKeyPair('secp256k1');
    expect(withKeptSigningHandle(key)).toBe(key);
  });
});
