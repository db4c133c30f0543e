/**
 * The membership protocol's messages, as data. Their wire form is in codec.ts.
 *
 * Every message may carry `updates`: membership news piggybacked from the sender's
 * broadcast queue (SWIM's infection-style dissemination).
 */
import type { AliveClaim, LeaveClaim, MemberId } from './member.ts';

/**
 * Why a member is suspected. `unreachable`: its connection reset or a dial was refused,
 * so its process is most likely gone. `timeout`: it did not answer in time, which a
 * slow or frozen process, or a lossy network, also explains.
 */
export type Evidence = 'timeout' | 'unreachable';

export type Update =
  | { readonly kind: 'alive', readonly claim: AliveClaim }
  | { readonly kind: 'suspect', readonly id: MemberId, readonly incarnation: number, readonly from: MemberId, readonly evidence: Evidence }
  | { readonly kind: 'dead', readonly id: MemberId, readonly incarnation: number, readonly from: MemberId }
  | { readonly kind: 'left', readonly claim: LeaveClaim };

/** A node of the sync digest tree: bucket `prefix` at `depth` (16^depth buckets). */
export interface SyncDigest {
  readonly depth: number;
  readonly prefix: number;
  /** XOR of the entry hashes of the live members in the bucket. */
  readonly hash: number;
  readonly count: number;
}

/** A bucket whose members the sender asks for. */
export interface SyncWant {
  readonly depth: number;
  readonly prefix: number;
}

export type Message =
  /** Are you alive? Answered by an ack with the same seq. */
  | { readonly type: 'ping', readonly seq: number, readonly target: MemberId, readonly updates: readonly Update[] }
  | { readonly type: 'ack', readonly seq: number, readonly updates: readonly Update[] }
  /** Please ping `target` for me and relay its ack (and, if `nack`, tell me if it stays silent). */
  | { readonly type: 'ping-req', readonly seq: number, readonly target: MemberId, readonly nack: boolean, readonly updates: readonly Update[] }
  /** Lifeguard: I relayed your ping-req but the target did not answer me in time. */
  | { readonly type: 'nack', readonly seq: number, readonly updates: readonly Update[] }
  /** Updates only. */
  | { readonly type: 'gossip', readonly updates: readonly Update[] }
  /**
   * Anti-entropy, also used to join. Compare `digests` with yours; send `entries` for the
   * buckets in `want`; merge `entries` (the sender's state of the members in some buckets).
   */
  | {
    readonly type: 'sync', readonly session: number, readonly step: number,
    readonly digests: readonly SyncDigest[], readonly want: readonly SyncWant[],
    readonly entries: readonly Update[], readonly updates: readonly Update[]
  };

export type MessageType = Message['type'];
