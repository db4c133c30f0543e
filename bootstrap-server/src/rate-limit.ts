/**
 * Requests per minute per client, counted in a fixed one-minute window.
 *
 * This is what `@fastify/rate-limit` does for us, minus what we do not use, because the
 * list route is held to 90% of a bare Fastify route: the plugin's hook is async (three
 * promises per request) and adds three headers to every answer, which on the benchmark
 * machine cost about a tenth of the list route's throughput. This hook is synchronous and
 * adds a header only to the 429 answer.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '@cli-chat/bootstrap-api';

const WINDOW_MS = 60_000;

/**
 * Beyond this many distinct clients in one window, new ones share a single count: a
 * flood from many addresses is limited as a whole instead of growing the table.
 */
const MAX_TRACKED_CLIENTS = 100_000;
const OVERFLOW_KEY = 'overflow';

/**
 * The unit a limit applies to: an IPv4 address, or an IPv6 /64, the block one subscriber
 * usually holds, so cycling through its addresses does not multiply the budget.
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const address = ip.split('%')[0] as string;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups].slice(0, 4);
  return `${groups.map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export interface RateLimitOptions {
  /** Requests allowed per client and minute. */
  perMinute: number;
  now: () => number;
}

/** Adds the limit to every route registered on `app` after this call. */
export function limitRequestRate(app: FastifyInstance, { perMinute, now }: RateLimitOptions): void {
  const counts = new Map<string, number>();
  let windowStart = now();
  app.addHook('onRequest', (request, reply, done) => {
    const at = now();
    if (at - windowStart >= WINDOW_MS) {
      counts.clear();
      windowStart = at;
    }
    let key = clientKey(request.ip);
    if (!counts.has(key) && counts.size >= MAX_TRACKED_CLIENTS) key = OVERFLOW_KEY;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    if (count <= perMinute) {
      done();
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((windowStart + WINDOW_MS - at) / 1000));
    reply.header('retry-after', String(retryAfter));
    done(new ApiError('RATE_LIMITED', `more than ${perMinute} requests per minute from this address; retry in ${retryAfter} s`));
  });
}
