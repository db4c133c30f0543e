/**
 * Join and refill answers written from kept text must be exactly the answers the
 * contract describes, and must follow every change of the set.
 */
import { describe, expect, it } from 'vitest';
import { JoinResponse, RefillResponse, describeErrors } from '@cli-chat/bootstrap-api';
import type { BootstrapPeer, JoinResult, RefillResult } from '@cli-chat/bootstrap-api';
import { AnswerText } from '../src/answer-text.ts';

const peer = (n: number, expiresAt = 2_000_000): BootstrapPeer => ({
  peerId: `12D3KooW${'A'.repeat(n)}`, addrs: [`/ip4/127.0.0.1/tcp/${4000 + n}`], record: `cmVjb3Jk${n}`, registeredAt: 1_000_000 + n, expiresAt
});

describe('join and refill answers as text', () => {
  it('is the contract\'s answer, for joins and refills, as the set changes and back', () => {
    const text = new AnswerText();
    const sets = [[peer(1), peer(2)], [peer(1), peer(2)], [peer(1), peer(2, 2_500_000)], [peer(1)], [], [peer(1), peer(2)]];
    for (const peers of sets) {
      const join: JoinResult = { admitted: peers.length > 1, peers, ttlMs: 60_000, renewAfterMs: 20_000 };
      const refill: RefillResult = { ...join, replaced: peers.length === 1 ? peer(3).peerId : null };
      const [joinAnswer, refillAnswer] = [JSON.parse(text.of(join)), JSON.parse(text.of(refill))];
      expect(describeErrors(JoinResponse, joinAnswer, 'answer')).toBeUndefined();
      expect(describeErrors(RefillResponse, refillAnswer, 'answer')).toBeUndefined();
      expect(joinAnswer).toEqual(join);
      expect(refillAnswer).toEqual(refill);
    }
  });

  it('writes only the contract\'s fields of a peer', () => {
    const withExtra = { ...peer(1), seq: 7 } as BootstrapPeer;
    const answer = JSON.parse(new AnswerText().of({ admitted: true, peers: [withExtra], ttlMs: 60_000, renewAfterMs: 20_000 }));
    expect(answer.peers).toEqual([peer(1)]);
  });
});
