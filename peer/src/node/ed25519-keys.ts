/**
 * OpenSSL handles for Ed25519 keys, made once per key instead of once per signature.
 *
 * @libp2p/crypto's Ed25519 keys import themselves into OpenSSL (from JWK) on every sign
 * and verify, which costs more than the signature itself; gossipsub signs every message a
 * peer publishes with the node's key.
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { AbortOptions, PrivateKey } from '@libp2p/interface';

/** What libp2p asks a key to sign: bytes, or a list of byte chunks. */
type Signable = Parameters<PrivateKey['sign']>[0];

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** The OpenSSL handle of an Ed25519 libp2p private key (its `raw` is the 32-byte seed, then the public key). */
export function ed25519SecretKeyObject(privateKey: PrivateKey): KeyObject {
  if (privateKey.type !== 'Ed25519') throw new TypeError(`not an Ed25519 key: ${privateKey.type}`);
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: base64url(privateKey.raw.subarray(0, 32)), x: base64url(privateKey.publicKey.raw) },
    format: 'jwk'
  });
}

/** The OpenSSL handle of a raw 32-byte Ed25519 public key. */
export function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(raw) }, format: 'jwk' });
}

/**
 * The same key, whose `sign` uses a handle made once. Everything else (type, raw bytes,
 * public key, equals, protobuf encoding) is the original's, reached through the prototype;
 * Ed25519 signatures are deterministic, so the signatures are the same bytes. Keys of
 * other types are returned as they are.
 */
export function withKeptSigningHandle(privateKey: PrivateKey): PrivateKey {
  if (privateKey.type !== 'Ed25519') return privateKey;
  const handle = ed25519SecretKeyObject(privateKey);
  const signWithHandle = (message: Signable, options?: AbortOptions): Uint8Array => {
    options?.signal?.throwIfAborted();
    return sign(null, message instanceof Uint8Array ? message : message.subarray(), handle);
  };
  return Object.create(privateKey, { sign: { value: signWithHandle } }) as PrivateKey;
}
