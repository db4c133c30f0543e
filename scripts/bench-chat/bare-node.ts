/**
 * One bare gossipsub node per process, for the chat benchmark's yardstick cluster:
 * the peer's libp2p node (same transport, encryption, muxer, identify, ping, connection
 * manager and monitor settings, and the same `pubsub()` factory with its score
 * parameters on the topic) without the chat service, the bootstrap lease or the CLI.
 *
 *   node scripts/bench-chat/bare-node.ts [--dial MULTIADDR]... [--topic TOPIC] [--connection-monitor project|libp2p|off]
 *
 * It keeps every --dial address connected (the bench passes all earlier nodes: the same
 * full mesh of connections the chat peers build from a bootstrap set that holds them all),
 * dialling in the background as the peer's seed dialler does, and prints JSON lines on
 * stdout, like the peer's --json (`ready` once started and subscribed):
 *   {"type":"ready","peerId":...,"addrs":[...]}
 *   {"type":"peer-connected","peerId":...} / {"type":"peer-disconnected","peerId":...}
 *   {"type":"message","from":...,"text":...}   data received on the topic, as UTF-8
 *   {"type":"sent","text":...}                 after each publish
 * Each stdin line is published as its UTF-8 bytes, one at a time in order (as the chat
 * session does with `await peer.send`), except `/peers`, which prints
 * {"type":"info","connections":N,"peers":M}. End of stdin, SIGTERM or SIGINT stop the node and
 * exit 0 (so that a --cpu-prof profile is written).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLibp2p } from 'libp2p';
import type { ConnectionMonitorInit } from 'libp2p';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { authorIdString, pubsub, scoreTopic } from '../../peer/src/node/gossipsub.ts';
import type { PubsubMessage } from '../../peer/src/node/gossipsub.ts';
import { CONNECTION_MONITOR } from '../../peer/src/node/constants.ts';
import { connectionOptions } from '../../peer/src/node/create-node.ts';
import { roomTopic } from '../../peer/src/chat/codec.ts';

// The chat peer's seed dialler's timings (peer/src/seeding/dialer.ts).
const TICK_MS = 500;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const DIAL_TIMEOUT_MS = 5_000;

const { values } = parseArgs({
  options: {
    dial: { type: 'string', multiple: true, default: [] },
    listen: { type: 'string', default: '/ip4/127.0.0.1/tcp/0' },
    // The chat room's topic by default, so topic bytes on the wire are the same.
    topic: { type: 'string', default: roomTopic('lobby') },
    // For experiments only: the peer's CONNECTION_MONITOR (default), libp2p's own default
    // (a ping every 10 s), or none.
    'connection-monitor': { type: 'string', default: 'project' }
  }
});
const MONITORS: Record<string, ConnectionMonitorInit> = { project: { ...CONNECTION_MONITOR }, libp2p: {}, off: { enabled: false } };
const connectionMonitor = MONITORS[values['connection-monitor']];
if (connectionMonitor === undefined) throw new Error(`--connection-monitor must be one of ${Object.keys(MONITORS).join(', ')}`);
const topic = values.topic;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const node = await createLibp2p({
  start: false,
  ...connectionOptions(await generateKeyPair('Ed25519'), [values.listen]),
  connectionMonitor,
  services: { identify: identify(), ping: ping(), pubsub: pubsub() }
});
const gossip = node.services.pubsub;
node.addEventListener('peer:connect', (evt) => emit({ type: 'peer-connected', peerId: evt.detail.toString() }));
node.addEventListener('peer:disconnect', (evt) => emit({ type: 'peer-disconnected', peerId: evt.detail.toString() }));
const utf8 = new TextDecoder();
gossip.addEventListener('message', (evt: CustomEvent<PubsubMessage>) => {
  const message = evt.detail;
  if (message.topic !== topic) return;
  // The author's peer ID string as the chat service makes it (memoised), so that this
  // plumbing costs the same in both clusters.
  emit({ type: 'message', from: message.type === 'signed' ? authorIdString(message.from.toMultihash().bytes) : null, text: utf8.decode(message.data) });
});

await node.start();
// As the chat service does on join: score the topic, then subscribe.
scoreTopic(gossip, topic);
gossip.subscribe(topic);

// Like the chat peer's seed dialler: keep every --dial address connected, retrying with
// backoff in the background (a loaded host can lose a connection to a ping timeout).
const seeds = values.dial.map((addr) => {
  const ma = multiaddr(addr);
  const id = ma.getComponents().find((c) => c.name === 'p2p')?.value;
  if (id === undefined) throw new Error(`--dial ${addr} has no /p2p/ peer ID`);
  return { addr: ma, peer: peerIdFromString(id), nextAt: 0, backoffMs: BACKOFF_MIN_MS, dialing: false };
});
const redial = (): void => {
  const now = Date.now();
  for (const seed of seeds) {
    if (seed.dialing || seed.nextAt > now) continue;
    if (node.getConnections(seed.peer).length > 0) {
      seed.backoffMs = BACKOFF_MIN_MS;
      continue;
    }
    seed.dialing = true;
    node.dial(seed.addr, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      .then(() => { seed.backoffMs = BACKOFF_MIN_MS; })
      .catch((err: Error) => {
        process.stderr.write(`bare-node: dialling ${seed.addr.toString()} failed, will retry: ${err.message}\n`);
        seed.nextAt = Date.now() + seed.backoffMs;
        seed.backoffMs = Math.min(seed.backoffMs * 2, BACKOFF_MAX_MS);
      })
      .finally(() => { seed.dialing = false; });
  }
};
setInterval(redial, TICK_MS).unref();
redial();
emit({ type: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map((a) => a.toString()) });

const encoder = new TextEncoder();
const input = createInterface({ input: process.stdin });
let quitting = false;
const quit = (): void => {
  // A second signal means now.
  if (quitting) process.exit(130);
  quitting = true;
  input.close();
};
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
for await (const line of input) {
  if (quitting) break;
  if (line === '') continue;
  if (line === '/peers') {
    // As the peer's /peers: every open connection, so duplicates to one peer show.
    const connections = node.getConnections();
    emit({ type: 'info', connections: connections.length, peers: new Set(connections.map((c) => c.remotePeer.toString())).size });
    continue;
  }
  try {
    await gossip.publish(topic, encoder.encode(line));
    emit({ type: 'sent', text: line });
  } catch (err) {
    emit({ type: 'error', message: (err as Error).message });
  }
}
await node.stop();
process.exit(0);
