/** The history and backlog numbers. The protocol ones are shared by every peer; the rest are this peer's defaults. */

/** Backlog request/response over a direct stream; see docs/chat.md. */
export const BACKLOG_PROTOCOL = '/cli-chat/backlog/1.0.0';
export const BACKLOG_VERSION = 1;

/** Most entries one answer may carry, and so the most a peer may ask for. */
export const MAX_BACKLOG_ENTRIES = 10_000;
/** Most bytes of records one answer may carry; a reader stops there. */
export const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/** A request is a short JSON object. */
export const MAX_BACKLOG_REQUEST_BYTES = 512;
/** A whole backlog exchange, dial included. */
export const BACKLOG_TIMEOUT_MS = 10_000;

/** Answers this peer writes at once, to anyone; and to one peer. */
export const MAX_CONCURRENT_ANSWERS = 4;
export const MAX_ANSWERS_PER_PEER = 1;
/** Backlog requests one peer may make: a burst, then one every this many seconds. */
export const BACKLOG_REQUEST_BURST = 4;
export const BACKLOG_REQUEST_RATE_PER_S = 0.2;

/** Members of a room asked for its backlog on joining it. */
export const BACKLOG_SOURCES = 2;
/** How long after joining a room live messages wait for its backlog when no member to ask is known yet. */
export const BACKLOG_WAIT_MS = 3_000;
/** How long after joining a room a member who announces it is still asked for the backlog. */
export const BACKLOG_WINDOW_MS = 60_000;
