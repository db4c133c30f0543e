/**
 * What a benchmark that starts peer processes does on its way out, however it ends:
 * kill every child and remove its temporary directories, on exit and on SIGINT/SIGTERM
 * (then exit 130). Synchronous where it must be: 'exit' handlers cannot wait.
 */
import { rmSync } from 'node:fs';
import { killAll } from '../peer/test/support/processes.ts';

/** Registers the handlers; returns the list to push temporary directories onto. `before` runs first (e.g. to release a throttled peer). */
export function cleanUpOnExit(before: () => void = () => {}, onSignal: (signal: NodeJS.Signals) => void = () => {}): string[] {
  const tempDirs: string[] = [];
  const cleanupNow = (): void => {
    before();
    void killAll();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.length = 0;
  };
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      onSignal(signal);
      cleanupNow();
      process.exit(130);
    });
  }
  return tempDirs;
}
