/**
 * The cut-off: a peer that sends us, itself, far more of its own messages than a room's
 * rate limit lets any author send is refused for a while, so that we stop reading its
 * traffic at all (a graylisted peer still costs the reading and decoding of every RPC).
 * Pure: the caller passes the time, in ms, and does the disconnecting and the refusing.
 * Bounded: at most `maxPeers` peers refused and `maxPeers` buckets counted, the oldest
 * forgotten first, so minting keys cannot grow either table.
 */
import { AUTHOR_BURST, AUTHOR_RATE } from '../chat/constants.ts';
import { RateLimiter } from '../chat/rate-limit.ts';
import type { RateLimit } from '../chat/rate-limit.ts';

export interface CutOffOptions {
  /** What a peer may author and send us itself, per topic: the room limit times CUT_OFF_FACTOR. */
  limit: RateLimit;
  /** How long a peer cut off is refused, in ms. */
  refuseMs: number;
  /** Peers refused, and peer-topic buckets counted, at most. */
  maxPeers: number;
}

/**
 * The cut-off limit for a room rate limit (`undefined` for the default, `false` for none):
 * `factor` times its rate and burst, so an author the room limit holds back is still far
 * from it; none when rooms have no limit.
 */
export function cutOffLimit(roomLimit: RateLimit | false | undefined, factor: number): RateLimit | undefined {
  if (roomLimit === false) return undefined;
  const { rate, burst } = roomLimit ?? { rate: AUTHOR_RATE, burst: AUTHOR_BURST };
  return { rate: rate * factor, burst: Math.ceil(burst * factor) };
}

export class CutOff {
  readonly #counts: RateLimiter;
  readonly #refuseMs: number;
  readonly #maxPeers: number;
  /** Peer -> refused until; oldest cut-off first (a Map iterates in insertion order). */
  readonly #refused = new Map<string, number>();

  constructor(options: CutOffOptions) {
    if (!(options.refuseMs > 0 && Number.isFinite(options.refuseMs))) throw new RangeError(`refuseMs must be a positive number, not ${options.refuseMs}`);
    this.#counts = new RateLimiter(options.limit, options.maxPeers);
    this.#refuseMs = options.refuseMs;
    this.#maxPeers = options.maxPeers;
  }

  /**
   * Counts one message that `peer` authored and sent us itself, on `topic`. True if it is
   * one too many: `peer` is then refused until `now` + refuseMs, and true comes once per cut-off.
   */
  authored(peer: string, topic: string, now: number): boolean {
    if (this.refuses(peer, now)) return false;
    if (this.#counts.take(`${peer} ${topic}`, now)) return false;
    if (this.#refused.size >= this.#maxPeers) this.#refused.delete(this.#refused.keys().next().value as string);
    this.#refused.set(peer, now + this.#refuseMs);
    return true;
  }

  /** Whether `peer` is cut off at `now`: its connections are to be refused and its RPCs dropped. */
  refuses(peer: string, now: number): boolean {
    const until = this.#refused.get(peer);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#refused.delete(peer);
    return false;
  }
}
