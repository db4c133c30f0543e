/**
 * Every endpoint of the contract's route table, registered generically: its schemas
 * validate the body and serialize the answer, its handler is one call of the shared
 * `RegistryService`, and admin routes check the token before the body is even read.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorResponse, OPENAPI_PATH, checkAdmin, openApiDocument, routes } from '@cli-chat/bootstrap-api';
import type { RegistryService, Route, RouteName } from '@cli-chat/bootstrap-api';
import type { ListCache } from './list-cache.ts';
import { AnswerText } from './answer-text.ts';

export interface RegistryRoutesOptions {
  service: RegistryService;
  listCache: ListCache;
  /** Without one, reset and config answer 403 ADMIN_DISABLED. */
  adminToken: string | undefined;
}

/** Answers with the value (or promise) it returns; Fastify serializes it with the route's schema. */
type Operation = (request: FastifyRequest, reply: FastifyReply) => unknown;

const JSON_TYPE = 'application/json; charset=utf-8';

function asJson<T extends string | Promise<string>>(reply: FastifyReply, text: T): T {
  reply.header('content-type', JSON_TYPE);
  return text;
}

export const registryRoutes: FastifyPluginAsync<RegistryRoutesOptions> = async (app, { service, listCache, adminToken }) => {
  const answers = new AnswerText();
  // `satisfies` makes a route added to the table without a handler a compile error.
  const operations = {
    ping: () => service.ping(),
    // Ready JSON text (synchronously while the cache holds); with a JSON content type
    // set, Fastify sends a string as it is instead of serializing it. So do join and refill.
    list: (_request, reply) => asJson(reply, listCache.body()),
    join: async (request, reply) => asJson(reply, answers.of(await service.join(request.body))),
    refill: async (request, reply) => asJson(reply, answers.of(await service.refill(request.body))),
    leave: (request) => service.leave(request.body),
    reset: () => service.reset(),
    getConfig: () => service.getConfig(),
    setConfig: (request) => service.setConfig(request.body)
  } satisfies Record<RouteName, Operation>;

  const requireAdmin = async (request: FastifyRequest): Promise<void> => {
    checkAdmin(request.headers.authorization, adminToken);
  };

  for (const [name, route] of Object.entries(routes) as [RouteName, Route][]) {
    app.route({
      method: route.method,
      url: route.path,
      schema: {
        ...(route.body ? { body: route.body } : {}),
        response: { 200: route.response, '4xx': ErrorResponse, '5xx': ErrorResponse }
      },
      // Route hooks run after the app's, so a refused token still counts against the rate limit.
      ...(route.admin ? { onRequest: requireAdmin } : {}),
      handler: operations[name]
    });
  }

  app.get(OPENAPI_PATH, async (request) => openApiDocument(`${request.protocol}://${request.host}`));
};
