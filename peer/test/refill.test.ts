/**
 * A stale bootstrap set is refilled: with a set of two whose peers both crashed (their
 * leases still run), a newcomer is not admitted, finds every seed dead, and refills the
 * set through the API, so that the set holds a live peer again long before the dead
 * leases expire. Real processes, as in e2e.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapClient } from '@cli-chat/bootstrap-api';
import type { PeerEvent } from '../src/events.ts';
import { killAll, startBootstrapServer, startPeer } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';

const dirs: string[] = [];

afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function start(nick: string, url: string): Promise<{ proc: PeerProc, id: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-refill-'));
  dirs.push(dir);
  const proc = startPeer(['--nick', nick, '--bootstrap', url, '--no-host-bootstrap', '--data-dir', dir]);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`) as Extract<PeerEvent, { type: 'ready' }>;
  return { proc, id: ready.peerId };
}

const bootstrapState = (state: string) => (e: PeerEvent): boolean => e.type === 'bootstrap' && e.state === state;

describe('a stale bootstrap set', () => {
  it('is refilled by a newcomer that finds all its peers dead', async () => {
    // A long lease, so that only a refill, never an expiry, can free a place in the set.
    const { url } = await startBootstrapServer(['--no-data-file', '--max-peers', '2', '--ttl', '600']);
    const api = new BootstrapClient({ baseUrl: url });
    const a = await start('a', url);
    const b = await start('b', url);
    for (const peer of [a, b]) await peer.proc.waitFor(bootstrapState('registered'), 'registered');
    await b.proc.waitFor((e) => e.type === 'member-joined' && e.peerId === a.id, 'b to know a');

    for (const peer of [a, b]) peer.proc.kill('SIGKILL');
    await Promise.all([a.proc.exited, b.proc.exited]);
    expect((await api.list()).peers.map((p) => p.peerId).sort()).toEqual([a.id, b.id].sort());

    const c = await start('c', url);
    // The set is full of dead peers: c is not admitted at first ...
    await c.proc.waitFor(bootstrapState('full'), 'c told the set is full');
    // ... finds both seeds unreachable, refills, and is in the set in place of the newest, b.
    await c.proc.waitFor(bootstrapState('registered'), 'c registered by a refill');
    expect((await api.list()).peers.map((p) => p.peerId).sort()).toEqual([a.id, c.id].sort());
  }, 60_000);
});
