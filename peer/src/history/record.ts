/**
 * A room message as its author signed it: the gossipsub message (author, data, sequence
 * number, topic, signature) in gossipsub's own protobuf encoding. History keeps these,
 * not just the text, so any peer can later hand a message to another and the receiver
 * can check that the author wrote it, for this room, without trusting the peer between.
 */
import { verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { RPC } from '@libp2p/gossipsub/message';
import { peerIdFromString } from '@libp2p/peer-id';
import type { SignedMessage } from '@libp2p/gossipsub';
import { ChatDecodeError, chatMessageId, decodeChatMessage, formatMessageId, roomTopic } from '../chat/codec.ts';
import { MAX_CLOCK_SKEW_MS, MAX_MESSAGE_BYTES } from '../chat/constants.ts';
import { authorIdString } from '../node/gossipsub.ts';
import { ed25519PublicKeyObject } from '../node/ed25519-keys.ts';

/** The signed bytes begin with this, as in every libp2p pubsub implementation. */
const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:');

/** A record is a chat message plus author, sequence number, topic and a 64-byte signature. */
export const MAX_RECORD_BYTES = MAX_MESSAGE_BYTES + 512;

export type RecordRejectReason = 'too-large' | 'bad-record' | 'wrong-room' | 'bad-author' | 'bad-signature' | 'from-future' | string;

/** A history entry that cannot be accepted: its reason is a stable code. */
export class RecordError extends Error {
  readonly reason: RecordRejectReason;

  constructor(reason: RecordRejectReason, message: string) {
    super(message);
    this.name = 'RecordError';
    this.reason = reason;
  }
}

/** A verified room message, ready to store and show. */
export interface VerifiedRecord {
  id: string;
  room: string;
  /** The author's peer ID. */
  from: string;
  nick: string;
  text: string;
  ts: number;
  record: Uint8Array;
}

function seqnoBytes(sequenceNumber: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, sequenceNumber, false);
  return out;
}

/** The record of a message gossipsub verified and delivered. */
export function recordOf(message: SignedMessage): Uint8Array {
  return RPC.Message.encode({
    from: message.from.toMultihash().bytes,
    data: message.data,
    seqno: seqnoBytes(message.sequenceNumber),
    topic: message.topic,
    signature: message.signature
  });
}

/** The record of a message as gossipsub built it for publishing (its key field is dropped: Ed25519 peer IDs carry the key). */
export function recordOfRaw(raw: RPC.Message): Uint8Array {
  return RPC.Message.encode({ from: raw.from, data: raw.data, seqno: raw.seqno, topic: raw.topic, signature: raw.signature });
}

/** Public key handles by author, bounded like gossipsub.ts's author IDs: a room has few authors. */
const MAX_KEYS = 1024;
const keys = new Map<string, KeyObject>();

function authorKey(from: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(from).toString('latin1');
  let key = keys.get(cacheKey);
  if (key === undefined) {
    let raw: Uint8Array | undefined;
    try {
      const peerId = peerIdFromString(authorIdString(from));
      raw = peerId.type === 'Ed25519' ? peerId.publicKey.raw : undefined;
    } catch {
      throw new RecordError('bad-author', 'the author field is not a peer ID');
    }
    if (raw === undefined) throw new RecordError('bad-author', 'the author is not an Ed25519 peer ID, whose key the ID itself carries');
    key = ed25519PublicKeyObject(raw);
    if (keys.size >= MAX_KEYS) keys.clear();
    keys.set(cacheKey, key);
  }
  return key;
}

/**
 * Checks a record received for `room`: its encoding, its topic, its author's signature and
 * the chat message inside, by the same rules live messages are held to, except age (history
 * is old by nature). Throws RecordError; never anything else.
 */
export function verifyRecord(bytes: Uint8Array, room: string, now: number, maxSkewMs = MAX_CLOCK_SKEW_MS): VerifiedRecord {
  if (bytes.byteLength > MAX_RECORD_BYTES) throw new RecordError('too-large', `record is ${bytes.byteLength} bytes; the limit is ${MAX_RECORD_BYTES}`);
  let raw: RPC.Message;
  try {
    raw = RPC.Message.decode(bytes);
  } catch {
    throw new RecordError('bad-record', 'record is not a pubsub message');
  }
  const { from, data, seqno, topic, signature } = raw;
  if (from === undefined || data === undefined || seqno?.byteLength !== 8 || signature?.byteLength !== 64 || raw.key !== undefined) {
    throw new RecordError('bad-record', 'record lacks an author, data, 8-byte sequence number or 64-byte signature, or carries a key');
  }
  // A message signed for one room and replayed into another fails here, before any crypto.
  if (topic !== roomTopic(room)) throw new RecordError('wrong-room', `record belongs to topic ${JSON.stringify(topic.slice(0, 80))}, not room ${room}`);
  const signed = Buffer.concat([SIGN_PREFIX, RPC.Message.encode({ from, data, seqno, topic })]);
  if (!verify(null, signed, authorKey(from), signature)) throw new RecordError('bad-signature', 'the signature does not match the author and content');
  let message;
  try {
    message = decodeChatMessage(data, room);
  } catch (err) {
    if (err instanceof ChatDecodeError) throw new RecordError(err.reason, err.message);
    throw err;
  }
  if (message.ts > now + maxSkewMs) throw new RecordError('from-future', `message is ${message.ts - now} ms in the future`);
  return {
    id: formatMessageId(chatMessageId(from, data)),
    room,
    from: authorIdString(from),
    nick: message.nick,
    text: message.text,
    ts: message.ts,
    record: bytes
  };
}
