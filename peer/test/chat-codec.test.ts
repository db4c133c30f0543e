import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ChatDecodeError, ChatInputError, checkTimestamp, chatMessageId, decodeChatMessage, encodeChatMessage,
  formatMessageId, parseNick, parseRoomName, parseText, roomTopic
} from '../src/chat/codec.ts';
import type { ChatMessage, ChatRejectReason } from '../src/chat/codec.ts';
import { MAX_MESSAGE_BYTES, MAX_NICK_LENGTH, MAX_TEXT_BYTES } from '../src/chat/constants.ts';

const NONCE = '0123456789abcdef0123456789abcdef';
const valid: ChatMessage = { v: 1, room: 'lobby', nick: 'alice', text: 'hello, world', ts: 1_700_000_000_000, nonce: NONCE };
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function reasonOf(fn: () => unknown): ChatRejectReason {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChatInputError) return err.reason;
    throw err;
  }
  throw new Error('expected a ChatInputError, got none');
}

function decodeReason(data: Uint8Array, room = 'lobby'): ChatRejectReason {
  try {
    decodeChatMessage(data, room);
  } catch (err) {
    expect(err).toBeInstanceOf(ChatDecodeError);
    return (err as ChatDecodeError).reason;
  }
  throw new Error('expected decoding to fail');
}

