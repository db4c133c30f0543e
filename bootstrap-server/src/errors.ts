/**
 * One error shape for everything: whatever goes wrong, the client gets the contract's
 * `{ error: { code, message } }` with the status of that code, and never our internals.
 */
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, BODY_LIMIT_BYTES } from '@cli-chat/bootstrap-api';
import type { ErrorCode } from '@cli-chat/bootstrap-api';

/** Fastify's own errors that a client can cause, with what to tell that client. */
const FASTIFY_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['BODY_TOO_LARGE', `request body is larger than ${BODY_LIMIT_BYTES} bytes`],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'request body must be sent as content-type application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['BAD_REQUEST', 'body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_REQUEST', 'body is empty but content-type says application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'body size does not match content-length']
};

/** Client errors Fastify or a plugin raised without one of the codes above. */
const BY_STATUS: Record<number, ErrorCode> = {
  404: 'NOT_FOUND',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED'
};

/** The contract error for anything thrown while answering; `INTERNAL` for the unexpected. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Partial<FastifyError>;
  const known = e.code === undefined ? undefined : FASTIFY_ERRORS[e.code];
  if (known) return new ApiError(known[0], known[1]);
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's messages for client errors describe the request, not the server.
    return new ApiError(BY_STATUS[status] ?? 'BAD_REQUEST', e.message ?? 'bad request');
  }
  return new ApiError('INTERNAL', 'internal error; the server log has the details');
}

/** The app's error handler; failures go to `log` when given, else to the request's logger. */
export function errorHandler(log?: FastifyBaseLogger): (err: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (err, request, reply) => {
    const apiError = toApiError(err);
    const logger = log ?? request.log;
    if (apiError.code === 'INTERNAL') logger.error({ err }, 'request failed');
    else logger.info({ code: apiError.code, reason: apiError.message }, 'request refused');
    return reply.code(apiError.status).send(apiError.toBody());
  };
}

export function handleNotFound(request: FastifyRequest): never {
  throw new ApiError('NOT_FOUND', `no endpoint ${request.method} ${request.url.slice(0, 200)}`);
}
