/** The peer's command-line flags, parsed by commander; `--help` documents each one. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { multiaddr } from '@multiformats/multiaddr';
import { BOOTSTRAP_ENV, DEFAULT_BOOTSTRAP_URL, DEFAULT_LISTEN, DEFAULT_ROOM, defaultDataDir, defaultNick } from '../config.ts';
import { parseNick, parseRoomName } from '../chat/codec.ts';
import { DEFAULT_PROFILE_NAME, MEMBERSHIP_PROFILES } from '../membership/index.ts';

export interface CliOptions {
  nick: string;
  bootstrap: string;
  dataDir: string;
  listen: string[];
  room: string | undefined;
  json: boolean;
  mdns: boolean;
  hostBootstrap: boolean;
  membershipProfile: string;
  logLevel: string;
}

function validated<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function parseUrl(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http or https URL');
  return value;
}

function collectListen(value: string, previous: string[] | undefined): string[] {
  try {
    multiaddr(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/0)`);
  }
  return [...(previous ?? []), value];
}

const LOOPBACK = /^\/(ip4\/127\.|ip6\/::1\/|dns4?\/localhost\/)/;

export function buildProgram(): Command {
  return new Command('cli-chat')
    .description('Peer-to-peer chat: finds peers through the bootstrap data API, then chats in rooms over gossipsub.')
    .option('--nick <name>', 'your nick, carried in every message (default: $USER)', validated(parseNick))
    .addOption(new Option('--bootstrap <url>', 'bootstrap data API base URL').env(BOOTSTRAP_ENV).default(DEFAULT_BOOTSTRAP_URL).argParser(validated(parseUrl)))
    .option('--data-dir <dir>', 'where the identity key, lock and history live (default: ~/.local/share/cli-chat/<nick>)')
    .option('--listen <multiaddr>', `listen address, repeatable (default: ${DEFAULT_LISTEN})`, collectListen)
    .option('--room <name>', 'room to join at start', validated(parseRoomName), DEFAULT_ROOM)
    .option('--no-room', 'join no room at start')
    .option('--json', 'print one JSON event per line on stdout (logs stay on stderr)', false)
    .option('--mdns', 'discover peers on the LAN with mDNS (default: on unless listening on loopback only)')
    .option('--no-mdns', 'never use mDNS')
    .option('--no-host-bootstrap', 'do not host the local bootstrap server when none answers at a loopback URL')
    .addOption(new Option('--membership-profile <name>', 'membership timings (see README)').choices(Object.keys(MEMBERSHIP_PROFILES)).default(DEFAULT_PROFILE_NAME))
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

/** Parses argv (without node and script); throws commander's errors for bad flags. */
export function parseArgs(argv: string[]): CliOptions {
  const program = buildProgram();
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    nick?: string, bootstrap: string, dataDir?: string, listen?: string[], room: string | false,
    json: boolean, mdns?: boolean, hostBootstrap: boolean, membershipProfile: string, logLevel: string
  }>();
  const nick = o.nick ?? defaultNick();
  const listen = o.listen ?? [DEFAULT_LISTEN];
  return {
    nick,
    bootstrap: o.bootstrap,
    dataDir: o.dataDir ?? defaultDataDir(nick),
    listen,
    room: o.room === false ? undefined : o.room,
    json: o.json,
    // Announcing loopback addresses to the LAN helps nobody, so mDNS follows --listen unless told.
    mdns: o.mdns ?? !listen.every((a) => LOOPBACK.test(a)),
    hostBootstrap: o.hostBootstrap,
    membershipProfile: o.membershipProfile,
    logLevel: o.logLevel
  };
}
