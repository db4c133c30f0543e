/**
 * The reachability verdict: a pure state machine, time passed in. The service (service.ts)
 * asks it when to check, whom of the peers it names to ask, and feeds it the answers.
 *
 * - `public`: at least one other peer dialled us back, on a new connection;
 * - `unreachable`: peers tried, and every dial-back failed (or we have no address of our
 *   own to dial);
 * - `local`: every address we have is loopback, which only this host can dial;
 * - `checking`: the first check (or the first after our addresses changed) is under way;
 * - `unknown`: nobody to ask, or nobody answered.
 *
 * A settled verdict stays while it is checked again, so a peer does not flap (nor its relay
 * service with it) every RECHECK_INTERVAL_MS.
 */
import { isLoopback, parseTcpAddr } from './addrs.ts';
import type { AddrResult } from './codec.ts';
import { HELPERS_PER_CHECK, RECHECK_INTERVAL_MS, RETRY_INTERVAL_MS } from './constants.ts';

export const REACHABILITIES = ['unknown', 'checking', 'public', 'unreachable', 'local'] as const;
export type Reachability = typeof REACHABILITIES[number];

export interface VerdictOptions {
  /** @default RECHECK_INTERVAL_MS */
  recheckMs?: number;
  /** @default RETRY_INTERVAL_MS */
  retryMs?: number;
  /** @default HELPERS_PER_CHECK */
  helpersPerCheck?: number;
  /**
   * Whether an IP is one only this host can dial. @default isLoopback. A cluster on one host
   * that stands for a network (tests over 127.0.0.x) passes `() => false`.
   */
  isLocal?: (ip: string) => boolean;
}

/** What the answers of one check say: `public` on any dial-back, `unreachable` if some were tried and all failed, else nothing. */
export function judge(answers: readonly (readonly AddrResult[])[]): 'public' | 'unreachable' | undefined {
  const results = answers.flat();
  if (results.some((r) => r.result === 'ok')) return 'public';
  return results.some((r) => r.result === 'failed') ? 'unreachable' : undefined;
}

interface Round {
  readonly id: number;
  readonly pending: Set<string>;
  readonly answers: AddrResult[][];
}

export class ReachVerdict {
  readonly #recheckMs: number;
  readonly #retryMs: number;
  readonly #helpersPerCheck: number;
  readonly #isLocal: (ip: string) => boolean;
  #reachability: Reachability = 'unknown';
  #addrs: string[] = [];
  /** The addresses the settled verdict is about; a change makes the next check a first one. */
  #judgedAddrs: string[] | undefined;
  #round: Round | undefined;
  #rounds = 0;
  #nextAt = 0;

  constructor(options: VerdictOptions = {}) {
    this.#recheckMs = options.recheckMs ?? RECHECK_INTERVAL_MS;
    this.#retryMs = options.retryMs ?? RETRY_INTERVAL_MS;
    this.#helpersPerCheck = options.helpersPerCheck ?? HELPERS_PER_CHECK;
    this.#isLocal = options.isLocal ?? isLoopback;
  }

  get reachability(): Reachability {
    return this.#reachability;
  }

  /** The addresses checks ask about. */
  get addrs(): readonly string[] {
    return this.#addrs;
  }

  /** When the next check is due (ms); a check under way is not due again. */
  get nextAt(): number {
    return this.#nextAt;
  }

  due(now: number): boolean {
    return this.#round === undefined && now >= this.#nextAt;
  }

  /** Our checkable addresses now (see checkableAddrs); a change makes a check due at once. */
  setAddrs(addrs: readonly string[], now: number): void {
    if (sameSet(addrs, this.#addrs)) return;
    this.#addrs = [...addrs];
    this.#round = undefined;
    this.#nextAt = now;
  }

  /** A peer that can answer connected: with no verdict yet, check at once rather than at the next retry. */
  helperAppeared(now: number): void {
    if (this.#reachability === 'unknown' && this.#round === undefined) this.#nextAt = Math.min(this.#nextAt, now);
  }

  /**
   * Starts a check among `candidates` (connected peers that speak the protocol, best first).
   * Returns the round's ID and whom to ask (none when the verdict needs no one), and the
   * new reachability if it changed.
   */
  begin(candidates: readonly string[], now: number): { round: number, ask: string[], changed?: Reachability } {
    const round = ++this.#rounds;
    this.#round = undefined;
    const ips = this.#addrs.map((a) => parseTcpAddr(a)?.ip).filter((ip) => ip !== undefined);
    if (ips.length === 0) return { round, ask: [], ...this.#settle('unreachable', now) };
    if (ips.every((ip) => this.#isLocal(ip))) return { round, ask: [], ...this.#settle('local', now) };
    const ask = candidates.slice(0, this.#helpersPerCheck);
    if (ask.length === 0) {
      this.#nextAt = now + this.#retryMs;
      return { round, ask, ...this.#set(this.#settled() ? this.#reachability : 'unknown') };
    }
    this.#round = { id: round, pending: new Set(ask), answers: [] };
    this.#nextAt = now + this.#recheckMs;
    return { round, ask, ...this.#set(this.#settled() ? this.#reachability : 'checking') };
  }

  /**
   * `helper`'s answer in `round`: the first dial-back decides `public`; the last answer
   * decides otherwise. Results about local addresses (loopback) count for nothing.
   */
  answer(round: number, helper: string, results: readonly AddrResult[], now: number): Reachability | undefined {
    const current = this.#round;
    if (current?.id !== round || !current.pending.delete(helper)) return undefined;
    // A helper on this host dials our loopback address whatever the network thinks of us: no evidence either way.
    const evidence = results.filter((r) => !this.#isLocal(parseTcpAddr(r.addr)?.ip ?? ''));
    current.answers.push(evidence);
    if (judge([evidence]) === 'public') return this.#conclude(now);
    return current.pending.size === 0 ? this.#conclude(now) : undefined;
  }

  /** `helper` gave no usable answer in `round` (timeout, refusal, bad frame): it counts for nothing. */
  noAnswer(round: number, helper: string, now: number): Reachability | undefined {
    const current = this.#round;
    if (current?.id !== round || !current.pending.delete(helper)) return undefined;
    return current.pending.size === 0 ? this.#conclude(now) : undefined;
  }

  #conclude(now: number): Reachability | undefined {
    const answers = this.#round?.answers ?? [];
    this.#round = undefined;
    const verdict = judge(answers);
    if (verdict !== undefined) return this.#settle(verdict, now).changed;
    // Nobody could tell: keep a settled verdict about these addresses, and ask again soon.
    this.#nextAt = now + this.#retryMs;
    return this.#set(this.#settled() ? this.#reachability : 'unknown').changed;
  }

  /** Whether the current verdict is a settled one about the current addresses. */
  #settled(): boolean {
    const settled = this.#reachability === 'public' || this.#reachability === 'unreachable';
    return settled && this.#judgedAddrs !== undefined && sameSet(this.#judgedAddrs, this.#addrs);
  }

  #settle(verdict: Reachability, now: number): { changed?: Reachability } {
    this.#judgedAddrs = [...this.#addrs];
    this.#nextAt = now + this.#recheckMs;
    return this.#set(verdict);
  }

  #set(next: Reachability): { changed?: Reachability } {
    if (next === this.#reachability) return {};
    this.#reachability = next;
    return { changed: next };
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
