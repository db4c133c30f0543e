/**
 * Three real libp2p nodes in this process, over TCP on 127.0.0.1, mDNS off, connected by
 * dialling each other. A and B chat in "lobby", C sits in "other" and joins lobby later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createPeerNode } from '../src/node/create-node.ts';
import type { PeerNode } from '../src/node/create-node.ts';
import { ChatInputError, NotJoinedError } from '../src/chat/index.ts';
import type { ChatMessageEvent, ChatRejectedEvent } from '../src/chat/index.ts';
import { encodeChatMessage, roomTopic } from '../src/chat/codec.ts';
import { MAX_MESSAGE_BYTES } from '../src/chat/constants.ts';

const LOBBY = 'lobby';
const OTHER = 'other';
const WAIT_MS = 10_000;

interface Inbox {
  messages: ChatMessageEvent[];
  rejected: ChatRejectedEvent[];
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function startNode(): Promise<PeerNode> {
  const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
  await node.start();
  return node;
}

function record(node: PeerNode): Inbox {
  const inbox: Inbox = { messages: [], rejected: [] };
  node.services.chat.addEventListener('message', (evt) => inbox.messages.push(evt.detail));
  node.services.chat.addEventListener('rejected', (evt) => inbox.rejected.push(evt.detail));
  return inbox;
}

const texts = (inbox: Inbox, from: PeerNode, room = LOBBY): string[] =>
  inbox.messages.filter((m) => m.from === from.peerId.toString() && m.room === room).map((m) => m.text);

/** Both see each other subscribed to the room and in their mesh for it. */
async function waitForMesh(room: string, ...nodes: PeerNode[]): Promise<void> {
  const topic = roomTopic(room);
  for (const node of nodes) {
    for (const other of nodes) {
      if (other === node) continue;
      const id = other.peerId.toString();
      await waitFor(`${id} in the ${room} mesh of ${node.peerId.toString()}`, () =>
        node.services.pubsub.getSubscribers(topic).some((p) => p.toString() === id) &&
        node.services.pubsub.getMeshPeers(topic).includes(id));
    }
  }
}

