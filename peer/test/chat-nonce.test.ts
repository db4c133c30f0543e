import { describe, expect, it } from 'vitest';
import { NonceSequence } from '../src/chat/nonce.ts';
import { decodeChatMessage, encodeChatMessage } from '../src/chat/codec.ts';

describe('NonceSequence', () => {
  it('gives nonces a receiver accepts, never the same twice', () => {
    const nonces = new NonceSequence();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(nonces.next());
    expect(seen.size).toBe(10_000);
    for (const nonce of [...seen].slice(0, 3).concat([...seen].slice(-3))) {
      const message = { v: 1 as const, room: 'lobby', nick: 'alice', text: 'same line', ts: 1_700_000_000_000, nonce };
      expect(decodeChatMessage(encodeChatMessage(message), 'lobby').nonce).toBe(nonce);
    }
  });

  it('starts from a prefix drawn once, so another process (or run) of the same peer differs', () => {
    const draws: number[] = [];
    const a = new NonceSequence((bytes) => { draws.push(bytes); return new Uint8Array(bytes).fill(0xab); });
    const b = new NonceSequence((bytes) => new Uint8Array(bytes).fill(0xcd));
    expect(a.next()).toBe('abababababababab0000000000000001');
    expect(a.next()).toBe('abababababababab0000000000000002');
    expect(b.next()).toBe('cdcdcdcdcdcdcdcd0000000000000001');
    expect(draws).toEqual([8]);
  });
});
