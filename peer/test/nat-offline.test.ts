/**
 * The network without the bootstrap API, with real processes in network namespaces
 * (support/nat-topology.ts): a relay in the public namespace and two peers behind their
 * own NATs meet through the bootstrap server, which is then killed. The members keep
 * chatting, a member restarted with its data dir rejoins through the members it
 * remembered, and when the server comes back every peer is registered again within one
 * lease period. Then, on a LAN of two namespaces with no API at all, mDNS alone makes two
 * peers members of each other. No packet (and no multicast) leaves the namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PeerEvent } from '../src/events.ts';
import { MEMBERS_FILE } from '../src/config.ts';
import { decodeRemembered } from '../src/seeding/remembered-store.ts';
import { natTopologyUnavailable } from './support/nat-topology.ts';
import type { NetnsHost } from './support/nat-topology.ts';
import { createNetnsPair } from './support/netns.ts';
import type { NetnsPair } from './support/netns.ts';
import { Proc, killAll, startBootstrapServer, warmUp } from './support/processes.ts';
import { natSuite } from './support/netns-peer.ts';
import type { NetnsPeer as Started } from './support/netns-peer.ts';

const run = promisify(execFile);
const unavailable = await natTopologyUnavailable();
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`;

const MEET_MS = 20_000;
const DELIVER_MS = 10_000;
/** A short lease, so that "registered again within one lease period" is quick to check. */
const TTL_S = 8;

let lan: NetnsPair | undefined;

const { topology, startPeerIn } = natSuite('cliofl', '10.216', { available: unavailable === undefined, mdns: true });

beforeAll(async () => {
  if (unavailable !== undefined) return;
  lan = await createNetnsPair(`climdn${process.pid}`, '10.217.0');
  // mDNS multicasts to 224.0.0.251: without a route for it, discovery fails silently (LIBP2P-NOTES).
  for (const side of [lan.a, lan.b]) {
    const { stdout } = await run('ip', ['-n', side.ns, '-o', 'link', 'show', 'type', 'veth']);
    const dev = /^\d+: ([^@:]+)/.exec(stdout)?.[1];
    if (dev === undefined) throw new Error(`no veth in ${side.ns}: ${stdout}`);
    await run('ip', ['-n', side.ns, 'route', 'add', '224.0.0.0/4', 'dev', dev]);
  }
});

afterAll(async () => {
  await killAll();
  await lan?.destroy();
});



/** `about` joined (or came back) in `observer`'s view, at or after event index `from`. */
function joined(observer: Started, about: Started, from = 0): Promise<PeerEvent> {
  return observer.proc.waitFor((e) => observer.proc.items.indexOf(e) >= from && (e.type === 'member-joined' || e.type === 'member-alive') &&
    e.peerId === about.id, `${observer.nick}: ${about.nick} joined`, MEET_MS);
}

/** The peer IDs the API lists, asked from inside `where` (the test's own namespace cannot reach it). */
async function registered(where: NetnsHost, url: string): Promise<string[]> {
  const script = `fetch(${JSON.stringify(`${url}/v1/peers`)}).then((r) => r.text()).then((t) => console.log(t), (e) => console.log(JSON.stringify({ error: String(e) })))`;
  const answer = await new Proc<{ peers?: { peerId: string }[] }>(['-e', script], (line) => JSON.parse(line) as never, {}, where.launcher)
    .waitFor(() => true, 'the bootstrap set');
  return (answer.peers ?? []).map((p) => p.peerId);
}

async function info(peer: Started, command: string): Promise<string> {
  const from = peer.proc.items.length;
  peer.proc.write(command);
  const answer = await peer.proc.waitFor((e) => peer.proc.items.indexOf(e) >= from && e.type === 'info', `${peer.nick}: ${command}`);
  return (answer as Extract<PeerEvent, { type: 'info' }>).message;
}

