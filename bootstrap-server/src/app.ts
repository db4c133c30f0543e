/**
 * The Fastify app factory. It returns the app without listening, so tests drive it with
 * `inject()` and the entry points only add `listen` and signal handling.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import { ApiError, BODY_LIMIT_BYTES, ConfigPatch, RegistryService, describeErrors, verifyRecord } from '@cli-chat/bootstrap-api';
import type { Route } from '@cli-chat/bootstrap-api';
import { FileStore } from './file-store.ts';
import { createVerifyPool } from './verify-pool.ts';
import { checkSignature } from './ed25519.ts';
import { ListCache } from './list-cache.ts';
import { registryRoutes } from './routes.ts';
import { handleError, handleNotFound } from './errors.ts';
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

/**
 * Levels at which nothing is logged per request. There, Fastify would still make a child
 * logger per request (serializing its bindings) and build the two per-request log
 * entries, for nothing, on every request of the hot list route.
 */
const QUIET_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

/** Fastify's logging options for `logger`: at a quiet level, no per-request logging work at all. */
function requestLogging(logger: ServerOptions['logger']): Partial<FastifyServerOptions> {
  // Without a logger Fastify already skips all of it.
  if (logger === false || logger === undefined) return {};
  const level = typeof logger === 'object' ? logger.level ?? 'info' : 'info';
  if (!QUIET_LEVELS.has(level)) return {};
  return {
    childLoggerFactory: (appLogger) => appLogger,
    logController: new LogController({ disableRequestLogging: true })
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
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: BODY_LIMIT_BYTES, ...requestLogging(options.logger) });
  app.setValidatorCompiler(validateWithContract);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // JSON only: Fastify would otherwise accept text/plain and answer 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  releaseConnectionsWhenClosing(app);

  const store = new FileStore({
    file: options.dataFile,
    config: configOf(options),
    now,
    onPersistError: (err) => app.log.error({ err, file: options.dataFile }, 'could not write the data file; will retry on the next change')
  });
  app.register(async function registry(api) {
    await store.open();
    api.log.info({ dataFile: options.dataFile ?? null, config: await store.config() }, 'registry loaded');
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
