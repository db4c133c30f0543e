/** The control API's OpenAPI 3.1 document, generated from the route table and its schemas. */
import { VERSION } from '../version.ts';
import { COMMAND_ROUTES, ErrorResponse, routes } from './routes.ts';
import type { ControlRoute } from './routes.ts';
import { CONTROL_OPENAPI_PATH } from './constants.ts';

function operation(name: string, route: ControlRoute): Record<string, unknown> {
  const ok = route.response === undefined
    ? route.method === 'GET' && route.path.includes(':')
      ? { description: 'The file', content: { 'application/octet-stream': {} } }
      : { description: 'A stream of server-sent events, one peer event as JSON per `data:` line', content: { 'text/event-stream': {} } }
    : { description: 'OK', content: { 'application/json': { schema: route.response } } };
  const op: Record<string, unknown> = {
    operationId: name,
    summary: route.summary,
    responses: {
      200: ok,
      '4XX': { description: 'Refused; nothing changed', content: { 'application/json': { schema: ErrorResponse } } }
    }
  };
  if (route.body) op.requestBody = { required: false, content: { 'application/json': { schema: route.body } } };
  if (route.upload) op.requestBody = { required: true, content: { 'application/octet-stream': {} } };
  if (route.query) {
    op.parameters = Object.entries((route.query as { properties: Record<string, unknown> }).properties)
      .map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
  }
  return op;
}

export function controlOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const all: [string, ControlRoute][] = [...Object.entries(routes), ...COMMAND_ROUTES.map((r): [string, ControlRoute] => [r.action, r])];
  for (const [name, route] of all) {
    // Fastify writes a path parameter `:name`, OpenAPI `{name}`.
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const op = operation(name, route);
    const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (params.length > 0) op.parameters = [...(op.parameters as unknown[] | undefined ?? []), ...params];
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: op };
  }
  paths[CONTROL_OPENAPI_PATH] = { get: { operationId: 'openapi', summary: 'This document', responses: { 200: { description: 'OK' } } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'cli-chat peer control API',
      version: VERSION,
      description: 'Drives one running peer: every console command, its state, its history and its event stream. ' +
        'On the Unix socket the file system guards access; on TCP send the bearer token from the data dir\'s api-token file.'
    },
    paths,
    components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
    security: [{ token: [] }]
  };
}
