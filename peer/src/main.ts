/**
 * Entry point of `npm start`: flags in, a running peer and its command line out; or, when
 * a daemon runs the peer (--attach, or one holds the data dir), a console attached to it.
 */
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { parseArgs } from './cli/args.ts';
import type { CliOptions } from './cli/args.ts';
import { mkdirSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Peer } from './peer.ts';
import { peerOptionsOf } from './launch.ts';
import { Session, isInteractive } from './cli/session.ts';
import { LogSink } from './cli/log-sink.ts';
import { API_SOCKET_FILE, LOG_FILE } from './config.ts';
import { ControlClient, RemoteLink } from './control/client.ts';
import { routes } from './control/routes.ts';
import { PeerActions } from './control/peer-actions.ts';
import { LocalLink } from './control/link.ts';

function options(): CliOptions {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
    throw err;
  }
}

/** The daemon to attach to: the one named by --attach, or one already running on the data dir. */
async function daemonTarget(opts: CliOptions): Promise<{ socketPath: string } | undefined> {
  if (opts.attach !== undefined) {
    const isDir = await stat(opts.attach).then((s) => s.isDirectory(), () => false);
    return { socketPath: isDir ? join(opts.attach, API_SOCKET_FILE) : opts.attach };
  }
  const socketPath = join(opts.dataDir, API_SOCKET_FILE);
  if (!existsSync(socketPath)) return undefined;
  // A socket nobody answers on is a crashed daemon's: this console runs the peer itself.
  return new ControlClient({ socketPath }).call('GET', routes.state.path).then(() => ({ socketPath }), () => undefined);
}

async function attached(opts: CliOptions, target: { socketPath: string }): Promise<void> {
  // The peer logs in the daemon; the console itself has next to nothing to say, and never into a terminal's chat view.
  const logSink = new LogSink(isInteractive(process.stdin, process.stdout, opts.json) ? { kind: 'off' } : { kind: 'stderr' });
  const log = pino({ level: opts.logLevel, base: undefined }, logSink);
  let link: RemoteLink;
  try {
    link = await RemoteLink.connect(target);
  } catch (err) {
    process.stderr.write(`cli-chat: cannot attach: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const session = new Session({
    link, json: opts.json, input: process.stdin, output: process.stdout, dataDir: dirname(target.socketPath), log, logSink,
    ...(opts.script === undefined ? {} : { script: opts.script })
  });
  session.attach();
  let done = false;
  void link.ended.then(() => {
    if (done) return;
    process.stderr.write(`cli-chat: the daemon at ${target.socketPath} stopped\n`);
    session.close();
  });
  process.on('SIGINT', () => session.close());
  process.on('SIGTERM', () => session.close());
  await session.run();
  done = true;
  link.close();
  process.exit(0);
}

async function main(): Promise<void> {
  const opts = options();
  const target = await daemonTarget(opts);
  if (target !== undefined) return attached(opts, target);
  // Logs written into the terminal would garble the chat view: there they start in a file.
  const interactive = isInteractive(process.stdin, process.stdout, opts.json);
  if (interactive) mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const logSink = new LogSink(interactive ? { kind: 'file', path: join(opts.dataDir, LOG_FILE) } : { kind: 'stderr' });
  const log = pino({ level: opts.logLevel, base: undefined }, logSink);
  const peer = new Peer(peerOptionsOf(opts, log));
  const actions = new PeerActions({ peer, log, logSink, consoleLogs: true });
  const session = new Session({
    link: new LocalLink(peer, actions), json: opts.json, input: process.stdin, output: process.stdout, dataDir: opts.dataDir, log, logSink,
    ...(opts.script === undefined ? {} : { script: opts.script })
  });
  session.attach();

  let signals = 0;
  const onSignal = (): void => {
    // A second Ctrl-C means "now", not "gracefully".
    if (++signals > 1) process.exit(130);
    session.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await peer.start();
  } catch (err) {
    process.stderr.write(`cli-chat: could not start: ${(err as Error).message}\n`);
    await peer.stop().catch(() => undefined);
    process.exit(1);
  }
  await session.run();
  await peer.stop();
  logSink.close();
  process.exit(0);
}

await main();
