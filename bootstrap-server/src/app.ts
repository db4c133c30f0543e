/**
 * The Fastify app factory. It returns the app without listening, so tests drive it with
 * `inject()` and the entry points only add `listen` and signal handling.
 */
import Fastify, { LogController } from 'fastify';
import { pino } from 'pino';
import type { FastifyBaseLogger, FastifyInstance, FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import { ApiError, BODY_LIMIT_BYTES, ConfigPatch, RegistryService, describeErrors, verifyRecord } from '@cli-chat/bootstrap-api';
import type { Route } from '@cli-chat/bootstrap-api';
import { FileStore } from './file-store.ts';
import { createVerifyPool } from './verify-pool.ts';
import { checkSignature } from './ed25519.ts';
import { ListCache } from './list-cache.ts';
import { registryRoutes } from './routes.ts';
import { errorHandler, handleNotFound } from './errors.ts';
import { limitRequestRate } from './rate-limit.ts';
import { BACKEND_NAME, DEFAULT_RATE_LIMIT_PER_MINUTE } from './constants.ts';

export interface ServerOptions {
  /** Bearer token for reset and config; without one those endpoints answer 403 ADMIN_DISABLED. */
  adminToken?: string;
  /** Data file that keeps the leases across restarts; absent keeps them in memory only. */
  dataFile?: string;
  /** Lease length; when given it overrides the one stored in the data file. */
  ttlMs?: number;
  /** Size of the bootstrap set; when given it overrides the one stored in the data file. */
  maxPeers?: number;
  /** Requests per minute per client IP; 0 turns the limit off. Default 1200. */
  rateLimitPerMinute?: number;
  /** Fastify's logger: `true`, pino options, or `false` (the default) for none. */
  logger?: FastifyServerOptions['logger'];
  /** The clock of leases and records; tests inject their own. */
  now?: () => number;
  /** Worker threads that check signatures; 0 (the default) checks on the event loop. */
  verifyThreads?: number;
}

type Schema = Route['response'];

/**
 * Validates with the contract's own checker rather than Ajv: the same strictness as the
 * other backends (no coercion, no silently dropped extra fields) and the same messages.
 */
const validateWithContract: FastifySchemaCompiler<Schema> = ({ schema, httpPart }) => (value: unknown) => {
  const problem = describeErrors(schema, value, httpPart ?? 'body');
  return problem === undefined ? { value } : { error: new ApiError('BAD_REQUEST', problem) };
};

/** Throws a RangeError naming the first option out of bounds. */
function checkOptions(options: ServerOptions): void {
  const config = configOf(options);
  const problem = Object.keys(config).length === 0 ? undefined : describeErrors(ConfigPatch, config, 'options');
  if (problem !== undefined) throw new RangeError(problem);
  const limit = options.rateLimitPerMinute;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new RangeError(`options/rateLimitPerMinute must be a whole number >= 0, not ${limit}`);
  }
}

/** Levels at which nothing is logged per request. */
const QUIET_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

interface Logging {
  /** Fastify's logging options. */
  fastify: Partial<FastifyServerOptions>;
  /** At quiet levels, where the server's own messages go: Fastify's `app.log` and `request.log` are no-ops there. */
  log?: FastifyBaseLogger;
}

/**
 * At a quiet level Fastify gets no logger at all and the server logs its own warnings and
 * errors (a failed request, a data file it cannot write) to a logger of ours; Fastify's
 * own warnings about misused replies, which only bugs of ours cause, are then not logged
 * (they are at the default level, info). Any logger in Fastify costs every request a
 * child logger (or a call of a child-logger factory and a check of what it returned) and
 * two listeners on its response, for log entries it then does not write. Measured on the
 * list route against the bare route, old and new server side by side in the same six runs
 * (12 rounds of 1 s slices each): 84.5-92.9% of the bare rate with Fastify's logger at
 * warn, 92.2-99.6% without.
 */
function logging(logger: ServerOptions['logger']): Logging {
  if (logger === false || logger === undefined || logger === true) return { fastify: { logger: logger ?? false } };
  if (!QUIET_LEVELS.has(logger.level ?? 'info')) return { fastify: { logger } };
  return {
    fastify: { logger: false, logController: new LogController({ disableRequestLogging: true }) },
    log: pino(logger, logger.stream ?? process.stdout)
  };
}

function configOf(options: ServerOptions): ConfigPatch {
  return {
    ...(options.maxPeers !== undefined ? { maxPeers: options.maxPeers } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {})
  };
}

/**
 * Closing ends only the keep-alive connections idle at that moment; one still busy with
 * a request (or finishing its answer) stayed open after it for the keep-alive timeout
 * (72 s), and held up the shutdown. The timeout is read as each answer finishes, so
 * shortening it once closing begins lets those connections go right after their answers.
 */
function releaseConnectionsWhenClosing(app: FastifyInstance): void {
  app.addHook('preClose', (done) => {
    app.server.keepAliveTimeout = 1;
    done();
  });
}

export function buildServer(options: ServerOptions = {}): FastifyInstance {
  checkOptions(options);
  const now = options.now ?? Date.now;
  const logs = logging(options.logger);
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, ...logs.fastify });
  const log = logs.log ?? app.log;
  app.setValidatorCompiler(validateWithContract);
  app.setErrorHandler(errorHandler(logs.log));
  app.setNotFoundHandler(handleNotFound);
  // JSON only: Fastify would otherwise accept text/plain and answer 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  releaseConnectionsWhenClosing(app);

  const store = new FileStore({
    file: options.dataFile,
    config: configOf(options),
    now,
    onPersistError: (err) => log.error({ err, file: options.dataFile }, 'could not write the data file; will retry on the next change')
  });
  app.register(async function registry(api) {
    await store.open();
    log.info({ dataFile: options.dataFile ?? null, config: await store.config() }, 'registry loaded');
    api.addHook('onClose', () => store.close());
    const pool = (options.verifyThreads ?? 0) > 0 ? createVerifyPool(options.verifyThreads ?? 0) : undefined;
    if (pool) api.addHook('onClose', () => pool.close());
    const limit = options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
    if (limit > 0) limitRequestRate(api, { perMinute: limit, now });
    await api.register(registryRoutes, {
      service: new RegistryService(store, {
        backend: BACKEND_NAME,
        now,
        verify: pool ? pool.verify : (record, at) => verifyRecord(record, { now: at, checkSignature })
      }),
      listCache: new ListCache(store, now),
      adminToken: options.adminToken
    });
  });
  return app;
}
