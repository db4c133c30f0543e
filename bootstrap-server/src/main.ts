/**
 * `npm run bootstrap-server -- [flags]`: runs the server until SIGINT or SIGTERM.
 * Exit codes: 0 after a graceful shutdown, 1 when it cannot start or stop cleanly,
 * 2 for bad flags. stdout carries one line, `bootstrap server listening on <url>`,
 * which scripts and tests wait for; logs go to stderr.
 */
import { CommanderError } from 'commander';
import { parseCommandLine } from './cli.ts';
import type { CommandLine } from './cli.ts';
import { startServer } from './index.ts';
import type { RunningServer } from './index.ts';
import { SHUTDOWN_TIMEOUT_MS } from './constants.ts';

function fail(message: string, code: number): never {
  process.stderr.write(`bootstrap-server: ${message}\n`);
  process.exit(code);
}

function readCommandLine(): CommandLine {
  try {
    return parseCommandLine(process.argv);
  } catch (err) {
    // Commander has already printed its message (or the help text).
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
}

function whyNotStarted(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case 'EADDRINUSE': return `port ${port} on ${host} is already in use (another bootstrap server?); choose another with --port`;
    case 'EACCES': return `not allowed to listen on port ${port} (ports below 1024 need privileges); choose another with --port`;
    case 'EADDRNOTAVAIL': return `${host} is not an address of this machine; choose another with --host`;
    case 'ENOTFOUND': return `host name ${host} does not resolve; choose another with --host`;
    default: return `could not start: ${err.message}`;
  }
}

function stopOnSignals(server: RunningServer): void {
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    process.stderr.write(`bootstrap-server: ${signal}: shutting down\n`);
    // A second signal finds no listener and ends the process the default way.
    process.removeAllListeners('SIGINT').removeAllListeners('SIGTERM');
    const deadline = setTimeout(() => fail(`did not stop within ${SHUTDOWN_TIMEOUT_MS} ms`, 1), SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    try {
      await server.close();
    } catch (err) {
      fail(`could not stop cleanly: ${(err as Error).message}`, 1);
    }
    clearTimeout(deadline);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
}

const { start, logLevel } = readCommandLine();
let server: RunningServer;
try {
  server = await startServer({ ...start, logger: { level: logLevel, stream: process.stderr } });
} catch (err) {
  fail(whyNotStarted(err as NodeJS.ErrnoException, start.host, start.port), 1);
}
stopOnSignals(server);
process.stdout.write(`bootstrap server listening on ${server.url}\n`);
