/**
 * node:sqlite, loaded without its one-time ExperimentalWarning: the peer's stderr is its
 * log in pipes and tests, and the warning says nothing a user can act on. Only that one
 * warning is filtered; the module is required (not imported) so the filter is in place first.
 */
import { createRequire } from 'node:module';
import type * as Sqlite from 'node:sqlite';

const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (text.startsWith('SQLite is an experimental feature')) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const sqlite = createRequire(import.meta.url)('node:sqlite') as typeof Sqlite;

export const { DatabaseSync } = sqlite;
export type DatabaseSync = Sqlite.DatabaseSync;
