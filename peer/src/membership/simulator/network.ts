/**
 * The simulated network between members: per-message loss and one-way delay drawn from a
 * chosen distribution, and partitions (members in different groups cannot talk).
 */
import type { RandomSource } from '../random.ts';

export type DelayDistribution = 'fixed' | 'uniform' | 'exponential' | 'pareto';

export interface NetworkOptions {
  /** Probability that a message is lost, 0..1. */
  readonly loss: number;
  /** Smallest one-way delay, ms. */
  readonly baseDelay: number;
  /** Mean of the extra one-way delay above baseDelay, ms. */
  readonly jitter: number;
  readonly distribution: DelayDistribution;
}

export const DEFAULT_NETWORK: NetworkOptions = { loss: 0, baseDelay: 0.5, jitter: 1, distribution: 'exponential' };

export class Network {
  readonly options: NetworkOptions;
  readonly #random: RandomSource;
  /** Partition group of each member; undefined: no partition. */
  #groups: Int32Array | undefined;

  constructor(options: NetworkOptions, random: RandomSource) {
    this.options = options;
    this.#random = random;
  }

  /** The one-way delay of a message, or undefined if it is lost. */
  transit(from: number, to: number): number | undefined {
    if (this.#groups && this.#groups[from] !== this.#groups[to]) return undefined;
    if (this.options.loss > 0 && this.#random() < this.options.loss) return undefined;
    return this.options.baseDelay + this.#extra();
  }

  /** A delay sample only (a refused connection's round trip). */
  roundTrip(): number {
    return 2 * (this.options.baseDelay + this.#extra());
  }

  #extra(): number {
    const { jitter, distribution } = this.options;
    if (jitter <= 0) return 0;
    const u = this.#random();
    switch (distribution) {
      case 'fixed': return jitter;
      case 'uniform': return 2 * jitter * u;
      case 'exponential': return -jitter * Math.log(1 - u);
      // Heavy tail: Lomax with shape 2.5 and scale 1.5 * jitter, whose mean is `jitter`.
      case 'pareto': return 1.5 * jitter * ((1 - u) ** (-1 / 2.5) - 1);
    }
  }

  partition(groups: Int32Array): void {
    this.#groups = groups;
  }

  heal(): void {
    this.#groups = undefined;
  }

  get partitioned(): boolean {
    return this.#groups !== undefined;
  }
}
