/**
 * Presence from membership metadata, across three peer processes: who is in which room,
 * two members with one nick shown apart, and a nick change reaching the others.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startBootstrapServer, startPeer } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';
import { displayNames, roomMembers } from '../src/presence.ts';
import type { MemberView } from '../src/membership/index.ts';

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Ready = Extract<PeerEvent, { type: 'ready' }>;

/** Runs a command and returns the text of the first `info` that answers it and matches. */
async function ask(peer: PeerProc, command: string, match: (text: string) => boolean, what: string): Promise<string> {
  const from = peer.items.length;
  const deadline = Date.now() + 15_000;
  for (;;) {
    peer.write(command);
    const got = await peer.waitFor((e) => peer.items.indexOf(e) >= from && e.type === 'info' && match(e.message), what, 1000)
      .then((e) => (e.type === 'info' ? e.message : ''), () => undefined);
    if (got !== undefined) return got;
    // Metadata spreads by gossip: ask again until it has arrived.
    if (Date.now() > deadline) throw new Error(`no answer to ${command} matched: ${what}`);
  }
}

describe('presence', () => {
  it('lists who is in each room, tells two members with one nick apart, and spreads a nick change', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-presence-'));
    dirs.push(dir);
    const start = (nick: string, sub: string) => startPeer(['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, sub)]);
    const alice = start('alice', 'a');
    const sam1 = start('sam', 's1');
    const sam2 = start('sam', 's2');
    const ids = await Promise.all([alice, sam1, sam2].map(async (p) => (await p.waitFor((e) => e.type === 'ready', 'ready') as Ready).peerId));
    const [, s1, s2] = ids as [string, string, string];
    for (const id of [s1, s2]) await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === id, 'alice to see both sams');

    sam1.write('/join dev');
    await alice.waitFor((e) => e.type === 'member-updated' && e.peerId === s1, 'alice to hear sam1 joined dev');
    const who = await ask(alice, '/who lobby', (t) => t.startsWith('#lobby (3)'), 'three members in lobby');
    expect(who).toContain('alice (you)');
    // One nick, two members: each shown with the end of its peer ID.
    expect(who).toContain(`sam#${s1.slice(-4)}`);
    expect(who).toContain(`sam#${s2.slice(-4)}`);
    const rooms = await ask(alice, '/rooms', (t) => t.includes('#dev'), 'dev among the rooms');
    expect(rooms).toMatch(/#dev\s+1/);
    expect(rooms).toMatch(/\*\s+#lobby\s+3/);
    expect(await ask(alice, '/who dev', (t) => t.startsWith('#dev'), 'who is in dev')).toContain(`sam#${s1.slice(-4)}`);

    sam2.write('/nick sue');
    await alice.waitFor((e) => e.type === 'member-updated' && e.peerId === s2 && e.nick === 'sue', 'alice to hear the nick change');
    await sam1.waitFor((e) => e.type === 'member-updated' && e.peerId === s2 && e.nick === 'sue', 'sam1 to hear the nick change');
    const after = await ask(alice, '/who', (t) => t.includes('sue'), 'the new nick in /who');
    // Nobody shares a nick any more, so no suffixes.
    expect(after).not.toMatch(/sam#/);
    expect(after).toMatch(/\bsam\b/);
    for (const p of [alice, sam1, sam2]) p.write('/quit');
    for (const p of [alice, sam1, sam2]) expect((await p.exited).code).toBe(0);
  }, 60_000);

  it('names members from their metadata', () => {
    const m = (id: string, nick: string, state: MemberView['state'], rooms: string[]): MemberView =>
      ({ id, state, incarnation: 1, rtt: undefined, since: undefined, meta: { nick, addrs: [], rooms, version: '1' } });
    const members = [m('AAAA1111', 'bo', 'alive', ['a']), m('BBBB2222', 'bo', 'suspect', ['a', 'b']), m('CCCC3333', 'bo', 'dead', ['a'])];
    const names = displayNames(members);
    expect(names.get('AAAA1111')).toBe('bo#1111');
    expect(names.get('BBBB2222')).toBe('bo#2222');
    // The failed member neither counts as present nor makes the others ambiguous by itself.
    expect(roomMembers(members, 'a').map((x) => x.id)).toEqual(['AAAA1111', 'BBBB2222']);
    expect(displayNames([members[0] as MemberView, members[2] as MemberView]).get('AAAA1111')).toBe('bo');
  });
});
