/**
 * Every number and name of the bootstrap data API lives here, so the server, the
 * functions backend, the client and the docs agree by construction.
 */

/** Path prefix of API version 1. A breaking change gets a new prefix, never a new meaning. */
export const API_PREFIX = '/v1';
export const API_VERSION = '1';

/** Default base URL of the local development backend. */
export const DEFAULT_LOCAL_URL = 'http://127.0.0.1:8080';
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

/** Size of the bootstrap set: enough seeds to survive a few failures, small enough to list cheaply. */
export const DEFAULT_MAX_PEERS = 8;
export const MIN_MAX_PEERS = 1;
export const MAX_MAX_PEERS = 1000;

/**
 * A registration is a lease. Peers renew every third of it, so one lost renewal
 * (a backend restart, a dropped request) does not drop them from the set.
 */
export const DEFAULT_TTL_MS = 60_000;
export const MIN_TTL_MS = 2_000;
export const MAX_TTL_MS = 3_600_000;
export const RENEWALS_PER_TTL = 3;

/**
 * A signed record's sequence number is its creation time in milliseconds. Older records
 * are refused so a captured record cannot be replayed later; a little clock skew is allowed.
 */
export const RECORD_MAX_AGE_MS = 60_000;
export const RECORD_MAX_SKEW_MS = 30_000;

/** Bounds on a registration, so one peer cannot bloat every list response. */
export const MAX_RECORD_BASE64_LENGTH = 4096;
export const MAX_ADDRS_PER_PEER = 16;
export const MAX_ADDR_LENGTH = 256;

/** Largest request body any endpoint accepts. */
export const BODY_LIMIT_BYTES = 8192;

/** Header carrying the admin token for reset and config. */
export const ADMIN_AUTH_SCHEME = 'Bearer';