describe.skipIf(unavailable !== undefined)('without the bootstrap API', () => {
  it(`the members keep chatting, a restarted member rejoins through the members it remembers, and all register again when the API returns${skipped}`, async () => {
    const { pub, home1, home2 } = topology();
    const server = await startBootstrapServer(['--no-data-file', '--ttl', String(TTL_S)], pub.ip, pub.launcher);
    const { url } = server;
    const port = new URL(url).port;
    const relay = await startPeerIn(pub, 'relay', url, ['--no-mdns', '--relay']);
    const [h1, h2] = await Promise.all([startPeerIn(home1, 'home1', url, ['--no-mdns']), startPeerIn(home2, 'home2', url, ['--no-mdns'])]);
    await Promise.all([joined(h1, h2), joined(h2, h1), joined(h2, relay), joined(relay, h1)]);
    await warmUp(h1.proc, [h2.proc], 'formed');

    server.proc.kill('SIGKILL');
    await server.proc.exited;
    // Chat after both leases have found the API gone, not only before they noticed.
    await Promise.all([h1, h2].map((p) => p.proc.waitFor((e) => e.type === 'bootstrap' && e.state === 'unreachable', `${p.nick}: the API unreachable`)));
    h1.proc.write('the API is gone');
    await h2.proc.waitFor((e) => e.type === 'message' && e.text === 'the API is gone', 'home2 to hear home1 without the API', DELIVER_MS);
    h2.proc.write('we carry on');
    await h1.proc.waitFor((e) => e.type === 'message' && e.text === 'we carry on', 'home1 to hear home2 without the API', DELIVER_MS);

    // Quit and start again on the same data dir, while the API is still down.
    h2.proc.write('/quit');
    expect((await h2.proc.exited).code).toBe(0);
    const saved = decodeRemembered(await readFile(join(h2.dir, MEMBERS_FILE), 'utf8'), h2.id);
    expect(saved.map((m) => m.peerId).sort()).toEqual([h1.id, relay.id].sort());
    // home1 is remembered at its relayed address too: nobody outside its NAT can dial the other.
    expect(saved.find((m) => m.peerId === h1.id)?.addrs.some((a) => a.includes(`/p2p/${relay.id}/p2p-circuit`)), JSON.stringify(saved)).toBe(true);

    const mark = [h1.proc.items.length, relay.proc.items.length];
    const again = await startPeerIn(home2, 'home2', url, ['--no-mdns'], h2.dir);
    expect(again.id).toBe(h2.id);
    expect(again.proc.items.find((e) => e.type === 'bootstrap')).toMatchObject({ state: 'unreachable' });
    expect(again.proc.items.find((e) => e.type === 'membership')).toMatchObject({ state: 'joined', source: 'remembered', seeds: 2 });
    await Promise.all([joined(again, h1), joined(again, relay), joined(h1, again, mark[0]), joined(relay, again, mark[1])]);
    expect(await info(again, '/show bootstrap')).toMatch(/seeds from\s+remembered/);
    await warmUp(again.proc, [h1.proc], 'rejoined');
    h1.proc.write('welcome back');
    await again.proc.waitFor((e) => e.type === 'message' && e.text === 'welcome back', 'home2 to hear home1 after rejoining', DELIVER_MS);

    // The API returns, empty (no data file): every peer registers again within one lease period.
    const back = await startBootstrapServer(['--no-data-file', '--ttl', String(TTL_S), '--port', port], pub.ip, pub.launcher);
    const backAt = Date.now();
    expect(back.url).toBe(url);
    const everyone = [relay.id, h1.id, again.id].sort();
    let ids: string[] = [];
    while (!everyone.every((id) => ids.includes(id))) {
      expect(Date.now() - backAt, `registered after the API returned: ${JSON.stringify(ids)}`).toBeLessThan(TTL_S * 1000);
      ids = await registered(pub, url);
    }
    await Promise.all([again, h1, relay].map((p) => p.proc.waitFor((e) => e.type === 'bootstrap' && e.state === 'registered' &&
      p.proc.items.indexOf(e) > p.proc.items.findLastIndex((u) => u.type === 'bootstrap' && u.state === 'unreachable'), `${p.nick} registered`)));
  }, 90_000);

  it(`on a LAN with no API at all, mDNS finds a peer that speaks membership and the two become members and chat${skipped}`, async () => {
    if (lan === undefined) throw new Error('no LAN');
    // Nothing listens on port 9 of its own address: the API is refused at once.
    const nowhere = (ip: string): string => `http://${ip}:9`;
    const [a, b] = await Promise.all([
      startPeerIn(lan.a, 'lan-a', nowhere(lan.a.ip), ['--mdns', '--remember-members', '0']),
      startPeerIn(lan.b, 'lan-b', nowhere(lan.b.ip), ['--mdns', '--remember-members', '0'])
    ]);
    await Promise.all([joined(a, b), joined(b, a)]);
    expect(a.proc.items.some((e) => e.type === 'membership' && e.source === 'lan') ||
      b.proc.items.some((e) => e.type === 'membership' && e.source === 'lan')).toBe(true);
    await warmUp(a.proc, [b.proc], 'lan');
    b.proc.write('found you on the LAN');
    await a.proc.waitFor((e) => e.type === 'message' && e.text === 'found you on the LAN', 'lan-a to hear lan-b', DELIVER_MS);
  }, 45_000);
});
