/**
 * The data file: leases and config survive a restart, expired leases do not, explicit
 * options win over stored config, and a file that cannot be read back stops the start.
 */
import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MAX_PEERS, DEFAULT_TTL_MS, routes } from '@cli-chat/bootstrap-api';
import type { ListResponse } from '@cli-chat/bootstrap-api';
import type { FastifyInstance } from 'fastify';
import { DATA_FILE_FORMAT } from '../src/data-file.ts';
import { testApp, testDir, testPeer } from './support.ts';

interface StoredFile {
  format: string;
  config: { maxPeers: number, ttlMs: number };
  registrations: { peerId: string, seq: number }[];
}

async function stored(file: string): Promise<StoredFile> {
  return JSON.parse(await readFile(file, 'utf8')) as StoredFile;
}

async function listed(app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: routes.list.path });
  return res.json<ListResponse>().peers.map((p) => p.peerId);
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('data file', () => {
  it('keeps leases and config across a restart', async () => {
    const dataFile = join(await testDir(), 'nested', 'registry.json');
    const peer = await testPeer();
    const record = await peer.signer.seal([]);
    const first = testApp({ dataFile, maxPeers: 4 });
    const joined = await first.inject({ method: 'POST', url: routes.join.path, payload: { record } });
    expect(joined.statusCode).toBe(200);
    await first.close();

    expect((await stored(dataFile)).registrations.map((r) => r.peerId)).toEqual([peer.peerId]);
    const second = testApp({ dataFile, adminToken: 't' });
    expect(await listed(second)).toEqual([peer.peerId]);
    const config = await second.inject({ method: 'GET', url: routes.getConfig.path, headers: { authorization: 'Bearer t' } });
    expect(config.json()).toEqual({ maxPeers: 4, ttlMs: DEFAULT_TTL_MS });
    // The stored sequence number still refuses a replay after the restart.
    const replay = await second.inject({ method: 'POST', url: routes.leave.path, payload: { record } });
    expect(replay.json()).toMatchObject({ error: { code: 'STALE_RECORD' } });
    expect(await listed(second)).toEqual([peer.peerId]);
  });

  it('writes a change in the background without waiting for close', async () => {
    const dataFile = join(await testDir(), 'registry.json');
    const peer = await testPeer();
    const app = testApp({ dataFile });
    await app.inject({ method: 'POST', url: routes.join.path, payload: { record: await peer.signer.seal([]) } });
    const deadline = Date.now() + 5000;
    let peers = (await stored(dataFile)).registrations.map((r) => r.peerId);
    while (peers.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      peers = (await stored(dataFile)).registrations.map((r) => r.peerId);
    }
    expect(peers).toEqual([peer.peerId]);
  });

  it('explicit options win over the stored config and are stored in turn', async () => {
    const dataFile = join(await testDir(), 'registry.json');
    await testApp({ dataFile, maxPeers: 4, ttlMs: 20_000 }).ready();
    const second = testApp({ dataFile, ttlMs: 30_000, adminToken: 't' });
    const config = await second.inject({ method: 'GET', url: routes.getConfig.path, headers: { authorization: 'Bearer t' } });
    expect(config.json()).toEqual({ maxPeers: 4, ttlMs: 30_000 });
    expect((await stored(dataFile)).config).toEqual({ maxPeers: 4, ttlMs: 30_000 });
  });

  it('drops leases that expired while the server was down', async () => {
    let now = 1_000_000_000_000;
    const dataFile = join(await testDir(), 'registry.json');
    const peer = await testPeer(() => now);
    const first = testApp({ dataFile, now: () => now, ttlMs: 10_000 });
    await first.inject({ method: 'POST', url: routes.join.path, payload: { record: await peer.signer.seal([]) } });
    await first.close();
    expect((await stored(dataFile)).registrations).toHaveLength(1);
    now += 10_000;
    const second = testApp({ dataFile, now: () => now });
    expect(await listed(second)).toEqual([]);
    expect((await stored(dataFile)).registrations).toEqual([]);
  });

  it('starts with the defaults and creates the file and its directory', async () => {
    const dataFile = join(await testDir(), 'fresh', 'deeper', 'registry.json');
    await testApp({ dataFile }).ready();
    expect(await stored(dataFile)).toEqual({
      format: DATA_FILE_FORMAT, config: { maxPeers: DEFAULT_MAX_PEERS, ttlMs: DEFAULT_TTL_MS }, registrations: []
    });
  });

  it('a corrupt or schema-invalid file is a startup error naming the file and the problem, and is left alone', async () => {
    const dir = await testDir();
    const registration = { peerId: '12D3KooWA', addrs: [], record: 'AAAA', registeredAt: 1, expiresAt: 2, seq: 1 };
    const cases: [string, string, RegExp][] = [
      ['truncated', `{"format": "${DATA_FILE_FORMAT}", `, /is not valid JSON/],
      ['empty', '', /is not valid JSON/],
      ['mistyped', JSON.stringify({ format: DATA_FILE_FORMAT, config: { maxPeers: 'eight', ttlMs: 60000 }, registrations: [] }),
        /file\/config\/maxPeers must be integer/],
      ['other format', JSON.stringify({ format: 'something-else/2', config: { maxPeers: 8, ttlMs: 60000 }, registrations: [] }), /file\/format/],
      ['duplicate', JSON.stringify({ format: DATA_FILE_FORMAT, config: { maxPeers: 8, ttlMs: 60000 }, registrations: [registration, registration] }),
        /lists peer 12D3KooWA twice/]
    ];
    for (const [name, content, problem] of cases) {
      const dataFile = join(dir, `${name}.json`);
      await writeFile(dataFile, content);
      const start = testApp({ dataFile }).ready();
      await expect(start, name).rejects.toThrow(new RegExp(`^bootstrap data file ${escaped(dataFile)} `));
      await expect(start, name).rejects.toThrow(problem);
      expect(await readFile(dataFile, 'utf8'), name).toBe(content);
    }
  });
});
