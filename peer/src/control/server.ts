/**
 * The control API as a Fastify app: the route table's endpoints over one peer, behind the
 * listener's access rules. The daemon makes one app per listener (Unix socket, TCP, web);
 * they share the peer, its command actions and one set of event streams.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { describeErrors } from '@cli-chat/bootstrap-api';
import type { Peer } from '../peer.ts';
import type { PeerEvent } from '../events.ts';
import type { PeerActions } from './peer-actions.ts';
import { viewOf } from './link.ts';
import { AccessDenied } from './auth.ts';
import type { Access } from './auth.ts';
import type { EventStreams } from './event-stream.ts';
import { COMMAND_ROUTES, DownloadParams, commandArgs, routes } from './routes.ts';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { safeFileName } from '../files/index.ts';
import type { ControlRoute } from './routes.ts';
import { CONTROL_BODY_LIMIT, CONTROL_OPENAPI_PATH, EVENT_SEQ_HEADER, MAX_HISTORY_PAGE, MAX_UPLOAD_BYTES, UPLOADS_DIR } from './constants.ts';
import { controlOpenApi } from './openapi.ts';
import { webAssets } from './web-assets.ts';

export interface ControlAppOptions {
  peer: Peer;
  actions: PeerActions;
  access: Access;
  streams: EventStreams;
  /** The event a new stream starts with: the peer's `ready`, as of now. */
  ready: () => PeerEvent | undefined;
  /** Called once the shutdown request is answered. */
  onShutdown: () => void;
  log: FastifyBaseLogger;
}

/** A request the peer refused (the console shows the same message as an error line). */
class Refused extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const FASTIFY_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'BODY_TOO_LARGE', `request body is larger than ${CONTROL_BODY_LIMIT} bytes`],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be sent as content-type application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'BAD_REQUEST', 'body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'BAD_REQUEST', 'body is empty but content-type says application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST', 'body size does not match content-length']
};

function errorOf(err: unknown): Refused {
  if (err instanceof Refused) return err;
  if (err instanceof AccessDenied) return new Refused(err.status, err.code, err.message);
  const e = err as Partial<FastifyError>;
  const known = e.code === undefined ? undefined : FASTIFY_ERRORS[e.code];
  if (known) return new Refused(...known);
  if (e.validation !== undefined || e.code === 'FST_ERR_VALIDATION') return new Refused(400, 'BAD_REQUEST', e.message ?? 'bad request');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new Refused(e.statusCode, 'BAD_REQUEST', e.message ?? 'bad request');
  return new Refused(500, 'INTERNAL', 'internal error; the daemon log has the details');
}

/** Strict validation with TypeBox: no coercion, no silently dropped fields. */
const validate: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => (value: unknown) => {
  const problem = describeErrors(schema, value ?? {}, httpPart ?? 'body');
  return problem === undefined ? { value: value ?? {} } : { error: new Refused(400, 'BAD_REQUEST', problem) };
};

function schemaOf(route: ControlRoute): { body?: TSchema, querystring?: TSchema } {
  return { ...(route.body ? { body: route.body } : {}), ...(route.query ? { querystring: route.query } : {}) };
}

/** Passes bytes through until more than `max` went by, then fails the pipeline. */
function atMost(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(new Error(`the file is larger than the ${max} bytes an upload may have`));
      else done(null, chunk);
    }
  });
}

