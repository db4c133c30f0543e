/**
 * Peers behind NATs, with real processes in network namespaces (support/nat-topology.ts):
 * a public namespace with the bootstrap server and a publicly reachable peer, and two home
 * namespaces, each behind its own router doing source NAT. mDNS is off, and no packet
 * leaves the namespaces.
 */
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerEvent } from '../src/events.ts';
import { natTopologyUnavailable } from './support/nat-topology.ts';
import type { NetnsHost } from './support/nat-topology.ts';
import { Proc, startBootstrapServer } from './support/processes.ts';
import { natSuite } from './support/netns-peer.ts';
import type { NetnsPeer as Started } from './support/netns-peer.ts';

const unavailable = await natTopologyUnavailable();
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`;

// Generous deadlines for a busy 2-core machine; a quiet run needs a fraction of each.
const MEET_MS = 20_000;
const DELIVER_MS = 10_000;
const FAIL_MS = 15_000;
const FILE_MS = 20_000;
/** The limited relay's data limit per circuit: room for membership, chat and a small file. */
const CIRCUIT_BYTES = 20_000_000;

const { topology, startPeerIn, dirs } = natSuite('clinat', '10.214', { available: unavailable === undefined });

type ProbeLine = { type: 'listening', port: number } | { type: 'accepted', from: string } | { type: 'connected' } | { type: 'failed', code: string };

function probe(where: NetnsHost, args: string[]): Proc<ProbeLine> {
  return new Proc<ProbeLine>(['peer/test/support/tcp-probe.ts', ...args], (line) => JSON.parse(line) as ProbeLine, {}, where.launcher);
}

async function listen(where: NetnsHost): Promise<{ proc: Proc<ProbeLine>, port: number }> {
  const proc = probe(where, ['listen', where.ip]);
  const line = await proc.waitFor((l) => l.type === 'listening', `a listener in ${where.ns}`);
  return { proc, port: (line as Extract<ProbeLine, { type: 'listening' }>).port };
}

/** 'connected', or the error code of a failed connect. */
async function tryConnect(from: NetnsHost, host: string, port: number): Promise<string> {
  const line = await probe(from, ['connect', host, String(port)]).waitFor((l) => l.type === 'connected' || l.type === 'failed', `a connect from ${from.ns}`);
  return line.type === 'failed' ? line.code : line.type;
}

function memberEvent(observer: Started, type: string, about: Started, from = 0): Promise<PeerEvent> {
  return observer.proc.waitFor((e) => observer.proc.items.indexOf(e) >= from && e.type === type && 'peerId' in e && e.peerId === about.id,
    `${observer.nick}: ${type} ${about.nick}`, type === 'member-joined' ? MEET_MS : FAIL_MS);
}

/** The address of `observer`'s connections to `other`, from `/show peers`. */
async function connectionAddrs(observer: Started, other: Started): Promise<string[]> {
  const from = observer.proc.items.length;
  observer.proc.write('/show peers');
  const answer = await observer.proc.waitFor((e) => observer.proc.items.indexOf(e) >= from && e.type === 'info', `${observer.nick}: /show peers`);
  const lines = (answer as Extract<PeerEvent, { type: 'info' }>).message.split('\n');
  return lines.filter((l) => l.includes(other.id.slice(-8))).map((l) => /\/\S+/.exec(l)?.[0] ?? l);
}

/** The relay's row of `/show processes`. */
async function relayRow(observer: Started): Promise<string> {
  const from = observer.proc.items.length;
  observer.proc.write('/show processes');
  const answer = await observer.proc.waitFor((e) => observer.proc.items.indexOf(e) >= from && e.type === 'info', `${observer.nick}: /show processes`);
  return (answer as Extract<PeerEvent, { type: 'info' }>).message.split('\n').find((l) => l.includes('reservations taken')) ?? '';
}

/** The bootstrap set as the API lists it, fetched from inside `where` (the test's own namespace cannot reach it). */
async function bootstrapSet(where: NetnsHost, url: string): Promise<{ peerId: string, addrs: string[] }[]> {
  const script = `fetch(${JSON.stringify(`${url}/v1/peers`)}).then((r) => r.text()).then((t) => console.log(t))`;
  const answer = await new Proc<{ peers: { peerId: string, addrs: string[] }[] }>(['-e', script], (line) => JSON.parse(line) as never, {}, where.launcher)
    .waitFor(() => true, 'the bootstrap set');
  return answer.peers;
}

/** Asks again until `holds`, or fails at the deadline; each ask takes a process start, so this does not spin. */
async function eventually<T>(what: string, ask: () => Promise<T>, holds: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await ask();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
  }
}

async function scratchFile(name: string, bytes: number, random: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-nat-file-'));
  dirs.push(dir);
  const path = join(dir, name);
  // A sparse file where the content does not matter: quick to make at any size.
  await writeFile(path, random ? randomBytes(bytes) : '');
  if (!random) await truncate(path, bytes);
  return path;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Sends `path` from `from` to `to` with /send-file and checks that the saved file is the same bytes. */
async function sendFileThrough(from: Started, to: Started, path: string): Promise<void> {
  const [fromMark, toMark] = [from.proc.items.length, to.proc.items.length];
  from.proc.write(`/send-file ${to.nick} ${path}`);
  const sent = await from.proc.waitFor((e) => from.proc.items.indexOf(e) >= fromMark && (e.type === 'file-sent' || e.type === 'file-failed'),
    `${from.nick} to send the file`, FILE_MS);
  expect(sent.type, JSON.stringify(sent)).toBe('file-sent');
  const received = await to.proc.waitFor((e) => to.proc.items.indexOf(e) >= toMark && e.type === 'file-received',
    `${to.nick} to save the file`, FILE_MS) as Extract<PeerEvent, { type: 'file-received' }>;
  expect(sha256(await readFile(received.path))).toBe(sha256(await readFile(path)));
}

describe.skipIf(unavailable !== undefined)('peers behind NATs', () => {
  it(`the topology: home namespaces reach the public one through their NAT, and cannot reach each other${skipped}`, async () => {
    const { pub, nat1, nat2, home1, home2 } = topology();
    const inPub = await listen(pub);
    const inHome2 = await listen(home2);
    expect(await tryConnect(home1, pub.ip, inPub.port)).toBe('connected');
    // The public side sees the router's address, not the home one: source NAT.
    const accepted = await inPub.proc.waitFor((l) => l.type === 'accepted', 'the public listener to accept');
    expect(accepted).toEqual({ type: 'accepted', from: nat1.publicIp });
    expect(await tryConnect(home2, pub.ip, inPub.port)).toBe('connected');
    // Neither the private address behind the other NAT, nor its router's public one, lets a connection in.
    expect(await tryConnect(home1, home2.ip, inHome2.port)).not.toBe('connected');
    expect(await tryConnect(home1, nat2.publicIp, inHome2.port)).not.toBe('connected');
    expect(await tryConnect(pub, home2.ip, inHome2.port)).not.toBe('connected');
  });

  it(`two home peers meet through the bootstrap API, chat and message each other through the relay; a crash is failed, a quit is left${skipped}`, async () => {
    const { pub, home1, home2 } = topology();
    const { url } = await startBootstrapServer(['--no-data-file'], pub.ip, pub.launcher);
    const relay = await startPeerIn(pub, 'relay', url, ['--relay']);
    const [h1, h2] = await Promise.all([startPeerIn(home1, 'home1', url), startPeerIn(home2, 'home2', url)]);
    await Promise.all([
      memberEvent(h1, 'member-joined', h2), memberEvent(h2, 'member-joined', h1),
      memberEvent(relay, 'member-joined', h1), memberEvent(relay, 'member-joined', h2)
    ]);
    // Their only path is the relay: the connection between them is a circuit through it.
    await h1.proc.waitFor((e) => e.type === 'peer-connected' && e.peerId === h2.id, 'home1 connected to home2', MEET_MS);
    const between = await connectionAddrs(h1, h2);
    expect(between.length).toBeGreaterThan(0);
    expect(between.every((a) => a.includes(`/p2p/${relay.id}/p2p-circuit`)), between.join(' ')).toBe(true);

    // Each home peer registered its relayed address: the API's checks take /p2p-circuit addresses.
    const circuit = `/p2p/${relay.id}/p2p-circuit`;
    await eventually('relayed addresses in the bootstrap set', () => bootstrapSet(pub, url),
      (set) => [h1, h2].every((h) => set.some((p) => p.peerId === h.id && p.addrs.some((a) => a.endsWith(circuit)))), MEET_MS);

    h1.proc.write('hello from home1');
    await h2.proc.waitFor((e) => e.type === 'message' && e.text === 'hello from home1', 'home2 to get the message', DELIVER_MS);
    h2.proc.write('hello from home2');
    await h1.proc.waitFor((e) => e.type === 'message' && e.text === 'hello from home2', 'home1 to get the message', DELIVER_MS);
    h1.proc.write('/msg home2 psst');
    await h2.proc.waitFor((e) => e.type === 'dm' && e.text === 'psst', 'home2 to get the direct message', DELIVER_MS);
    await h1.proc.waitFor((e) => e.type === 'dm-delivered' && e.to === h2.id, 'the acknowledgement', DELIVER_MS);
    // A file of a few MB, through the relay as everything else.
    await sendFileThrough(h1, h2, await scratchFile('photos.bin', 4 * 1024 * 1024, true));

    // A crash behind a NAT: nobody can dial home2 directly, and the relay no longer reaches it.
    h2.proc.kill('SIGKILL');
    await h2.proc.exited;
    await Promise.all([memberEvent(h1, 'member-failed', h2), memberEvent(relay, 'member-failed', h2)]);
    // Its slot on the relay is free again (libp2p would hold it for the reservation's two-hour TTL).
    expect(await relayRow(relay)).toContain('1 of 16 reservations taken');

    // Back with its data dir (so its peer ID), then gone gracefully.
    const mark = h1.proc.items.length;
    const again = await startPeerIn(home2, 'home2', url, [], h2.dir);
    expect(again.id).toBe(h2.id);
    await Promise.all([
      h1.proc.waitFor((e) => h1.proc.items.indexOf(e) >= mark && (e.type === 'member-joined' || e.type === 'member-alive') && e.peerId === again.id,
        'home1: home2 back', MEET_MS),
      memberEvent(again, 'member-joined', h1)
    ]);
    const before = [h1.proc.items.length, relay.proc.items.length];
    again.proc.write('/quit');
    await Promise.all([memberEvent(h1, 'member-left', again, before[0]), memberEvent(relay, 'member-left', again, before[1])]);
  }, 60_000);

  it(`a home peer joining a formed network is never suspected: the first claim the members hear carries its relayed address${skipped}`, async () => {
    const { pub, home1, home2 } = topology();
    const { url } = await startBootstrapServer(['--no-data-file'], pub.ip, pub.launcher);
    const relay = await startPeerIn(pub, 'relay3', url, ['--relay']);
    const direct = await startPeerIn(pub, 'pub3', url, ['--relay', 'off', '--reserve-relays', '0']);
    const h1 = await startPeerIn(home1, 'home1c', url);
    await Promise.all([memberEvent(direct, 'member-joined', h1), memberEvent(relay, 'member-joined', h1), memberEvent(h1, 'member-joined', direct)]);
    const others = [relay, direct, h1];
    const marks = others.map((o) => o.proc.items.length);
    const h2 = await startPeerIn(home2, 'home2c', url);
    await Promise.all(others.map((o) => memberEvent(o, 'member-joined', h2)));
    h2.proc.write('new here');
    await Promise.all(others.map((o) => o.proc.waitFor((e) => e.type === 'message' && e.text === 'new here', `${o.nick} to get the newcomer's line`, DELIVER_MS)));
    const mark = direct.proc.items.length;
    direct.proc.write('/whois home2c');
    const whois = await direct.proc.waitFor((e) => direct.proc.items.indexOf(e) >= mark && e.type === 'info', 'pub3: /whois home2c');
    expect((whois as Extract<PeerEvent, { type: 'info' }>).message).toContain(`/p2p/${relay.id}/p2p-circuit`);
    // Until it chats, nobody suspected it, and nobody needed a second claim to reach it.
    others.forEach((o, i) => {
      const about = o.proc.items.slice(marks[i]).filter((e) => 'peerId' in e && e.peerId === h2.id && e.type.startsWith('member-'));
      expect(about.map((e) => e.type), `${o.nick}: ${JSON.stringify(about)}`).toEqual(['member-joined']);
    });
  }, 60_000);

  it(`through a relay that limits its circuits, membership, rooms, direct messages and files within the limit share one circuit (limited connections)${skipped}`, async () => {
    const { pub, home1, home2 } = topology();
    const { url } = await startBootstrapServer(['--no-data-file'], pub.ip, pub.launcher);
    // Any limit makes libp2p mark the relayed connection limited: only protocols that opt in run on it.
    const relay = await startPeerIn(pub, 'strict', url, ['--relay', '--relay-circuit-seconds', '600', '--relay-circuit-bytes', String(CIRCUIT_BYTES)]);
    const [h1, h2] = await Promise.all([startPeerIn(home1, 'home1b', url), startPeerIn(home2, 'home2b', url)]);
    await Promise.all([memberEvent(h1, 'member-joined', h2), memberEvent(h2, 'member-joined', h1)]);
    await h1.proc.waitFor((e) => e.type === 'peer-connected' && e.peerId === h2.id, 'home1b connected to home2b', MEET_MS);
    expect((await connectionAddrs(h1, h2)).every((a) => a.includes(`/p2p/${relay.id}/p2p-circuit`))).toBe(true);
    h2.proc.write('over a limited circuit');
    await h1.proc.waitFor((e) => e.type === 'message' && e.text === 'over a limited circuit', 'home1b to get the message', DELIVER_MS);
    h1.proc.write('/msg home2b limited psst');
    await h2.proc.waitFor((e) => e.type === 'dm' && e.text === 'limited psst', 'home2b to get the direct message', DELIVER_MS);
    // A file within the circuit's data limit goes through; one larger than it is refused before a byte is sent.
    await sendFileThrough(h2, h1, await scratchFile('notes.bin', 2 * 1024 * 1024, true));
    const mark = h1.proc.items.length;
    h1.proc.write(`/send-file home2b ${await scratchFile('too-big.bin', CIRCUIT_BYTES + 1024 * 1024, false)}`);
    const failed = await h1.proc.waitFor((e) => h1.proc.items.indexOf(e) >= mark && (e.type === 'file-failed' || e.type === 'file-sent'),
      'home1b: the oversize file refused', FILE_MS);
    expect(failed).toMatchObject({ type: 'file-failed', reason: 'connection' });
    expect((failed as Extract<PeerEvent, { type: 'file-failed' }>).message).toContain('relayed');
    expect(h2.proc.items.some((e) => e.type === 'file-offered')).toBe(false);
    // Every protocol shares the one circuit: none dialled the other through the relay again.
    const circuits = await connectionAddrs(h1, h2);
    expect(circuits, circuits.join(' ')).toHaveLength(1);
  }, 45_000);
});
