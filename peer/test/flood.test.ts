/**
 * Flood control across processes: two peers chat in a room while a third node floods it
 * with valid messages far above the per-author rate limit. The two still get each other's
 * messages exactly once, show no more of the flood than the limit lets through, report the
 * rest in throttled `rejected` events, and cut the flooder off: disconnected, refused on
 * redial, counted in /stats and logged once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startBootstrapServer, startFlooder, startPeer, warmUp } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';
import { AUTHOR_BURST, AUTHOR_RATE } from '../src/chat/constants.ts';
import { CUT_OFF_FACTOR } from '../src/node/constants.ts';
import { cutOffLimit } from '../src/node/cut-off.ts';

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
  it('keeps delivering the honest peers\' messages exactly once, drops the flood and cuts the flooder off', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-flood-'));
    dirs.push(dir);
    const start = (nick: string) => startPeer(['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, nick)]);
    const alice = start('alice');
    const bob = start('bob');
    const ready = async (p: PeerProc): Promise<Ready> => await p.waitFor((e) => e.type === 'ready', 'ready', 30_000) as Ready;
    const [a, b] = await Promise.all([ready(alice), ready(bob)]);
    await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === b.peerId, 'alice to see bob');
    await warmUp(alice, [bob], 'a');
    await warmUp(bob, [alice], 'b');

    // Flat out: thousands a second, which also makes each honest peer forward to the other
    // messages it accepted from the flooder while the other refused them.
    const flooder = startFlooder(['--room', 'lobby', '--dial', a.addrs[0] as string, '--dial', b.addrs[0] as string]);
    const { peerId: f } = await flooder.waitFor((e) => e.type === 'ready', 'the flooder to connect') as { peerId: string };
    flooder.write('start');
    const floodStart = Date.now();
    // When both have cut it off, as this process reads it.
    const cutOffAt = Promise.all([alice, bob].map(async (p) => {
      await p.waitFor((e) => e.type === 'peer-disconnected' && e.peerId === f, 'the flooder disconnected', 30_000);
      return Date.now();
    })).then((times) => Math.max(...times));

    // People typing through the flood, from its first moment.
    for (let i = 0; i < LINES; i++) {
      alice.write(`alice ${i}`);
      bob.write(`bob ${i}`);
      await sleep(HUMAN_GAP_MS);
    }
    await bob.waitFor((e) => isMessage(e) && e.text === `alice ${LINES - 1}`, 'alice\'s last line at bob');
    await alice.waitFor((e) => isMessage(e) && e.text === `bob ${LINES - 1}`, 'bob\'s last line at alice');

    // Cut off: disconnected by both, counted once each, and the other honest peer, which
    // forwarded what it accepted from the flooder, neither cut off nor blamed.
    for (const [peer, other] of [[alice, b.peerId], [bob, a.peerId]] as const) {
      await peer.waitFor((e) => e.type === 'peer-disconnected' && e.peerId === f, 'the flooder disconnected');
      const stats = await askUntil(peer, '/stats', isStats, (s) => s.chat.cutOff > 0, 'the flooder cut off');
      expect(stats.chat.cutOff).toBe(1);
      expect(stats.chat.rejected).toBeGreaterThan(0);
      const peers = await askUntil(peer, '/peers', isInfo, () => true, '/peers');
      const row = (id: string): string | undefined => peers.message.split('\n').find((line) => line.startsWith(`…${id.slice(-8)}`));
      expect(row(f)).toBeUndefined();
      expect(row(other)).toBeDefined();
      expect(row(other)).not.toContain('graylisted');
      expect(Number(row(other)?.split(/\s+/).at(-1))).toBeGreaterThanOrEqual(0);
      const logged = peer.stderr.filter((line) => line.includes('cut off') && line.includes(f));
      expect(logged).toHaveLength(1);
    }
    // Refused on redial, while the flood goes on.
    const from = flooder.items.length;
    flooder.write('redial');
    const redialled = await flooder.waitFor((e) => flooder.items.indexOf(e) >= from && e.type === 'redialled', 'the redial');
    expect(redialled).toMatchObject({ connected: 0, errors: [expect.any(String), expect.any(String)] });
    for (const peer of [alice, bob]) {
      const disconnected = peer.items.findIndex((e) => e.type === 'peer-disconnected' && e.peerId === f);
      expect(peer.items.slice(disconnected).some((e) => e.type === 'peer-connected' && e.peerId === f)).toBe(false);
    }

    flooder.write('stop');
    const stopped = await flooder.waitFor((e) => e.type === 'stopped', 'the flood to stop');
    const sent = stopped.type === 'stopped' ? stopped.sent : 0;
    // A flood indeed: more than the cut-off lets any author send at once.
    expect(sent).toBeGreaterThan(cutOffLimit(undefined, CUT_OFF_FACTOR)?.burst ?? Number.POSITIVE_INFINITY);

    for (const [receiver, sender, from] of [[bob, 'alice', a.peerId], [alice, 'bob', b.peerId]] as const) {
      const got = receiver.items.filter(isMessage).filter((m) => m.text.startsWith(`${sender} `));
      expect(got.map((m) => m.text)).toEqual(Array.from({ length: LINES }, (_, i) => `${sender} ${i}`));
      expect(got.every((m) => m.from === from)).toBe(true);
    }

    // The flood: the room limit showed its burst and what it refilled until both had cut the
    // flooder off (each forwards to the other what it accepts), refused the rest, and reported
    // it in a few events.
    const cutOffSeconds = (await cutOffAt - floodStart) / 1000;
    for (const peer of [alice, bob]) {
      const shown = peer.items.filter(isMessage).filter((m) => m.from === f).length;
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThanOrEqual(AUTHOR_BURST + AUTHOR_RATE * (cutOffSeconds + 1));
      const reports = peer.items.filter((e) => e.type === 'rejected' && e.from === f);
      expect(reports.length).toBeGreaterThan(0);
      expect(reports.every((e) => e.type === 'rejected' && e.reason.startsWith('rate-limited:'))).toBe(true);
      expect(reports.length).toBeLessThan(10);
      // Nobody but the flooder went away.
      expect(peer.items.some((e) => e.type === 'member-failed' || e.type === 'member-suspect')).toBe(false);
    }

    flooder.child.stdin.end();
    for (const p of [alice, bob]) p.write('/quit');
    for (const p of [alice, bob, flooder]) expect((await p.exited).code).toBe(0);
  }, 60_000);
});
