/** Entry point of `npm start`: flags in, a running peer and its command line out. */
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { parseArgs } from './cli/args.ts';
import type { CliOptions } from './cli/args.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Peer } from './peer.ts';
import { Session, isInteractive } from './cli/session.ts';
import { LogSink } from './cli/log-sink.ts';
import { LOG_FILE } from './config.ts';

function options(): CliOptions {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
    throw err;
  }
}

async function main(): Promise<void> {
  const opts = options();
  // Logs written into the terminal would garble the chat view: there they start in a file.
  const interactive = isInteractive(process.stdin, process.stdout, opts.json);
  if (interactive) mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const logSink = new LogSink(interactive ? { kind: 'file', path: join(opts.dataDir, LOG_FILE) } : { kind: 'stderr' });
  const log = pino({ level: opts.logLevel, base: undefined }, logSink);
  const peer = new Peer({
    nick: opts.nick,
    dataDir: opts.dataDir,
    listen: opts.listen,
    bootstrapUrl: opts.bootstrap,
    hostBootstrap: opts.hostBootstrap,
    mdns: opts.mdns,
    membershipProfile: opts.membershipProfile,
    room: opts.room,
    manual: opts.manual,
    historyLimit: opts.historyLimit,
    historyDays: opts.historyDays,
    backlog: opts.backlog,
    roomRateLimit: opts.roomRateLimit,
    maxFileSize: opts.maxFileSize,
    downloadsQuota: opts.downloadsQuota,
    ...(opts.adminToken === undefined ? {} : { adminToken: opts.adminToken }),
    log
  });
  const session = new Session({
    peer, json: opts.json, input: process.stdin, output: process.stdout, dataDir: opts.dataDir, log, logSink,
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
