/**
 * The suspicion timer of one suspected member (Lifeguard's LHA-suspicion): it starts at
 * the maximum timeout and shrinks towards the minimum as independent members confirm the
 * suspicion, so a lone accuser (maybe slow itself) waits long, and a real failure that
 * many observe is declared fast. State only; the core owns the clock and the timer.
 */
import type { SuspicionBounds } from './profiles.ts';
import type { MemberId } from './member.ts';

/**
 * Total timeout after `confirmations` of the `wanted` confirmations: from `max` down to
 * `min` on a log scale, so the first confirmations count most (memberlist's formula:
 * max - log(n + 1) / log(k + 1) * (max - min), floored to whole milliseconds).
 */
export function suspicionTimeout(confirmations: number, wanted: number, min: number, max: number): number {
  if (wanted < 1) return min;
  const fraction = Math.log(confirmations + 1) / Math.log(wanted + 1);
  return Math.max(min, Math.floor(max - fraction * (max - min)));
}

/** Time left before the suspect is declared dead; may be negative (fire at once). */
export function remainingSuspicionTime(confirmations: number, wanted: number, elapsed: number, min: number, max: number): number {
  return suspicionTimeout(confirmations, wanted, min, max) - elapsed;
}

export class Suspicion {
  /** When the suspicion started, by the core's clock (moved forward after a local pause). */
  start: number;
  #bounds: SuspicionBounds;
  #unreachable: boolean;
  readonly #confirmedBy = new Set<MemberId>();

  /** `from` started the suspicion: its own suspect messages gossiped back do not count. */
  constructor(from: MemberId, start: number, bounds: SuspicionBounds, unreachable: boolean) {
    this.start = start;
    this.#bounds = bounds;
    this.#unreachable = unreachable;
    this.#confirmedBy.add(from);
  }

  /** Independent confirmations so far. */
  get confirmations(): number {
    return this.#confirmedBy.size - 1;
  }

  /** True once the evidence says the process is gone (reset or refused connection). */
  get unreachable(): boolean {
    return this.#unreachable;
  }

  /**
   * Counts `from`'s confirmation. False if it was counted before or no more are needed,
   * in which case the news is not worth re-gossiping either.
   */
  confirm(from: MemberId): boolean {
    if (this.confirmations >= this.#bounds.confirmations) return false;
    if (this.#confirmedBy.has(from)) return false;
    this.#confirmedBy.add(from);
    return true;
  }

  /** Switches to the bounds of stronger evidence (keeping the start and confirmations). */
  upgrade(bounds: SuspicionBounds): void {
    this.#bounds = bounds;
    this.#unreachable = true;
  }

  /** When the suspect is to be declared dead. */
  deadline(): number {
    const { min, max, confirmations } = this.#bounds;
    return this.start + suspicionTimeout(Math.min(this.confirmations, confirmations), confirmations, min, max);
  }
}
