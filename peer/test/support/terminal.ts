/**
 * A real terminal for console tests: tmux runs the peer in a pseudo-terminal on a tmux
 * server of the test's own, keys go in with send-keys and the screen comes back with
 * capture-pane. `close` kills that server and every process in it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { REPO_ROOT } from './processes.ts';

export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

export class Terminal {
  private readonly socket: string;
  private readonly session: string;

  /** Starts `args` (node and its arguments) in a fresh terminal of `columns` x `rows`. */
  constructor(name: string, command: readonly string[], env: Record<string, string> = {}, columns = 150, rows = 40) {
    this.socket = `cli-chat-test-${process.pid}-${name}`;
    this.session = name;
    const shellEnv = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
    // `exec` so the pane's process is the peer itself and ends the session when it exits.
    const line = `cd ${quote(REPO_ROOT)} && exec env ${shellEnv} ${command.map(quote).join(' ')}`;
    this.tmux('new-session', '-d', '-s', this.session, '-x', String(columns), '-y', String(rows), line);
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** Types text literally (no key names), then the named keys, e.g. `keys('/sh pr', 'Tab')`. */
  type(text: string, ...keys: string[]): void {
    if (text !== '') this.tmux('send-keys', '-t', this.session, '-l', text);
    if (keys.length > 0) this.tmux('send-keys', '-t', this.session, ...keys);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.session);
  }

  /** The last line with text on it: where the prompt and the typed line are. */
  promptLine(): string {
    return this.screen().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
  }

  running(): boolean {
    return spawnSync('tmux', ['-L', this.socket, 'has-session', '-t', this.session]).status === 0;
  }

  /** Polls the screen until `match` holds; throws with the screen at the deadline. */
  async waitFor(match: (screen: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.running() ? this.screen() : '';
      if (match(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async waitForExit(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running()) {
      if (Date.now() > deadline) throw new Error(`the program in terminal ${this.session} did not exit within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
