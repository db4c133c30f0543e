/**
 * `npm run functions`: the functions backend on this machine, as a developer uses it.
 * Starts the official Firestore emulator (or uses the one FIRESTORE_EMULATOR_HOST names),
 * loads the same entry module Cloud Functions loads, serves it through the Functions
 * Framework on 127.0.0.1, and says how to point peers at it. SIGINT or SIGTERM stops
 * the server, the Firestore client and the emulator, then exits 0.
 *
 *   npm run functions                     # http://127.0.0.1:8081
 *   npm run functions -- --port 9000      # 0 picks a free port
 */
import { parseArgs } from 'node:util';
import { ConfigError, ENV } from '../config.ts';
import { DEFAULT_EMULATOR_PROJECT, DEFAULT_LOCAL_PORT, FUNCTION_NAME } from '../constants.ts';
import { EmulatorError, startFirestoreEmulator } from './firestore-emulator.ts';
import type { FirestoreEmulator } from './firestore-emulator.ts';
import { serveFunction } from './local-server.ts';
import type { LocalServer } from './local-server.ts';

const HOST = '127.0.0.1';
const USAGE = `usage: npm run functions -- [--port N]

Runs the bootstrap data API's functions backend locally: the Firestore emulator and the
Functions Framework on ${HOST}:${DEFAULT_LOCAL_PORT} (--port 0 picks a free port).
Environment: ${ENV.adminToken} (enables reset and config), ${ENV.ttl} (seconds),
${ENV.maxPeers}, ${ENV.project} (default ${DEFAULT_EMULATOR_PROJECT}),
${ENV.emulatorHost} (use a running emulator instead of starting one).`;

function parsePort(argv: string[]): number | undefined {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return undefined;
  const port = Number(values.port ?? DEFAULT_LOCAL_PORT);
  if (!/^\d+$/.test(values.port ?? String(DEFAULT_LOCAL_PORT)) || port > 65535) throw new TypeError(`--port ${values.port}: expected 0 to 65535`);
  return port;
}

async function main(): Promise<void> {
  let port: number | undefined;
  try {
    port = parsePort(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (port === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let emulator: FirestoreEmulator | undefined;
  let server: LocalServer | undefined;
  const stop = async (): Promise<void> => {
    await server?.close();
    await emulator?.stop();
  };
  try {
    if (!process.env[ENV.emulatorHost]) {
      emulator = await startFirestoreEmulator();
      process.env[ENV.emulatorHost] = emulator.host;
    }
    if (!process.env[ENV.project]?.trim()) process.env[ENV.project] = DEFAULT_EMULATOR_PROJECT;
    // There is no metadata server here; without this the Firestore client probes for one and warns.
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    // The entry module reads the environment as it loads, as on Cloud Functions.
    await import('../index.ts');
    server = await serveFunction(FUNCTION_NAME, { host: HOST, port });
  } catch (err) {
    await stop();
    const known = err instanceof EmulatorError || err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    process.stderr.write(`npm run functions: ${known ? (err as Error).message : (err as Error).stack}\n`);
    process.exit(1);
  }

  process.stdout.write([
    `Firestore emulator on ${process.env[ENV.emulatorHost]} (project ${process.env[ENV.project]})`,
    `bootstrap functions listening on ${server.url}`,
    'point peers at it with either of:',
    `  export BOOTSTRAP_CLOUD_URL=${server.url}   # then: source .bootstrap-switch cloud`,
    `  echo ${server.url} > bootstrap-cloud.url`,
    ''
  ].join('\n'));

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    stop().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`could not stop cleanly: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

await main();
