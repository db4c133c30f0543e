/**
 * The yardstick of the list benchmark: a bare Fastify server whose one route answers a
 * constant JSON string, the same bytes as the real list answer, with nothing else
 * (no rate limit, no cache check, no error handler). Absolute request rates differ a
 * lot between machines, so the list route is judged against this in the same run.
 *
 *   node scripts/bare-route.ts --payload-file <file> [--host 127.0.0.1] [--port 0]
 *
 * Prints `bare route listening on <url>` once it listens; stops on SIGTERM or SIGINT.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { routes } from '@cli-chat/bootstrap-api';

const { values } = parseArgs({
  options: {
    'payload-file': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' }
  }
});
const payloadFile = values['payload-file'];
if (payloadFile === undefined) {
  process.stderr.write('bare-route: --payload-file <file> is required\n');
  process.exit(2);
}
const payload = await readFile(payloadFile, 'utf8');

const app = Fastify({ logger: false });
// The same handler shape as the real list route: JSON content type, a ready string returned.
app.get(routes.list.path, (_request, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8');
  return payload;
});
const url = await app.listen({ host: values.host, port: Number(values.port) });

const stop = (): void => {
  void app.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop).once('SIGINT', stop);
process.stdout.write(`bare route listening on ${url}\n`);
