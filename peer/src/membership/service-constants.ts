/**
 * Every default of the membership service, the libp2p side of membership (transport,
 * dialling, connectivity). The protocol's own timings are in profiles.ts and its wire
 * bounds in constants.ts; these are local choices that peers need not agree on.
 */

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
 * Live members to keep a direct connection to (gossipsub's mesh degree D is 6, Dhi 12:
 * eight connected members give it a mesh and spares). Probing connects to more over
 * time; this is what a fresh peer that only knows its seeds dials at once.
 */
export const CONNECTION_TARGET = 8;

/**
 * How often the service checks that target even when no member event prompted it (a dial
 * failed, or a connection was pruned). Checked on the protocol's own timer, which wakes
 * several times a second, so this adds no timer.
 */
export const CONNECTIVITY_CHECK_INTERVAL_MS = 1_000;

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
