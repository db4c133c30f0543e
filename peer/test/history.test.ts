/**
 * History: signed records checked like live messages, the backlog protocol between real
 * libp2p nodes (one of them answering with forged entries), and, across peer processes, a
 * late joiner receiving a room's past once and a restarted peer showing its own.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { RPC } from '@libp2p/gossipsub/message';
import { lpStream } from '@libp2p/utils';
import { pino } from 'pino';
import { createPeerNode } from '../src/node/create-node.ts';
import type { PeerNode } from '../src/node/create-node.ts';
import { chatMessageId, encodeChatMessage, formatMessageId, roomTopic } from '../src/chat/codec.ts';
import { CHAT_PROTOCOL_VERSION } from '../src/chat/constants.ts';
import { RecordError, verifyRecord } from '../src/history/record.ts';
import { Backlog, BacklogRefusedError, headerCodec } from '../src/history/backlog.ts';
import { BACKLOG_PROTOCOL, BACKLOG_VERSION } from '../src/history/constants.ts';
import { HistoryStore } from '../src/history/store.ts';
import { killAll, startBootstrapServer, startPeer } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
const nodes: PeerNode[] = [];
const stores: HistoryStore[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  for (const s of stores.splice(0)) s.close();
});
afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-history-'));
  dirs.push(dir);
  return dir;
}

async function startNode(): Promise<PeerNode> {
  const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
  await node.start();
  nodes.push(node);
  return node;
}

const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:');
let seqno = 1n;

/** A record signed as gossipsub signs a message, for any topic and payload: what a forger can make with its own key. */
async function signedRecord(key: PrivateKey, topic: string, data: Uint8Array): Promise<Uint8Array> {
  const seq = new Uint8Array(8);
  new DataView(seq.buffer).setBigUint64(0, seqno++, false);
  const message: RPC.Message = { from: peerIdFromPrivateKey(key).toMultihash().bytes, data, seqno: seq, topic };
  const signature = await key.sign(Buffer.concat([SIGN_PREFIX, RPC.Message.encode(message)]));
  return RPC.Message.encode({ ...message, signature });
}

let nonce = 0;
const chatData = (room: string, text: string, ts = Date.now()): Uint8Array =>
  encodeChatMessage({ v: CHAT_PROTOCOL_VERSION, room, nick: 'mallory', text, ts, nonce: (nonce++).toString(16).padStart(32, '0') });

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RecordError) return err.reason;
    throw err;
  }
  throw new Error('the record was accepted');
}

