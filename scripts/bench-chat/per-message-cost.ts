/**
 * CPU cost per message of each step the chat layer adds on top of gossipsub, beside the
 * Ed25519 work gossipsub does for every message, in one process (no network):
 *
 *   node scripts/bench-chat/per-message-cost.ts     prints one JSON object (µs per call)
 *
 * It calls the chat codec and message-ID functions the chat service calls, in the same
 * order, and signs and verifies through @libp2p/crypto's key objects as gossipsub does
 * (which import the raw key into a Node KeyObject through JWK on every call), beside
 * Node's crypto with a KeyObject made once, to show what that import costs.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import {
  checkTimestamp, chatMessageId, decodeChatMessage, encodeChatMessage, formatMessageId
} from '../../peer/src/chat/codec.ts';
import { SeenCache } from '../../peer/src/chat/dedupe.ts';
import { MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS } from '../../peer/src/chat/constants.ts';

const ROUNDS = 3;
const MIN_MS = 300;

/** Median over ROUNDS of the mean µs per call, each round running for at least MIN_MS. */
function measure(fn: (i: number) => unknown): number {
  const means: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < MIN_MS) {
      for (let k = 0; k < 100; k++) fn(n++);
      now = performance.now();
    }
    means.push(((now - start) * 1000) / n);
  }
  means.sort((a, b) => a - b);
  return Math.round((means[1] ?? means[0] ?? 0) * 100) / 100;
}

const key = await generateKeyPair('Ed25519');
const author = key.publicKey.toMultihash().bytes;
const text = `bench 12345 ${'x'.repeat(52)}`;
const now = Date.now();
const message = { v: 1 as const, room: 'lobby', nick: 'p0', text, ts: now, nonce: '0123456789abcdef0123456789abcdef' };
const data = encodeChatMessage(message);
const limits = { maxSkewMs: MAX_CLOCK_SKEW_MS, maxAgeMs: MAX_MESSAGE_AGE_MS };
const seen = new SeenCache({ maxEntries: 10_000, ttlMs: 600_000, now: Date.now });
// What gossipsub signs: about the size of the protobuf of a chat message plus prefix.
const signed = new Uint8Array(data.byteLength + 80).fill(7);
const signature = await key.sign(signed);
const nodePrivate = createPrivateKey({
  format: 'jwk',
  key: { crv: 'Ed25519', kty: 'OKP', d: Buffer.from(key.raw.subarray(0, 32)).toString('base64url'), x: Buffer.from(key.publicKey.raw).toString('base64url') }
});
const nodePublic = createPublicKey(nodePrivate);
const event = { type: 'message', room: 'lobby', id: 'f'.repeat(64), from: key.publicKey.toString(), nick: 'p0', text, ts: now };

const results = {
  node: process.version,
  messageBytes: data.byteLength,
  us: {
    encodeChatMessage: measure(() => encodeChatMessage(message)),
    decodeChatMessage: measure(() => decodeChatMessage(data, 'lobby')),
    'chatMessageId + formatMessageId (sha256, hex)': measure(() => formatMessageId(chatMessageId(author, data))),
    'Chat.validate equivalent (decode, ts check, id, seen lookup)': measure(() => {
      checkTimestamp(decodeChatMessage(data, 'lobby').ts, Date.now(), limits);
      return seen.has(formatMessageId(chatMessageId(author, data)));
    }),
    'Chat.deliver equivalent (id, seen add, decode again, event JSON)': measure((i) => {
      seen.add(`${i}`);
      formatMessageId(chatMessageId(author, data));
      decodeChatMessage(data, 'lobby');
      return JSON.stringify(event);
    }),
    'Ed25519 sign, @libp2p/crypto (JWK import each call)': measure(() => key.sign(signed)),
    'Ed25519 sign, node:crypto with a cached KeyObject': measure(() => sign(null, signed, nodePrivate)),
    'Ed25519 verify, @libp2p/crypto (JWK import each call)': measure(() => key.publicKey.verify(signed, signature)),
    'Ed25519 verify, node:crypto with a cached KeyObject': measure(() => verify(null, signed, nodePublic, signature))
  }
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
