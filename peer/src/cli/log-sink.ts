/**
 * Where the peer's logs go, switchable at run time (`/log on`, `/log off`): stderr, the
 * console view (above the prompt), a file, or nowhere. pino writes to it as to a stream.
 * In an interactive terminal logs start in a file, so they never garble the chat view.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export type LogTarget =
  | { readonly kind: 'stderr' }
  | { readonly kind: 'console' }
  | { readonly kind: 'file', readonly path: string }
  | { readonly kind: 'off' };

export class LogSink {
  private current: LogTarget = { kind: 'off' };
  private fd: number | undefined;
  private toConsole: (line: string) => void = () => {};

  constructor(target: LogTarget) {
    this.set(target);
  }

  get target(): LogTarget {
    return this.current;
  }

  /** Where console-bound lines are shown; the console sets this once it draws the screen. */
  onConsole(show: (line: string) => void): void {
    this.toConsole = show;
  }

  /**
   * Switches target. A file that cannot be opened throws with the reason, and the
   * old target stays.
   */
  set(target: LogTarget): void {
    let fd: number | undefined;
    // A file's directory must exist: a typo in `/log on` should not create directories.
    if (target.kind === 'file') fd = openSync(target.path, 'a', 0o600);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = fd;
    this.current = target;
  }

  describe(): string {
    switch (this.current.kind) {
      case 'stderr': return 'standard error';
      case 'console': return 'this console';
      case 'file': return this.current.path;
      case 'off': return 'nowhere (off)';
    }
  }

  /** pino's stream interface: one JSON line per call. */
  write(line: string): void {
    switch (this.current.kind) {
      case 'stderr':
        process.stderr.write(line);
        return;
      case 'file':
        // Synchronous, so a line written just before a crash is in the file.
        writeSync(this.fd as number, line);
        return;
      case 'console':
        this.toConsole(formatLogLine(line));
        return;
      case 'off':
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.current = { kind: 'off' };
  }
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A pino JSON line for people: time, level, message, and the error's message if any. */
export function formatLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { time?: number, level?: number, msg?: string, err?: { message?: string } };
    const time = new Date(entry.time ?? Date.now()).toTimeString().slice(0, 8);
    const level = LEVEL_NAMES[entry.level ?? 30] ?? String(entry.level);
    const err = entry.err?.message === undefined ? '' : ` (${entry.err.message})`;
    return `[${time}] ${level} ${entry.msg ?? ''}${err}`;
  } catch {
    return line.trimEnd();
  }
}
