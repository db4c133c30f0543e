/**
 * Direct messages between peer processes: delivery with acknowledgement, the error for a
 * nick nobody has, and the outbox across a recipient's restart on the same data dir.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startBootstrapServer, startPeer } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Ready = Extract<PeerEvent, { type: 'ready' }>;

describe('direct messages', () => {
  it('are acknowledged, refused for an unknown nick, and wait in the outbox for a stopped recipient', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-dm-'));
    dirs.push(dir);
    const start = (nick: string) => startPeer(['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, nick)]);
    const alice = start('alice');
    let bob = start('bob');
    const [, bobId] = await Promise.all([alice, bob].map(async (p) => (await p.waitFor((e) => e.type === 'ready', 'ready') as Ready).peerId));
    await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === bobId, 'alice to see bob');

    alice.write('/msg bob hello bob');
    const dm = await bob.waitFor((e) => e.type === 'dm', 'bob to get the message');
    expect(dm).toMatchObject({ type: 'dm', nick: 'alice', text: 'hello bob' });
    await alice.waitFor((e) => e.type === 'dm-delivered' && e.to === bobId && !e.queued, 'the acknowledgement');

    alice.write('/msg nobody hi');
    await alice.waitFor((e) => e.type === 'error' && e.message.includes('no member is called nobody'), 'the unknown-nick error');

    bob.write('/quit');
    expect((await bob.exited).code).toBe(0);
    await alice.waitFor((e) => e.type === 'member-left' && e.peerId === bobId, 'alice to see bob leave');
    alice.write('/msg bob while you were away');
    await alice.waitFor((e) => e.type === 'dm-queued' && e.to === bobId, 'the message to be queued');

    bob = start('bob');
    const queued = await bob.waitFor((e) => e.type === 'dm' && e.text === 'while you were away', 'bob to get the queued message', 30_000);
    expect(queued).toMatchObject({ nick: 'alice' });
    await alice.waitFor((e) => e.type === 'dm-delivered' && e.to === bobId && e.queued, 'delivery from the outbox', 30_000);
    alice.write('/show outbox');
    await alice.waitFor((e) => e.type === 'info' && e.message === 'the outbox is empty', 'an empty outbox');
    // Exactly once, whatever retries happened.
    expect(bob.items.filter((e) => e.type === 'dm' && e.text === 'while you were away')).toHaveLength(1);
    for (const p of [alice, bob]) p.write('/quit');
    for (const p of [alice, bob]) expect((await p.exited).code).toBe(0);
  }, 90_000);
});
