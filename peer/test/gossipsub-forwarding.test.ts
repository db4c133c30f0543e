import { afterEach, describe, expect, it } from 'vitest';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PeerId } from '@libp2p/interface';
import { connectionOptions } from '../src/node/create-node.ts';
import { pubsub } from '../src/node/gossipsub.ts';
import type { Pubsub, PubsubMessage, PubsubOptions } from '../src/node/gossipsub.ts';
import { waitFor } from './support/membership-nodes.ts';

const TOPIC = 'cli-chat-test/forwarding';
const WAIT_MS = 15_000;
type Node = Libp2p<{ identify: unknown, pubsub: Pubsub }>;

describe('gossipsub forwarding', () => {
  const nodes: Node[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  async function start(options: PubsubOptions = {}): Promise<Node> {
    const node = await createLibp2p({
      ...connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']),
      services: { identify: identify(), pubsub: pubsub({ heartbeatInterval: 200, ...options }) }
    });
    nodes.push(node);
    return node;
  }

  function received(node: Node, from: PeerId): string[] {
    const texts: string[] = [];
    node.services.pubsub.addEventListener('message', (evt: CustomEvent<PubsubMessage>) => {
      const message = evt.detail;
      if (message.type === 'signed' && message.from.equals(from)) texts.push(new TextDecoder().decode(message.data));
    });
    return texts;
  }

  it('never sends a message back to its author', { timeout: 30_000 }, async () => {
    // A's mesh holds one peer, C. B takes A as a direct peer, so B sends A everything it
    // forwards, without a mesh link: B gets A's messages from C, and only its author
    // rule keeps them from going back to A.
    const a = await start({ D: 1, Dlo: 1, Dhi: 1, Dout: 0, Dscore: 0, Dlazy: 1 });
    const c = await start();
    await a.dial(c.getMultiaddrs()[0]!);
    for (const node of [a, c]) node.services.pubsub.subscribe(TOPIC);
    await waitFor("A's mesh to hold C", () => a.services.pubsub.getMeshPeers(TOPIC).includes(c.peerId.toString()), WAIT_MS);

    const b = await start({ directPeers: [{ id: a.peerId, addrs: a.getMultiaddrs() }] });
    await b.dial(c.getMultiaddrs()[0]!);
    await b.dial(a.getMultiaddrs()[0]!);
    b.services.pubsub.subscribe(TOPIC);
    await waitFor("B's mesh to hold C", () => b.services.pubsub.getMeshPeers(TOPIC).includes(c.peerId.toString()), WAIT_MS);
    expect(a.services.pubsub.getMeshPeers(TOPIC)).toEqual([c.peerId.toString()]);

    // Every message copy that reaches A, counted before gossipsub drops duplicates (test
    // instrumentation of the observer; B and C are the nodes under test).
    const service = a.services.pubsub as unknown as { handleReceivedMessage: (from: PeerId, rpc: { from?: Uint8Array }) => Promise<void> };
    const handle = service.handleReceivedMessage.bind(service);
    const self = a.peerId.toMultihash().bytes;
    let ownCopies = 0;
    service.handleReceivedMessage = async (from, rpc) => {
      if (rpc.from !== undefined && Buffer.compare(rpc.from, self) === 0) ownCopies++;
      return handle(from, rpc);
    };

    const atB = received(b, a.peerId);
    const atA = received(a, b.peerId);
    const sent = Array.from({ length: 20 }, (_, i) => `from A ${i}`);
    for (const text of sent) await a.services.pubsub.publish(TOPIC, new TextEncoder().encode(text));
    await waitFor('B to get all of A\'s messages (through C)', () => atB.length === sent.length, WAIT_MS);
    expect(atB).toEqual(sent);
    // B sends its own message to A, its direct peer, on the stream any forwarded copy
    // would have taken before it: once A has it, nothing forwarded is still on the way.
    await b.services.pubsub.publish(TOPIC, new TextEncoder().encode('from B'));
    await waitFor('A to get B\'s message', () => atA.length === 1, WAIT_MS);
    expect(ownCopies).toBe(0);
  });
});
