/**
 * The function's configuration, from the environment only (Cloud Functions passes its
 * settings that way; no secret lives in the repository). A bad value stops the instance
 * at load time with a message naming the variable, rather than failing requests later.
 */
import {
  DEFAULT_MAX_PEERS, DEFAULT_TTL_MS, MAX_MAX_PEERS, MAX_TTL_MS, MIN_MAX_PEERS, MIN_TTL_MS
} from '@cli-chat/bootstrap-api';
import type { Config } from '@cli-chat/bootstrap-api';

/** The variables, named as the Fastify server's (`--admin-token` is BOOTSTRAP_ADMIN_TOKEN there too). */
export const ENV = {
  adminToken: 'BOOTSTRAP_ADMIN_TOKEN',
  ttl: 'BOOTSTRAP_TTL',
  maxPeers: 'BOOTSTRAP_MAX_PEERS',
  project: 'GOOGLE_CLOUD_PROJECT',
  legacyProject: 'GCLOUD_PROJECT',
  emulatorHost: 'FIRESTORE_EMULATOR_HOST'
} as const;

export interface FunctionsConfig {
  /** Absent on Cloud Functions, where the Firestore client finds the project itself. */
  projectId: string | undefined;
  /** `host:port` of the Firestore emulator; absent means real Firestore. */
  emulatorHost: string | undefined;
  /** Without one, reset and config answer 403 ADMIN_DISABLED. */
  adminToken: string | undefined;
  /**
   * The registry config until the first PUT /config writes the config document; from
   * then on the document decides, on every instance alike.
   */
  initialConfig: Config;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

/** Seconds, as the server's `--ttl`: people think of leases in seconds; whole milliseconds inside. */
function ttlMs(env: NodeJS.ProcessEnv): number {
  const value = nonEmpty(env, ENV.ttl);
  if (value === undefined) return DEFAULT_TTL_MS;
  const ms = Math.round(Number(value) * 1000);
  if (!/^\d+(\.\d+)?$/.test(value) || ms < MIN_TTL_MS || ms > MAX_TTL_MS) {
    throw new ConfigError(`${ENV.ttl}=${value}: expected seconds from ${MIN_TTL_MS / 1000} to ${MAX_TTL_MS / 1000}`);
  }
  return ms;
}

function maxPeers(env: NodeJS.ProcessEnv): number {
  const value = nonEmpty(env, ENV.maxPeers);
  if (value === undefined) return DEFAULT_MAX_PEERS;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < MIN_MAX_PEERS || n > MAX_MAX_PEERS) {
    throw new ConfigError(`${ENV.maxPeers}=${value}: expected a whole number from ${MIN_MAX_PEERS} to ${MAX_MAX_PEERS}`);
  }
  return n;
}

function emulatorHost(env: NodeJS.ProcessEnv): string | undefined {
  const value = nonEmpty(env, ENV.emulatorHost);
  if (value !== undefined && !/^[^\s:/]+:\d{1,5}$/.test(value)) {
    throw new ConfigError(`${ENV.emulatorHost}=${value}: expected host:port, e.g. 127.0.0.1:8085`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv): FunctionsConfig {
  const projectId = nonEmpty(env, ENV.project) ?? nonEmpty(env, ENV.legacyProject);
  const emulator = emulatorHost(env);
  // Against the emulator the client cannot ask the metadata server which project it is in.
  if (emulator !== undefined && projectId === undefined) {
    throw new ConfigError(`${ENV.emulatorHost} is set, so ${ENV.project} must name the (emulated) project, e.g. demo-cli-chat`);
  }
  return {
    projectId,
    emulatorHost: emulator,
    adminToken: nonEmpty(env, ENV.adminToken),
    initialConfig: { maxPeers: maxPeers(env), ttlMs: ttlMs(env) }
  };
}
