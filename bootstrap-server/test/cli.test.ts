/** The command line, parsed in-process: defaults, environment, and a refusal for every bad value. */
import { afterEach, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { CommanderError } from 'commander';
import { DEFAULT_HOST, DEFAULT_PORT } from '@cli-chat/bootstrap-api';
import { parseCommandLine } from '../src/cli.ts';
import type { CommandLine } from '../src/cli.ts';
import { DEFAULT_DATA_FILE, DEFAULT_RATE_LIMIT_PER_MINUTE, DEFAULT_VERIFY_THREADS } from '../src/constants.ts';

const ENV_VARS = [
  'BOOTSTRAP_HOST', 'BOOTSTRAP_PORT', 'BOOTSTRAP_ADMIN_TOKEN', 'BOOTSTRAP_DATA_FILE', 'BOOTSTRAP_VERIFY_THREADS', 'BOOTSTRAP_RATE_LIMIT',
  'BOOTSTRAP_LOG_LEVEL'
];
const savedEnv = Object.fromEntries(ENV_VARS.map((name) => [name, process.env[name]]));
for (const name of ENV_VARS) delete process.env[name];

afterEach(() => {
  for (const name of ENV_VARS) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

function parse(...args: string[]): CommandLine {
  return parseCommandLine(['node', 'main.ts', ...args], { writeOut: () => {}, writeErr: () => {} });
}

/** The message commander printed and the exit code it asked for. */
function refusal(...args: string[]): { exitCode: number, message: string } {
  let message = '';
  try {
    parseCommandLine(['node', 'main.ts', ...args], { writeOut: () => {}, writeErr: (text) => { message += text; } });
  } catch (err) {
    if (err instanceof CommanderError) return { exitCode: err.exitCode, message };
    throw err;
  }
  throw new Error(`${args.join(' ')} was accepted`);
}

describe('bootstrap-server command line', () => {
  it('has defaults for everything but the admin token and the config', () => {
    expect(parse()).toEqual({
      start: {
        host: DEFAULT_HOST, port: DEFAULT_PORT, rateLimitPerMinute: DEFAULT_RATE_LIMIT_PER_MINUTE, dataFile: resolve(DEFAULT_DATA_FILE),
        verifyThreads: DEFAULT_VERIFY_THREADS
      },
      logLevel: 'info'
    });
  });

  it('reads every flag', () => {
    const { start, logLevel } = parse('--host', '0.0.0.0', '--port', '0', '--admin-token', 's3cret', '--data-file', 'x/y.json',
      '--ttl', '2.5', '--max-peers', '12', '--rate-limit', '0', '--verify-threads', '3', '--log-level', 'debug');
    expect(start).toEqual({
      host: '0.0.0.0', port: 0, adminToken: 's3cret', dataFile: resolve('x/y.json'), ttlMs: 2500, maxPeers: 12, rateLimitPerMinute: 0,
      verifyThreads: 3
    });
    expect(logLevel).toBe('debug');
  });

  it('keeps the registry in memory with --no-data-file or an empty --data-file', () => {
    expect(parse('--no-data-file').start.dataFile).toBeUndefined();
    expect(parse('--data-file', '').start.dataFile).toBeUndefined();
  });

  it('takes host, port, token and data file from the environment, flags first', () => {
    process.env.BOOTSTRAP_HOST = '127.0.0.2';
    process.env.BOOTSTRAP_PORT = '9999';
    process.env.BOOTSTRAP_ADMIN_TOKEN = 'from-env';
    process.env.BOOTSTRAP_DATA_FILE = '';
    process.env.BOOTSTRAP_VERIFY_THREADS = '0';
    expect(parse().start).toEqual({
      host: '127.0.0.2', port: 9999, adminToken: 'from-env', rateLimitPerMinute: DEFAULT_RATE_LIMIT_PER_MINUTE, verifyThreads: 0
    });
    expect(parse('--port', '7000').start.port).toBe(7000);
  });

  it('refuses every bad value naming the flag, for exit code 2', () => {
    const cases: string[][] = [
      ['--port', 'http'], ['--port', '65536'], ['--port', '-1'], ['--port', '80.5'], ['--host', ' '],
      ['--ttl', '1'], ['--ttl', '3601'], ['--ttl', 'soon'], ['--max-peers', '0'], ['--max-peers', '1001'],
      ['--rate-limit', '-5'], ['--rate-limit', 'lots'], ['--verify-threads', '-1'], ['--verify-threads', '17'], ['--log-level', 'loud'], ['--frobnicate']
    ];
    for (const args of cases) {
      const { exitCode, message } = refusal(...args);
      expect(exitCode, args.join(' ')).not.toBe(0);
      expect(message, args.join(' ')).toContain(args[0]);
    }
    process.env.BOOTSTRAP_PORT = 'eighty';
    expect(refusal().message).toContain('BOOTSTRAP_PORT');
  });

  it('--help exits 0', () => {
    expect(refusal('--help').exitCode).toBe(0);
  });
});
