/**
 * Strict decoding of the small JSON frames the direct-stream protocols exchange (backlog,
 * direct messages): size first, then UTF-8, JSON, the version, and an exact schema.
 * Whatever a remote peer sends, the only error out of here is WireError.
 */
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

export type WireRejectReason = 'too-large' | 'not-utf8' | 'not-json' | 'unsupported-version' | 'bad-shape';

export class WireError extends Error {
  readonly reason: WireRejectReason;

  constructor(reason: WireRejectReason, message: string) {
    super(message);
    this.name = 'WireError';
    this.reason = reason;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

export interface FrameCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** A codec for frames of `schema`, at most `maxBytes`, whose `v` must be `version`. */
export function jsonFrameCodec<S extends TSchema>(name: string, schema: S, version: number, maxBytes: number): FrameCodec<Static<S>> {
  const check = Compile(schema);
  return {
    encode(value) {
      if (!check.Check(value)) throw new TypeError(`not a valid ${name}: ${check.Errors(value)[0]?.message ?? 'schema mismatch'}`);
      const bytes = encoder.encode(JSON.stringify(value));
      if (bytes.byteLength > maxBytes) throw new TypeError(`${name} is ${bytes.byteLength} bytes; the limit is ${maxBytes}`);
      return bytes;
    },
    decode(bytes) {
      if (bytes.byteLength > maxBytes) throw new WireError('too-large', `${name} is ${bytes.byteLength} bytes; the limit is ${maxBytes}`);
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        throw new WireError('not-utf8', `${name} is not valid UTF-8`);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new WireError('not-json', `${name} is not JSON`);
      }
      if (typeof value === 'object' && value !== null && 'v' in value && value.v !== version) {
        throw new WireError('unsupported-version', `${name} has an unsupported version (this peer speaks ${version})`);
      }
      if (!check.Check(value)) {
        const first = check.Errors(value)[0];
        const field = first?.instancePath.slice(1).replaceAll('/', '.') ?? '';
        throw new WireError('bad-shape', `${name} ${field === '' ? '' : `field ${JSON.stringify(field)} `}${first?.message ?? 'does not match its schema'}`);
      }
      return value;
    }
  };
}
