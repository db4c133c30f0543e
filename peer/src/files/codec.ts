/**
 * The file-transfer control messages. Pure: no libp2p, no clock, no I/O.
 *
 * On a stream the sender writes an offer, the receiver answers with a reply (accept,
 * pending then accept or reject, or reject), the sender streams exactly `size` raw bytes
 * and closes its side, and the receiver ends with a result (done or failed). Each control
 * message is UTF-8 JSON in one length-prefixed frame. Decoding is strict: size is checked
 * before parsing, the bytes must be valid UTF-8, the object must match its schema exactly
 * (no extra fields). Anything else is a FileDecodeError naming the problem.
 */
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { FILE_PROTOCOL_VERSION, MAX_FILE_BYTES, MAX_HEADER_BYTES, MAX_OFFERED_NAME_LENGTH } from './constants.ts';

/** Reason codes on the wire: short, lower-case, safe to print. */
const REASON = Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' });
const V = Type.Literal(FILE_PROTOCOL_VERSION);

export const FileOfferSchema = Type.Object({
  v: V,
  type: Type.Literal('offer'),
  /** Chosen by the sender: 16 random bytes in lower-case hex. */
  id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
  /** The sender's file name, untrusted: the receiver saves under safeFileName(name). */
  name: Type.String({ minLength: 1, maxLength: MAX_OFFERED_NAME_LENGTH }),
  size: Type.Integer({ minimum: 0, maximum: MAX_FILE_BYTES }),
  mime: Type.String({ pattern: '^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$' }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' })
}, { additionalProperties: false });

const AcceptSchema = Type.Object({ v: V, type: Type.Literal('accept') }, { additionalProperties: false });
/** The receiver's user is asked; accept or reject follows. */
const PendingSchema = Type.Object({ v: V, type: Type.Literal('pending'), reason: REASON }, { additionalProperties: false });
const RejectSchema = Type.Object({ v: V, type: Type.Literal('reject'), reason: REASON }, { additionalProperties: false });
const DoneSchema = Type.Object({ v: V, type: Type.Literal('done') }, { additionalProperties: false });
const FailedSchema = Type.Object({ v: V, type: Type.Literal('failed'), reason: REASON }, { additionalProperties: false });

export type FileOffer = Type.Static<typeof FileOfferSchema>;
export type FileReply = Type.Static<typeof AcceptSchema> | Type.Static<typeof PendingSchema> | Type.Static<typeof RejectSchema>;
export type FileResult = Type.Static<typeof DoneSchema> | Type.Static<typeof FailedSchema>;
export type FileMessage = FileOffer | FileReply | FileResult;

const checkers = {
  offer: Compile(FileOfferSchema),
  accept: Compile(AcceptSchema),
  pending: Compile(PendingSchema),
  reject: Compile(RejectSchema),
  done: Compile(DoneSchema),
  failed: Compile(FailedSchema)
};

type MessageType = keyof typeof checkers;

/** Why a control message was refused; stable codes for logs and the peer's answer. */
export type FileDecodeReason = 'too-large' | 'not-utf8' | 'not-json' | 'unsupported-version' | 'bad-type' | 'bad-shape';

/** A control message that cannot be accepted. The only error the decode functions throw. */
export class FileDecodeError extends Error {
  readonly reason: FileDecodeReason;

  constructor(reason: FileDecodeReason, message: string) {
    super(message);
    this.name = 'FileDecodeError';
    this.reason = reason;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Encodes a message after checking it against the schema a receiver applies. */
export function encodeFileMessage(message: FileMessage): Uint8Array {
  const type = message.type;
  if (!checkers[type].Check(message)) throw new FileDecodeError('bad-shape', shapeProblem(type, message));
  // Fixed key order, so an encoding is a function of the message alone.
  const fields: Record<string, unknown> = message.type === 'offer'
    ? { v: message.v, type: message.type, id: message.id, name: message.name, size: message.size, mime: message.mime, sha256: message.sha256 }
    : { v: message.v, type: message.type, ...('reason' in message ? { reason: message.reason } : {}) };
  const bytes = utf8Encoder.encode(JSON.stringify(fields));
  if (bytes.byteLength > MAX_HEADER_BYTES) {
    throw new FileDecodeError('too-large', `message is ${bytes.byteLength} bytes; the limit is ${MAX_HEADER_BYTES}`);
  }
  return bytes;
}

/** Decodes the first message on a stream. Throws only FileDecodeError. */
export function decodeOffer(bytes: Uint8Array): FileOffer {
  return decodeAs(bytes, ['offer']) as FileOffer;
}

/** Decodes the receiver's answer to an offer. Throws only FileDecodeError. */
export function decodeReply(bytes: Uint8Array): FileReply {
  return decodeAs(bytes, ['accept', 'pending', 'reject']) as FileReply;
}

/** Decodes the receiver's last message, after the bytes. Throws only FileDecodeError. */
export function decodeResult(bytes: Uint8Array): FileResult {
  return decodeAs(bytes, ['done', 'failed']) as FileResult;
}

function decodeAs(bytes: Uint8Array, expected: readonly MessageType[]): FileMessage {
  if (bytes.byteLength > MAX_HEADER_BYTES) {
    throw new FileDecodeError('too-large', `message is ${bytes.byteLength} bytes; the limit is ${MAX_HEADER_BYTES}`);
  }
  let json: string;
  try {
    json = utf8.decode(bytes);
  } catch {
    throw new FileDecodeError('not-utf8', 'message is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new FileDecodeError('not-json', 'message is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FileDecodeError('bad-shape', 'message is not a JSON object');
  }
  if ('v' in value && value.v !== FILE_PROTOCOL_VERSION) {
    throw new FileDecodeError('unsupported-version', `message version ${describe(value.v)} is not supported (this peer speaks ${FILE_PROTOCOL_VERSION})`);
  }
  const type = 'type' in value ? value.type : undefined;
  const known = expected.find((t) => t === type);
  if (known === undefined) {
    throw new FileDecodeError('bad-type', `message type ${describe(type)} is not one of ${expected.join(', ')}`);
  }
  const checker = checkers[known];
  if (!checker.Check(value)) throw new FileDecodeError('bad-shape', shapeProblem(known, value));
  return value;
}

function shapeProblem(type: MessageType, value: unknown): string {
  const first = checkers[type].Errors(value)[0];
  if (!first) return `${type} does not match its schema`;
  const field = first.instancePath.slice(1).replaceAll('/', '.');
  if (first.schemaPath === '#/additionalProperties') return `${type} has an unknown field ${quote(field)}`;
  return field === '' ? `${type} ${first.message}` : `${type} field ${quote(field)} ${first.message}`;
}

/** Describes a remote field without converting it: String() throws on objects such as {"toString":1}. */
function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return quote(v);
  if (v === null || v === undefined) return String(v);
  return `of type ${Array.isArray(v) ? 'array' : typeof v}`;
}

/**
 * Quotes a string that may come from a remote peer for an error message, escaping
 * everything a terminal could act on (JSON.stringify leaves C1 and format characters).
 */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.slice(0, max)).replace(/[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
