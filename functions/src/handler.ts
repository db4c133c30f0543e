/**
 * The one HTTP function: every endpoint of the contract's route table behind one URL.
 *
 * It answers as the Fastify backend does, status for status and message for message, in
 * the same order of checks: unknown route (404), admin token (401/403), content type
 * (415), body size (413), JSON (400), schema (400), then the shared `RegistryService`.
 * The Functions Framework has already read the body; its parse is not used. We parse
 * `rawBody` ourselves, as strictly as Fastify does, so both backends accept and refuse the
 * same bodies with the same words.
 */
import {
  ApiError, BODY_LIMIT_BYTES, OPENAPI_PATH, checkAdmin, openApiDocument, routes
} from '@cli-chat/bootstrap-api';
import type { RegistryService, Route, RouteName } from '@cli-chat/bootstrap-api';
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { bodyReadError, recoverBodyReadErrors } from './framework-errors.ts';
import type { BodyReadError } from './framework-errors.ts';

export interface HandlerOptions {
  service: RegistryService;
  /** Without one, reset and config answer 403 ADMIN_DISABLED. */
  adminToken: string | undefined;
  /** Where unexpected failures go; default a Cloud Logging JSON line on stderr. */
  logError?: (err: unknown, req: Request) => void;
}

/** The same words as the Fastify backend's, for the same faults. */
const MESSAGES = {
  mediaType: 'request body must be sent as content-type application/json',
  tooLarge: `request body is larger than ${BODY_LIMIT_BYTES} bytes`,
  notJson: 'body is not valid JSON',
  empty: 'body is empty but content-type says application/json',
  sizeMismatch: 'body size does not match content-length',
  unavailable: 'the registry is busy or unreachable; try again'
} as const;

/** gRPC status codes of Firestore failures that are worth a retry: ABORTED (contention), DEADLINE_EXCEEDED, UNAVAILABLE. */
const TRANSIENT_FIRESTORE_CODES = new Set([10, 4, 14]);

/**
 * Refuses what Fastify's JSON parser (secure-json-parse) refuses: keys that would reach an
 * object's prototype if the body were ever merged into another object.
 */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
    throw new SyntaxError(`forbidden key ${key}`);
  }
  return value;
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJsonMediaType(contentType: string): boolean {
  return contentType.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/** A body parser's fault in the contract's terms. */
function fromBodyReadError(err: BodyReadError): ApiError {
  switch (err.type) {
    case 'entity.parse.failed': return new ApiError('BAD_REQUEST', MESSAGES.notJson);
    case 'request.size.invalid': return new ApiError('BAD_REQUEST', MESSAGES.sizeMismatch);
    case 'charset.unsupported':
    case 'encoding.unsupported': return new ApiError('UNSUPPORTED_MEDIA_TYPE', err.message);
    default:
      if (err.status === 413) return new ApiError('BODY_TOO_LARGE', MESSAGES.tooLarge);
      if (err.status === 415) return new ApiError('UNSUPPORTED_MEDIA_TYPE', err.message);
      return new ApiError('BAD_REQUEST', `request body could not be read: ${err.message}`);
  }
}

/**
 * The request body as Fastify would hand it to a route: ignored for GET and HEAD,
 * `undefined` when there is none, otherwise JSON within the size limit.
 */
function readBody(req: Request): unknown {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const contentType = req.headers['content-type'];
  if (contentType === undefined) {
    if (hasBody(req)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', MESSAGES.mediaType);
    return undefined;
  }
  if (!isJsonMediaType(contentType)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', MESSAGES.mediaType);
  // The framework reads any size (its own limit is 1 GB), so the limit is checked here;
  // a declared length is refused even if the body was not (fully) read.
  if (Number(req.headers['content-length']) > BODY_LIMIT_BYTES || (req.rawBody?.length ?? 0) > BODY_LIMIT_BYTES) {
    throw new ApiError('BODY_TOO_LARGE', MESSAGES.tooLarge);
  }
  const readError = bodyReadError(req);
  // The framework's parser is stricter than JSON (it refuses `null`); the text is judged below.
  if (readError !== undefined && readError.type !== 'entity.parse.failed') throw fromBodyReadError(readError);
  const text = req.rawBody?.toString('utf8') ?? '';
  if (text === '') throw new ApiError('BAD_REQUEST', MESSAGES.empty);
  try {
    return JSON.parse(text, refusePrototypeKeys);
  } catch {
    throw new ApiError('BAD_REQUEST', MESSAGES.notJson);
  }
}

/** The contract error for anything thrown while answering; `INTERNAL` for the unexpected. */
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && TRANSIENT_FIRESTORE_CODES.has(code)) return new ApiError('UNAVAILABLE', MESSAGES.unavailable);
  return new ApiError('INTERNAL', 'internal error; the function log has the details');
}

/** Cloud Logging reads one JSON object per line; `severity` sets the level. */
function logToStderr(err: unknown, req: Request): void {
  const stack = err instanceof Error ? err.stack : String(err);
  process.stderr.write(`${JSON.stringify({ severity: 'ERROR', message: 'request failed', method: req.method, path: req.path, error: stack })}\n`);
}

export function createHandler(options: HandlerOptions): HttpFunction {
  recoverBodyReadErrors();
  const { service, adminToken } = options;
  const logError = options.logError ?? logToStderr;
  // `satisfies` makes a route added to the table without an operation a compile error.
  const operations = {
    ping: () => service.ping(),
    list: () => service.list(),
    join: (body) => service.join(body),
    refill: (body) => service.refill(body),
    leave: (body) => service.leave(body),
    reset: () => service.reset(),
    getConfig: () => service.getConfig(),
    setConfig: (body) => service.setConfig(body)
  } satisfies Record<RouteName, (body: unknown) => unknown>;
  const byMethodAndPath = new Map<string, RouteName>();
  for (const [name, route] of Object.entries(routes) as [RouteName, Route][]) byMethodAndPath.set(`${route.method} ${route.path}`, name);

  async function answer(req: Request): Promise<unknown> {
    // HEAD is GET without a body, as Fastify exposes it; Express sends no body for HEAD.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method === 'GET' && req.path === OPENAPI_PATH) return openApiDocument(`${req.protocol}://${req.get('host') ?? 'localhost'}`);
    const name = byMethodAndPath.get(`${method} ${req.path}`);
    if (name === undefined) throw new ApiError('NOT_FOUND', `no endpoint ${req.method} ${req.url.slice(0, 200)}`);
    // Before the body is even looked at, as Fastify's onRequest hook does.
    if (routes[name].admin) checkAdmin(req.headers.authorization, adminToken);
    return operations[name](readBody(req));
  }

  return async (req, res) => {
    try {
      res.status(200).json(await answer(req));
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.code === 'INTERNAL' || apiError.code === 'UNAVAILABLE') logError(err, req);
      res.status(apiError.status).json(apiError.toBody());
    }
  };
}
