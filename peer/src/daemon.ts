/**
 * Entry point of `npm run daemon`: a peer with no terminal, driven through its control
 * API (Unix socket always, TCP and the web page when asked). Consoles attach with
 * `npm start -- --attach DATA_DIR`; SIGINT or SIGTERM stop it gracefully, SIGHUP (the
 * terminal it was started from closing) does not.
 */
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseArgs } from './cli/args.ts';
import { CommandError } from './cli/command-tree.ts';
import type { CliOptions } from './cli/args.ts';
import { LogSink } from './cli/log-sink.ts';
import { Peer } from './peer.ts';
import type { ProcessView } from './peer.ts';
import type { PeerEvent } from './events.ts';
import { peerOptionsOf } from './launch.ts';
import { API_SOCKET_FILE, API_TOKEN_FILE, LOG_FILE } from './config.ts';
import { PeerActions } from './control/peer-actions.ts';
import { Access, newSecret, writeTokenFile } from './control/auth.ts';
import type { ListenerKind } from './control/auth.ts';
import { EventStreams } from './control/event-stream.ts';
import { createControlApp } from './control/server.ts';
import { UPLOADS_DIR } from './control/constants.ts';

function options(): CliOptions {
  try {
    return parseArgs(process.argv.slice(2), 'daemon');
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
    throw err;
  }
}

function noWebPage(): string {
  throw new CommandError('this daemon serves no web page: start it with --web');
}

interface Listener {
  kind: ListenerKind;
  app: FastifyInstance;
  access: Access;
  where: string;
}

async function main(): Promise<void> {
  const opts = options();
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  // The socket's guard is this directory: nobody but its owner may reach into it.
  await chmod(opts.dataDir, 0o700);
  const logSink = new LogSink({ kind: 'file', path: join(opts.dataDir, LOG_FILE) });
  const log = pino({ level: opts.logLevel, base: undefined }, logSink);
  const peer = new Peer(peerOptionsOf(opts, log));
  let webLogin: (() => string) | undefined;
  const actions = new PeerActions({ peer, log, logSink, consoleLogs: false, webLogin: () => (webLogin ?? noWebPage)() });
  const streams = new EventStreams();
  let ready: Extract<PeerEvent, { type: 'ready' }> | undefined;
  peer.on((event) => {
    if (event.type === 'ready') ready = event;
    streams.broadcast(event);
    if (opts.json) process.stdout.write(`${JSON.stringify(event)}\n`);
  });
  // A `ready` as of now: a console attaching later sees the nick and room the peer has today.
  const readyNow = (): PeerEvent | undefined => ready && {
    ...ready, nick: peer.nick, room: peer.currentRoom ?? null, addrs: peer.addrs, reachability: peer.reachability().reachability
  };

  const listeners: Listener[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      streams.close();
      await Promise.all(listeners.map((l) => l.app.close().catch((err: unknown) => log.warn({ err }, 'closing a control listener failed'))));
      await peer.stop();
      await rm(join(opts.dataDir, API_SOCKET_FILE), { force: true });
      logSink.close();
      process.exit(0);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGHUP', () => log.info('SIGHUP ignored: the daemon outlives its terminal'));
  // Whoever started the daemon may have gone; its stdout with them.
  process.stdout.on('error', () => undefined);

  try {
    await peer.start();
  } catch (err) {
    process.stderr.write(`cli-chat daemon: could not start: ${(err as Error).message}\n`);
    await peer.stop().catch(() => undefined);
    process.exit(1);
  }

  // Uploads a stopped daemon was still sending are of no use to anyone now.
  await rm(join(opts.dataDir, UPLOADS_DIR), { recursive: true, force: true });
  const token = newSecret();
  const tokenFile = join(opts.dataDir, API_TOKEN_FILE);
  await writeTokenFile(tokenFile, token);
  const listen = async (kind: ListenerKind, port?: number): Promise<Listener> => {
    const hosts: string[] = [];
    const access = new Access({ kind, token, hosts });
    const app = createControlApp({ peer, actions, access, streams, ready: readyNow, onShutdown: () => void stop(), log: log.child({ api: kind }) });
    let where: string;
    if (kind === 'socket') {
      const path = join(opts.dataDir, API_SOCKET_FILE);
      // This daemon holds the data dir's lock, so a socket left there is a dead daemon's.
      await rm(path, { force: true });
      await app.listen({ path });
      await chmod(path, 0o600);
      where = path;
    } else {
      await app.listen({ host: opts.apiHost, port: port ?? 0 });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port ?? 0;
      const host = opts.apiHost.includes(':') ? `[${opts.apiHost}]` : opts.apiHost;
      hosts.push(`${host}:${bound}`);
      if (opts.apiHost === '127.0.0.1' || opts.apiHost === '::1') hosts.push(`localhost:${bound}`);
      where = `http://${host}:${bound}`;
    }
    const listener = { kind, app, access, where };
    listeners.push(listener);
    return listener;
  };

  try {
    const socket = await listen('socket');
    const tcp = opts.apiPort === undefined ? undefined : await listen('tcp', opts.apiPort);
    const web = opts.web === undefined ? undefined : await listen('web', opts.web);
    if (web !== undefined) webLogin = () => `${web.where}/login?ticket=${web.access.newTicket()}`;
    const login = webLogin?.();
    peer.addProcesses(() => listeners.map((l): ProcessView => ({
      name: l.kind === 'web' ? 'web page' : `control API (${l.kind === 'socket' ? 'Unix socket' : 'TCP'})`,
      state: 'listening',
      detail: `${l.where}${l.kind === 'socket' ? '' : ` (token in ${tokenFile})`}; ${streams.size} event streams open`
    })));
    const lines = [
      `cli-chat daemon ${peer.nick} ${peer.peerId}`,
      `api: unix:${socket.where}`,
      ...(tcp ? [`api: ${tcp.where} (bearer token in ${tokenFile})`] : []),
      ...(login ? [`web: ${login} (a one-time login link)`] : []),
      `attach: npm start -- --attach ${opts.dataDir}`
    ];
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ type: 'daemon', socket: socket.where, api: tcp?.where ?? null, web: web?.where ?? null, login: login ?? null, tokenFile })}\n`);
    } else {
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } catch (err) {
    process.stderr.write(`cli-chat daemon: could not open the control API: ${(err as Error).message}\n`);
    await stop();
  }
}

await main();
