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

/**
 * How fast one author may send to a room: AUTHOR_RATE messages a second on average, up to
 * AUTHOR_BURST at once. Messages beyond it are dropped and their author's score lowered.
 * Generous for people, who do not type 20 lines a second, and whose 60-line paste goes
 * through whole; tight for a script gone wrong at 1000 a second. Unlike the rest of this
 * file it is each peer's own policy on what it receives, but a peer whose limit is below
 * the others' drops (and penalises) messages the rest of the room shows.
 */
export const AUTHOR_RATE = 20;
export const AUTHOR_BURST = 60;

/**
 * Authors tracked per room by the rate limit. An author idle for AUTHOR_BURST / AUTHOR_RATE
 * (3 s) has its full burst back anyway, so only that many authors active at once need a
 * place; beyond it the one idle longest is forgotten.
 */
export const RATE_LIMITED_AUTHORS = 1024;

/**
 * Messages refused by the rate limit are reported (a `rejected` event and a log line) at
 * most once per author and room per this interval, with how many it stands for, so that a
 * flood costs a line every few seconds instead of one per message.
 */
export const RATE_LIMIT_REPORT_INTERVAL_MS = 5_000;
