/**
 * Step by step, as the README's --manual path has a user walk it: peers that start with
 * nothing joined, go up the layers (/bootstrap join, /members join, /join ROOM) from
 * script files, chat, and walk back down from stdin; and a script that skips a layer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapClient } from '@cli-chat/bootstrap-api';
import { freePort, killAll, startBootstrapServer, startPeer, warmUp } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-manual-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Ready = Extract<PeerEvent, { type: 'ready' }>;
type Message = Extract<PeerEvent, { type: 'message' }>;
const isMessage = (e: PeerEvent): e is Message => e.type === 'message';

async function ready(peer: PeerProc): Promise<Ready> {
  return await peer.waitFor((e) => e.type === 'ready', 'ready') as Ready;
}

/** Index of the first event that matches, failing the test if there is none. */
function indexOf(peer: PeerProc, match: (e: PeerEvent) => boolean, what: string): number {
  const at = peer.items.findIndex(match);
  if (at < 0) throw new Error(`no ${what} among ${JSON.stringify(peer.items.map((e) => e.type))}`);
  return at;
}

/** Starts a --manual peer that runs `script` and checks that it joined nothing before the script ran. */
async function walkUp(nick: string, url: string, script: string): Promise<{ peer: PeerProc, me: Ready }> {
  const dir = await tempDir();
  const file = join(dir, `${nick}.script`);
  await writeFile(file, script);
  const peer = startPeer(['--nick', nick, '--manual', '--bootstrap', url, '--data-dir', join(dir, 'data'), '--script', file]);
  await peer.waitFor((e) => e.type === 'room-joined' && e.room === 'lobby', `${nick} to join lobby`);
  const me = await ready(peer);
  expect(me).toMatchObject({ room: null, manual: true, nick, bootstrap: url });

  // Ready comes first, with nothing joined; then each layer, in the script's order.
  const at = {
    ready: indexOf(peer, (e) => e.type === 'ready', 'ready'),
    bootstrap: indexOf(peer, (e) => e.type === 'bootstrap', 'bootstrap event'),
    membership: indexOf(peer, (e) => e.type === 'membership', 'membership event'),
    room: indexOf(peer, (e) => e.type === 'room-joined', 'room-joined')
  };
  expect(at.ready).toBe(0);
  expect(at.ready < at.bootstrap && at.bootstrap < at.membership && at.membership < at.room).toBe(true);
  expect(peer.items[at.bootstrap]).toMatchObject({ type: 'bootstrap', state: 'registered', url });
  expect(peer.items[at.membership]).toMatchObject({ type: 'membership', state: 'joined' });
  // Each step says what comes next.
  const hint = (text: string) => indexOf(peer, (e) => e.type === 'info' && e.message.includes(text), `hint "${text}"`);
  expect(hint('next: /members join')).toBeLessThan(at.membership);
  expect(hint('next: /join ROOM')).toBeLessThan(at.room);
  expect(peer.items.filter((e) => e.type === 'error')).toEqual([]);
  return { peer, me };
}

