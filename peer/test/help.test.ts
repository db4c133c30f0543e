/** --help and --version of both commands a user runs, as processes: text on stdout, exit code 0. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/processes.ts';
import { VERSION } from '../src/version.ts';

const run = promisify(execFile);

async function cli(script: string, ...args: string[]): Promise<{ stdout: string, code: number }> {
  try {
    const { stdout } = await run(process.execPath, [script, ...args], { cwd: REPO_ROOT, timeout: 15_000 });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout: string, code: number };
    return { stdout: e.stdout, code: e.code };
  }
}

describe('--help and --version', () => {
  it('document every flag with its default and environment variable, and exit 0', async () => {
    const [peer, server] = await Promise.all([cli('peer/src/main.ts', '--help'), cli('bootstrap-server/src/main.ts', '--help')]);
    expect(peer.code).toBe(0);
    expect(peer.stdout).toMatch(/^Usage: cli-chat \[options\]/);
    // Commander wraps help to the terminal's width.
    const text = peer.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('(default: "http://127.0.0.1:8080", env: BOOTSTRAP_DATA_SERVER)');
    expect(text).toMatch(/--manual step by step/);
    expect(text).toMatch(/--log-level <level> .* default: "warn", env: CLI_CHAT_LOG_LEVEL\)/);
    expect(server.code).toBe(0);
    expect(server.stdout).toMatch(/^Usage: bootstrap-server \[options\]/);
    expect(server.stdout.replace(/\s+/g, ' ')).toContain('(default: 8080, env: BOOTSTRAP_PORT)');
  });

  it('print the version', async () => {
    const [peer, server] = await Promise.all([cli('peer/src/main.ts', '--version'), cli('bootstrap-server/src/main.ts', '--version')]);
    expect(peer).toEqual({ stdout: `${VERSION}\n`, code: 0 });
    expect(server.code).toBe(0);
    expect(server.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('refuse a bad flag with exit code 2', async () => {
    expect((await cli('peer/src/main.ts', '--manual', '--room', 'x')).code).toBe(2);
    expect((await cli('bootstrap-server/src/main.ts', '--port', 'x')).code).toBe(2);
  });
});
