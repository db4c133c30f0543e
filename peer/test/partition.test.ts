/**
 * A partition healing, with real peer processes in two network namespaces joined by a
 * veth pair: everyone joins through the bootstrap server (in namespace a), the server
 * goes, the link goes down, each side declares the other side's peers failed, the link
 * comes up, and every peer has all four alive again. mDNS is off, and no packet leaves
 * the namespaces.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerEvent } from '../src/events.ts';
import { LAN_PROFILE } from '../src/membership/index.ts';
import type { MemberEventType } from '../src/membership/index.ts';
import { createNetnsPair, netnsUnavailable } from './support/netns.ts';
import type { NetnsPair, NetnsSide } from './support/netns.ts';
import { Proc, killAll, parseJsonLine, startBootstrapServer } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';

const unavailable = await netnsUnavailable();
// Generous deadlines for a busy 2-core machine; a quiet run needs a fraction of each.
const JOIN_MS = 15_000;
const FAIL_MS = 15_000;
const HEAL_MS = 20_000;

const dirs: string[] = [];
let pair: NetnsPair | undefined;

afterAll(async () => {
  await killAll();
  await pair?.destroy();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type MemberEventOf = Extract<PeerEvent, { type: MemberEventType }>;

function isMemberEvent(e: PeerEvent): e is MemberEventOf {
  return e.type.startsWith('member-');
}

interface Started {
  readonly proc: PeerProc;
  readonly id: string;
  readonly nick: string;
}

async function startPeerIn(side: NetnsSide, nick: string, bootstrap: string): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-partition-'));
  dirs.push(dir);
  const proc = new Proc<PeerEvent>([
    'peer/src/main.ts', '--json', '--no-mdns', '--no-host-bootstrap', '--listen', `/ip4/${side.ip}/tcp/0`,
    '--bootstrap', bootstrap, '--nick', nick, '--data-dir', dir
  ], parseJsonLine, {}, side.launcher);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, JOIN_MS);
  return { proc, id: (ready as Extract<PeerEvent, { type: 'ready' }>).peerId, nick };
}

/** Whether `observer`'s latest event about `other`, from index `from` on, is one of `types`. */
function lastSays(observer: Started, other: Started, types: readonly string[], from = 0): boolean {
  const about = observer.proc.items.slice(from).filter((e) => isMemberEvent(e) && e.peerId === other.id);
  const last = about.at(-1);
  return last !== undefined && types.includes(last.type);
}

async function waitAll(what: string, peers: readonly Started[], others: (p: Started) => readonly Started[],
  holds: (observer: Started, other: Started) => boolean, timeoutMs: number): Promise<void> {
  await Promise.all(peers.flatMap((observer) => others(observer).map((other) => observer.proc.waitFor(
    () => holds(observer, other), `${observer.nick}: ${what} ${other.nick}`, timeoutMs))));
}

describe('a network partition between two namespaces', () => {
  it.skipIf(unavailable !== undefined)(`heals: both sides fail each other, then all four are alive again${unavailable ? ` (skipped: ${unavailable})` : ''}`, async () => {
    pair = await createNetnsPair(`clichat${process.pid}`, '10.213.77');
    const bootstrap = await startBootstrapServer(['--no-data-file'], pair.a.ip, pair.a.launcher);
    const { url } = bootstrap;
    const sideA = await Promise.all([startPeerIn(pair.a, 'a1', url), startPeerIn(pair.a, 'a2', url)]);
    const sideB = await Promise.all([startPeerIn(pair.b, 'b1', url), startPeerIn(pair.b, 'b2', url)]);
    const all = [...sideA, ...sideB];
    const otherSide = (p: Started): Started[] => (sideA.includes(p) ? sideB : sideA);
    const everyoneElse = (p: Started): Started[] => all.filter((q) => q !== p);

    await waitAll('member-joined', all, everyoneElse,
      (o, p) => o.proc.items.some((e) => e.type === 'member-joined' && e.peerId === p.id), JOIN_MS);

    // Without the server nobody can re-join through the bootstrap set: the membership
    // protocol must heal the partition by itself.
    bootstrap.proc.kill('SIGKILL');
    await bootstrap.proc.exited;

    const cutAt = Date.now();
    await pair.setLink(false);
    await waitAll('member-failed', all, otherSide, (o, p) => lastSays(o, p, ['member-failed']), FAIL_MS);
    const failedAfter = Date.now() - cutAt;
    // Each side stays whole: nobody failed a peer on its own side.
    for (const observer of all) {
      for (const same of everyoneElse(observer).filter((p) => !otherSide(observer).includes(p))) {
        expect(observer.proc.items.some((e) => e.type === 'member-failed' && e.peerId === same.id)).toBe(false);
      }
    }

    // The partition outlasts the profile's gossipToTheDead (failed members still get gossip
    // that long, which alone would heal a short cut): a scenario length, not a wait for
    // something, so that only reconnection can bring the sides back.
    await new Promise((resolve) => setTimeout(resolve, LAN_PROFILE.gossipToTheDead));
    const marks = new Map(all.map((p) => [p, p.proc.items.length]));
    const healAt = Date.now();
    await pair.setLink(true);
    await waitAll('back alive', all, otherSide,
      (o, p) => lastSays(o, p, ['member-joined', 'member-alive', 'member-updated'], marks.get(o)), HEAL_MS);
    const healedAfter = Date.now() - healAt;
    console.info(`partition: all failed ${failedAfter} ms after the cut, all alive ${healedAfter} ms after the link came up`);
  }, 90_000);
});
