/** Summaries of the simulator's measurements. */

/** The p-th percentile (0..100) by nearest rank, or undefined for no samples. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface Distribution {
  readonly count: number;
  readonly median: number | undefined;
  readonly p99: number | undefined;
  readonly max: number | undefined;
  readonly mean: number | undefined;
}

export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.length === 0 ? undefined : sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { count: sorted.length, median: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1], mean };
}

/** Milliseconds as seconds with two decimals, or "-". */
export function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : (ms / 1000).toFixed(2);
}