describe('chat message encoding', () => {
  it('round-trips a message', () => {
    expect(decodeChatMessage(encodeChatMessage(valid), 'lobby')).toEqual(valid);
  });

  it('round-trips multi-line, non-ASCII text and the largest message the limits allow', () => {
    const text = 'line one\n\tline two: héllo 😀 “quotes” \\ "';
    expect(decodeChatMessage(encodeChatMessage({ ...valid, text }), 'lobby').text).toBe(text);
    // Every character of text and nick needs an escape: the worst case for MAX_MESSAGE_BYTES.
    const worst = { ...valid, room: 'r'.repeat(64), nick: '"'.repeat(MAX_NICK_LENGTH), text: '"'.repeat(MAX_TEXT_BYTES), ts: Number.MAX_SAFE_INTEGER };
    const data = encodeChatMessage(worst);
    expect(data.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(decodeChatMessage(data, worst.room)).toEqual(worst);
  });

  it('refuses to encode what a receiver would reject', () => {
    expect(reasonOf(() => encodeChatMessage({ ...valid, text: 'x'.repeat(MAX_TEXT_BYTES + 1) }))).toBe('text-too-long');
    expect(reasonOf(() => encodeChatMessage({ ...valid, text: '\u001b[2J' }))).toBe('bad-text');
    expect(reasonOf(() => encodeChatMessage({ ...valid, nick: ' alice' }))).toBe('bad-nick');
    expect(reasonOf(() => encodeChatMessage({ ...valid, room: 'no spaces' }))).toBe('bad-room');
    expect(reasonOf(() => encodeChatMessage({ ...valid, nonce: 'short' }))).toBe('bad-shape');
  });
});

describe('chat message decoding rejects', () => {
  const cases: Array<[string, Uint8Array, ChatRejectReason]> = [
    ['an oversize message, before parsing it', new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x7b), 'too-large'],
    ['invalid UTF-8', Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), 'not-utf8'],
    ['a byte-order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(valid)]), 'not-json'],
    ['text that is not JSON', bytes('hello'), 'not-json'],
    ['truncated JSON', bytes(JSON.stringify(valid).slice(0, -1)), 'not-json'],
    ['a JSON array', bytes([valid]), 'bad-shape'],
    ['JSON null', bytes('null'), 'bad-shape'],
    ['a JSON string', bytes('"hi"'), 'bad-shape'],
    ['another protocol version', bytes({ ...valid, v: 2 }), 'unsupported-version'],
    ['a version object that cannot become a string', bytes({ ...valid, v: { toString: 1 } }), 'unsupported-version'],
    ['a missing version', bytes({ ...valid, v: undefined }), 'bad-shape'],
    ['a missing field', bytes({ ...valid, nonce: undefined }), 'bad-shape'],
    ['an extra field', bytes({ ...valid, admin: true }), 'bad-shape'],
    ['a __proto__ field', bytes(JSON.stringify(valid).replace('{', '{"__proto__":{"x":1},')), 'bad-shape'],
    ['a fractional timestamp', bytes({ ...valid, ts: 1.5 }), 'bad-shape'],
    ['a negative timestamp', bytes({ ...valid, ts: -1 }), 'bad-shape'],
    ['an unsafe-integer timestamp', bytes(JSON.stringify(valid).replace(/"ts":\d+/, '"ts":1e300')), 'bad-shape'],
    ['a string timestamp', bytes({ ...valid, ts: '1700000000000' }), 'bad-shape'],
    ['an upper-case nonce', bytes({ ...valid, nonce: NONCE.toUpperCase() }), 'bad-shape'],
    ['a short nonce', bytes({ ...valid, nonce: 'abcd' }), 'bad-shape'],
    ['a room name that is too long', bytes({ ...valid, room: 'r'.repeat(65) }), 'bad-shape'],
    ['another room', bytes({ ...valid, room: 'other' }), 'wrong-room'],
    ['an empty nick', bytes({ ...valid, nick: '' }), 'bad-nick'],
    ['a nick of 33 characters', bytes({ ...valid, nick: 'é'.repeat(33) }), 'bad-nick'],
    ['a nick with a newline', bytes({ ...valid, nick: 'al\nice' }), 'bad-nick'],
    ['a nick with a bidi override', bytes({ ...valid, nick: 'ecila\u202e' }), 'bad-nick'],
    ['a nick with surrounding whitespace', bytes({ ...valid, nick: 'alice ' }), 'bad-nick'],
    ['a nick with a lone surrogate', bytes(JSON.stringify(valid).replace('"alice"', '"al\\ud800ice"')), 'bad-nick'],
    ['an empty text', bytes({ ...valid, text: '' }), 'bad-text'],
    ['a blank text', bytes({ ...valid, text: ' \n\t ' }), 'bad-text'],
    ['a terminal escape in the text', bytes({ ...valid, text: 'hi \u001b[31mred' }), 'bad-text'],
    ['a carriage return in the text', bytes({ ...valid, text: 'hi\rbye' }), 'bad-text'],
    ['a C1 control in the text', bytes({ ...valid, text: 'hi \u009b31m' }), 'bad-text'],
    ['a text with a lone surrogate', bytes(JSON.stringify(valid).replace('"hello, world"', '"\\udc00"')), 'bad-text'],
    ['a text over 4096 UTF-8 bytes', bytes({ ...valid, text: '€'.repeat(1366) }), 'text-too-long']
  ];

  it.each(cases)('%s', (_name, data, reason) => {
    expect(decodeReason(data)).toBe(reason);
  });

  it('explains each rejection in its message', () => {
    expect(() => decodeChatMessage(bytes({ ...valid, room: 'other' }), 'lobby')).toThrow(/room "other" but arrived on room "lobby"/);
    expect(() => decodeChatMessage(bytes({ ...valid, extra: 1 }), 'lobby')).toThrow(ChatDecodeError);
    expect(() => decodeChatMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1), 'lobby')).toThrow(`${MAX_MESSAGE_BYTES + 1} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
    expect(() => decodeChatMessage(bytes({ ...valid, v: 2 }), 'lobby')).toThrow('message version 2 is not supported');
    expect(() => decodeChatMessage(bytes({ ...valid, ts: 'soon' }), 'lobby')).toThrow('message field "ts" must be integer');
  });

  it('escapes what a remote peer controls in its explanations', () => {
    // A rejection is shown to the user: it must not carry terminal controls from the sender.
    const hostile = [bytes({ ...valid, room: '\u001b[2J\u009b1m' }), bytes({ ...valid, '\u001b]0;owned\u0007': 1 }), bytes({ ...valid, v: '\u009b' })];
    for (const data of hostile) {
      expect(() => decodeChatMessage(data, 'lobby')).toThrow(ChatDecodeError);
      try {
        decodeChatMessage(data, 'lobby');
      } catch (err) {
        expect((err as Error).message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      }
    }
  });
});

describe('timestamps', () => {
  const limits = { maxSkewMs: 60_000, maxAgeMs: 300_000 };
  const now = 1_700_000_000_000;

  it('accepts the window from maxAge ago to maxSkew ahead', () => {
    expect(() => checkTimestamp(now, now, limits)).not.toThrow();
    expect(() => checkTimestamp(now + limits.maxSkewMs, now, limits)).not.toThrow();
    expect(() => checkTimestamp(now - limits.maxAgeMs, now, limits)).not.toThrow();
  });

  it('rejects far-future and too-old timestamps', () => {
    expect(reasonOf(() => checkTimestamp(now + limits.maxSkewMs + 1, now, limits))).toBe('from-future');
    expect(reasonOf(() => checkTimestamp(now - limits.maxAgeMs - 1, now, limits))).toBe('too-old');
  });
});

describe('names and topics', () => {
  it('accepts room names of [A-Za-z0-9_.-]{1,64} and maps them to topics', () => {
    for (const room of ['lobby', 'a', 'Room_1.dev-2', 'x'.repeat(64)]) expect(parseRoomName(room)).toBe(room);
    expect(roomTopic('lobby')).toBe('/cli-chat/room/1/lobby');
  });

  it('rejects other room names', () => {
    for (const room of ['', 'x'.repeat(65), 'a b', 'a/b', 'café', 'lobby\n']) {
      expect(reasonOf(() => parseRoomName(room))).toBe('bad-room');
    }
    expect(() => roomTopic('a/b')).toThrow(ChatInputError);
  });

  it('accepts printable nicks of 1-32 characters', () => {
    for (const nick of ['a', 'alice', 'Zoë', 'bob smith', '😀'.repeat(MAX_NICK_LENGTH), '"quoted"']) expect(parseNick(nick)).toBe(nick);
  });

  it('rejects nicks that are empty, too long, padded or hold control characters', () => {
    for (const nick of ['', 'x'.repeat(33), ' alice', 'alice\t', 'a\u0000b', 'a\u200bb', 'a\u2028b']) {
      expect(reasonOf(() => parseNick(nick))).toBe('bad-nick');
    }
    expect(() => parseNick('a\u0007')).toThrow(/control or formatting/);
  });

  it('checks text by its UTF-8 size', () => {
    expect(parseText('€'.repeat(1365))).toHaveLength(1365);
    expect(() => parseText('€'.repeat(1366))).toThrow('text is 4098 bytes; the limit is 4096');
  });
});

describe('message IDs', () => {
  const alice = Uint8Array.of(0, 36, 8, 1, 18, 32, ...new Array<number>(32).fill(7));
  const bob = Uint8Array.of(0, 36, 8, 1, 18, 32, ...new Array<number>(32).fill(9));

  it('are hex SHA-256 over sender and data', () => {
    const id = formatMessageId(chatMessageId(alice, encodeChatMessage(valid)));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differ between senders of the same bytes', () => {
    const data = encodeChatMessage(valid);
    expect(formatMessageId(chatMessageId(alice, data))).not.toBe(formatMessageId(chatMessageId(bob, data)));
  });
});

const nickChar = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 })
  .filter((s) => { try { parseNick(s); return true; } catch { return false; } });
const validNick = fc.array(nickChar, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('-'))
  .filter((s) => { try { parseNick(s); return true; } catch { return false; } });
const validText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 })
  .filter((s) => { try { parseText(s); return true; } catch { return false; } });
const validRoom = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
const nonce = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const validMessage = fc.record({
  v: fc.constant(1 as const),
  room: validRoom,
  nick: validNick,
  text: validText,
  ts: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nonce
});

/** Decoding throws nothing but ChatDecodeError, whose message carries no terminal controls. */
function onlyDecodeErrors(data: Uint8Array, room: string): void {
  try {
    decodeChatMessage(data, room);
  } catch (err) {
    if (!(err instanceof ChatDecodeError)) throw err;
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  }
}

describe('properties', () => {
  it('decoding arbitrary bytes throws nothing but ChatDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => onlyDecodeErrors(data, 'lobby')), { numRuns: 2000 });
  });

  it('decoding arbitrary JSON values throws nothing but ChatDecodeError', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => onlyDecodeErrors(bytes(JSON.stringify(value) ?? 'null'), 'lobby')), { numRuns: 2000 });
  });

  it('decoding messages with arbitrary field values throws nothing but ChatDecodeError', () => {
    const field = fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' }), fc.constant(undefined));
    const mangled = fc.record({ v: fc.oneof(fc.constant(1), field), room: fc.oneof(fc.constant('lobby'), field), nick: field, text: field, ts: field, nonce: fc.oneof(nonce, field) }, { requiredKeys: [] });
    fc.assert(fc.property(mangled, (value) => onlyDecodeErrors(bytes(value), 'lobby')), { numRuns: 1000 });
  });

  it('every message that encodes decodes to itself', () => {
    fc.assert(fc.property(validMessage, (message) => {
      expect(decodeChatMessage(encodeChatMessage(message), message.room)).toEqual(message);
    }), { numRuns: 500 });
  });

  it('IDs differ for different nonces and are stable for the same bytes', () => {
    const sender = Uint8Array.of(1, 2, 3);
    fc.assert(fc.property(validMessage, nonce, (message, other) => {
      fc.pre(other !== message.nonce);
      const data = encodeChatMessage(message);
      const id = formatMessageId(chatMessageId(sender, data));
      expect(formatMessageId(chatMessageId(sender, Uint8Array.from(data)))).toBe(id);
      expect(formatMessageId(chatMessageId(sender, encodeChatMessage({ ...message, nonce: other })))).not.toBe(id);
    }), { numRuns: 500 });
  });
});
