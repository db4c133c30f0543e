/**
 * Every default of the membership service, the libp2p side of membership (transport,
 * dialling, connectivity). The protocol's own timings are in profiles.ts and its wire
 * bounds in constants.ts; these are local choices that peers need not agree on.
 */
import type { MembershipProfile } from './profiles.ts';

/**
 * Streams of the membership protocol per connection (libp2p counts them per connection
 * and protocol, not per node, so the cluster size does not enter). Each peer keeps one
 * long-lived outbound stream to each member it talks to, so one is the steady state on
 * each side; the slack covers a stream being replaced while the old one still closes,
 * and a second connection after a simultaneous dial.
 */
export const MAX_INBOUND_STREAMS = 4;
export const MAX_OUTBOUND_STREAMS = 2;

/**
 * Bound on opening a stream to a member, dial included. A refused dial on a LAN fails in
 * milliseconds; this only stops a dial to a frozen or black-holed host from holding its
 * queued messages forever. The protocol's own timeouts decide long before it fires.
 */
export const DIAL_TIMEOUT_MS = 5_000;

/**
 * Messages held for a member while its stream opens; beyond this the newest are dropped
 * (as a lossy network would drop them, which the protocol tolerates). A probe round puts
 * a few messages on one member at most, a burst of news a few more.
 */
export const MAX_QUEUED_FRAMES = 32;

/**
 * Bytes a stream may hold unsent (its peer is slow to read, or frozen) before further
 * messages to it are dropped instead of buffered: room for a few full sync chunks.
 */
export const MAX_UNSENT_BYTES = 256 * 1024;

/**
 * Live members to keep a direct connection to (gossipsub's mesh degree is 3 to 6, see
 * MESH_DEGREE in node/constants.ts: eight connected members give it a mesh and spares).
 * Probing connects to more over time; this is what a fresh peer that only knows its seeds
 * dials at once.
 */
export const CONNECTION_TARGET = 8;

/**
 * How often the service checks that target even when no member event prompted it (a dial
 * failed, or a connection was pruned). Checked on the protocol's own timer, which wakes
 * several times a second, so this adds no timer.
 */
export const CONNECTIVITY_CHECK_INTERVAL_MS = 1_000;

/**
 * How long a member we hear arrive is left to connect to us before we dial it for
 * connectivity's sake. An arriving peer dials the peers its bootstrap list names while
 * the members gossip its arrival; when both ends dialled, the pair kept two connections:
 * the 10-peer clusters of `scripts/bench-chat.ts`, started one peer at a time, held
 * 124-136 connection ends instead of 90, and 96-114 with the wait ("at end"). Well above
 * a LAN dial; the first check after it dials whoever did not connect.
 */
export const NEWCOMER_GRACE_MS = 2_000;

/**
 * After the protocol reports that the leave has been gossiped, how long leave() waits
 * for the buffered messages to be written out before it returns anyway.
 */
export const LEAVE_FLUSH_TIMEOUT_MS = 500;

/**
 * leave() waits for the protocol's report at most the profile's leaveTimeout plus this
 * (timers fire late on a busy event loop).
 */
export const LEAVE_MARGIN_MS = 250;

/** Metadata version when the application gives none. */
export const DEFAULT_VERSION = 'unknown';

/** setTimeout fires at once for longer delays (Node clamps to 1 ms above 2^31 - 1). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Inbound frames one peer may send us, per second, as a multiple of what a well-behaved
 * peer can reach (inboundFrameRate). Beyond it frames are dropped unread, so a flooding
 * peer cannot make us spend CPU on decoding and signature checks; a lossy link is what
 * SWIM already tolerates.
 */
export const INBOUND_FRAME_MARGIN = 10;

/**
 * Frames one peer may send at once above the rate: a full-state sync arrives as a burst
 * of chunks (SYNC_CHUNK_BYTES each, about 250 members' claims), so 512 frames cover the
 * join of a cluster of about 100,000 members.
 */
export const INBOUND_FRAME_BURST = 512;

/** Dropped frames are logged at most this often, with the count since the last log line. */
export const RATE_LIMIT_LOG_INTERVAL_MS = 10_000;

/**
 * The most frames per second one well-behaved peer sends us, times INBOUND_FRAME_MARGIN.
 * Per probeInterval a peer sends us at most about four protocol frames: a ping (and its
 * second attempt) when it probes us, a ping-req when it probes through us, and a ping or
 * ack when it relays for others or answers our probes. Per gossipInterval at most about
 * two gossip frames: the paced retransmission and an eager push of news. LAN profile:
 * 10 * (4 / 0.5 s + 2 / 0.1 s) = 280 frames/s; WAN: 48 frames/s.
 */
export function inboundFrameRate(profile: Pick<MembershipProfile, 'probeInterval' | 'gossipInterval'>): number {
  return INBOUND_FRAME_MARGIN * (4 * 1000 / profile.probeInterval + 2 * 1000 / profile.gossipInterval);
}
