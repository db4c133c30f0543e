/**
 * The reachability protocol between real libp2p nodes in this process, over TCP on
 * 127.0.0.x. Loopback stands for a network here (`isLocal: () => false`); everything else
 * is as a peer runs it: a peer that another dials back is public, one that announces an
 * address nobody listens on is unreachable, and a helper refuses to dial an address at
 * another IP than the requester's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { connectionOptions, createPeerNode } from '../src/node/create-node.ts';
import type { PeerNode, PeerNodeOptions } from '../src/node/create-node.ts';
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
import { reach } from '../src/reach/index.ts';
import type { Reach, Reachability, ReachInit } from '../src/reach/index.ts';
import { decodeAnswer, encodeRequest } from '../src/reach/codec.ts';
import type { ReachAnswer } from '../src/reach/codec.ts';
import { MAX_RESPONSE_BYTES, REACH_PROTOCOL } from '../src/reach/constants.ts';
import { freePort } from './support/processes.ts';
import { waitFor } from './support/membership-nodes.ts';

const WAIT_MS = 15_000;
const ON_ONE_HOST: ReachInit = { isLocal: () => false, dialBackTimeout: 2_000 };
const nodes: Libp2p[] = [];
const servers: Server[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function peerNode(options: Partial<PeerNodeOptions> = {}): Promise<PeerNode> {
  const node = await createPeerNode({
    privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, reach: ON_ONE_HOST, ...options
  });
  nodes.push(node);
  await node.start();
  return node;
}

/** A node with only identify and reachability, announcing `announce` instead of where it listens. */
async function announcingNode(announce: string): Promise<Libp2p<{ reach: Reach }>> {
  const base = connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']);
  const node = await createLibp2p({
    ...base, addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [announce] },
    services: { identify: identify(), reach: reach(ON_ONE_HOST) }
  });
  nodes.push(node);
  await node.start();
  return node;
}

/** A node with identify only: it asks by hand, and never checks itself. */
async function bareNode(): Promise<Libp2p> {
  const node = await createLibp2p({ ...connectionOptions(await generateKeyPair('Ed25519'), []), services: { identify: identify() } });
  nodes.push(node);
  await node.start();
  return node;
}

/** Polls an async `condition` until it holds; fails naming `what` after WAIT_MS. */
async function waitForAsync(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function verdictOf(node: Libp2p<{ reach: Reach }>, expected: Reachability): Promise<void> {
  return waitFor(`reachability ${expected}`, () => node.services.reach.reachability === expected, WAIT_MS);
}

/** A plain TCP listener on `host` that counts the connections it accepts: the third party of the IP rule. */
async function countingServer(host: string): Promise<{ port: number, accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => { accepted++; socket.destroy(); });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, accepted: () => accepted };
}

/** Sends one raw request from `from` to `helper` and reads the answer. */
async function ask(from: Libp2p, helper: Libp2p, addrs: string[]): Promise<ReachAnswer> {
  const stream = await from.dialProtocol(helper.getMultiaddrs()[0]!, REACH_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_BYTES });
  await lp.write(encodeRequest(addrs));
  const answer = decodeAnswer((await lp.read()).subarray());
  await stream.close();
  return answer;
}

