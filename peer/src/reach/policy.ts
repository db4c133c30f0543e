/**
 * Whether a helper takes a dial-back request: rate limits per requester and over all of
 * them, and a bound on requests in flight. Pure: the caller passes the time, in ms.
 */
import { RateLimiter } from '../chat/rate-limit.ts';
import type { RateLimit } from '../chat/rate-limit.ts';
import { GLOBAL_LIMIT, MAX_CONCURRENT_REQUESTS, MAX_TRACKED_REQUESTERS, PER_REQUESTER_LIMIT } from './constants.ts';
import type { Refusal } from './codec.ts';

export interface PolicyOptions {
  /** @default PER_REQUESTER_LIMIT */
  perRequester?: RateLimit;
  /** @default GLOBAL_LIMIT */
  global?: RateLimit;
  /** @default MAX_CONCURRENT_REQUESTS */
  maxConcurrent?: number;
}

const ALL = '*';

export class DialBackPolicy {
  readonly #perRequester: RateLimiter;
  readonly #global: RateLimiter;
  readonly #maxConcurrent: number;
  #inFlight = 0;

  constructor(options: PolicyOptions = {}) {
    this.#perRequester = new RateLimiter(options.perRequester ?? PER_REQUESTER_LIMIT, MAX_TRACKED_REQUESTERS);
    this.#global = new RateLimiter(options.global ?? GLOBAL_LIMIT, 1);
    this.#maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT_REQUESTS;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes the request (call done() when answered), or says why not; a refused request takes nothing from the global budget. */
  admit(requester: string, now: number): { admitted: true } | { admitted: false, refused: Refusal } {
    if (this.#inFlight >= this.#maxConcurrent) return { admitted: false, refused: 'busy' };
    if (!this.#perRequester.take(requester, now)) return { admitted: false, refused: 'rate-limited' };
    if (!this.#global.take(ALL, now)) return { admitted: false, refused: 'busy' };
    this.#inFlight++;
    return { admitted: true };
  }

  done(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }
}