describe('chat between three nodes', () => {
  let a: PeerNode, b: PeerNode, c: PeerNode;
  let inA: Inbox, inB: Inbox, inC: Inbox;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startNode(), startNode(), startNode()]);
    [inA, inB, inC] = [record(a), record(b), record(c)];
    await Promise.all([a.dial(b.getMultiaddrs()), a.dial(c.getMultiaddrs()), b.dial(c.getMultiaddrs())]);
    a.services.chat.setNick('alice');
    b.services.chat.setNick('bob');
    c.services.chat.setNick('carol');
    a.services.chat.join(LOBBY);
    b.services.chat.join(LOBBY);
    c.services.chat.join(OTHER);
    await waitForMesh(LOBBY, a, b);
  });

  afterAll(async () => {
    await Promise.all([a, b, c].map((node) => node?.stop()));
  });

  it('delivers each message once to the room, never to the sender or another room', async () => {
    const sentByA = ['hello bob', 'same text', 'same text'];
    const sentByB = ['hi alice', 'how are you?'];
    const ids: string[] = [];
    for (const text of sentByA) ids.push((await a.services.chat.send(LOBBY, text)).id);
    for (const text of sentByB) ids.push((await b.services.chat.send(LOBBY, text)).id);
    expect(new Set(ids).size).toBe(ids.length);

    // Each sender's messages travel one ordered stream per peer: once its last one is in,
    // any duplicate or stray earlier one would be in too.
    await waitFor('A\'s messages at B', () => texts(inB, a).length >= sentByA.length);
    await waitFor('B\'s messages at A', () => texts(inA, b).length >= sentByB.length);
    expect(texts(inB, a)).toEqual(sentByA);
    expect(texts(inA, b)).toEqual(sentByB);
    expect(inA.messages.map((m) => m.from)).not.toContain(a.peerId.toString());
    expect(inB.messages.map((m) => m.from)).not.toContain(b.peerId.toString());
    const fromA = inB.messages[0];
    expect(fromA).toMatchObject({ room: LOBBY, nick: 'alice', text: 'hello bob', id: ids[0] });
    expect(Math.abs((fromA?.ts ?? 0) - Date.now())).toBeLessThan(WAIT_MS);
    expect(inC.messages).toEqual([]);
    expect([...inA.rejected, ...inB.rejected, ...inC.rejected]).toEqual([]);
  });

  it('delivers to a peer that joins later', async () => {
    const earlier = inB.messages.map((m) => m.text).concat(inA.messages.map((m) => m.text));
    const before = { a: inA.messages.length, b: inB.messages.length };
    c.services.chat.join(LOBBY);
    expect(c.services.chat.rooms()).toEqual([OTHER, LOBBY]);
    await waitForMesh(LOBBY, a, b, c);
    expect(c.services.chat.roomPeers(LOBBY).sort()).toEqual([a, b].map((n) => n.peerId.toString()).sort());

    await a.services.chat.send(LOBBY, 'welcome carol');
    await b.services.chat.send(LOBBY, 'hi carol');
    await c.services.chat.send(LOBBY, 'thanks!');
    await waitFor('both messages at C', () => texts(inC, a).includes('welcome carol') && texts(inC, b).includes('hi carol'));
    await waitFor('C\'s message at A and B', () => texts(inA, c).length >= 1 && texts(inB, c).length >= 1);
    expect(inA.messages.slice(before.a).map((m) => m.text).sort()).toEqual(['hi carol', 'thanks!']);
    expect(inB.messages.slice(before.b).map((m) => m.text).sort()).toEqual(['thanks!', 'welcome carol']);
    // Gossip (IHAVE/IWANT) may also hand C messages from the few seconds before it joined:
    // those are lobby messages too, and each still arrives only once.
    const late = inC.messages.filter((m) => !['welcome carol', 'hi carol'].includes(m.text));
    for (const m of late) expect(earlier).toContain(m.text);
    expect(inC.messages.every((m) => m.room === LOBBY)).toBe(true);
  });

  it('rejects malformed, oversize and far-future messages without crashing, and keeps the sender', async () => {
    const topic = roomTopic(LOBBY);
    const counts = { b: inB.messages.length, c: inC.messages.length };
    const future = encodeChatMessage({ v: 1, room: LOBBY, nick: 'alice', text: 'from the future', ts: Date.now() + 3_600_000, nonce: 'f'.repeat(32) });
    // The raw pubsub API skips the chat service's own checks, as a hostile peer would.
    await a.services.pubsub.publish(topic, new TextEncoder().encode('{"v":1,"room":"lobby"'));
    await a.services.pubsub.publish(topic, new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x20));
    await a.services.pubsub.publish(topic, future);

    for (const [name, inbox] of [['B', inB], ['C', inC]] as const) {
      await waitFor(`three rejections at ${name}`, () => inbox.rejected.length >= 3);
      expect(inbox.rejected.map((r) => r.reason.split(':')[0])).toEqual(['not-json', 'too-large', 'from-future']);
      for (const r of inbox.rejected) expect(r).toMatchObject({ from: a.peerId.toString(), room: LOBBY });
    }

    // The penalty is real: B prunes A from its lobby mesh at its next heartbeat...
    await waitFor('B to prune A from its mesh', () => !b.services.pubsub.getMeshPeers(topic).includes(a.peerId.toString()));
    expect(b.services.pubsub.getScore(a.peerId.toString())).toBeLessThan(0);
    // ...yet A's next valid message still reaches everyone.
    await a.services.chat.send(LOBBY, 'still here');
    await waitFor('A\'s next valid message at B and C', () => texts(inB, a).includes('still here') && texts(inC, a).includes('still here'));
    expect(inB.messages.slice(counts.b).map((m) => m.text)).toEqual(['still here']);
    // C may still get late gossip from before it joined (see the previous test), nothing else.
    const atC = inC.messages.slice(counts.c).map((m) => m.text);
    expect(atC.filter((t) => t === 'still here')).toHaveLength(1);
    expect(atC).not.toContain('from the future');
    // Penalised, but nowhere near the graylist (-80).
    expect(b.services.pubsub.getScore(a.peerId.toString())).toBeGreaterThan(-20);
    for (const node of [a, b, c]) expect(node.status).toBe('started');
  });

  it('sends to a room with no other peer, and refuses bad sends clearly', async () => {
    a.services.chat.join('empty-room');
    await expect(a.services.chat.send('empty-room', 'anyone?')).resolves.toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await expect(a.services.chat.send('not-joined', 'hi')).rejects.toThrow(NotJoinedError);
    await expect(a.services.chat.send('bad room', 'hi')).rejects.toThrow(ChatInputError);
    await expect(a.services.chat.send(LOBBY, 'x'.repeat(5000))).rejects.toThrow('text is 5000 bytes; the limit is 4096');
    await expect(a.services.chat.send(LOBBY, '   ')).rejects.toThrow('text is empty');
    expect(() => a.services.chat.setNick('bad\nnick')).toThrow(ChatInputError);
    a.services.chat.leave('empty-room');
    expect(a.services.chat.rooms()).toEqual([LOBBY]);
  });

  it('never delivered any message twice', () => {
    for (const inbox of [inA, inB, inC]) {
      const ids = inbox.messages.map((m) => m.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});

describe('a node with a bootstrap list', () => {
  it('dials the listed peers by itself', async () => {
    const seed = await startNode();
    const joiner = await createPeerNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      bootstrapAddrs: seed.getMultiaddrs().map((addr) => addr.toString())
    });
    try {
      await joiner.start();
      await waitFor('the joiner to connect to its seed', () => joiner.getConnections(seed.peerId).length > 0);
    } finally {
      await Promise.all([joiner.stop(), seed.stop()]);
    }
  });
});

