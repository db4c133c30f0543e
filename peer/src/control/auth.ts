/**
 * Who may drive the peer through its control API. The Unix socket is guarded by the file
 * system (owner-only socket in an owner-only data dir); a TCP listener needs the bearer
 * token the daemon writes to an owner-only file; the web page trades a one-time login link
 * for an HttpOnly cookie. Browsers are the danger on loopback: any site the user opens can
 * send requests to 127.0.0.1, so a request from another origin (or naming another host, as
 * DNS rebinding does) is refused before anything runs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { LOGIN_TICKET_TTL_MS, SESSION_COOKIE } from './constants.ts';

export type ListenerKind = 'socket' | 'tcp' | 'web';

/** Why a request is refused: its HTTP status, code and message. */
export class AccessDenied extends Error {
  readonly status: 401 | 403;
  readonly code: 'UNAUTHORIZED' | 'FORBIDDEN';

  constructor(status: 401 | 403, message: string) {
    super(message);
    this.name = 'AccessDenied';
    this.status = status;
    this.code = status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN';
  }
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes the token readable by its owner only, whatever the file was before. */
export async function writeTokenFile(path: string, token: string): Promise<void> {
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

export interface AccessOptions {
  kind: ListenerKind;
  /** The bearer token of TCP listeners. */
  token: string;
  /** For TCP listeners: the `host:port` names a request may use, so a rebound DNS name is refused. */
  hosts?: readonly string[];
}

export class Access {
  private readonly options: AccessOptions;
  private readonly tickets = new Map<string, number>();
  private readonly sessions = new Set<string>();

  constructor(options: AccessOptions) {
    this.options = options;
  }

  get kind(): ListenerKind {
    return this.options.kind;
  }

  /** The origins a browser may send from: the web page's own. */
  private origins(): string[] {
    return (this.options.hosts ?? []).map((h) => `http://${h}`);
  }

  /**
   * Throws AccessDenied unless the request may run. `login` marks the one-time link, which
   * is the way to get a session and so needs none.
   */
  check(headers: IncomingHttpHeaders, login = false): void {
    const { kind } = this.options;
    const origin = headers.origin;
    if (origin !== undefined && !(kind === 'web' && this.origins().includes(origin))) {
      throw new AccessDenied(403, `requests from ${origin} are refused: only this peer's own page may call its API`);
    }
    if (kind === 'socket') return;
    const hosts = this.options.hosts ?? [];
    if (headers.host === undefined || !hosts.includes(headers.host)) {
      throw new AccessDenied(403, `host ${headers.host ?? '(none)'} is not this API's (${hosts.join(', ')})`);
    }
    if (login) return;
    const auth = headers.authorization;
    if (auth !== undefined) {
      const match = /^Bearer (\S+)$/.exec(auth);
      if (match && sameSecret(match[1] as string, this.options.token)) return;
      throw new AccessDenied(401, 'wrong token: send Authorization: Bearer <the token in the data dir\'s api-token file>');
    }
    if (kind === 'web') {
      const session = cookie(headers, SESSION_COOKIE);
      if (session !== undefined && this.sessions.has(session)) return;
      throw new AccessDenied(401, 'not logged in: open the link the daemon printed (or /show web in its console)');
    }
    throw new AccessDenied(401, 'missing token: send Authorization: Bearer <the token in the data dir\'s api-token file>');
  }

  /** A link that logs a browser in once, within LOGIN_TICKET_TTL_MS. */
  newTicket(now = Date.now()): string {
    for (const [t, expires] of this.tickets) if (expires <= now) this.tickets.delete(t);
    const ticket = newSecret();
    this.tickets.set(ticket, now + LOGIN_TICKET_TTL_MS);
    return ticket;
  }

  /** Spends a ticket; resolves the new session's cookie value, or throws when the ticket is spent, unknown or old. */
  login(ticket: string, now = Date.now()): string {
    const expires = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (expires === undefined || expires <= now) throw new AccessDenied(401, 'this login link is used up or expired: ask the daemon for a new one (/show web)');
    const session = newSecret();
    this.sessions.add(session);
    return session;
  }

  sessionCookie(session: string): string {
    return `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`;
  }
}
