/**
 * What the membership protocol knows about a member, and what it reports about members.
 * Plain data, no behaviour: the state machine is in core.ts.
 */

/** A libp2p peer ID in its string form. */
export type MemberId = string;

/** What a member says about itself; carried, signed, in its alive claims. */
export interface MemberMeta {
  readonly nick: string;
  /** Multiaddrs it listens on, for others to dial. */
  readonly addrs: readonly string[];
  /** Chat rooms it has joined. */
  readonly rooms: readonly string[];
  /** Software version, for humans and for compatibility checks. */
  readonly version: string;
}

/**
 * "I, `id`, am alive at `incarnation` with `meta`": the only way a member enters or
 * returns to anybody's table, and only the member itself can sign one. `body` is the exact
 * signed encoding of (id, incarnation, meta), kept so that a claim is verified and
 * compared byte for byte without re-encoding.
 */
export interface AliveClaim {
  readonly id: MemberId;
  readonly incarnation: number;
  readonly meta: MemberMeta;
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
}

/** "I, `id`, leave at `incarnation`": a graceful leave, signed so nobody can fake one. */
export interface LeaveClaim {
  readonly id: MemberId;
  readonly incarnation: number;
  readonly signature: Uint8Array;
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** One member as the rest of the peer sees it (`/members`). */
export interface MemberView {
  readonly id: MemberId;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly meta: MemberMeta;
  /** Round-trip time of our last successful direct probe, in ms; undefined before one. */
  readonly rtt: number | undefined;
  /** When the state last changed, by the core's clock (undefined for alive members). */
  readonly since: number | undefined;
}

export type MemberEventType =
  | 'member-joined' | 'member-updated' | 'member-suspect' | 'member-alive' | 'member-left' | 'member-failed';

/**
 * A change in the membership as this member sees it. `member-alive` is a refuted
 * suspicion; `member-joined` also reports a failed or left member that came back.
 */
export interface MemberEvent {
  readonly type: MemberEventType;
  readonly peerId: MemberId;
  readonly nick: string;
  readonly incarnation: number;
  readonly ts: number;
}
