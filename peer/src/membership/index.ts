/**
 * The membership's public face: the protocol core (pure: no libp2p, no timers, no I/O,
 * except ed25519Signer, which uses node:crypto synchronously) and the libp2p service that
 * wires it to the network (service.ts).
 *
 * @example
 *
 * ```ts
 * const node = await createLibp2p({
 *   services: { membership: membership({ profile: 'lan', meta: { nick: 'alice' } }), ... }
 * })
 * node.services.membership.addEventListener('member-failed', (evt) => console.info(evt.detail.nick))
 * await node.start()
 * node.services.membership.join([{ peerId: seedId, addrs: seedAddrs }])
 * ...
 * await node.services.membership.leave()
 * await node.stop()
 * ```
 */
import type {
  AbortOptions, ComponentLogger, Connection, DialTarget, Libp2pEvents, NewStreamOptions, PeerId, PrivateKey, Stream, StreamHandler,
  StreamHandlerOptions, TypedEventTarget
} from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { MembershipStats } from './core.ts';
import type { MemberEvent, MemberEventType, MemberMeta, MemberView } from './member.ts';
import type { MembershipProfile } from './profiles.ts';
import { Membership as MembershipService } from './service.ts';

export { MembershipCore, MembershipInputError } from './core.ts';
export type { MembershipCoreInit, MembershipInput, MembershipOutput, MembershipStats, Seed } from './core.ts';
export { decodeMessage, encodeMessage, encodedSize, metaProblem, MembershipDecodeError } from './codec.ts';
export type { DecodeReason } from './codec.ts';
export type { Signer } from './claims.ts';
export { ed25519Signer } from './ed25519-signer.ts';
export { DEFAULT_PROFILE_NAME, LAN_PROFILE, LOCAL_PROFILE, MEMBERSHIP_PROFILES, WAN_PROFILE, profileByName } from './profiles.ts';
export type { MembershipProfile } from './profiles.ts';
export { MAX_MESSAGE_BYTES, MEMBERSHIP_PROTOCOL_ID } from './constants.ts';
export type { AliveClaim, LeaveClaim, MemberEvent, MemberEventType, MemberId, MemberMeta, MemberState, MemberView } from './member.ts';
export type { Evidence, Message, Update } from './messages.ts';

/** A peer to join through, e.g. one entry of the bootstrap API's list. */
export interface MembershipSeed {
  peerId: string;
  /** Its multiaddrs, with or without the trailing /p2p/<peerId>. */
  addrs: string[];
}

/** What this member says about itself besides its addresses, which the service fills in. */
export type MembershipMetaInit = Partial<Omit<MemberMeta, 'addrs'>>;

/**
 * Listeners must not throw: an EventTarget reports a throwing listener as an uncaught
 * exception, which ends the process. Each detail is the core's MemberEvent.
 */
export type MembershipEvents = { [Type in MemberEventType]: CustomEvent<MemberEvent> };

/** The core's counters and the transport's. */
export interface MembershipServiceStats extends MembershipStats {
  /** Received frames refused: bad length prefix, or a message that failed to decode. */
  readonly badFrames: number;
  /** Messages not sent because the peer's stream was backed up or still opening with a full queue. */
  readonly droppedSends: number;
  /** Streams that could not be opened (dial refused or timed out), each reported to the protocol. */
  readonly unreachable: number;
  /** Received frames dropped unread because their peer sent faster than the per-peer rate limit. */
  readonly rateLimitedFrames: number;
  /**
   * Frames of the membership protocol written to streams, and their bytes (length prefix
   * and message; not the multistream, Yamux and Noise overhead beneath). Frames dropped
   * by backpressure are not counted (droppedSends).
   */
  readonly sentFrames: number;
  readonly sentBytes: number;
  /**
   * Frames and bytes that arrived on membership streams from other peers, including those
   * then refused (badFrames) or dropped by the rate limit (rateLimitedFrames).
   */
  readonly receivedFrames: number;
  readonly receivedBytes: number;
}

export interface Membership extends TypedEventTarget<MembershipEvents> {
  /** The profile in use. */
  readonly profile: MembershipProfile;
  /**
   * Joins (or rejoins) the cluster through these seeds; call again whenever more seeds
   * arrive. After leave(), joins again with a newer incarnation. Seeds with a malformed
   * peer ID are skipped. Throws NotStartedError before start.
   */
  join(seeds: readonly MembershipSeed[]): void;
  /**
   * Leaves gracefully: every member reports member-left, not member-failed. Resolves once
   * the leave has been sent and written out, or after the profile's leaveTimeout; stop
   * the node afterwards. Resolves at once when not started.
   */
  leave(): Promise<void>;
  /**
   * Changes this member's nick, rooms or version: a new incarnation that reaches every
   * member as member-updated. Throws MembershipInputError (nothing changes) on bad metadata.
   */
  updateMeta(meta: MembershipMetaInit): void;
  /** This member's metadata as announced. */
  readonly meta: MemberMeta;
  /** Every member known (this one included), with state, metadata, incarnation and RTT. */
  members(): MemberView[];
  stats(): MembershipServiceStats;
}

export interface MembershipInit {
  /** A profile name ('local', 'lan', 'wan') or a whole profile; see profiles.ts. @default 'lan' */
  profile?: string | MembershipProfile;
  /** Nick, rooms and version; the listen addresses come from the node. @default nick DEFAULT_NICK, no rooms, version DEFAULT_VERSION */
  meta?: MembershipMetaInit;
  /** The Ed25519 identity that signs our claims. @default the node's own key (components.privateKey) */
  privateKey?: PrivateKey;
  /**
   * Incarnation to start at. The default, the wall clock in seconds, lets a restarted
   * peer outrank what its earlier life left behind without first refuting it.
   * @default Math.floor(Date.now() / 1000)
   */
  incarnation?: number;
  /** Bound on opening a stream to a member, dial included. @default DIAL_TIMEOUT_MS */
  dialTimeout?: number;
  /** Live members to keep a connection to. @default CONNECTION_TARGET */
  connectionTarget?: number;
}

/** What the service needs from the node: exactly the parts of libp2p's components it uses. */
export interface MembershipComponents {
  peerId: PeerId;
  privateKey: PrivateKey;
  logger: ComponentLogger;
  events: TypedEventTarget<Libp2pEvents>;
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>;
    unhandle(protocol: string, options?: AbortOptions): Promise<void>;
  };
  connectionManager: {
    getConnections(peerId?: PeerId): Connection[];
    openConnection(peer: DialTarget, options?: AbortOptions): Promise<Connection>;
    openStream(peer: DialTarget, protocol: string, options?: NewStreamOptions): Promise<Stream>;
    closeConnections(peer: PeerId, options?: AbortOptions): Promise<void>;
  };
  addressManager: {
    getAddresses(): Multiaddr[];
  };
}

export function membership(init: MembershipInit = {}): (components: MembershipComponents) => Membership {
  return (components) => new MembershipService(components, init);
}
