/**
 * What the benchmarks share: order statistics, where their figures go, and the way each
 * ends (every child killed, every temp dir removed, however `main` finished).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killAll, REPO_ROOT } from '../peer/test/support/processes.ts';

export const RESULTS_DIR = join(REPO_ROOT, 'bench-results');

/** The p-th percentile (nearest rank) of values sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2 : sorted[Math.floor(mid)] as number;
}

/** Writes bench-results/NAME.json and NAME.md, and prints the Markdown. */
export async function writeResults(name: string, report: unknown, md: string): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(RESULTS_DIR, `${name}.md`), md);
  console.log(md);
}

/** Runs `main`, then kills every child and removes `tempDirs`, whether it succeeded or threw. */
export async function runBench(main: () => Promise<void>, tempDirs: string[]): Promise<void> {
  try {
    await main();
  } finally {
    await killAll();
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    tempDirs.length = 0;
  }
}
