/** The peer's command-line flags, parsed by commander; `--help` documents each one. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { multiaddr } from '@multiformats/multiaddr';
import {
  BOOTSTRAP_ENV, DEFAULT_BACKLOG, DEFAULT_BOOTSTRAP_URL, DEFAULT_HISTORY_DAYS, DEFAULT_HISTORY_LIMIT, DEFAULT_LISTEN, DEFAULT_REMEMBER_DAYS,
  DEFAULT_REMEMBER_MEMBERS, DEFAULT_ROOM, MAX_REMEMBER_MEMBERS, defaultDataDir, defaultNick
} from '../config.ts';
import { MAX_BACKLOG_ENTRIES } from '../history/constants.ts';
import { DEFAULT_AUTO_ACCEPT_BYTES, DEFAULT_DOWNLOADS_QUOTA_BYTES, MAX_FILE_BYTES } from '../files/constants.ts';
import { formatBytes } from '../files/format.ts';
import { parseNick, parseRoomName } from '../chat/codec.ts';
import { AUTHOR_BURST, AUTHOR_RATE } from '../chat/constants.ts';
import { checkRateLimit } from '../chat/rate-limit.ts';
import type { RateLimit } from '../chat/rate-limit.ts';
import { DEFAULT_PROFILE_NAME, MEMBERSHIP_PROFILES } from '../membership/index.ts';
import { VERSION } from '../version.ts';
import { DEFAULT_RELAY_LIMITS, DEFAULT_RESERVATIONS, MAX_RESERVATIONS, RELAY_MODES } from '../node/relay.ts';
import type { RelayMode } from '../node/relay.ts';
import type { RelayOptions } from '../node/relay.ts';
import { LOG_LEVELS } from './commands.ts';

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
  manual: boolean;
  script: string | undefined;
  adminToken: string | undefined;
  historyLimit: number;
  historyDays: number;
  backlog: number;
  roomRateLimit: RateLimit | false;
  /** Serving circuit relay v2 (`--relay` and its limits) and reserving slots on relays (`--reserve-relays`). */
  relay: RelayOptions;
  /** Console: the data dir or socket of a running daemon to attach to. */
  attach: string | undefined;
  /** Daemon: a TCP port for the control API (0: any free one), or none. */
  apiPort: number | undefined;
  /** Daemon: the address the TCP API and web page listen on. */
  apiHost: string;
  /** Daemon: the web page's port (0: any free one), or none. */
  web: number | undefined;
  maxFileSize: number;
  downloadsQuota: number;
  /** Members remembered in DATA_DIR/members.json (0: none), and for how many days. */
  rememberMembers: number;
  rememberDays: number;
}

/** `npm start` runs a console, `npm run daemon` a peer with only its control API. */
export type ProgramMode = 'console' | 'daemon';

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

function wholeNumberIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function collectListen(value: string, previous: string[] | undefined): string[] {
  try {
    multiaddr(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/0)`);
  }
  return [...(previous ?? []), value];
}

/** `RATE/BURST` (messages a second per author, and at once), or `off`. */
export function parseRoomRateLimit(value: string): RateLimit | false {
  if (value === 'off') return false;
  const match = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(value);
  if (!match) throw new Error(`"${value}" is not RATE/BURST (e.g. ${AUTHOR_RATE}/${AUTHOR_BURST}) or off`);
  try {
    return checkRateLimit({ rate: Number(match[1]), burst: Number(match[2]) });
  } catch (err) {
    throw new Error(`"${value}": ${(err as Error).message}`);
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30 };

/** A size in bytes: a number with an optional binary unit, `65536`, `64MiB`, `64M`, `1.5G` (K, M and G are 1024-based), at most `max`. */
export function parseByteSize(value: string, max = Number.MAX_SAFE_INTEGER): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) throw new Error(`"${value}" is not a size (e.g. 64MiB, 500K, 2G or a number of bytes)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes > max) throw new Error(`"${value}" is over ${formatBytes(max)}`);
  return bytes;
}
/** Circuit lengths the relay can time: its timer takes at most 2^31 - 1 ms (about 24 days). */
const MAX_CIRCUIT_SECONDS = 2_000_000;

const LOOPBACK = /^\/(ip4\/127\.|ip6\/::1\/|dns4?\/localhost\/)/;

function port(value: string): number {
  return wholeNumberIn(0, 65_535)(value);
}

function addModeOptions(program: Command, mode: ProgramMode): Command {
  if (mode === 'console') {
    return program.addOption(new Option('--attach <dir|socket>', 'open the console on the daemon running on this data dir (or API socket)'));
  }
  return program
    .addOption(new Option('--api-port <port>', 'also serve the control API on TCP (0: any free port), with the bearer token in DATA_DIR/api-token')
      .env('CLI_CHAT_API_PORT').argParser(port))
    .addOption(new Option('--api-host <address>', 'where the TCP API and the web page listen (loopback unless told)').env('CLI_CHAT_API_HOST').default('127.0.0.1'))
    .addOption(new Option('--web [port]', 'serve the web page (default port 0: any free one); the daemon prints a one-time login link')
      .env('CLI_CHAT_WEB').argParser(port));
}

