/**
 * A cheap, deterministic stand-in for the Ed25519 Signer, for the simulator and tests
 * ONLY: it offers no security at all (a member's "key" is a hash of its public ID).
 *
 * It keeps what the protocol relies on: a member's signer signs only as that member, a
 * signature covers every byte it signs (change one and verification fails), and a
 * signature is 64 bytes so that message sizes are the real ones. It remembers the byte
 * arrays it has verified, so that thousands of simulated members sharing the same claim
 * objects verify each one once.
 */
import { SIGNATURE_BYTES } from './constants.ts';
import type { Signer } from './claims.ts';
import type { MemberId } from './member.ts';

function fnv1a(seed: number, bytes: Uint8Array): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function stringSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function tag(memberId: MemberId, bytes: Uint8Array): Uint8Array {
  let a = fnv1a(stringSeed(memberId), bytes);
  let b = fnv1a(a ^ 0x9e3779b9, bytes);
  const out = new Uint8Array(SIGNATURE_BYTES);
  for (let i = 0; i < SIGNATURE_BYTES; i += 4) {
    // xorshift over the two hashes fills the rest deterministically.
    a ^= a << 13; a ^= a >>> 17; a ^= a << 5;
    b = Math.imul(b ^ a, 0x85ebca6b) >>> 0;
    out[i] = a & 0xff;
    out[i + 1] = (a >>> 8) & 0xff;
    out[i + 2] = b & 0xff;
    out[i + 3] = (b >>> 8) & 0xff;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Verification results shared by all simulated signers, keyed by the signature array. */
const verified = new WeakMap<Uint8Array, { memberId: MemberId, bytes: Uint8Array }>();

/** The stand-in signer of `memberId`. NOT SECURE: simulation and tests only. */
export function simulatedSigner(memberId: MemberId): Signer {
  return {
    sign: (bytes) => tag(memberId, bytes),
    verify(id, bytes, signature) {
      const known = verified.get(signature);
      if (known && known.memberId === id && equalBytes(known.bytes, bytes)) return true;
      const ok = equalBytes(tag(id, bytes), signature);
      if (ok) verified.set(signature, { memberId: id, bytes });
      return ok;
    }
  };
}
