/**
 * Defaults of the Fastify backend. The API's own numbers (TTL, set size, body limit)
 * live in `@cli-chat/bootstrap-api`; only what is particular to this server is here.
 */
import { availableParallelism } from 'node:os';

/** The name `ping` answers with, so a client can tell which backend it reached. */
export const BACKEND_NAME = 'fastify';

/**
 * Requests per minute one IP may make. A peer renews every ttl/3 and lists now and then,
 * so even a hundred peers behind one NAT stay far below it; a runaway script does not.
 */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 1200;

/**
 * Writes of the data file are coalesced to at most one per this many ms. Peers renew
 * their lease every ttl/3, so a crash loses at most this window of changes and the next
 * round of renewals puts every live peer back; writing on every request would cost a
 * file write per join for no gain in what survives.
 */
export const PERSIST_DELAY_MS = 100;

/** Where the CLI keeps the registry unless told otherwise, relative to the working directory. */
export const DEFAULT_DATA_FILE = '.cli-chat/bootstrap-registry.json';

/** How long a graceful shutdown may take before the process gives up and exits 1. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Signature checks run on all but one core (the event loop's), up to a few: a bootstrap
 * server rarely sees more joins than that serves, and each worker holds its own heap.
 */
export const MAX_VERIFY_THREADS = 16;
export const DEFAULT_VERIFY_THREADS = Math.min(4, Math.max(0, availableParallelism() - 1));
