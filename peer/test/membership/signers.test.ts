import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createAliveClaim, verifyAliveClaim } from '../../src/membership/claims.ts';
import { ed25519PublicKeyOf, ed25519Signer } from '../../src/membership/ed25519-signer.ts';
import { simulatedSigner } from '../../src/membership/simulated-signer.ts';
import { ids, metaOf } from './support.ts';

describe('Ed25519 signer', () => {
  it('signs as the libp2p identity, and the peer ID alone verifies it', async () => {
    const key = await generateKeyPair('Ed25519');
    const other = await generateKeyPair('Ed25519');
    const id = peerIdFromPrivateKey(key).toString();
    const otherId = peerIdFromPrivateKey(other).toString();
    expect(ed25519PublicKeyOf(id)).toEqual(key.publicKey.raw);
    const signer = ed25519Signer(key);
    const claim = createAliveClaim(signer, id, 3, metaOf(0));
    expect(claim.signature).toHaveLength(64);
    // Anybody verifies with only the member ID: no key exchange.
    expect(verifyAliveClaim(ed25519Signer(other), claim)).toBe(true);
    // The libp2p key agrees with node:crypto about the signature.
    expect(await key.publicKey.verify(new Uint8Array([...new TextEncoder().encode('cli-chat/membership/1/alive\n'), ...claim.body]), claim.signature)).toBe(true);
    // Claimed for another member, or altered by one byte, it fails.
    expect(verifyAliveClaim(signer, { ...claim, id: otherId })).toBe(false);
    const body = new Uint8Array(claim.body);
    body[body.length - 1] = body[body.length - 1]! ^ 1;
    expect(verifyAliveClaim(signer, { ...claim, body })).toBe(false);
    expect(signer.verify('not-a-peer-id', claim.body, claim.signature)).toBe(false);
  });
});

describe('simulated signer (stand-in, not secure)', () => {
  it('keeps the properties the protocol relies on', () => {
    const [a, b] = ids(2) as [string, string];
    const claim = createAliveClaim(simulatedSigner(a), a, 1, metaOf(0));
    expect(claim.signature).toHaveLength(64);
    expect(verifyAliveClaim(simulatedSigner(b), claim)).toBe(true);
    expect(verifyAliveClaim(simulatedSigner(b), createAliveClaim(simulatedSigner(b), a, 1, metaOf(0)))).toBe(false);
    const body = new Uint8Array(claim.body);
    body[3] = body[3]! ^ 1;
    expect(verifyAliveClaim(simulatedSigner(b), { ...claim, body })).toBe(false);
  });
});