export function createControlApp(options: ControlAppOptions): FastifyInstance {
  const { peer, actions, access, streams } = options;
  const app = Fastify({ loggerInstance: options.log, logController: new LogController({ disableRequestLogging: true }), bodyLimit: CONTROL_BODY_LIMIT, return503OnClosing: true });
  app.setValidatorCompiler(validate);
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const refused = errorOf(err);
    if (refused.status >= 500) request.log.error({ err }, 'control request failed');
    else request.log.info({ code: refused.code, reason: refused.message, url: request.url }, 'control request refused');
    return reply.code(refused.status).send({ error: { code: refused.code, message: refused.message } });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no ${request.method} ${request.url.split('?')[0]} here: ${CONTROL_OPENAPI_PATH} lists the API` } }));
  app.addHook('onRequest', async (request) => {
    access.check(request.headers, access.kind === 'web' && request.url.startsWith('/login?'));
  });
  // The last event emitted when the answer was made: a console shows the events up to it
  // (what the command caused) before the answer, in the order a console in the peer's process would.
  app.addHook('onSend', async (request, reply) => {
    reply.header(EVENT_SEQ_HEADER, String(streams.seq));
  });

  app.get(CONTROL_OPENAPI_PATH, async () => controlOpenApi());

  app.get(routes.state.path, async () => {
    const view = viewOf(peer);
    return {
      ...view, currentRoom: view.currentRoom ?? null, knownRooms: view.knownRooms.map(([room, members]) => ({ room, members })),
      reachability: peer.reachability().reachability
    };
  });

  app.get(routes.events.path, (request, reply) => {
    reply.hijack();
    streams.open(reply.raw, options.ready());
  });

  app.post(routes.say.path, { schema: schemaOf(routes.say) }, async (request) => {
    const { text, room } = request.body as { text: string, room?: string };
    try {
      return await peer.send(text, room);
    } catch (err) {
      throw new Refused(422, 'REFUSED', (err as Error).message);
    }
  });

  app.get(routes.history.path, { schema: schemaOf(routes.history) }, async (request) => {
    const { room, limit } = request.query as { room?: string, limit?: string };
    const n = Math.min(MAX_HISTORY_PAGE, limit === undefined ? 100 : Number(limit));
    try {
      return { messages: room === undefined ? peer.history(n) : peer.roomLog(room, n) };
    } catch (err) {
      throw new Refused(422, 'REFUSED', (err as Error).message);
    }
  });

  app.post(routes.shutdown.path, async (request, reply) => {
    reply.raw.once('finish', options.onShutdown);
    return { stopping: true };
  });

  // The body stays a stream: a file is written to disk as it arrives, never held whole.
  app.addContentTypeParser('application/octet-stream', (request, payload, done) => done(null, payload));

  app.post(routes.upload.path, { schema: { querystring: routes.upload.query }, bodyLimit: MAX_UPLOAD_BYTES }, async (request) => {
    const { member, name } = request.query as { member: string, name: string };
    const body = request.body;
    if (!(body instanceof Readable)) throw new Refused(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the file as the body, content-type application/octet-stream');
    await mkdir(join(peer.dataDir, UPLOADS_DIR), { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(peer.dataDir, UPLOADS_DIR, 'up-'));
    const path = join(dir, safeFileName(name));
    let sending: { id: string, name: string, size: number } | undefined;
    try {
      await pipeline(body, atMost(MAX_UPLOAD_BYTES), createWriteStream(path, { mode: 0o600 }));
      sending = await peer.sendFile(member, path);
    } catch (err) {
      throw new Refused(422, 'REFUSED', (err as Error).message);
    } finally {
      if (sending === undefined) await rm(dir, { recursive: true, force: true });
    }
    const { id } = sending;
    // The staged copy is read until the transfer ends, then it goes.
    const off = peer.on((event) => {
      if ((event.type === 'file-sent' || event.type === 'file-failed') && event.id === id) {
        off();
        void rm(dir, { recursive: true, force: true });
      }
    });
    return sending;
  });

  app.get(routes.downloads.path, async () => {
    const dir = peer.downloadsDir();
    const names = await readdir(dir).catch(() => []);
    const files = (await Promise.all(names.map(async (name) => {
      const info = await stat(join(dir, name)).catch(() => undefined);
      return info?.isFile() && !name.startsWith('.') ? [{ name, size: info.size, mtime: info.mtimeMs }] : [];
    }))).flat();
    return { files: files.sort((a, b) => b.mtime - a.mtime) };
  });

  app.get(routes.download.path, { schema: { params: DownloadParams } }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const dir = peer.downloadsDir();
    // Only a name the directory lists: no path of the client's making is ever opened.
    const listed = (await readdir(dir).catch(() => [] as string[])).find((n) => n === name && !n.startsWith('.'));
    const info = listed === undefined ? undefined : await stat(join(dir, listed)).catch(() => undefined);
    if (listed === undefined || !info?.isFile()) throw new Refused(404, 'NOT_FOUND', `no file ${JSON.stringify(name)} in the downloads`);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(info.size))
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(listed)}`)
      .send(createReadStream(join(dir, listed)));
  });

  for (const route of COMMAND_ROUTES) {
    app.post(route.path, { schema: { body: route.body } }, async (request) => {
      const body = request.body as Record<string, string | undefined>;
      const args = commandArgs(route, body);
      if (Object.keys(body).length !== args.length) {
        throw new Refused(400, 'BAD_REQUEST', `body: give ${route.args.map((a) => a.name.toLowerCase()).join(', then ')} in order; an optional one may be left out only with the ones after it`);
      }
      try {
        return { events: await actions.run(route.action, args) };
      } catch (err) {
        throw new Refused(422, 'REFUSED', (err as Error).message);
      }
    });
  }

  if (access.kind === 'web') {
    app.get('/login', async (request, reply) => {
      const ticket = (request.query as { ticket?: unknown }).ticket;
      if (typeof ticket !== 'string') throw new Refused(400, 'BAD_REQUEST', 'the login link lacks its ticket');
      const session = access.login(ticket);
      return reply.code(303).header('set-cookie', access.sessionCookie(session)).header('location', '/').send();
    });
    for (const asset of webAssets()) {
      app.get(asset.path, async (request, reply) => reply
        .header('content-type', asset.type)
        .header('cache-control', 'no-store')
        .header('content-security-policy', "default-src 'self'; frame-ancestors 'none'")
        .header('x-frame-options', 'DENY')
        .send(asset.body));
    }
  }
  return app;
}
