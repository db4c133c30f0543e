/** The function's configuration from the environment, and the emulator's loud failure when it is missing. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PEERS, DEFAULT_TTL_MS } from '@cli-chat/bootstrap-api';
import { ConfigError, loadConfig } from '../src/config.ts';
import { EMULATOR_BINARY_ENV, EmulatorError, findEmulatorBinary, startFirestoreEmulator } from '../src/dev/firestore-emulator.ts';

describe('configuration from the environment', () => {
  it('defaults: no admin token, the API\'s default set size and lease, the project found by the client', () => {
    expect(loadConfig({})).toEqual({
      projectId: undefined, emulatorHost: undefined, adminToken: undefined,
      initialConfig: { maxPeers: DEFAULT_MAX_PEERS, ttlMs: DEFAULT_TTL_MS }
    });
  });

  it('reads the token, TTL seconds, set size, project and emulator', () => {
    expect(loadConfig({
      BOOTSTRAP_ADMIN_TOKEN: ' secret\n', BOOTSTRAP_TTL: '2.5', BOOTSTRAP_MAX_PEERS: '3', GCLOUD_PROJECT: 'p', FIRESTORE_EMULATOR_HOST: '127.0.0.1:9000'
    })).toEqual({ projectId: 'p', emulatorHost: '127.0.0.1:9000', adminToken: 'secret', initialConfig: { maxPeers: 3, ttlMs: 2500 } });
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'a', GCLOUD_PROJECT: 'b' }).projectId).toBe('a');
  });

  it('refuses bad values, naming the variable and the range', () => {
    expect(() => loadConfig({ BOOTSTRAP_TTL: '1' })).toThrow(/BOOTSTRAP_TTL=1: expected seconds from 2 to 3600/);
    expect(() => loadConfig({ BOOTSTRAP_TTL: 'soon' })).toThrow(ConfigError);
    expect(() => loadConfig({ BOOTSTRAP_MAX_PEERS: '0' })).toThrow(/BOOTSTRAP_MAX_PEERS=0: expected a whole number from 1 to 1000/);
    expect(() => loadConfig({ BOOTSTRAP_MAX_PEERS: '2.5' })).toThrow(/BOOTSTRAP_MAX_PEERS/);
    expect(() => loadConfig({ FIRESTORE_EMULATOR_HOST: 'http://x', GOOGLE_CLOUD_PROJECT: 'p' })).toThrow(/FIRESTORE_EMULATOR_HOST=http:\/\/x: expected host:port/);
    expect(() => loadConfig({ FIRESTORE_EMULATOR_HOST: '127.0.0.1:9000' })).toThrow(/GOOGLE_CLOUD_PROJECT must name/);
  });
});

describe('a missing Firestore emulator', () => {
  it('is an error naming where it looked and how to install it', () => {
    const error = (() => {
      try {
        findEmulatorBinary({}, () => ['/nowhere/sdk']);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(EmulatorError);
    expect((error as Error).message).toMatch(/\/nowhere\/sdk\/platform\/cloud-firestore-emulator\/cloud_firestore_emulator/);
    expect((error as Error).message).toMatch(/gcloud components install cloud-firestore-emulator/);
    expect((error as Error).message).toMatch(/google-cloud-cli-firestore-emulator/);
  });

  it('an override naming no file fails the start, not a fallback', async () => {
    await expect(startFirestoreEmulator({ env: { [EMULATOR_BINARY_ENV]: '/nowhere/cloud_firestore_emulator' } }))
      .rejects.toThrow(/FIRESTORE_EMULATOR_BINARY=\/nowhere\/cloud_firestore_emulator, but there is no file there/);
  });
});
