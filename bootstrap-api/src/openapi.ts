/** The OpenAPI 3.1 document of API v1, generated from the route table and its schemas. */
import { routes, OPENAPI_PATH } from './routes.ts';
import type { Route } from './routes.ts';
import { ErrorResponse } from './schemas.ts';
import { API_VERSION } from './constants.ts';

export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, route] of Object.entries(routes) as [string, Route][]) {
    const operation: Record<string, unknown> = {
      operationId: name,
      summary: route.summary,
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: route.response } } },
        '4XX': { description: 'Bad request; nothing changed', content: { 'application/json': { schema: ErrorResponse } } }
      }
    };
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: route.body } } };
    }
    if (route.admin) operation.security = [{ adminToken: [] }];
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  paths[OPENAPI_PATH] = { get: { operationId: 'openapi', summary: 'This document', responses: { 200: { description: 'OK' } } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'cli-chat bootstrap data API',
      version: API_VERSION,
      description: 'Hands peers a few seed addresses. Registrations are leases, signed as libp2p peer records.'
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } }
  };
}
