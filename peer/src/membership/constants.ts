/**
 * Every name and bound of the membership wire protocol. Peers that disagree on any of these
 * cannot understand each other, so a change here is a protocol change (bump the version).
 * The protocol's timings are not here: they are local choices, in profiles.ts.
 */

/** Version byte at the start of every message; a peer refuses any other. */
export const MEMBERSHIP_PROTOCOL_VERSION = 1;

/** The libp2p protocol ID the service will register; carries the same version. */
export const MEMBERSHIP_PROTOCOL_ID = `/cli-chat/membership/${MEMBERSHIP_PROTOCOL_VERSION}`;

/**
 * Largest encoded message, checked before decoding. A full-state sync is cut into
 * messages below this (see SYNC_CHUNK_BYTES), so it bounds memory per message, not state.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Sync entries are packed into messages of at most this many bytes (leaves room for headers). */
export const SYNC_CHUNK_BYTES = 60 * 1024;

/** Most updates in one message, and most digests or wants in one sync message. */
export const MAX_UPDATES_PER_MESSAGE = 1024;
export const MAX_DIGESTS_PER_MESSAGE = 4096;

/** Member IDs are libp2p peer IDs in base58btc (or CIDv1 base32): ASCII letters and digits. */
export const MEMBER_ID_PATTERN = /^[A-Za-z0-9]{1,128}$/;
export const MAX_MEMBER_ID_LENGTH = 128;

/** Metadata bounds. A claim stays well under 4 KiB so many fit in one message. */
export const MAX_NICK_LENGTH = 32;
export const MAX_ADDRS = 8;
export const MAX_ADDR_BYTES = 256;
export const MAX_ROOMS = 16;
export const MAX_ROOM_BYTES = 64;
export const MAX_VERSION_BYTES = 32;

/** Ed25519 signatures; the simulator's stand-in signer uses the same size so byte counts are real. */
export const SIGNATURE_BYTES = 64;

/**
 * Incarnations are unsigned 32-bit, as in memberlist: a member that refutes once a second
 * needs 136 years to run out, and a restart may start from the wall clock in seconds.
 */
export const MAX_INCARNATION = 0xffff_ffff;

/** Sequence numbers and sync sessions are unsigned 32-bit and wrap. */
export const MAX_SEQ = 0xffff_ffff;

/**
 * Sync compares digests of a 16-ary tree over the hash of member IDs: depth d has 16^d
 * buckets. Depth 4 (65,536 buckets) keeps a leaf below one member up to about 100,000.
 */
export const SYNC_MAX_DEPTH = 4;

/** A subtree with at most this many members on either side is exchanged whole, not split. */
export const SYNC_LEAF_MEMBERS = 8;

/** A sync conversation ends after this many replies, whatever the digests say. */
export const SYNC_MAX_STEPS = 2 * SYNC_MAX_DEPTH + 4;

/** Domain separation: a membership signature can never be replayed as any other signed object. */
export const ALIVE_SIGNING_DOMAIN = `cli-chat/membership/${MEMBERSHIP_PROTOCOL_VERSION}/alive\n`;
export const LEAVE_SIGNING_DOMAIN = `cli-chat/membership/${MEMBERSHIP_PROTOCOL_VERSION}/leave\n`;
