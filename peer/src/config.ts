/** Defaults of the peer's command line: one place for every user-facing default. */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LOCAL_URL } from '@cli-chat/bootstrap-api';

/** The environment variable `.bootstrap-switch` sets. */
export const BOOTSTRAP_ENV = 'BOOTSTRAP_DATA_SERVER';
export const DEFAULT_BOOTSTRAP_URL = DEFAULT_LOCAL_URL;
export const DEFAULT_ROOM = 'lobby';

/**
 * Loopback by default: a fresh `npm start` must not expose a port to the network or
 * announce itself on it. `--listen /ip4/0.0.0.0/tcp/4001` opens it to a LAN.
 */
export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/0';

export const HISTORY_FILE = 'history';
/** In the data dir: where an interactive console's logs go until `/log on` says otherwise. */
export const LOG_FILE = 'peer.log';
export const HISTORY_SIZE = 1000;

/** In the data dir: the messages of rooms and direct conversations (SQLite). */
export const MESSAGE_DB_FILE = 'history.db';
/** Kept per room and per direct conversation (--history-limit), and for this many days (--history-days). */
export const DEFAULT_HISTORY_LIMIT = 10_000;
export const DEFAULT_HISTORY_DAYS = 30;
/** Messages asked of members on joining a room (--backlog). */
export const DEFAULT_BACKLOG = 200;
/** Entries `/history` shows without a count. */
export const DEFAULT_HISTORY_SHOWN = 20;

/** In the data dir: the members last seen, tried at start when the bootstrap API gives no seeds (see seeding/remembered.ts). */
export const MEMBERS_FILE = 'members.json';
/** Members remembered (--remember-members; 0 turns it off), and for how many days (--remember-days). */
export const DEFAULT_REMEMBER_MEMBERS = 32;
export const MAX_REMEMBER_MEMBERS = 256;
export const DEFAULT_REMEMBER_DAYS = 7;

/** In the data dir: where received files are saved (the file-transfer limits are in files/constants.ts). */
export const DOWNLOADS_DIR = 'downloads';

export function defaultNick(): string {
  const name = (process.env.USER ?? safeUsername()).replace(/[^\w.-]/g, '').slice(0, 32);
  return name || 'anon';
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return 'anon';
  }
}

/** One data dir per nick, so `--nick alice` and `--nick bob` on one machine are two peers. */
export function defaultDataDir(nick: string): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'cli-chat', nick);
}

/** In the data dir: the daemon's control API socket and the bearer token of its TCP listeners. */
export const API_SOCKET_FILE = 'api.sock';
export const API_TOKEN_FILE = 'api-token';