export function buildProgram(mode: ProgramMode = 'console'): Command {
  return addModeOptions(new Command(mode === 'console' ? 'cli-chat' : 'cli-chat-daemon'), mode)
    .usage('[options]')
    .description('Peer-to-peer chat: finds peers through the bootstrap data API, then chats in rooms over gossipsub.\n' +
      'Type /help in the console for its commands. Exit status: 0 on /quit or end of input, 1 if the peer cannot start, 2 for bad flags.')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .addOption(new Option('--nick <name>', 'your nick, carried in every message (default: $USER)').env('CLI_CHAT_NICK').argParser(validated(parseNick)))
    .addOption(new Option('--bootstrap <url>', 'bootstrap data API base URL').env(BOOTSTRAP_ENV).default(DEFAULT_BOOTSTRAP_URL).argParser(validated(parseUrl)))
    .addOption(new Option('--data-dir <dir>', 'where the identity key, lock, history and logs live (default: ~/.local/share/cli-chat/<nick>)')
      .env('CLI_CHAT_DATA_DIR'))
    .option('--listen <multiaddr>', `listen address, repeatable (default: ${DEFAULT_LISTEN})`, collectListen)
    .option('--room <name>', 'room to join at start', validated(parseRoomName), DEFAULT_ROOM)
    .option('--no-room', 'join no room at start')
    .option('--manual', 'step by step: start the node and join nothing (then /bootstrap join, /members join, /join ROOM)', false)
    .option('--script <file>', 'run the commands in FILE once the peer is ready, then read input')
    .option('--json', 'print one JSON event per line on stdout (logs stay on stderr)', false)
    .option('--mdns', 'discover peers on the LAN with mDNS (default: on unless listening on loopback only)')
    .option('--no-mdns', 'never use mDNS')
    .option('--no-host-bootstrap', 'do not host the local bootstrap server when none answers at a loopback URL')
    .addOption(new Option('--admin-token <token>', "the bootstrap API's admin token, for /bootstrap config").env('BOOTSTRAP_ADMIN_TOKEN'))
    .addOption(new Option('--membership-profile <name>', 'membership timings (see docs/membership.md)').env('CLI_CHAT_MEMBERSHIP_PROFILE')
      .choices(Object.keys(MEMBERSHIP_PROFILES)).default(DEFAULT_PROFILE_NAME))
    .addOption(new Option('--history-limit <n>', 'messages kept per room and per direct conversation').env('CLI_CHAT_HISTORY_LIMIT')
      .default(DEFAULT_HISTORY_LIMIT).argParser(wholeNumberIn(1, 1_000_000)))
    .addOption(new Option('--history-days <days>', 'days messages are kept').env('CLI_CHAT_HISTORY_DAYS')
      .default(DEFAULT_HISTORY_DAYS).argParser(wholeNumberIn(1, 36_500)))
    .addOption(new Option('--backlog <n>', `messages shown from history and asked of members on joining a room (at most ${MAX_BACKLOG_ENTRIES})`)
      .env('CLI_CHAT_BACKLOG').default(DEFAULT_BACKLOG).argParser(wholeNumberIn(1, MAX_BACKLOG_ENTRIES)))
    .addOption(new Option('--room-rate-limit <rate/burst>', 'messages a second each author may send to a room, and at once; more are dropped ' +
      'and lower the sender\'s score; off for no limit').env('CLI_CHAT_ROOM_RATE_LIMIT').default({ rate: AUTHOR_RATE, burst: AUTHOR_BURST }, `${AUTHOR_RATE}/${AUTHOR_BURST}`)
      .argParser(validated(parseRoomRateLimit)))
    .addOption(new Option('--max-file-size <size>', 'largest file a member\'s offer may have to be accepted without asking (0: ask for every file); ' +
      'larger ones wait for /accept ID').env('CLI_CHAT_MAX_FILE_SIZE').default(DEFAULT_AUTO_ACCEPT_BYTES, formatBytes(DEFAULT_AUTO_ACCEPT_BYTES))
      .argParser(validated((v) => parseByteSize(v, MAX_FILE_BYTES))))
    .addOption(new Option('--downloads-quota <size>', 'most DATA_DIR/downloads may hold for an offer to be accepted without asking')
      .env('CLI_CHAT_DOWNLOADS_QUOTA').default(DEFAULT_DOWNLOADS_QUOTA_BYTES, formatBytes(DEFAULT_DOWNLOADS_QUOTA_BYTES))
      .argParser(validated((v) => parseByteSize(v))))
    .addOption(new Option('--relay [mode]', 'serve as a circuit relay for peers behind NATs: auto (once reachability finds this peer public), ' +
      'on (--relay alone), or off').env('CLI_CHAT_RELAY').choices(RELAY_MODES).preset('on').default('auto'))
    .addOption(new Option('--relay-max-reservations <n>', 'as a relay: peers that may hold a reservation at once').env('CLI_CHAT_RELAY_MAX_RESERVATIONS')
      .default(DEFAULT_RELAY_LIMITS.maxReservations).argParser(wholeNumberIn(1, 1024)))
    .addOption(new Option('--relay-circuit-seconds <s>', 'as a relay: how long one relayed connection may last; 0 for no limit')
      .env('CLI_CHAT_RELAY_CIRCUIT_SECONDS').default(DEFAULT_RELAY_LIMITS.circuitSeconds).argParser(wholeNumberIn(0, MAX_CIRCUIT_SECONDS)))
    .addOption(new Option('--relay-circuit-bytes <n>', 'as a relay: bytes one relayed connection may carry; 0 for no limit')
      .env('CLI_CHAT_RELAY_CIRCUIT_BYTES').default(DEFAULT_RELAY_LIMITS.circuitBytes).argParser(wholeNumberIn(0, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--reserve-relays <n>', 'once reachability finds this peer unreachable, hold a reservation on this many relays, ' +
      `so peers can reach you through them (default: ${DEFAULT_RESERVATIONS}, 0 with --relay on)`)
      .env('CLI_CHAT_RESERVE_RELAYS').argParser(wholeNumberIn(0, MAX_RESERVATIONS)))
    .addOption(new Option('--remember-members <n>', 'members remembered in DATA_DIR/members.json and tried at start when the bootstrap API ' +
      'gives no seeds; 0 remembers none').env('CLI_CHAT_REMEMBER_MEMBERS').default(DEFAULT_REMEMBER_MEMBERS).argParser(wholeNumberIn(0, MAX_REMEMBER_MEMBERS)))
    .addOption(new Option('--remember-days <days>', 'days a member not seen is remembered').env('CLI_CHAT_REMEMBER_DAYS')
      .default(DEFAULT_REMEMBER_DAYS).argParser(wholeNumberIn(1, 365)))
    .addOption(new Option('--log-level <level>', 'log level (logs go to stderr, or to DATA_DIR/peer.log in a terminal)').env('CLI_CHAT_LOG_LEVEL')
      .choices(LOG_LEVELS).default('warn'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

/** Parses argv (without node and script); throws commander's errors for bad flags. */
export function parseArgs(argv: string[], mode: ProgramMode = 'console'): CliOptions {
  const program = buildProgram(mode);
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    nick?: string, bootstrap: string, dataDir?: string, listen?: string[], room: string | false,
    json: boolean, mdns?: boolean, hostBootstrap: boolean, membershipProfile: string, logLevel: string,
    manual: boolean, script?: string, adminToken?: string, historyLimit: number, historyDays: number, backlog: number,
    roomRateLimit: RateLimit | false, relay: RelayMode, relayMaxReservations: number, relayCircuitSeconds: number,
    relayCircuitBytes: number, reserveRelays?: number, attach?: string, apiPort?: number, apiHost?: string, web?: number | true,
    maxFileSize: number, downloadsQuota: number, rememberMembers: number, rememberDays: number
  }>();
  if (mode === 'daemon' && o.script !== undefined) {
    program.error('error: a daemon has no console to run a script in: attach one (npm start -- --attach DATA_DIR --script FILE)', { exitCode: 2 });
  }
  if (o.manual && program.getOptionValueSource('room') === 'cli') {
    program.error('error: --manual joins nothing by itself: drop --room and /join ROOM when ready', { exitCode: 2 });
  }
  const nick = o.nick ?? defaultNick();
  const listen = o.listen ?? [DEFAULT_LISTEN];
  return {
    nick,
    bootstrap: o.bootstrap,
    dataDir: o.dataDir ?? defaultDataDir(nick),
    listen,
    room: o.room === false || o.manual ? undefined : o.room,
    json: o.json,
    // Announcing loopback addresses to the LAN helps nobody, so mDNS follows --listen unless told.
    mdns: o.mdns ?? !listen.every((a) => LOOPBACK.test(a)),
    hostBootstrap: o.hostBootstrap,
    membershipProfile: o.membershipProfile,
    logLevel: o.logLevel,
    manual: o.manual,
    script: o.script,
    adminToken: o.adminToken,
    historyLimit: o.historyLimit,
    historyDays: o.historyDays,
    backlog: o.backlog,
    roomRateLimit: o.roomRateLimit,
    relay: {
      ...(o.relay === 'off'
        ? {}
        : { serve: { maxReservations: o.relayMaxReservations, circuitSeconds: o.relayCircuitSeconds, circuitBytes: o.relayCircuitBytes } }),
      serveAtStart: o.relay === 'on',
      // A relay is reachable itself: a reservation elsewhere would only add a longer way in.
      reservations: o.reserveRelays ?? (o.relay === 'on' ? 0 : DEFAULT_RESERVATIONS),
      reserveAtStart: false
    },
    attach: o.attach,
    apiPort: o.apiPort,
    apiHost: o.apiHost ?? '127.0.0.1',
    web: o.web === true ? 0 : o.web,
    maxFileSize: o.maxFileSize,
    downloadsQuota: o.downloadsQuota,
    rememberMembers: o.rememberMembers,
    rememberDays: o.rememberDays
  };
}
