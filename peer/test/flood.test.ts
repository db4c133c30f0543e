/**
 * Flood control across processes: two peers chat in a room while a third node floods it
 * with valid messages far above the per-author rate limit. The two still get each
 * other's messages exactly once, drop almost all of the flood, report it in throttled
 * `rejected` events, and show the flooder as graylisted in /peers and /stats.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startBootstrapServer, startFlooder, startPeer } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';
import { AUTHOR_BURST, AUTHOR_RATE } from '../src/chat/constants.ts';

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Ready = Extract<PeerEvent, { type: 'ready' }>;
type Message = Extract<PeerEvent, { type: 'message' }>;
type Stats = Extract<PeerEvent, { type: 'stats' }>;
const isMessage = (e: PeerEvent): e is Message => e.type === 'message';

/** Each honest peer sends this many lines, one every HUMAN_GAP_MS (10 a second), while the flood runs. */
const LINES = 20;
const HUMAN_GAP_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Until gossipsub has learnt who subscribes, a line may reach nobody: send numbered lines until one arrives. */
async function warmUp(sender: PeerProc, receiver: PeerProc, tag: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (let i = 0; ; i++) {
    sender.write(`warm-${tag}-${i}`);
    const got = await receiver.waitFor((e) => isMessage(e) && e.text.startsWith(`warm-${tag}-`), `warm-up ${tag}`, 400)
      .then(() => true, () => false);
    if (got) return;
    if (Date.now() > deadline) throw new Error(`mesh did not form for ${tag}`);
  }
}

/** Runs `command` until the event it answers with passes `check`; returns that event. */
async function askUntil<T extends PeerEvent>(peer: PeerProc, command: string, answer: (e: PeerEvent) => e is T,
  check: (e: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const from = peer.items.length;
    peer.write(command);
    const got = await peer.waitFor((e) => peer.items.indexOf(e) >= from && answer(e), `${command} to answer`);
    if (check(got as T)) return got as T;
    if (Date.now() > deadline) throw new Error(`${what}: the last answer to ${command} was ${JSON.stringify(got)}`);
    await sleep(200);
  }
}

const isStats = (e: PeerEvent): e is Stats => e.type === 'stats';
const isInfo = (e: PeerEvent): e is Extract<PeerEvent, { type: 'info' }> => e.type === 'info';

describe('a flooded room', () => {
  it('keeps delivering the honest peers\' messages exactly once, drops the flood and graylists the flooder', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-flood-'));
    dirs.push(dir);
    const start = (nick: string) => startPeer(['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, nick)]);
    const alice = start('alice');
    const bob = start('bob');
    const ready = async (p: PeerProc): Promise<Ready> => await p.waitFor((e) => e.type === 'ready', 'ready') as Ready;
    const [a, b] = await Promise.all([ready(alice), ready(bob)]);
    await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === b.peerId, 'alice to see bob');
    await warmUp(alice, bob, 'a');
    await warmUp(bob, alice, 'b');

    // Flat out: thousands a second, which also makes each honest peer forward to the other
    // messages it accepted from the flooder while the other refused them.
    const flooder = startFlooder(['--room', 'lobby', '--dial', a.addrs[0] as string, '--dial', b.addrs[0] as string]);
    const { peerId: f } = await flooder.waitFor((e) => e.type === 'ready', 'the flooder to connect') as { peerId: string };
    flooder.write('start');
    await flooder.waitFor((e) => e.type === 'progress', 'the flood to run');

    // People typing through the flood.
    for (let i = 0; i < LINES; i++) {
      alice.write(`alice ${i}`);
      bob.write(`bob ${i}`);
      await sleep(HUMAN_GAP_MS);
    }
    await bob.waitFor((e) => isMessage(e) && e.text === `alice ${LINES - 1}`, 'alice\'s last line at bob');
    await alice.waitFor((e) => isMessage(e) && e.text === `bob ${LINES - 1}`, 'bob\'s last line at alice');

    // Asked while the flood runs: the flooder is let back now and then, as its penalty decays,
    // and graylisted again within a few messages; after the flood it is let back for good.
    for (const peer of [alice, bob]) {
      await askUntil(peer, '/stats', isStats, (s) => s.chat.graylisted === 1 && s.chat.rejected > 0, 'the flooder graylisted');
      const peers = await askUntil(peer, '/peers', isInfo, (e) => e.message.includes('(graylisted)'), 'the flooder marked in /peers');
      const row = (id: string): string | undefined => peers.message.split('\n').find((line) => line.startsWith(`…${id.slice(-8)}`));
      expect(row(f)).toMatch(/-\d+(\.\d)? \(graylisted\)$/);
      // The other honest peer forwarded messages it accepted from the flooder that this one
      // had refused, and is not blamed for it.
      const other = row(peer === alice ? b.peerId : a.peerId);
      expect(other).toBeDefined();
      expect(other).not.toContain('graylisted');
      expect(Number(other?.split(/\s+/).at(-1))).toBeGreaterThanOrEqual(0);
    }
    flooder.write('stop');
    const stopped = await flooder.waitFor((e) => e.type === 'stopped', 'the flood to stop');
    const sent = stopped.type === 'stopped' ? stopped.sent : 0;
    const floodSeconds = stopped.type === 'stopped' ? stopped.ms / 1000 : 0;

    for (const [receiver, sender, from] of [[bob, 'alice', a.peerId], [alice, 'bob', b.peerId]] as const) {
      const got = receiver.items.filter(isMessage).filter((m) => m.text.startsWith(`${sender} `));
      expect(got.map((m) => m.text)).toEqual(Array.from({ length: LINES }, (_, i) => `${sender} ${i}`));
      expect(got.every((m) => m.from === from)).toBe(true);
    }

    // The flood: the burst and the rate got through, what any author may send; the rest was
    // dropped, unread while the flooder was graylisted, and what was read reported in a few events.
    for (const peer of [alice, bob]) {
      const shown = peer.items.filter(isMessage).filter((m) => m.from === f).length;
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThanOrEqual(AUTHOR_BURST + AUTHOR_RATE * (floodSeconds + 1));
      expect(shown).toBeLessThan(sent / 10);
      const reports = peer.items.filter((e) => e.type === 'rejected' && e.from === f);
      expect(reports.length).toBeGreaterThan(0);
      expect(reports.every((e) => e.type === 'rejected' && e.reason.startsWith('rate-limited:'))).toBe(true);
      expect(reports.length).toBeLessThan(10);
    }

    flooder.child.stdin.end();
    for (const p of [alice, bob]) p.write('/quit');
    for (const p of [alice, bob, flooder]) expect((await p.exited).code).toBe(0);
  }, 60_000);
});