describe('reachability over TCP', () => {
  it('a peer another peer dials back on a new connection is public; the connection it asked on stays', async () => {
    const helper = await peerNode();
    const peer = await peerNode();
    expect(peer.services.reach.reachability).toBe('unknown');
    const inbound: string[] = [];
    peer.addEventListener('connection:open', ({ detail: c }) => {
      if (c.direction === 'inbound' && c.remotePeer.equals(helper.peerId)) inbound.push(c.id);
    });
    await peer.dial(helper.getMultiaddrs()[0]!);
    const asked = peer.getConnections(helper.peerId)[0]!;
    await verdictOf(peer, 'public');
    // The dial-back came in on a connection of its own, and went away again.
    expect(inbound.length).toBeGreaterThan(0);
    expect(asked.status).toBe('open');
    expect(helper.services.reach.view().served).toMatchObject({ answered: 1, reached: 1 });
    expect(peer.services.reach.view().answers).toEqual([
      { peerId: helper.peerId.toString(), results: [{ addr: peer.services.reach.view().addrs[0], result: 'ok', mapped: false }] }
    ]);
    // The helper asked back, and is public too.
    await verdictOf(helper, 'public');
  });

  it('a peer announcing an address nobody listens on is unreachable', async () => {
    const helper = await peerNode();
    const dead = `/ip4/127.0.0.1/tcp/${await freePort()}`;
    const peer = await announcingNode(dead);
    await peer.dial(helper.getMultiaddrs()[0]!);
    await verdictOf(peer, 'unreachable');
    const [answer] = peer.services.reach.view().answers;
    expect(answer?.results).toEqual([{ addr: dead, result: 'failed', mapped: false }]);
  });

  it('a helper refuses to dial an address at another IP than the requester\'s, and limits each requester', async () => {
    const helper = await peerNode();
    const third = await countingServer('127.0.0.5');
    const requester = await bareNode();
    const target = `/ip4/127.0.0.5/tcp/${third.port}`;
    // The requester connects from 127.0.0.1: 127.0.0.5 is someone else's address.
    const answer = await ask(requester, helper, [target]);
    expect(answer).toEqual({
      v: 1, results: [
        { addr: target, result: 'refused', mapped: false },
        // Its own IP with that port is tried instead, and nobody is there.
        { addr: `/ip4/127.0.0.1/tcp/${third.port}`, result: 'failed', mapped: true }
      ]
    });
    expect(third.accepted()).toBe(0);
    // Two requests at once, then one every 30 s.
    expect(await ask(requester, helper, [target])).toMatchObject({ results: [{ result: 'refused' }, { result: 'failed' }] });
    expect(await ask(requester, helper, [target])).toMatchObject({ v: 1, refused: 'rate-limited' });
    expect(third.accepted()).toBe(0);
  });

  it('a bad request is answered bad-request and dials nothing', async () => {
    const helper = await peerNode();
    const requester = await bareNode();
    const stream = await requester.dialProtocol(multiaddr(helper.getMultiaddrs()[0]!.toString()), REACH_PROTOCOL);
    const lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_BYTES });
    await lp.write(new TextEncoder().encode('{"v":1,"addrs":["/dns4/example.com/tcp/80"]}'));
    const answer = decodeAnswer((await lp.read()).subarray());
    expect(answer).toMatchObject({ v: 1, refused: 'bad-request' });
    expect(helper.services.reach.view().served.dialBacks).toBe(0);
    expect(helper.status).toBe('started');
  });
});

describe('the relay role', () => {
  it('starts serving while the node runs, peers hear of it and reserve when told (and drop it when told), and it stops again', async () => {
    const limits = { maxReservations: 4, circuitSeconds: 0, circuitBytes: 0 };
    const relay = await peerNode({ listen: ['/ip4/127.0.0.2/tcp/0'], relay: { serve: limits, serveAtStart: false, reservations: 0 } });
    const behind = await peerNode({ listen: [], relay: { reservations: 1, reserveAtStart: false } });
    await behind.dial(relay.getMultiaddrs()[0]!);
    expect(relay.services.relay.serving).toBe(false);
    expect(behind.services.relay.reserving).toBe(false);
    await relay.services.relay.serve();
    // Identify push: the peer learns that the relay now speaks the hop protocol.
    await waitForAsync('the hop protocol announced', async () => (await behind.peerStore.get(relay.peerId)).protocols.includes(RELAY_V2_HOP_CODEC));
    await behind.services.relay.reserve();
    await waitFor('a relayed address', () => behind.getMultiaddrs().some((a) => a.toString().includes(`/p2p/${relay.peerId.toString()}/p2p-circuit`)), WAIT_MS);
    expect(relay.services.relay.reservationsTaken).toBe(1);
    // Found public, the peer drops its reservation and the relayed address with it; found unreachable again, it reserves again.
    const relayed = (): boolean => behind.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit'));
    await behind.services.relay.unreserve();
    expect(behind.services.relay.reserving).toBe(false);
    await waitFor('the relayed address withdrawn', () => !relayed(), WAIT_MS);
    await behind.services.relay.reserve();
    await waitFor('a relayed address again', relayed, WAIT_MS);
    await relay.services.relay.stopServing();
    expect(relay.services.relay.serving).toBe(false);
    expect(relay.services.relay.reservationsTaken).toBe(0);
    await waitForAsync('the hop protocol withdrawn', async () => !(await behind.peerStore.get(relay.peerId)).protocols.includes(RELAY_V2_HOP_CODEC));
  });
});
