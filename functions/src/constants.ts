/**
 * Names and numbers particular to the functions backend. The API's own numbers (TTL, set
 * size, body limit) live in `@cli-chat/bootstrap-api`.
 */

/** The name `ping` answers with, so a client can tell which backend it reached. */
export const BACKEND_NAME = 'functions';

/** The one HTTP function, and the last path segment of its URL once deployed. */
export const FUNCTION_NAME = 'bootstrap';

/** One document per registration, its ID the peer ID: renewals of different peers never contend. */
export const REGISTRATIONS_COLLECTION = 'bootstrap-registrations';

/** The config lives apart from the registrations, so changing it touches no lease. */
export const CONFIG_DOCUMENT = 'bootstrap-config/current';

/**
 * How often a contended transaction is tried before the request fails with 503. The
 * client library's default of 5 is too few for a burst of joins: every join reads the
 * whole set, so N simultaneous joins can make one of them retry up to N times.
 */
export const TRANSACTION_MAX_ATTEMPTS = 30;

/** Port of `npm run functions`, beside the Fastify server's 8080. */
export const DEFAULT_LOCAL_PORT = 8081;

/** Project ID for the emulator when none is configured; `demo-` marks a project that exists only locally. */
export const DEFAULT_EMULATOR_PROJECT = 'demo-cli-chat';
