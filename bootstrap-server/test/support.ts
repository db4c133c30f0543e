/**
 * Helpers of the server's tests: apps and temporary directories that are cleaned up
 * after each test whatever happened, and signed records from fresh keys.
 */
import { afterEach } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { RecordSigner, verifyRecord } from '@cli-chat/bootstrap-api';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/index.ts';
import type { ServerOptions } from '../src/index.ts';

const apps: FastifyInstance[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A server built for this test and closed after it. */
export function testApp(options: ServerOptions = {}): FastifyInstance {
  const app = buildServer(options);
  apps.push(app);
  return app;
}

/** A temporary directory removed after this test. */
export async function testDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bootstrap-server-test-'));
  dirs.push(dir);
  return dir;
}

/** A fresh peer: its ID and a signer for its records, optionally on an injected clock. */
export async function testPeer(now: () => number = Date.now): Promise<{ peerId: string, signer: RecordSigner }> {
  const signer = new RecordSigner(await generateKeyPair('Ed25519'), now);
  const { peerId } = await verifyRecord(await signer.seal([]), { now: now() });
  return { peerId, signer };
}
