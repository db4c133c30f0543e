/**
 * `npm run functions` as a developer runs it: a real process that starts the emulator and
 * the Functions Framework, prints the base URL, serves the API, and on SIGTERM stops
 * both and exits 0, leaving no emulator behind.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BootstrapClient } from '@cli-chat/bootstrap-api';

const MAIN = fileURLToPath(new URL('../src/dev/main.ts', import.meta.url));
const START_DEADLINE_MS = 90_000;

describe('npm run functions', () => {
  it('serves every endpoint under one base URL and shuts everything down on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, '--port', '0'], {
      env: { ...process.env, BOOTSTRAP_ADMIN_TOKEN: 'local-token', FIRESTORE_EMULATOR_HOST: '', GOOGLE_CLOUD_PROJECT: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    try {
      const baseUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within ${START_DEADLINE_MS} ms; stderr: ${stderr}`)), START_DEADLINE_MS);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
          if (url && stdout.includes('bootstrap-cloud.url')) {
            clearTimeout(timer);
            resolve(url);
          }
        });
        void exited.then((code) => reject(new Error(`exited with ${code} before serving; stderr: ${stderr}`)));
      });
      expect(stdout).toContain(`export BOOTSTRAP_CLOUD_URL=${baseUrl}`);
      const emulatorHost = /Firestore emulator on (127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      expect(emulatorHost).toBeDefined();

      const client = new BootstrapClient({ baseUrl, adminToken: 'local-token', retries: 0 });
      expect((await client.ping()).backend).toBe('functions');
      expect(await client.list()).toEqual({ peers: [], ttlMs: expect.any(Number) });
      expect(await client.reset()).toEqual({ removed: 0 });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The emulator (a JVM in its own process group) went down with it.
      await expect(fetch(`http://${emulatorHost}/`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
  }, START_DEADLINE_MS + 30_000);
});