describe('signed records', () => {
  it('verifies what gossipsub delivered and published, and refuses altered, misplaced and forged entries', async () => {
    const [a, b] = [await startNode(), await startNode()];
    await a.dial(b.getMultiaddrs()[0]!);
    a.services.chat.join('lobby');
    b.services.chat.join('lobby');
    const received = new Promise<Uint8Array>((resolve) => b.services.chat.addEventListener('message', (evt) => resolve(evt.detail.record)));
    // Until the mesh forms a message reaches nobody: send until one arrives.
    let sent: Awaited<ReturnType<typeof a.services.chat.send>> | undefined;
    const timer = setInterval(() => { void a.services.chat.send('lobby', 'hello history').then((s) => { sent ??= s; }); }, 200);
    const record = await received.finally(() => clearInterval(timer));

    const ok = verifyRecord(record, 'lobby', Date.now());
    expect(ok).toMatchObject({ room: 'lobby', from: a.peerId.toString(), text: 'hello history' });
    // The author's own copy, from gossipsub's cache, is as verifiable.
    expect(sent?.record).toBeDefined();
    expect(verifyRecord(sent!.record!, 'lobby', Date.now()).from).toBe(a.peerId.toString());

    // Replayed into another room's history.
    expect(rejection(() => verifyRecord(record, 'dev', Date.now()))).toBe('wrong-room');
    // One byte of the text changed.
    const raw = RPC.Message.decode(record);
    const altered = Buffer.from(raw.data!);
    altered[altered.indexOf('hello')] = 'j'.charCodeAt(0);
    expect(rejection(() => verifyRecord(RPC.Message.encode({ ...raw, data: altered }), 'lobby', Date.now()))).toBe('bad-signature');
    // Moved to another topic without re-signing.
    expect(rejection(() => verifyRecord(RPC.Message.encode({ ...raw, topic: roomTopic('dev') }), 'dev', Date.now()))).toBe('bad-signature');
    // Signed by someone else than the author it names.
    const mallory = await generateKeyPair('Ed25519');
    const forged = RPC.Message.decode(await signedRecord(mallory, roomTopic('lobby'), raw.data!));
    expect(rejection(() => verifyRecord(RPC.Message.encode({ ...forged, from: raw.from }), 'lobby', Date.now()))).toBe('bad-signature');
    // Validly signed, but the message inside names another room than its topic.
    expect(rejection(() => verifyRecord(Buffer.alloc(0), 'lobby', Date.now()))).toBe('bad-record');
    const misfiled = await signedRecord(mallory, roomTopic('lobby'), chatData('dev', 'wrong room inside'));
    expect(rejection(() => verifyRecord(misfiled, 'lobby', Date.now()))).toBe('wrong-room');
    const future = await signedRecord(mallory, roomTopic('lobby'), chatData('lobby', 'from the future', Date.now() + 3_600_000));
    expect(rejection(() => verifyRecord(future, 'lobby', Date.now()))).toBe('from-future');
    expect(rejection(() => verifyRecord(Buffer.from([0xff, 0xff, 0xff]), 'lobby', Date.now()))).toBe('bad-record');
  }, 20_000);
});

describe('backlog protocol', () => {
  it('answers from the store and the asker keeps only entries that verify', async () => {
    const [asker, honest, liar] = [await startNode(), await startNode(), await startNode()];
    const key = await generateKeyPair('Ed25519');
    const store = new HistoryStore(join(await tempDir(), 'h.db'), { maxPerConversation: 100, maxAgeMs: 86_400_000 });
    stores.push(store);
    const author = peerIdFromPrivateKey(key).toString();
    const records: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const data = chatData('lobby', `message ${i}`, Date.now() - 10_000 + i);
      const record = await signedRecord(key, roomTopic('lobby'), data);
      records.push(record);
      const v = verifyRecord(record, 'lobby', Date.now());
      store.add([{ id: v.id, kind: 'room', room: 'lobby', peer: author, outgoing: false, nick: v.nick, text: v.text, ts: v.ts, record }]);
    }
    const server = new Backlog({ node: honest, store, rooms: () => ['lobby'], log });
    await server.start();
    const client = new Backlog({ node: asker, store, rooms: () => [], log });
    await asker.peerStore.merge(honest.peerId, { multiaddrs: honest.getMultiaddrs() });
    const answer = await client.fetch(honest.peerId.toString(), 'lobby', 0, 3);
    // The newest three, oldest first.
    expect(answer.entries.map((e) => e.text)).toEqual(['message 2', 'message 3', 'message 4']);
    expect(answer.rejected).toEqual([]);
    await expect(client.fetch(honest.peerId.toString(), 'dev', 0, 10)).rejects.toThrow(BacklogRefusedError);

    // A peer answering with one good entry, one altered, one replayed from another room.
    const raw = RPC.Message.decode(records[0]!);
    const altered = RPC.Message.encode({ ...raw, data: chatData('lobby', 'altered') });
    const otherRoom = await signedRecord(key, roomTopic('dev'), chatData('dev', 'said in dev'));
    await liar.handle(BACKLOG_PROTOCOL, async (stream) => {
      const lp = lpStream(stream);
      await lp.read();
      await lp.write(headerCodec.encode({ v: BACKLOG_VERSION, status: 'ok', count: 3 }));
      await lp.writeV([records[4]!, altered, otherRoom]);
      await stream.close();
    });
    await asker.peerStore.merge(liar.peerId, { multiaddrs: liar.getMultiaddrs() });
    const lied = await client.fetch(liar.peerId.toString(), 'lobby', 0, 10);
    expect(lied.entries.map((e) => e.text)).toEqual(['message 4']);
    expect(lied.rejected.map((r) => r.reason)).toEqual(['bad-signature', 'wrong-room']);
    const expectedId = formatMessageId(chatMessageId(raw.from!, RPC.Message.decode(records[4]!).data!));
    expect(lied.entries[0]!.id).toBe(expectedId);
  }, 20_000);
});