describe('flood control', () => {
  const LIMIT = { rate: 5, burst: 10 };
  let f: PeerNode, a: PeerNode, b: PeerNode;
  let inA: Inbox, inB: Inbox;
  /** Peers each node cut off, by the node's peer ID. */
  const cutOff = new Map<string, string[]>();

  async function limitedNode(): Promise<PeerNode> {
    const privateKey = await generateKeyPair('Ed25519');
    const self = peerIdFromPrivateKey(privateKey).toString();
    cutOff.set(self, []);
    const node = await createPeerNode({
      privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, chat: { authorRateLimit: LIMIT },
      onCutOff: (peerId) => cutOff.get(self)?.push(peerId)
    });
    await node.start();
    return node;
  }

  beforeAll(async () => {
    [f, a, b] = await Promise.all([limitedNode(), limitedNode(), limitedNode()]);
    [inA, inB] = [record(a), record(b)];
    await Promise.all([f.dial(a.getMultiaddrs()), f.dial(b.getMultiaddrs()), a.dial(b.getMultiaddrs())]);
    for (const node of [f, a, b]) node.services.chat.join(LOBBY);
    await waitForMesh(LOBBY, f, a, b);
  });

  afterAll(async () => {
    await Promise.all([f, a, b].map((node) => node?.stop()));
  });

  it('drops an author over its limit, graylists it, cuts it off, and blames none of the peers that forwarded it', async () => {
    const topic = roomTopic(LOBBY);
    const fId = f.peerId.toString();
    const graylisted = (): boolean => [a, b].every((node) => node.services.pubsub.getScore(fId) < -80);
    const started = Date.now();
    const cutOffByBoth = (): boolean => [a, b].every((node) => (cutOff.get(node.peerId.toString()) ?? []).length > 0);
    // Valid messages published straight through gossipsub, as a peer with no limit of its own
    // would, until both have graylisted it (scores are recomputed once a second) and cut it off.
    for (let i = 0; !(graylisted() && cutOffByBoth()); i++) {
      if (Date.now() - started > WAIT_MS) throw new Error('the flooder was not graylisted and cut off');
      await f.services.pubsub.publish(topic, encodeChatMessage({ v: 1, room: LOBBY, nick: 'flood', text: `flood ${i}`, ts: Date.now(), nonce: i.toString(16).padStart(32, '0') }));
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const inbox of [inA, inB]) {
      const rateLimited = inbox.rejected.filter((r) => r.reason.startsWith('rate-limited:'));
      // Reports are throttled: one at once, the rest summed up seconds later.
      expect(rateLimited).toEqual([expect.objectContaining({ from: fId, room: LOBBY, count: 1 })]);
      expect(texts(inbox, f).length).toBeLessThanOrEqual(LIMIT.burst + (LIMIT.rate * (Date.now() - started)) / 1000);
      expect(texts(inbox, f).length).toBeGreaterThanOrEqual(LIMIT.burst);
    }
    // Each forwarded the messages it accepted to the other, most of which the other had
    // refused from F itself. Scores are cached for a second: watch them for longer than that.
    const watchUntil = Date.now() + 1_100;
    while (Date.now() < watchUntil) {
      expect(b.services.pubsub.getScore(a.peerId.toString())).toBeGreaterThanOrEqual(0);
      expect(a.services.pubsub.getScore(b.peerId.toString())).toBeGreaterThanOrEqual(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Past twice the limit of its own messages, cut off: disconnected, told once, refused.
    for (const node of [a, b]) {
      await waitFor('the flooder disconnected', () => node.getConnections(f.peerId).length === 0);
      expect(cutOff.get(node.peerId.toString())).toEqual([fId]);
      await expect(node.dial(f.getMultiaddrs())).rejects.toThrow();
    }
    expect(cutOff.get(fId)).toEqual([]);
    await a.services.chat.send(LOBBY, 'still talking');
    await waitFor('A\'s message at B', () => texts(inB, a).includes('still talking'));
  });
});
