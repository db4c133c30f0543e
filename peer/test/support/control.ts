/**
 * Plain HTTP to a daemon's control API, over its Unix socket or TCP, with whatever headers
 * a test wants to try (no token, a wrong one, a foreign Origin), and its event stream.
 */
import { request } from 'node:http';
import type { PeerEvent } from '../../src/events.ts';

export type Endpoint = { socketPath: string } | { port: number };

export interface Answer {
  status: number;
  json: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export function call(endpoint: Endpoint, method: string, path: string, options: { headers?: Record<string, string>, body?: string | object } = {}): Promise<Answer> {
  const { body } = options;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
  const where = 'socketPath' in endpoint ? { socketPath: endpoint.socketPath } : { host: '127.0.0.1', port: endpoint.port };
  return new Promise((resolve, reject) => {
    const req = request({ ...where, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** An open event stream: every event received so far, and a wait with a deadline. */
export interface EventStream {
  events: PeerEvent[];
  /** Calls `listener` with each event as it arrives (benchmarks time them). */
  onEvent(listener: (e: PeerEvent) => void): void;
  waitFor(match: (e: PeerEvent) => boolean, what: string, timeoutMs?: number): Promise<PeerEvent>;
  close(): void;
}

export function openEvents(endpoint: Endpoint, headers: Record<string, string> = {}): Promise<EventStream> {
  const where = 'socketPath' in endpoint ? { socketPath: endpoint.socketPath } : { host: '127.0.0.1', port: endpoint.port };
  return new Promise((resolve, reject) => {
    const req = request({ ...where, method: 'GET', path: '/v1/events', headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`event stream answered ${res.statusCode}`));
        return;
      }
      const events: PeerEvent[] = [];
      const waiters = new Set<{ match: (e: PeerEvent) => boolean, done: (e: PeerEvent) => void }>();
      const listeners: ((e: PeerEvent) => void)[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer.slice(0, end).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          buffer = buffer.slice(end + 2);
          if (data === '') continue;
          const event = JSON.parse(data) as PeerEvent;
          events.push(event);
          for (const listener of listeners) listener(event);
          for (const w of waiters) if (w.match(event)) { waiters.delete(w); w.done(event); }
        }
      });
      resolve({
        events,
        onEvent: (listener) => listeners.push(listener),
        waitFor(match, what, timeoutMs = 15_000) {
          const seen = events.find(match);
          if (seen) return Promise.resolve(seen);
          return new Promise((done, fail) => {
            const waiter = { match, done: (e: PeerEvent) => { clearTimeout(timer); done(e); } };
            const timer = setTimeout(() => { waiters.delete(waiter); fail(new Error(`timed out waiting for ${what} on the event stream`)); }, timeoutMs);
            waiters.add(waiter);
          });
        },
        close: () => req.destroy()
      });
    });
    req.on('error', reject);
    req.end();
  });
}