describe('the --manual step-by-step path', () => {
  it('walks two peers up the layers from scripts, lets them chat, and walks one back down', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const script = (who: string) => `# ${who} walks the layers\n/bootstrap join\n/members join\n/join lobby\n`;
    const { peer: alice, me: a } = await walkUp('alice', url, script('alice'));
    // The first member has nobody to join through.
    expect(alice.items.find((e) => e.type === 'membership')).toMatchObject({ seeds: 0 });
    const { peer: bob, me: b } = await walkUp('bob', url, script('bob'));
    expect(bob.items.find((e) => e.type === 'membership')).toMatchObject({ seeds: 1 });

    await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === b.peerId, 'alice to see bob join');
    await bob.waitFor((e) => e.type === 'member-joined' && e.peerId === a.peerId, 'bob to see alice join');
    await warmUp(alice, [bob], 'a');
    await warmUp(bob, [alice], 'b');
    const hello = await alice.waitFor((e) => isMessage(e) && e.text.startsWith('warm-b-'), 'bob\'s line');
    expect(hello).toMatchObject({ room: 'lobby', from: b.peerId, nick: 'bob' });

    // Back down, one layer at a time, each reported.
    bob.write('/leave');
    bob.write('/members leave');
    bob.write('/bootstrap leave');
    await bob.waitFor((e) => e.type === 'bootstrap' && e.state === 'left', 'bob to leave the bootstrap set');
    const down = {
      room: indexOf(bob, (e) => e.type === 'room-left' && e.room === 'lobby', 'room-left lobby'),
      membership: indexOf(bob, (e) => e.type === 'membership' && e.state === 'left', 'membership left'),
      bootstrap: indexOf(bob, (e) => e.type === 'bootstrap' && e.state === 'left', 'bootstrap left')
    };
    expect(down.room < down.membership && down.membership < down.bootstrap).toBe(true);
    expect(bob.items.filter((e) => e.type === 'error')).toEqual([]);
    await alice.waitFor((e) => e.type === 'member-left' && e.peerId === b.peerId, 'alice to see bob leave');
    const listed = (await new BootstrapClient({ baseUrl: url }).list()).peers.map((p) => p.peerId);
    expect(listed).toContain(a.peerId);
    expect(listed).not.toContain(b.peerId);

    bob.write('/quit');
    alice.write('/quit');
    expect((await bob.exited).code).toBe(0);
    expect((await alice.exited).code).toBe(0);
    // A leave is a leave to the end: alice never took bob for failed, nor for back.
    const leftAt = indexOf(alice, (e) => e.type === 'member-left' && e.peerId === b.peerId, 'member-left bob');
    expect(alice.items.some((e) => e.type === 'member-failed' && e.peerId === b.peerId)).toBe(false);
    expect(alice.items.slice(leftAt).some((e) => (e.type === 'member-joined' || e.type === 'member-alive') && e.peerId === b.peerId)).toBe(false);
  }, 60_000);

  it('stops a script at a line that skips a layer, naming the line and the layer it needs', async () => {
    const dir = await tempDir();
    const skips = join(dir, 'skips.script');
    const mayFail = join(dir, 'may-fail.script');
    await writeFile(skips, '/echo one\n/join lobby\n/echo two\n');
    await writeFile(mayFail, '-/members join\n/echo after\n');
    // Nothing here contacts the bootstrap API: a URL nobody serves, and no hosting.
    const url = `http://127.0.0.1:${await freePort()}`;
    const carol = startPeer(['--nick', 'carol', '--manual', '--no-host-bootstrap', '--bootstrap', url, '--data-dir', join(dir, 'data')]);
    await ready(carol);
    carol.write(`/execute ${skips}`);
    carol.write(`/execute ${mayFail}`);
    await carol.waitFor((e) => e.type === 'info' && e.message === 'after', 'the line after the one allowed to fail');

    const infos = carol.items.filter((e) => e.type === 'info').map((e) => e.type === 'info' && e.message);
    expect(infos).toEqual(['one', 'after']);
    const errors = carol.items.filter((e) => e.type === 'error').map((e) => e.type === 'error' && e.message) as string[];
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^${skips.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: .*/members join.*\\(the script stopped here\\)$`));
    expect(errors[1]).toMatch(new RegExp(`^${mayFail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: .*/bootstrap join.*\\(going on: the line starts with -\\)$`));
    // The error came before the line after it ran.
    const errorAt = indexOf(carol, (e) => e.type === 'error' && e.message === errors[1], 'the going-on error');
    expect(errorAt).toBeLessThan(indexOf(carol, (e) => e.type === 'info' && e.message === 'after', 'info after'));
    // Nothing was joined by either script.
    expect(carol.items.some((e) => e.type === 'room-joined' || e.type === 'membership' || e.type === 'bootstrap')).toBe(false);

    carol.write('/quit');
    expect((await carol.exited).code).toBe(0);
  }, 60_000);
});
