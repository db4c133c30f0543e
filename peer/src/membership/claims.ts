/**
 * Signed claims: only a member speaks for itself. An alive claim (and the metadata in
 * it) or a leave is accepted only with its subject's signature, so nobody can revive,
 * rename, re-address or retire another member. Suspect and dead updates stay unsigned,
 * as in SWIM: anybody may accuse, and the accused refutes with a newer signed claim.
 */
import { SIGNATURE_BYTES } from './constants.ts';
import { aliveSigningBytes, encodeAliveBody, leaveSigningBytes } from './codec.ts';
import type { AliveClaim, LeaveClaim, MemberId, MemberMeta } from './member.ts';

/**
 * Signs for this member and verifies other members' signatures. Synchronous, because the
 * state machine is: Ed25519 in node:crypto takes tens of microseconds.
 */
export interface Signer {
  /** Signs `bytes` with this member's key. */
  sign(bytes: Uint8Array): Uint8Array;
  /** True if `signature` is `memberId`'s signature of `bytes` (the ID alone names the key). */
  verify(memberId: MemberId, bytes: Uint8Array, signature: Uint8Array): boolean;
}

export function createAliveClaim(signer: Signer, id: MemberId, incarnation: number, meta: MemberMeta): AliveClaim {
  const body = encodeAliveBody(id, incarnation, meta);
  return { id, incarnation, meta, body, signature: signer.sign(aliveSigningBytes(body)) };
}

export function verifyAliveClaim(signer: Signer, claim: AliveClaim): boolean {
  return claim.signature.length === SIGNATURE_BYTES && signer.verify(claim.id, aliveSigningBytes(claim.body), claim.signature);
}

export function createLeaveClaim(signer: Signer, id: MemberId, incarnation: number): LeaveClaim {
  return { id, incarnation, signature: signer.sign(leaveSigningBytes(id, incarnation)) };
}

export function verifyLeaveClaim(signer: Signer, claim: LeaveClaim): boolean {
  return claim.signature.length === SIGNATURE_BYTES && signer.verify(claim.id, leaveSigningBytes(claim.id, claim.incarnation), claim.signature);
}

/** True if two claims are the same bytes: a claim already verified needs no second look. */
export function sameClaim(a: AliveClaim, b: AliveClaim): boolean {
  if (a === b) return true;
  if (a.body.length !== b.body.length) return false;
  for (let i = 0; i < a.body.length; i++) if (a.body[i] !== b.body[i]) return false;
  const sa = a.signature;
  const sb = b.signature;
  if (sa.length !== sb.length) return false;
  for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return false;
  return true;
}
