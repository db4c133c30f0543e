/**
 * The bootstrap lease while the API is down and when it returns: its retries are capped
 * at the renewal period the API granted, so a peer is registered again within one lease
 * period of the server's return, however long the outage. The real Fastify server, on
 * loopback, stopped and started again on the same port.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { BootstrapClient, MIN_TTL_MS, RecordSigner } from '@cli-chat/bootstrap-api';
import { startServer } from '@cli-chat/bootstrap-server';
import type { RunningServer } from '@cli-chat/bootstrap-server';
import { BootstrapLease, retryDelayMs } from '../src/seeding/lease.ts';
import type { LeaseStatus } from '../src/seeding/lease.ts';
import { freePort } from './support/processes.ts';

const TTL_MS = Math.max(MIN_TTL_MS, 3_000);
let server: RunningServer | undefined;
let lease: BootstrapLease | undefined;

afterAll(async () => {
  await lease?.stop();
  await server?.close();
});

describe('retry delays of the bootstrap lease', () => {
  it('double from half a second, capped at 5 s, and at the renewal period once one was granted', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => retryDelayMs(n, undefined))).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect([1, 2, 3, 4, 1000].map((n) => retryDelayMs(n, 1500))).toEqual([500, 1000, 1500, 1500, 1500]);
    expect(retryDelayMs(3, 20_000)).toBe(2000);
  });
});

describe('the bootstrap lease across an outage', () => {
  it('registers again within one lease period of the server coming back', async () => {
    const port = await freePort();
    const start = (): Promise<RunningServer> => startServer({ host: '127.0.0.1', port, ttlMs: TTL_MS });
    server = await start();
    const client = new BootstrapClient({ baseUrl: server.url, timeoutMs: 1000, retries: 0 });
    let attempts = 0;
    const statuses: { at: number, status: LeaseStatus }[] = [];
    // Woken by every attempt and every status, so waits end on the event itself.
    const waiters = new Set<() => void>();
    const notify = (): void => { for (const check of [...waiters]) check(); };
    const waitFor = (what: string, holds: () => boolean, timeoutMs: number): Promise<void> => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      const check = (): void => {
        if (!holds()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
    const counted = new Proxy(client, {
      get(target, name, receiver) {
        if (name === 'join') {
          attempts++;
          queueMicrotask(notify);
        }
        return Reflect.get(target, name, receiver) as unknown;
      }
    });
    const key = await generateKeyPair('Ed25519');
    lease = new BootstrapLease({
      client: counted, signer: new RecordSigner(key), addrs: () => ['/ip4/127.0.0.1/tcp/4001'],
      onSeeds: () => {}, isStale: () => false, onStatus: (status) => { statuses.push({ at: Date.now(), status }); notify(); },
      log: pino({ level: 'silent' })
    });
    expect((await lease.start()).state).toBe('registered');

    await server.close();
    server = undefined;
    await waitFor('the lease to find the server gone', () => statuses.some((s) => s.status.state === 'unreachable'), 2 * TTL_MS);
    // Long enough down that an uncapped doubling (0.5, 1, 2, 4, 8 s ...) would wait past a lease period.
    const failedBefore = attempts;
    await waitFor('five failed retries', () => attempts >= failedBefore + 5, 10 * TTL_MS);
    server = await start();
    const back = Date.now();
    const api = new BootstrapClient({ baseUrl: server.url });
    const self = peerIdFromPrivateKey(key).toString();
    await waitFor('the lease to register again', () => statuses.at(-1)?.status.state === 'registered', TTL_MS);
    expect((await api.list()).peers.map((p) => p.peerId)).toContain(self);
    // Within one lease period: the retries wait at most TTL / RENEWALS_PER_TTL, then one answer.
    expect(statuses.at(-1)!.at - back).toBeLessThan(TTL_MS);
  }, 40_000);
});
