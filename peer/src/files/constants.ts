/**
 * Every number and name of the file-transfer protocol and of a receiver's defaults.
 * The protocol ID, the version and the wire limits are a protocol change if altered;
 * the rest is local policy.
 */

/**
 * Version of every wire message (`v`) and of the protocol ID. Version 2 sends the SHA-256
 * in a trailer after the bytes, computed while they are sent, where version 1 put it in
 * the offer and so read the whole file twice.
 */
export const FILE_PROTOCOL_VERSION = 2;

export const FILE_PROTOCOL_ID = `/cli-chat/file/${FILE_PROTOCOL_VERSION}.0.0`;

/**
 * Largest encoded control message (offer, decision or result), checked before parsing.
 * An offer is well under 1 KiB even with a long non-ASCII name.
 */
export const MAX_HEADER_BYTES = 4 * 1024;

/**
 * Largest trailer on the wire, its length prefix included: the JSON is under 120 bytes.
 * More than this after the offered size is a transfer that is too long.
 */
export const MAX_TRAILER_BYTES = 256;

/** Longest name an offer may carry, in UTF-16 code units; the receiver shortens it further. */
export const MAX_OFFERED_NAME_LENGTH = 1024;

/**
 * Largest file either side handles, 64 GiB: a sanity bound that catches a device file or
 * a size typo, not a policy (the receiver's quota is that).
 */
export const MAX_FILE_BYTES = 64 * 2 ** 30;

/** Offers up to this size from members are accepted without asking, if the quota allows. */
export const DEFAULT_AUTO_ACCEPT_BYTES = 64 * 2 ** 20;

/** What the downloads directory may hold, partial files of running transfers included. */
export const DEFAULT_DOWNLOADS_QUOTA_BYTES = 2 ** 30;

/** Longest saved file name in UTF-8 bytes: room for ` (999)` within the usual 255-byte limit. */
export const MAX_SAVED_NAME_BYTES = 200;

/** How long an offer waits for the user's accept or reject before it is refused. */
export const OFFER_TIMEOUT_MS = 10 * 60_000;

/** A sender that opened a stream must send its offer within this time. */
export const HEADER_TIMEOUT_MS = 10_000;

/**
 * How long a sender waits for the first answer to its offer; the receiver answers at
 * once, with a decision or with `pending` (its user is asked, OFFER_TIMEOUT_MS).
 */
export const REPLY_TIMEOUT_MS = 30_000;

/** A transfer with no progress for this long (no bytes, no drain, no result) fails. */
export const STALL_TIMEOUT_MS = 30_000;

export const DIAL_TIMEOUT_MS = 10_000;

/** Accepted transfers receiving at once from one peer, and from all peers. */
export const MAX_ACTIVE_PER_PEER = 2;
export const MAX_ACTIVE_TOTAL = 8;

/** Offers waiting for the user from one peer, and from all peers. */
export const MAX_PENDING_PER_PEER = 4;
export const MAX_PENDING_TOTAL = 32;

/**
 * Inbound streams per connection: every transfer and pending offer a peer may hold, plus
 * one on which an offer over the limits still gets a `busy` answer instead of a reset.
 */
export const MAX_INBOUND_STREAMS = MAX_ACTIVE_PER_PEER + MAX_PENDING_PER_PEER + 1;

/**
 * Bytes read from the file per stream write on the sending side. The next read starts
 * while the stream drains the last one, so a read is rarely waited on; each is a fresh
 * buffer (see send-bytes.ts for why they are not reused).
 */
export const CHUNK_BYTES = 1024 * 1024;

/**
 * Receive window a file stream grants its sender, in place of yamux's 256 KiB: on loopback
 * yamux never grows its window (it doubles only within four round trips of the last update,
 * and the round trip measures 0 ms), so the sender stopped every 128 KiB for an update. The
 * package's own upper bound; a paused stream still takes what is in flight (see below).
 */
export const RECEIVE_WINDOW_BYTES = 16 * 2 ** 20;

/**
 * Bytes queued for the disk before the receiver pauses the stream (it resumes at half).
 * Pausing stops yamux window updates, so the sender stops within one window. With 4 MiB
 * and resuming only once the queue was empty, a 100 MB transfer spent 0.47 s paused.
 */
export const WRITE_BUFFER_BYTES = 8 * 2 ** 20;

/**
 * A paused stream still takes what the sender had in flight: up to the receive window,
 * beyond libp2p's default 4 MiB read buffer that would reset it.
 */
export const RECEIVE_BUFFER_BYTES = RECEIVE_WINDOW_BYTES + WRITE_BUFFER_BYTES;

/**
 * Least time between two progress events of one transfer (the last bytes always get one):
 * the console prints each as a line, so two a second is lively enough without a flood.
 */
export const PROGRESS_INTERVAL_MS = 500;

/** Partial files are `.partial-<id>` in the downloads directory; sanitized names never start with a dot. */
export const PARTIAL_PREFIX = '.partial-';

/** Offers one peer may make: a burst (a script sending a folder's files), then this many a second. */
export const OFFER_BURST = 16;
export const OFFER_RATE_PER_S = 2;
