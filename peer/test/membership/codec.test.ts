import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MembershipDecodeError, decodeMessage, encodeMessage, encodedSize, metaProblem
} from '../../src/membership/codec.ts';
import { createLeaveClaim } from '../../src/membership/claims.ts';
import { MAX_MESSAGE_BYTES, MEMBERSHIP_PROTOCOL_VERSION } from '../../src/membership/constants.ts';
import type { Message, Update } from '../../src/membership/messages.ts';
import { simulatedSigner } from '../../src/membership/simulated-signer.ts';
import { claimOf, ids, metaOf } from './support.ts';

const [a, b, c] = ids(3) as [string, string, string];
const alive: Update = { kind: 'alive', claim: claimOf(a, 0, 7) };
const suspect: Update = { kind: 'suspect', id: b, incarnation: 3, from: c, evidence: 'unreachable' };
const dead: Update = { kind: 'dead', id: b, incarnation: 4, from: a };
const left: Update = { kind: 'left', claim: createLeaveClaim(simulatedSigner(c), c, 9) };
const updates = [alive, suspect, dead, left];

const samples: Message[] = [
  { type: 'ping', seq: 1, target: b, updates },
  { type: 'ack', seq: 0xffff_ffff, updates: [] },
  { type: 'ping-req', seq: 300, target: c, nack: true, updates: [suspect] },
  { type: 'nack', seq: 5, updates: [dead] },
  { type: 'gossip', updates },
  {
    type: 'sync', session: 77, step: 2, digests: [{ depth: 0, prefix: 0, hash: 0xdeadbeef, count: 3 }, { depth: 2, prefix: 255, hash: 1, count: 1 }],
    want: [{ depth: 1, prefix: 15 }], entries: [alive, left], updates: [suspect]
  }
];

function reasonOf(bytes: Uint8Array): string {
  try {
    decodeMessage(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(MembershipDecodeError);
    return (err as MembershipDecodeError).reason;
  }
  throw new Error('expected a MembershipDecodeError');
}

describe('membership codec', () => {
  it('round-trips every message type, and encodedSize is exact', () => {
    for (const message of samples) {
      const bytes = encodeMessage(message);
      expect(bytes[0]).toBe(MEMBERSHIP_PROTOCOL_VERSION);
      expect(encodedSize(message)).toBe(bytes.length);
      expect(decodeMessage(bytes)).toEqual(message);
    }
  });

  it('keeps the signed body of a claim byte for byte', () => {
    const decoded = decodeMessage(encodeMessage({ type: 'gossip', updates: [alive] }));
    const update = decoded.updates[0]!;
    expect(update.kind).toBe('alive');
    if (update.kind === 'alive') expect(update.claim.body).toEqual((alive as { claim: { body: Uint8Array } }).claim.body);
  });

  it('refuses trailing bytes, truncation, other versions, unknown types and non-minimal varints', () => {
    const bytes = encodeMessage(samples[0]!);
    expect(reasonOf(new Uint8Array([...bytes, 0]))).toBe('trailing-bytes');
    expect(reasonOf(bytes.subarray(0, bytes.length - 1))).toBe('truncated');
    expect(reasonOf(new Uint8Array([9, ...bytes.subarray(1)]))).toBe('unsupported-version');
    expect(reasonOf(new Uint8Array([MEMBERSHIP_PROTOCOL_VERSION, 42]))).toBe('unknown-type');
    // ack with seq 1 encoded as 0x81 0x00 (two bytes for one).
    expect(reasonOf(new Uint8Array([MEMBERSHIP_PROTOCOL_VERSION, 2, 0x81, 0x00, 0]))).toBe('bad-varint');
    expect(reasonOf(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toBe('too-large');
  });

  it('applies the metadata rules to received claims', () => {
    const bad = claimOf(a, 0);
    const forgedNick = { ...bad, meta: { ...bad.meta, nick: 'x\u202ey' } };
    expect(metaProblem(forgedNick.meta)).toMatch(/control or formatting/);
    expect(metaProblem({ ...metaOf(0), addrs: ['not-a-multiaddr'] })).toMatch(/bad address/);
    expect(metaProblem({ ...metaOf(0), rooms: ['no spaces'] })).toMatch(/bad room/);
    expect(metaProblem(metaOf(0))).toBeUndefined();
  });

  it('never throws anything but MembershipDecodeError, on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        decodeMessage(bytes);
      } catch (err) {
        return err instanceof MembershipDecodeError;
      }
      return true;
    }), { numRuns: 3000 });
  });

  it('never throws anything but MembershipDecodeError, on mutated valid messages', () => {
    const valid = samples.map((m) => encodeMessage(m));
    fc.assert(fc.property(
      fc.integer({ min: 0, max: valid.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat(), { nil: undefined }),
      (which, flips, cut) => {
        const bytes = new Uint8Array(valid[which]!);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const input = cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
        try {
          const decoded = decodeMessage(input);
          // Whatever decodes must encode back to the same bytes: one encoding per message.
          expect(encodeMessage(decoded)).toEqual(input);
        } catch (err) {
          if (!(err instanceof MembershipDecodeError)) throw err;
        }
      }
    ), { numRuns: 3000 });
  });
});
