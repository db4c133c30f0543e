/**
 * The file-transfer control messages. Pure: no libp2p, no clock, no I/O.
 *
 * On a stream the sender writes an offer, the receiver answers with a reply (accept,
 * pending then accept or reject, or reject), the sender streams exactly `size` raw bytes
 * then a trailer with their SHA-256 and closes its side, and the receiver ends with a
 * result (done or failed). Each control message and the trailer is UTF-8 JSON in one
 * length-prefixed frame (an unsigned varint, then the bytes), decoded as strictly as the other
 * direct-stream protocols' (../wire/json-frame.ts): size first, UTF-8, JSON, the version,
 * then an exact schema (no extra fields) of what may come at that point of the exchange.
 * Anything else is a WireError.
 */
import Type from 'typebox';
import { WireError, jsonFrameCodec } from '../wire/json-frame.ts';
import { FILE_PROTOCOL_VERSION, MAX_FILE_BYTES, MAX_HEADER_BYTES, MAX_OFFERED_NAME_LENGTH, MAX_TRAILER_BYTES } from './constants.ts';

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
  mime: Type.String({ pattern: '^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$' })
}, { additionalProperties: false });

/** After the bytes: their SHA-256, which the sender computed while sending them. */
const TrailerSchema = Type.Object({
  v: V,
  type: Type.Literal('trailer'),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' })
}, { additionalProperties: false });

const AcceptSchema = Type.Object({ v: V, type: Type.Literal('accept') }, { additionalProperties: false });
/** The receiver's user is asked; accept or reject follows. */
const PendingSchema = Type.Object({ v: V, type: Type.Literal('pending'), reason: REASON }, { additionalProperties: false });
const RejectSchema = Type.Object({ v: V, type: Type.Literal('reject'), reason: REASON }, { additionalProperties: false });
const DoneSchema = Type.Object({ v: V, type: Type.Literal('done') }, { additionalProperties: false });
const FailedSchema = Type.Object({ v: V, type: Type.Literal('failed'), reason: REASON }, { additionalProperties: false });

const ReplySchema = Type.Union([AcceptSchema, PendingSchema, RejectSchema]);
const ResultSchema = Type.Union([DoneSchema, FailedSchema]);

export type FileOffer = Type.Static<typeof FileOfferSchema>;
export type FileReply = Type.Static<typeof ReplySchema>;
export type FileResult = Type.Static<typeof ResultSchema>;
export type FileTrailer = Type.Static<typeof TrailerSchema>;
export type FileMessage = FileOffer | FileReply | FileResult | FileTrailer;

const offerCodec = jsonFrameCodec('file offer', FileOfferSchema, FILE_PROTOCOL_VERSION, MAX_HEADER_BYTES);
const replyCodec = jsonFrameCodec('file reply', ReplySchema, FILE_PROTOCOL_VERSION, MAX_HEADER_BYTES);
const resultCodec = jsonFrameCodec('file result', ResultSchema, FILE_PROTOCOL_VERSION, MAX_HEADER_BYTES);
const trailerCodec = jsonFrameCodec('file trailer', TrailerSchema, FILE_PROTOCOL_VERSION, MAX_TRAILER_BYTES);

/** Encodes a message after checking it against the schema a receiver applies; throws TypeError if it does not pass. */
export function encodeFileMessage(message: FileMessage): Uint8Array {
  switch (message.type) {
    case 'offer':
      return offerCodec.encode(message);
    case 'accept':
    case 'pending':
    case 'reject':
      return replyCodec.encode(message);
    case 'done':
    case 'failed':
      return resultCodec.encode(message);
    case 'trailer':
      return trailerCodec.encode(message);
  }
}

/** The trailer with its length prefix, as it goes on the stream right after the file's bytes. */
export function encodeTrailerFrame(sha256: string): Uint8Array {
  const payload = encodeFileMessage({ v: FILE_PROTOCOL_VERSION, type: 'trailer', sha256 });
  const prefix: number[] = [];
  let n = payload.byteLength;
  for (; n >= 0x80; n >>>= 7) prefix.push((n & 0x7f) | 0x80);
  prefix.push(n);
  const frame = new Uint8Array(prefix.length + payload.byteLength);
  frame.set(prefix);
  frame.set(payload, prefix.length);
  return frame;
}

/**
 * How many bytes the trailer frame at the start of `bytes` takes, its prefix included,
 * or undefined while its prefix is incomplete. Only a prefix of at most two bytes is
 * read: a longer one declares more than MAX_TRAILER_BYTES, and that is the answer.
 */
export function trailerFrameLength(bytes: Uint8Array): number | undefined {
  const [first, second] = bytes;
  if (first === undefined) return undefined;
  if (first < 0x80) return 1 + first;
  if (second === undefined) return undefined;
  if (second < 0x80) return 2 + ((first & 0x7f) | (second << 7));
  return MAX_TRAILER_BYTES + 1;
}

/** Decodes a whole trailer frame, prefix included (see trailerFrameLength), to its SHA-256. Throws only WireError. */
export function decodeTrailerFrame(frame: Uint8Array): string {
  const length = trailerFrameLength(frame);
  if (length !== frame.byteLength) throw new WireError('bad-shape', 'file trailer is not one whole frame');
  return trailerCodec.decode(frame.subarray(frame[0] !== undefined && frame[0] < 0x80 ? 1 : 2)).sha256;
}

/** Decodes the first message on a stream. Throws only WireError. */
export const decodeOffer = (bytes: Uint8Array): FileOffer => offerCodec.decode(bytes);

/** Decodes the receiver's answer to an offer. Throws only WireError. */
export const decodeReply = (bytes: Uint8Array): FileReply => replyCodec.decode(bytes);

/** Decodes the receiver's last message, after the bytes. Throws only WireError. */
export const decodeResult = (bytes: Uint8Array): FileResult => resultCodec.decode(bytes);

/**
 * Quotes a string that may come from a remote peer for an error message, escaping
 * everything a terminal could act on (JSON.stringify leaves C1 and format characters).
 */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.slice(0, max)).replace(/[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
