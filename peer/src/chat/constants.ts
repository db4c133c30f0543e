/**
 * Every number and name of the chat protocol. Peers that disagree on any of these
 * reject each other's messages, so a change here is a protocol change.
 */

/**
 * Version of the wire message (`v`) and of the topic name. They move together on
 * purpose: peers of different versions then sit on different topics instead of
 * rejecting (and so penalising) each other's messages on a shared one.
 */
export const CHAT_PROTOCOL_VERSION = 1;

/** A room is the gossipsub topic `/cli-chat/room/1/<room>`. */
export const ROOM_TOPIC_PREFIX = `/cli-chat/room/${CHAT_PROTOCOL_VERSION}/`;

/** Room names: 1-64 of [A-Za-z0-9_.-], case-sensitive. Safe in a topic, a file name and a terminal. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_ROOM_LENGTH = 64;

/** Nicks: 1-32 code points, no control or format characters, no surrounding whitespace. */
export const MAX_NICK_LENGTH = 32;
export const DEFAULT_NICK = 'anon';

/** Longest message text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 4096;

/** The nonce is 16 bytes in lower-case hex, unique per author (nonce.ts): two identical texts are two messages. */
export const NONCE_BYTES = 16;

/**
 * Largest encoded message accepted, checked before any parsing. JSON escaping at most
 * doubles the text (only `"` and `\` need escapes; other control characters are refused),
 * a nick is at most 32 x 4 bytes before escaping, and the rest is well under 1 KiB.
 */
export const MAX_MESSAGE_BYTES = 2 * MAX_TEXT_BYTES + 2 * 4 * MAX_NICK_LENGTH + 1024;

/**
 * Timestamps are the sender's clock in ms since the epoch. A message from further in
 * the future than this is refused (and penalised): it would sort wrongly forever.
 */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * A message older than this is ignored (not penalised: a slow clock is no attack).
 * SEEN_TTL_MS must exceed this plus MAX_CLOCK_SKEW_MS, so every message young enough to
 * be accepted is still in the seen cache when a replay of it arrives.
 */
export const MAX_MESSAGE_AGE_MS = 5 * 60_000;

/**
 * The seen-ID cache behind exactly-once delivery, bounded in entries and in time. Above
 * SEEN_CACHE_SIZE messages per SEEN_TTL_MS (about 16 a second) the oldest IDs are
 * forgotten early, and a replay of those would be delivered again.
 */
export const SEEN_CACHE_SIZE = 10_000;
export const SEEN_TTL_MS = 2 * MAX_MESSAGE_AGE_MS;
