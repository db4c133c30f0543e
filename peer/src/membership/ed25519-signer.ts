/**
 * The production Signer: Ed25519 through node:crypto, with the libp2p identity key.
 *
 * An Ed25519 libp2p peer ID is an identity multihash of the public key, so a member ID
 * alone is enough to verify its signatures: no key exchange, no lookup. IDs of other key
 * types (RSA, secp256k1) do not embed a usable key here and never verify.
 */
import { sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { ed25519PublicKeyObject, ed25519SecretKeyObject } from '../node/ed25519-keys.ts';
import type { Signer } from './claims.ts';
import type { MemberId } from './member.ts';

/** Public keys derived from member IDs, kept so that each ID is parsed once. */
const KEY_CACHE_LIMIT = 10_000;

/** The Ed25519 public key embedded in a member ID, or undefined if it has none. */
export function ed25519PublicKeyOf(memberId: MemberId): Uint8Array | undefined {
  try {
    const peerId = peerIdFromString(memberId);
    return peerId.type === 'Ed25519' ? peerId.publicKey.raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Signer for the member whose libp2p private key is `privateKey` (Ed25519 only: its
 * `raw` is the 32-byte seed followed by the 32-byte public key).
 */
export function ed25519Signer(privateKey: PrivateKey): Signer {
  if (privateKey.type !== 'Ed25519') throw new Error(`membership needs an Ed25519 identity, not ${privateKey.type}`);
  const secret = ed25519SecretKeyObject(privateKey);
  const keys = new Map<MemberId, KeyObject | null>();

  function keyOf(memberId: MemberId): KeyObject | null {
    let key = keys.get(memberId);
    if (key !== undefined) return key;
    const raw = ed25519PublicKeyOf(memberId);
    key = raw ? ed25519PublicKeyObject(raw) : null;
    if (keys.size >= KEY_CACHE_LIMIT) keys.clear();
    keys.set(memberId, key);
    return key;
  }

  return {
    sign: (bytes) => new Uint8Array(sign(null, bytes, secret)),
    verify(memberId, bytes, signature) {
      const key = keyOf(memberId);
      if (!key) return false;
      try {
        return verify(null, bytes, key, signature);
      } catch {
        return false;
      }
    }
  };
}
