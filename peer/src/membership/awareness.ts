/**
 * Local health awareness (Lifeguard's LHA-probe): a score of how badly this member is
 * keeping up. Probes whose relays' nacks never arrived, and having to refute suspicions
 * of ourselves, raise it; successful probes lower it. Timeouts and the probe interval are
 * multiplied by score + 1, so a starved member probes less and waits longer instead of
 * accusing healthy members it simply could not hear in time.
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  /** `max` is the largest multiplier; the score stays in [0, max - 1]. */
  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get score(): number {
    return this.#score;
  }

  /** The factor applied to timeouts and the probe interval. */
  get multiplier(): number {
    return this.#score + 1;
  }

  apply(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta));
  }

  scale(timeout: number): number {
    return timeout * (this.#score + 1);
  }
}
