/**
 * Length-prefixed frames on a membership stream: an unsigned LEB128 varint with the
 * payload's length, then the payload (one encoded message). Pure: no libp2p, no I/O.
 *
 * Why not `lpStream` from @libp2p/utils: its reader awaits each prefix byte separately
 * and, on a prefix that never ends (0xff 0xff ...), keeps reading and buffering until the
 * stream closes, because it checks the prefix's length only once a varint decodes. This
 * decoder is fed the bytes of each 'message' event, returns every complete frame at once
 * (so frames are handled in the tick they arrive, with no await per frame), holds at most
 * one frame's bytes, and refuses a bad prefix as soon as its third byte arrives.
 */
import { varintSize } from './binary.ts';

export type FrameErrorReason = 'bad-length' | 'too-large';

/** The byte stream cannot be split into frames any more: close it. */
export class FrameError extends Error {
  readonly reason: FrameErrorReason;

  constructor(reason: FrameErrorReason, message: string) {
    super(message);
    this.name = 'FrameError';
    this.reason = reason;
  }
}

/** `payload` with its length prefix, ready for one `stream.send`. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(varintSize(payload.length) + payload.length);
  let value = payload.length;
  let at = 0;
  while (value >= 0x80) {
    frame[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  frame[at++] = value;
  frame.set(payload, at);
  return frame;
}

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #maxPrefixBytes: number;
  /** Bytes of an incomplete frame (prefix included), carried over to the next push. */
  #rest: Uint8Array = new Uint8Array(0);

  /** Frames whose payload exceeds `maxFrameBytes` are refused before they are buffered. */
  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#maxPrefixBytes = varintSize(maxFrameBytes);
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#rest.length;
  }

  /**
   * Adds received bytes and returns the payloads of the frames they complete, in order.
   * Throws FrameError on a prefix that is malformed or announces an oversize frame; the
   * frames returned by earlier calls were sound.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let bytes = chunk;
    if (this.#rest.length > 0) {
      bytes = new Uint8Array(this.#rest.length + chunk.length);
      bytes.set(this.#rest);
      bytes.set(chunk, this.#rest.length);
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    for (;;) {
      const header = this.#readPrefix(bytes, at);
      if (header === undefined || at + header.prefix + header.length > bytes.length) break;
      const start = at + header.prefix;
      frames.push(bytes.subarray(start, start + header.length));
      at = start + header.length;
    }
    this.#rest = at === bytes.length ? new Uint8Array(0) : bytes.slice(at);
    return frames;
  }

  /** The frame length at `at` and the size of its prefix, or undefined if the prefix is incomplete. */
  #readPrefix(bytes: Uint8Array, at: number): { length: number, prefix: number } | undefined {
    let length = 0;
    let scale = 1;
    for (let i = 0; i < this.#maxPrefixBytes; i++) {
      if (at + i >= bytes.length) return undefined;
      const byte = bytes[at + i]!;
      length += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new FrameError('bad-length', 'frame length is not minimally encoded');
        if (length > this.#maxFrameBytes) throw new FrameError('too-large', `frame of ${length} bytes exceeds ${this.#maxFrameBytes}`);
        return { length, prefix: i + 1 };
      }
      scale *= 0x80;
    }
    throw new FrameError('too-large', `frame length prefix longer than ${this.#maxPrefixBytes} bytes`);
  }
}