describe('history across peer processes', () => {
  it('gives a late joiner the backlog once, and a restarted peer its own past at once', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await tempDir();
    const start = (nick: string) => startPeer(['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, nick)]);
    const alice = start('alice');
    const bob = start('bob');
    await Promise.all([alice, bob].map((p) => p.waitFor((e) => e.type === 'ready', 'ready')));
    const bobId = (bob.items.find((e) => e.type === 'ready') as Extract<PeerEvent, { type: 'ready' }>).peerId;
    await alice.waitFor((e) => e.type === 'member-updated' && e.peerId === bobId || e.type === 'member-joined' && e.peerId === bobId, 'alice to see bob');
    // Until the mesh forms, alice's lines reach nobody: the first one bob receives starts the count.
    let texts: string[] = [];
    for (let i = 0; ; i++) {
      alice.write(`warm ${i}`);
      const got = await bob.waitFor((e) => e.type === 'message' && e.text === `warm ${i}`, 'a warm-up line', 500).catch(() => undefined);
      if (got) break;
      if (i > 40) throw new Error('bob never received a line from alice');
    }
    texts = ['one', 'two', 'three', 'four'];
    for (const t of texts) alice.write(t);
    bob.write('from bob');
    await bob.waitFor((e) => e.type === 'message' && e.text === 'four', 'bob to receive four');

    const carol = start('carol');
    const history = await carol.waitFor((e) => e.type === 'history' && e.source === 'peer', 'carol to receive the backlog') as Extract<PeerEvent, { type: 'history' }>;
    const shown = history.messages.map((m) => m.text);
    for (const t of [...texts, 'from bob']) expect(shown).toContain(t);
    // Oldest first, each once.
    expect(shown.indexOf('one')).toBeLessThan(shown.indexOf('four'));
    expect(new Set(history.messages.map((m) => m.id)).size).toBe(history.messages.length);
    expect(history.rejected).toEqual([]);
    alice.write('live after carol');
    await carol.waitFor((e) => e.type === 'message' && e.text === 'live after carol', 'a live message after the backlog');
    carol.write('/quit');
    expect((await carol.exited).code).toBe(0);
    const once = (p: typeof carol): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const e of p.items) {
        if (e.type === 'message') counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
        if (e.type === 'history') for (const m of e.messages) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      }
      return counts;
    };
    expect([...once(carol).values()].every((n) => n === 1)).toBe(true);

    // Restarted: the past comes from carol's own database, before she is even ready.
    const again = start('carol');
    await again.waitFor((e) => e.type === 'ready', 'carol ready again');
    const local = again.items.find((e) => e.type === 'history' && e.source === 'local') as Extract<PeerEvent, { type: 'history' }> | undefined;
    expect(local?.messages.map((m) => m.text)).toEqual(expect.arrayContaining([...texts, 'live after carol']));
    again.write('/history 3');
    const shownLog = await again.waitFor((e) => e.type === 'info' && e.message.includes('live after carol'), '/history');
    expect(shownLog.type === 'info' && shownLog.message.split('\n')).toHaveLength(3);
    // Asking members again brings nothing already held.
    for (let i = 0; ; i++) {
      alice.write(`after the restart ${i}`);
      const got = await again.waitFor((e) => e.type === 'message' && e.text === `after the restart ${i}`, 'a live line', 500).catch(() => undefined);
      if (got) break;
      if (i > 40) throw new Error('carol never received a line from alice after restarting');
    }
    expect([...once(again).values()].every((n) => n === 1)).toBe(true);
    for (const p of [alice, bob, again]) p.write('/quit');
    for (const p of [alice, bob, again]) expect((await p.exited).code).toBe(0);
  }, 90_000);
});
