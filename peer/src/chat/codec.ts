/**
 * The chat wire message and the rules on its fields. Pure: no libp2p, no clock, no I/O.
 *
 * A message is the UTF-8 JSON object `{ v, room, nick, text, ts, nonce }`. Decoding is
 * strict: size is checked before parsing, the bytes must be valid UTF-8, the object must
 * match the schema exactly (no extra fields), and every field must obey the same rules the
 * sender's own input is held to. Anything else is a ChatDecodeError naming the problem.
 */
import { createHash } from 'node:crypto';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import {
  CHAT_PROTOCOL_VERSION, MAX_MESSAGE_BYTES, MAX_NICK_LENGTH, MAX_ROOM_LENGTH, MAX_TEXT_BYTES,
  NONCE_BYTES, ROOM_NAME_PATTERN, ROOM_TOPIC_PREFIX
} from './constants.ts';

export const ChatMessageSchema = Type.Object({
  v: Type.Literal(CHAT_PROTOCOL_VERSION),
  room: Type.String({ minLength: 1, maxLength: MAX_ROOM_LENGTH }),
  // Nick and text rules are checked after the shape, by the same functions that check a
  // user's own input, so that each broken rule gets its own reason.
  nick: Type.String(),
  text: Type.String(),
  ts: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  nonce: Type.String({ pattern: `^[0-9a-f]{${2 * NONCE_BYTES}}$` })
}, { additionalProperties: false });

export type ChatMessage = Type.Static<typeof ChatMessageSchema>;

const checkShape = Compile(ChatMessageSchema);

/** Why a message or an input was refused; stable codes for logs and the JSON stream. */
export type ChatRejectReason =
  | 'too-large' | 'not-utf8' | 'not-json' | 'unsupported-version' | 'bad-shape'
  | 'wrong-room' | 'bad-room' | 'bad-nick' | 'bad-text' | 'text-too-long'
  | 'from-future' | 'too-old' | 'rate-limited';

/** A chat input (room name, nick, text, message) that breaks a rule. */
export class ChatInputError extends Error {
  readonly reason: ChatRejectReason;

  constructor(reason: ChatRejectReason, message: string) {
    super(message);
    this.name = 'ChatInputError';
    this.reason = reason;
  }
}

