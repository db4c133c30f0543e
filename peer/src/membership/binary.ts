/**
 * The byte-level reader and writer under codec.ts: unsigned LEB128 varints (minimal
 * encodings only), length-prefixed UTF-8 strings and byte strings, fixed-size fields.
 * The reader throws only MembershipDecodeError and never reads past its input.
 */

/** Why a membership message was refused; stable codes for logs and counters. */
export type DecodeReason =
  | 'too-large' | 'truncated' | 'trailing-bytes' | 'unsupported-version' | 'unknown-type'
  | 'bad-varint' | 'bad-utf8' | 'bad-field' | 'too-many';

/** A received membership message that cannot be accepted. The only error decode throws. */
export class MembershipDecodeError extends Error {
  readonly reason: DecodeReason;

  constructor(reason: DecodeReason, message: string) {
    super(message);
    this.name = 'MembershipDecodeError';
    this.reason = reason;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Bytes a varint takes for `value` (a non-negative safe integer). */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

export class Writer {
  #buffer: Uint8Array;
  #length = 0;

  constructor(capacity = 256) {
    this.#buffer = new Uint8Array(capacity);
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < this.#length + bytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
  }

  u8(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  u32(value: number): void {
    this.#reserve(4);
    const b = this.#buffer;
    const at = this.#length;
    b[at] = value & 0xff;
    b[at + 1] = (value >>> 8) & 0xff;
    b[at + 2] = (value >>> 16) & 0xff;
    b[at + 3] = (value >>> 24) & 0xff;
    this.#length += 4;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    this.#reserve(varintSize(value));
    while (value >= 0x80) {
      this.#buffer[this.#length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#buffer[this.#length++] = value;
  }

  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.raw(bytes);
  }

  string(text: string): void {
    this.bytes(utf8Encoder.encode(text));
  }

  get length(): number {
    return this.#length;
  }

  /** The written bytes (a copy sized to fit). */
  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

export class Reader {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get offset(): number {
    return this.#offset;
  }

  #need(bytes: number): void {
    if (this.#offset + bytes > this.#bytes.length) {
      throw new MembershipDecodeError('truncated', `message ends early (needs ${bytes} more bytes at offset ${this.#offset})`);
    }
  }

  u8(): number {
    this.#need(1);
    return this.#bytes[this.#offset++]!;
  }

  u32(): number {
    this.#need(4);
    const b = this.#bytes;
    const at = this.#offset;
    this.#offset += 4;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }

  /** A minimal varint no greater than `max` (at most 2^53 - 1). */
  varint(max: number, field: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) throw new MembershipDecodeError('bad-varint', `${field}: varint too long`);
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new MembershipDecodeError('bad-varint', `${field}: varint not minimally encoded`);
        break;
      }
      scale *= 0x80;
    }
    if (value > max) throw new MembershipDecodeError('bad-field', `${field}: ${value} exceeds ${max}`);
    return value;
  }

  fixed(length: number): Uint8Array {
    this.#need(length);
    const out = this.#bytes.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  /** A length-prefixed byte string of at most maxLength bytes (a copy). */
  bytes(maxLength: number, field: string): Uint8Array {
    return this.fixed(this.varint(maxLength, `${field} length`));
  }

  /** A length-prefixed UTF-8 string of at most maxBytes bytes. */
  string(maxBytes: number, field: string): string {
    const length = this.varint(maxBytes, `${field} length`);
    this.#need(length);
    const view = this.#bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    try {
      return utf8Decoder.decode(view);
    } catch {
      throw new MembershipDecodeError('bad-utf8', `${field} is not valid UTF-8`);
    }
  }

  /** The bytes between two offsets already read (a copy). */
  slice(from: number, to: number): Uint8Array {
    return this.#bytes.slice(from, to);
  }

  end(): void {
    if (this.#offset !== this.#bytes.length) {
      throw new MembershipDecodeError('trailing-bytes', `${this.#bytes.length - this.#offset} bytes after the end of the message`);
    }
  }
}

/** UTF-8 byte length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
