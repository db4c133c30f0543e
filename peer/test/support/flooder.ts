/**
 * A peer gone wrong, for the flood test and benchmark: the peer's own libp2p node (mDNS off,
 * on 127.0.0.1) that publishes valid chat messages to a room as fast as it can, or at --rate,
 * straight through gossipsub, so nothing of its own chat service holds it back.
 *
 *   node peer/test/support/flooder.ts [--dial MULTIADDR]... [--room ROOM] [--rate N]
 *
 * With no --dial it floods nobody: the same signing and encoding on its CPU, no traffic, a
 * benchmark's control.
 *
 * Each message is what a chat peer would send: this room, a fresh nonce, the current time,
 * signed by the flooder's key. JSON lines on stdout:
 *   {"type":"ready","peerId":...}                  connected to every --dial peer, each subscribed to the room
 *   {"type":"progress","sent":N,"failed":N,"ms":T}  every second while flooding, T ms since `start`
 *   {"type":"stopped","sent":N,"failed":N,"ms":T}   after `stop`
 *   {"type":"redialled","connected":N,"errors":[...]}  after `redial`: how many --dial peers kept a new connection
 * It floods from the stdin line `start` until the line `stop`; `redial` dials every --dial
 * peer again (a peer that cut it off refuses); end of stdin, SIGTERM or SIGINT stop the
 * node and exit 0.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { createPeerNode } from '../../src/node/create-node.ts';
import { CHAT_PROTOCOL_VERSION } from '../../src/chat/constants.ts';
import { encodeChatMessage, parseRoomName, roomTopic } from '../../src/chat/codec.ts';
import { NonceSequence } from '../../src/chat/nonce.ts';

/** Publishes between turns of the event loop when flooding flat out: the node's own I/O must run too. */
const BATCH = 16;
const PROGRESS_MS = 1_000;
const READY_DEADLINE_MS = 15_000;
const REDIAL_TIMEOUT_MS = 5_000;

const { values } = parseArgs({
  options: {
    dial: { type: 'string', multiple: true, default: [] },
    room: { type: 'string', default: 'lobby' },
    rate: { type: 'string', default: '0' }
  }
});
const room = parseRoomName(values.room);
const topic = roomTopic(room);
const rate = Number(values.rate);
if (!(rate >= 0)) throw new Error('--rate takes messages per second, 0 for as fast as possible');

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
await node.start();
const gossip = node.services.pubsub;
gossip.subscribe(topic);
const targets = await Promise.all(values.dial.map(async (addr) => (await node.dial(multiaddr(addr))).remotePeer.toString()));
const deadline = Date.now() + READY_DEADLINE_MS;
while (!targets.every((id) => gossip.getSubscribers(topic).some((p) => p.toString() === id))) {
  if (Date.now() > deadline) throw new Error(`the dialled peers did not subscribe to ${topic} within ${READY_DEADLINE_MS} ms`);
  await new Promise((resolve) => setTimeout(resolve, 20));
}
emit({ type: 'ready', peerId: node.peerId.toString() });

const nonces = new NonceSequence();
const counts = { sent: 0, failed: 0 };
let flooding: Promise<void> | undefined;
let stopRequested = false;

async function publishOne(): Promise<void> {
  const data = encodeChatMessage({ v: CHAT_PROTOCOL_VERSION, room, nick: 'flooder', text: `flood ${counts.sent + counts.failed}`, ts: Date.now(), nonce: nonces.next() });
  try {
    await gossip.publish(topic, data);
    counts.sent++;
  } catch {
    counts.failed++;
  }
}

async function flood(): Promise<void> {
  const start = performance.now();
  let nextProgress = PROGRESS_MS;
  const elapsed = (): number => Math.round(performance.now() - start);
  while (!stopRequested) {
    if (rate === 0) {
      for (let i = 0; i < BATCH; i++) await publishOne();
      await yieldToIo();
    } else {
      const due = Math.floor(((performance.now() - start) * rate) / 1000) + 1;
      while (counts.sent + counts.failed < due) await publishOne();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (elapsed() >= nextProgress) {
      emit({ type: 'progress', ...counts, ms: elapsed() });
      nextProgress += PROGRESS_MS;
    }
  }
  emit({ type: 'stopped', ...counts, ms: elapsed() });
}

/**
 * Dials every --dial peer again and reports how many kept the connection. A peer that
 * refuses may still let the dial succeed (the muxer is agreed within the Noise handshake)
 * and close it right after, so each connection is watched until it closes or
 * REDIAL_TIMEOUT_MS pass.
 */
async function redial(): Promise<void> {
  const errors: string[] = [];
  let connected = 0;
  await Promise.all(values.dial.map(async (addr) => {
    try {
      const connection = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(REDIAL_TIMEOUT_MS) });
      const closed = await new Promise<boolean>((resolve) => {
        if (connection.status !== 'open') resolve(true);
        const timer = setTimeout(() => resolve(false), REDIAL_TIMEOUT_MS);
        connection.addEventListener('close', () => {
          clearTimeout(timer);
          resolve(true);
        }, { once: true });
      });
      if (closed) errors.push(`${addr}: connected, then closed by the remote`);
      else connected++;
    } catch (err) {
      errors.push(`${addr}: ${(err as Error).message}`);
    }
  }));
  emit({ type: 'redialled', connected, errors });
}

let exiting = false;
async function exit(): Promise<void> {
  if (exiting) return;
  exiting = true;
  stopRequested = true;
  await flooding;
  await node.stop();
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const command = line.trim();
    if (command === 'start' && flooding === undefined) {
      flooding = flood();
    } else if (command === 'stop') {
      stopRequested = true;
    } else if (command === 'redial') {
      void redial();
    }
  })
  .on('close', () => void exit());
process.on('SIGTERM', () => void exit());
process.on('SIGINT', () => void exit());
