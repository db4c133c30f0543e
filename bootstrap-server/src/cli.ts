/**
 * The command line of the bootstrap server: flags, their environment variables and
 * defaults, checked into `StartOptions`. A bad value is refused here with a message
 * naming the flag, before anything starts.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_HOST, DEFAULT_MAX_PEERS, DEFAULT_PORT, DEFAULT_TTL_MS, MAX_MAX_PEERS, MAX_TTL_MS, MIN_MAX_PEERS, MIN_TTL_MS
} from '@cli-chat/bootstrap-api';
import type { StartOptions } from './index.ts';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_DATA_FILE, DEFAULT_RATE_LIMIT_PER_MINUTE, DEFAULT_VERIFY_THREADS, MAX_VERIFY_THREADS } from './constants.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

export interface CommandLine {
  start: StartOptions;
  logLevel: LogLevel;
}

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** Seconds on the command line (people think of leases in seconds), whole milliseconds inside. */
function ttlSeconds(value: string): number {
  const ms = Math.round(Number(value) * 1000);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || ms < MIN_TTL_MS || ms > MAX_TTL_MS) {
    throw new InvalidArgumentError(`expected seconds from ${MIN_TTL_MS / 1000} to ${MAX_TTL_MS / 1000}.`);
  }
  return ms;
}

function host(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a host name or IP address.');
  return value.trim();
}

function program(): Command {
  return new Command('bootstrap-server')
    .usage('[options]')
    .version(pkg.version, '-V, --version', 'print the version and exit')
    .description('Local backend of the cli-chat bootstrap data API (Fastify). Logs are JSON lines on stderr.')
    .addOption(new Option('--host <host>', 'address to listen on').env('BOOTSTRAP_HOST').default(DEFAULT_HOST).argParser(host))
    .addOption(new Option('--port <port>', 'TCP port; 0 picks a free one').env('BOOTSTRAP_PORT').default(DEFAULT_PORT)
      .argParser(wholeNumber(0, 65535)))
    .addOption(new Option('--admin-token <token>', 'enables reset and config for this bearer token (the environment keeps it out of `ps`)')
      .env('BOOTSTRAP_ADMIN_TOKEN'))
    .addOption(new Option('--data-file <path>', "keeps leases across restarts; '' for memory only").env('BOOTSTRAP_DATA_FILE')
      .default(DEFAULT_DATA_FILE))
    .addOption(new Option('--no-data-file', 'keep the registry in memory only'))
    .addOption(new Option('--ttl <seconds>', `lease length; overrides the data file's (default ${DEFAULT_TTL_MS / 1000})`)
      .argParser(ttlSeconds))
    .addOption(new Option('--max-peers <n>', `size of the bootstrap set; overrides the data file's (default ${DEFAULT_MAX_PEERS})`)
      .argParser(wholeNumber(MIN_MAX_PEERS, MAX_MAX_PEERS)))
    .addOption(new Option('--rate-limit <n>', 'requests per minute per client IP; 0 turns it off').env('BOOTSTRAP_RATE_LIMIT')
      .default(DEFAULT_RATE_LIMIT_PER_MINUTE)
      .argParser(wholeNumber(0, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--verify-threads <n>', 'worker threads that check signatures; 0 checks on the event loop')
      .env('BOOTSTRAP_VERIFY_THREADS').default(DEFAULT_VERIFY_THREADS).argParser(wholeNumber(0, MAX_VERIFY_THREADS)))
    .addOption(new Option('--log-level <level>', 'log detail: trace, debug and info log every request; warn and quieter only what goes wrong')
      .env('BOOTSTRAP_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
    .showHelpAfterError('(bootstrap-server --help lists every flag)')
    .exitOverride();
}

interface Flags {
  host: string;
  port: number;
  adminToken?: string;
  dataFile: string | false;
  ttl?: number;
  maxPeers?: number;
  rateLimit: number;
  verifyThreads: number;
  logLevel: LogLevel;
}

/** Where help and error messages go; stdout and stderr unless a test catches them. */
export interface CommandLineOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/**
 * Parses `argv` (as `process.argv`). Throws commander's `CommanderError` after printing
 * its message: exit code 0 for --help, otherwise the caller should exit with 2.
 */
export function parseCommandLine(argv: string[], output?: CommandLineOutput): CommandLine {
  const command = program();
  if (output) command.configureOutput(output);
  const flags = command.parse(argv).opts<Flags>();
  const start: StartOptions = {
    host: flags.host,
    port: flags.port,
    rateLimitPerMinute: flags.rateLimit,
    verifyThreads: flags.verifyThreads,
    ...(flags.adminToken ? { adminToken: flags.adminToken } : {}),
    ...(flags.dataFile ? { dataFile: resolve(flags.dataFile) } : {}),
    ...(flags.ttl !== undefined ? { ttlMs: flags.ttl } : {}),
    ...(flags.maxPeers !== undefined ? { maxPeers: flags.maxPeers } : {})
  };
  return { start, logLevel: flags.logLevel };
}
