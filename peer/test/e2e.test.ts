/**
 * End to end, as a user runs it: the bootstrap server and peer processes started with
 * the README's entry points, driven through stdin with --json, killed with real signals.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapClient } from '@cli-chat/bootstrap-api';
import { freePort, killAll, startBootstrapServer, startPeer, warmUp } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-e2e-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Message = Extract<PeerEvent, { type: 'message' }>;
const isMessage = (e: PeerEvent): e is Message => e.type === 'message';

async function ready(peer: PeerProc): Promise<Extract<PeerEvent, { type: 'ready' }>> {
  return await peer.waitFor((e) => e.type === 'ready', 'ready') as Extract<PeerEvent, { type: 'ready' }>;
}

/**
 * Gossipsub needs a moment to learn who subscribes to a room; until then a message may
 * reach nobody. Send numbered warm-up lines until every receiver has one, so the real
 * assertions below start from a formed mesh.
 */
function received(peer: PeerProc, text: string): Message[] {
  return peer.items.filter(isMessage).filter((m) => m.text === text);
}

describe('peers chatting through the local bootstrap server', () => {
  it('delivers each message once, survives a SIGKILLed peer, and keeps identity across restarts', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const [aliceDir, bobDir, carolDir] = await Promise.all([tempDir(), tempDir(), tempDir()]);
    const alice = startPeer(['--nick', 'alice', '--bootstrap', url, '--data-dir', aliceDir]);
    const bob = startPeer(['--nick', 'bob', '--bootstrap', url, '--data-dir', bobDir]);
    const carol = startPeer(['--nick', 'carol', '--bootstrap', url, '--data-dir', carolDir]);
    const [a, b, c] = await Promise.all([ready(alice), ready(bob), ready(carol)]);
    expect(new Set([a.peerId, b.peerId, c.peerId]).size).toBe(3);
    expect(a.room).toBe('lobby');

    // Membership: everyone learns of everyone.
    for (const [peer, others] of [[alice, [b, c]], [bob, [a, c]], [carol, [a, b]]] as const) {
      for (const other of others) {
        await peer.waitFor((e) => e.type === 'member-joined' && e.peerId === other.peerId, `member-joined ${other.nick}`);
      }
    }
    await warmUp(alice, [bob, carol], 'a');
    await warmUp(bob, [alice, carol], 'b');
    for (let i = 0; i < 5; i++) alice.write(`from alice ${i}`);
    bob.write('from bob');
    for (const [peer, text] of [[bob, 'from alice 4'], [carol, 'from alice 4'], [alice, 'from bob'], [carol, 'from bob']] as const) {
      await peer.waitFor((e) => isMessage(e) && e.text === text, `"${text}"`);
    }
    for (let i = 0; i < 5; i++) {
      for (const peer of [bob, carol]) {
        const got = received(peer, `from alice ${i}`);
        expect(got).toHaveLength(1);
        expect(got[0]).toMatchObject({ room: 'lobby', from: a.peerId, nick: 'alice' });
      }
      // A peer's own messages come back as `sent`, never as `message`.
      expect(received(alice, `from alice ${i}`)).toHaveLength(0);
      expect(alice.items.some((e) => e.type === 'sent' && e.text === `from alice ${i}`)).toBe(true);
    }

    carol.kill('SIGKILL');
    expect((await carol.exited).signal).toBe('SIGKILL');
    await alice.waitFor((e) => e.type === 'peer-disconnected' && e.peerId === c.peerId, 'alice to see carol go');
    // A crash is a failure, not a leave, for every survivor.
    for (const peer of [alice, bob]) {
      await peer.waitFor((e) => e.type === 'member-failed' && e.peerId === c.peerId, 'member-failed carol');
      expect(peer.items.some((e) => e.type === 'member-left' && e.peerId === c.peerId)).toBe(false);
    }
    alice.write('after the crash');
    bob.write('still here');
    await bob.waitFor((e) => isMessage(e) && e.text === 'after the crash', 'bob to get alice after the crash');
    await alice.waitFor((e) => isMessage(e) && e.text === 'still here', 'alice to get bob after the crash');

    const carolAgain = startPeer(['--nick', 'carol', '--bootstrap', url, '--data-dir', carolDir]);
    expect((await ready(carolAgain)).peerId).toBe(c.peerId);
    await warmUp(alice, [carolAgain], 'rejoin');

    bob.write('/members');
    await bob.waitFor((e) => e.type === 'info' && e.message.includes('STATE') && e.message.includes('alice'), '/members table');
    bob.write('/quit');
    expect((await bob.exited).code).toBe(0);
    // A graceful leave is reported as such, never as a failure.
    await alice.waitFor((e) => e.type === 'member-left' && e.peerId === b.peerId, 'member-left bob');
    expect(alice.items.some((e) => e.type === 'member-failed' && e.peerId === b.peerId)).toBe(false);
    const listed = await new BootstrapClient({ baseUrl: url }).list();
    expect(listed.peers.map((p) => p.peerId)).not.toContain(b.peerId);
  }, 90_000);

  it('declares a frozen (SIGSTOPped) peer failed, and takes it back after SIGCONT', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const alice = startPeer(['--nick', 'alice', '--bootstrap', url, '--data-dir', await tempDir()]);
    const bob = startPeer(['--nick', 'bob', '--bootstrap', url, '--data-dir', await tempDir()]);
    const carol = startPeer(['--nick', 'carol', '--bootstrap', url, '--data-dir', await tempDir()]);
    const [, , c] = await Promise.all([ready(alice), ready(bob), ready(carol)]);
    for (const peer of [alice, bob]) {
      await peer.waitFor((e) => e.type === 'member-joined' && e.peerId === c.peerId, 'member-joined carol');
    }
    // A frozen process closes nothing: only membership probing can notice it.
    carol.kill('SIGSTOP');
    for (const peer of [alice, bob]) {
      await peer.waitFor((e) => e.type === 'member-failed' && e.peerId === c.peerId, 'member-failed carol', 20_000);
    }
    const failedAt = alice.items.length;
    carol.kill('SIGCONT');
    // Back from the dead: carol refutes with a newer incarnation and is a member again.
    await alice.waitFor((e) => alice.items.indexOf(e) >= failedAt && (e.type === 'member-joined' || e.type === 'member-alive') &&
      'peerId' in e && e.peerId === c.peerId, 'carol back after SIGCONT', 20_000);
    await warmUp(carol, [alice, bob], 'thawed');
  }, 90_000);

  it('keeps rooms apart and reports bad commands without changing state', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const alice = startPeer(['--nick', 'alice', '--bootstrap', url, '--data-dir', await tempDir()]);
    const bob = startPeer(['--nick', 'bob', '--bootstrap', url, '--data-dir', await tempDir(), '--room', 'other']);
    await Promise.all([ready(alice), ready(bob)]);
    bob.write('/join lobby');
    await bob.waitFor((e) => e.type === 'room-joined' && e.room === 'lobby', 'bob to join lobby');
    await warmUp(alice, [bob], 'rooms');
    bob.write('/leave lobby');
    await bob.waitFor((e) => e.type === 'room-left' && e.room === 'lobby', 'bob to leave lobby');

    bob.write('/frobnicate');
    bob.write('/join');
    bob.write('/join bad/room');
    await bob.waitFor((e) => e.type === 'error' && e.message.includes('frobnicate'), 'unknown command error');
    await bob.waitFor((e) => e.type === 'error' && e.message.includes('usage: /join ROOM'), 'usage error');
    const roomErrors = () => bob.items.filter((e) => e.type === 'error').length;
    await expect.poll(roomErrors, { timeout: 5000 }).toBe(3);
    expect(bob.items.filter((e) => e.type === 'room-joined')).toHaveLength(2);

    // Bob left lobby: alice's lobby messages must not reach him, his "other" room still works.
    bob.write('/rooms');
    await bob.waitFor((e) => e.type === 'info' && e.message.includes('#other'), 'room list');
    alice.write('lobby only');
    alice.write('/join other');
    await alice.waitFor((e) => e.type === 'room-joined' && e.room === 'other', 'alice to join other');
    await warmUp(alice, [bob], 'other');
    expect(received(bob, 'lobby only')).toHaveLength(0);

    // Membership has been probing between the two all along; /stats gives scripts its counters.
    bob.write('/stats');
    const stats = await bob.waitFor((e) => e.type === 'stats', 'stats event');
    expect(stats.type === 'stats' && stats.membership).toMatchObject({ badFrames: 0, rateLimitedFrames: 0 });
    expect(stats.type === 'stats' && stats.membership.sentFrames > 0 && stats.membership.receivedBytes > 0).toBe(true);
  }, 60_000);

  it('hosts the local bootstrap server itself when none answers (zero setup)', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const alice = startPeer(['--nick', 'alice', '--bootstrap', url, '--data-dir', await tempDir()]);
    await alice.waitFor((e) => e.type === 'bootstrap' && e.state === 'hosting', 'alice to host the server');
    await ready(alice);
    const bob = startPeer(['--nick', 'bob', '--bootstrap', url, '--data-dir', await tempDir()]);
    await bob.waitFor((e) => e.type === 'bootstrap' && e.state === 'registered', 'bob to register with alice\'s server');
    await warmUp(bob, [alice], 'zero');

    const refused = startPeer(['--nick', 'dan', '--bootstrap', `http://127.0.0.1:${await freePort()}`, '--no-host-bootstrap', '--data-dir', await tempDir()]);
    const said = await refused.waitFor((e) => e.type === 'bootstrap', 'dan to report the missing server');
    expect(said).toMatchObject({ state: 'unreachable' });
    await ready(refused);
  }, 60_000);
});