/** A received message that cannot be accepted. The only error decodeChatMessage throws. */
export class ChatDecodeError extends ChatInputError {
  constructor(reason: ChatRejectReason, message: string) {
    super(reason, message);
    this.name = 'ChatDecodeError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Control characters a terminal would act on (C0 except tab and newline, DEL, C1):
 * a remote peer must not be able to move the cursor or rewrite what was shown.
 */
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

/**
 * Nicks carry no control (Cc) or format (Cf, e.g. bidi overrides) characters and no line
 * breaks, so one cannot be made to look like another. Unassigned code points are allowed
 * on purpose: peers on different Unicode versions must agree on what is valid.
 */
const NICK_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** A lone UTF-16 surrogate: JSON can carry one (`"\ud800"`), UTF-8 cannot encode it. */
const LONE_SURROGATE = /\p{Cs}/u;

function nickProblem(nick: string): string | undefined {
  if (LONE_SURROGATE.test(nick)) return 'nick is not well-formed Unicode';
  const length = [...nick].length;
  if (length < 1 || length > MAX_NICK_LENGTH) return `nick must be 1-${MAX_NICK_LENGTH} characters (got ${length})`;
  if (NICK_FORBIDDEN.test(nick)) return 'nick must not contain control or formatting characters';
  if (nick.trim() !== nick) return 'nick must not start or end with whitespace';
  return undefined;
}

function textProblem(text: string): ChatInputError | undefined {
  if (LONE_SURROGATE.test(text)) return new ChatInputError('bad-text', 'text is not well-formed Unicode');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEXT_BYTES) return new ChatInputError('text-too-long', `text is ${bytes} bytes; the limit is ${MAX_TEXT_BYTES}`);
  if (text.trim() === '') return new ChatInputError('bad-text', 'text is empty');
  if (TEXT_FORBIDDEN.test(text)) return new ChatInputError('bad-text', 'text must not contain control characters other than tab and newline');
  return undefined;
}

/** Returns the room name if valid, else throws ChatInputError('bad-room'). */
export function parseRoomName(room: string): string {
  if (!ROOM_NAME_PATTERN.test(room)) {
    throw new ChatInputError('bad-room', `room name ${quote(room)} is invalid: use 1-${MAX_ROOM_LENGTH} of A-Z a-z 0-9 _ . -`);
  }
  return room;
}

/** Returns the nick if valid, else throws ChatInputError('bad-nick'). */
export function parseNick(nick: string): string {
  const problem = nickProblem(nick);
  if (problem !== undefined) throw new ChatInputError('bad-nick', problem);
  return nick;
}

/** Returns the text if it may be sent, else throws ChatInputError ('bad-text' or 'text-too-long'). */
export function parseText(text: string): string {
  const problem = textProblem(text);
  if (problem) throw problem;
  return text;
}

export function roomTopic(room: string): string {
  return ROOM_TOPIC_PREFIX + parseRoomName(room);
}

/** Encodes a message after checking it against the rules a receiver applies. */
export function encodeChatMessage(message: ChatMessage): Uint8Array {
  if (!checkShape.Check(message)) throw new ChatInputError('bad-shape', shapeProblem(message));
  parseRoomName(message.room);
  parseNick(message.nick);
  parseText(message.text);
  // Fixed key order, so an encoding is a function of the message alone.
  const { v, room, nick, text, ts, nonce } = message;
  return utf8Encoder.encode(JSON.stringify({ v, room, nick, text, ts, nonce }));
}

/** Decodes a message received on `expectedRoom`'s topic. Throws only ChatDecodeError. */
export function decodeChatMessage(bytes: Uint8Array, expectedRoom: string): ChatMessage {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new ChatDecodeError('too-large', `message is ${bytes.byteLength} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }
  let json: string;
  try {
    json = utf8.decode(bytes);
  } catch {
    throw new ChatDecodeError('not-utf8', 'message is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ChatDecodeError('not-json', 'message is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChatDecodeError('bad-shape', 'message is not a JSON object');
  }
  if ('v' in value && value.v !== CHAT_PROTOCOL_VERSION) {
    throw new ChatDecodeError('unsupported-version', `message version ${describeVersion(value.v)} is not supported (this peer speaks ${CHAT_PROTOCOL_VERSION})`);
  }
  if (!checkShape.Check(value)) throw new ChatDecodeError('bad-shape', shapeProblem(value));
  if (value.room !== expectedRoom) {
    throw new ChatDecodeError('wrong-room', `message names room ${quote(value.room)} but arrived on room ${quote(expectedRoom)}`);
  }
  const nick = nickProblem(value.nick);
  if (nick !== undefined) throw new ChatDecodeError('bad-nick', nick);
  const text = textProblem(value.text);
  if (text) throw new ChatDecodeError(text.reason, text.message);
  return value;
}

/** Throws ChatDecodeError unless `ts` lies within [now - maxAgeMs, now + maxSkewMs]. */
export function checkTimestamp(ts: number, now: number, limits: { maxSkewMs: number, maxAgeMs: number }): void {
  if (ts > now + limits.maxSkewMs) {
    throw new ChatDecodeError('from-future', `timestamp is ${ts - now} ms in the future; at most ${limits.maxSkewMs} ms of clock skew is allowed`);
  }
  if (ts < now - limits.maxAgeMs) {
    throw new ChatDecodeError('too-old', `message is ${now - ts} ms old; messages older than ${limits.maxAgeMs} ms are dropped`);
  }
}

/**
 * The message ID: SHA-256 over the author's peer ID bytes and the message bytes. Gossipsub
 * uses it as its msgIdFn and the chat service as its delivery key, so a message is the
 * same message everywhere, however many paths it took.
 */
export function chatMessageId(senderPeerIdBytes: Uint8Array, data: Uint8Array): Uint8Array {
  return createHash('sha256').update(senderPeerIdBytes).update(data).digest();
}

/** The printable form of a message ID (lower-case hex), also gossipsub's msgIdToStrFn. */
export function formatMessageId(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

function shapeProblem(value: unknown): string {
  const first = checkShape.Errors(value)[0];
  if (!first) return 'message does not match the chat message schema';
  const field = first.instancePath.slice(1).replaceAll('/', '.');
  if (first.schemaPath === '#/additionalProperties') return `message has an unknown field ${quote(field)}`;
  return field === '' ? `message ${first.message}` : `message field ${quote(field)} ${first.message}`;
}

/** Describes a remote version field without converting it: String() throws on objects such as {"toString":1}. */
function describeVersion(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return quote(v, 20);
  if (v === null) return 'null';
  return `of type ${Array.isArray(v) ? 'array' : typeof v}`;
}

/**
 * Quotes a string that may come from a remote peer for an error message, escaping
 * everything a terminal could act on (JSON.stringify leaves C1 and format characters).
 */
function quote(text: string, max = 64): string {
  return JSON.stringify(text.slice(0, max)).replace(/[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
