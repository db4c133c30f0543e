/**
 * Members behind one relay all reach us from the relay's IP. Real libp2p nodes in this
 * process over TCP: a relay on 127.0.0.2 (loopback, but not the whitelisted 127.0.0.1) and
 * two peers with no listen address of their own, reachable only through their reservation
 * on it. Gossipsub's IP-colocation threshold is lowered to 1 so that two relayed members
 * are already "too many at one IP", as eleven would be with the default of 10.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { createPeerNode } from '../src/node/create-node.ts';
import type { PeerNode } from '../src/node/create-node.ts';
import type { PeerNodeOptions } from '../src/node/create-node.ts';

const WAIT_MS = 10_000;
const nodes: PeerNode[] = [];

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function startNode(options: Partial<PeerNodeOptions>): Promise<PeerNode> {
  const node = await createPeerNode({
    privateKey: await generateKeyPair('Ed25519'), listen: [], mdns: false,
    pubsub: { scoreParams: { IPColocationFactorThreshold: 1 } }, ...options
  });
  nodes.push(node);
  await node.start();
  return node;
}

let relay: PeerNode;
let observer: PeerNode;
let behind: PeerNode[];

beforeAll(async () => {
  relay = await startNode({ listen: ['/ip4/127.0.0.2/tcp/0'], relay: { serve: { maxReservations: 4, circuitSeconds: 0, circuitBytes: 0 }, reservations: 0 } });
  behind = await Promise.all([startNode({ relay: { reservations: 1 } }), startNode({ relay: { reservations: 1 } })]);
  for (const node of behind) await node.dial(relay.getMultiaddrs()[0]!);
  await waitFor('both reservations', () => behind.every((n) => n.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit'))));
  observer = await startNode({ listen: ['/ip4/127.0.0.1/tcp/0'] });
  for (const node of behind) {
    const circuit = node.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit'))!;
    await observer.dial(multiaddr(circuit.toString()));
  }
}, 30_000);

afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()));
});

describe('members behind one relay', () => {
  it('are not penalised by gossipsub for sharing the relay\'s IP', async () => {
    const ids = behind.map((n) => n.peerId.toString());
    await waitFor('gossipsub peers through the relay', () => ids.every((id) => observer.services.pubsub.getPeers().some((p) => p.toString() === id)));
    for (const id of ids) {
      const addrs = observer.getConnections().filter((c) => c.remotePeer.toString() === id).map((c) => c.remoteAddr.toString());
      expect(addrs.every((a) => a.startsWith('/ip4/127.0.0.2/') && a.includes('/p2p-circuit')), addrs.join(' ')).toBe(true);
      expect(observer.services.pubsub.getScore(id)).toBeGreaterThanOrEqual(0);
    }
  });
});
