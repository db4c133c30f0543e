/** The control API's limits and names: one place for each. */

/** Every route of the control API starts with this; the version changes when a route does. */
export const CONTROL_PREFIX = '/v1';
export const CONTROL_OPENAPI_PATH = '/openapi.json';
/** Command bodies are short lines of text: anything larger is no command. */
export const CONTROL_BODY_LIMIT = 64 * 1024;
/** An event-stream client that falls this far behind is cut off rather than buffered without end. */
export const EVENT_STREAM_MAX_BUFFER = 1024 * 1024;
/** A comment line on idle event streams, so proxies and clients see the connection live. */
export const EVENT_STREAM_HEARTBEAT_MS = 15_000;
/** Messages a history request returns at most. */
export const MAX_HISTORY_PAGE = 1000;
/** A file uploaded to be sent (the web page's way to /send-file) may be this large. */
export const MAX_UPLOAD_BYTES = 2 ** 30;
/** In the data dir: uploaded files wait here until their transfer ends. */
export const UPLOADS_DIR = 'uploads';
/** The web page's session cookie, set by the one-time login link. */
export const SESSION_COOKIE = 'cli-chat-session';
/** How long the daemon's printed login link works, once. */
export const LOGIN_TICKET_TTL_MS = 10 * 60_000;
/** Response header: the number of the last event emitted when the answer was made (SSE `id:`). */
export const EVENT_SEQ_HEADER = 'cli-chat-event-seq';
