/**
 * Join and refill answers as ready JSON text. Most of an answer's bytes are its `peers`,
 * the bootstrap set with every peer's signed record, and the set stays the same from one
 * answer to the next until a write changes it: the text of the last set is kept and
 * reused while the next answer lists the same registrations. On the development machine
 * the schema serializer took about 10 µs of event-loop time per join, escaping-checking
 * every record string each time.
 */
import type { BootstrapPeer, JoinResult, RefillResult } from '@cli-chat/bootstrap-api';

/** A peer's record fixes its addresses, so these four fields fix its whole entry. */
function samePeer(a: BootstrapPeer, b: BootstrapPeer): boolean {
  return a.peerId === b.peerId && a.record === b.record && a.registeredAt === b.registeredAt && a.expiresAt === b.expiresAt;
}

export class AnswerText {
  private peers: readonly BootstrapPeer[] = [];
  private peersText = '[]';

  /** The JSON text of a join or refill answer: the same value the route's response schema describes. */
  of(result: JoinResult | RefillResult): string {
    const replaced = 'replaced' in result ? `,"replaced":${JSON.stringify(result.replaced)}` : '';
    return `{"admitted":${result.admitted},"peers":${this.textOf(result.peers)},"ttlMs":${result.ttlMs},` +
      `"renewAfterMs":${result.renewAfterMs}${replaced}}`;
  }

  private textOf(peers: readonly BootstrapPeer[]): string {
    const same = peers.length === this.peers.length && peers.every((p, i) => samePeer(p, this.peers[i] as BootstrapPeer));
    if (!same) {
      this.peers = peers;
      // Only the contract's fields, as the response schema would write them.
      this.peersText = JSON.stringify(peers.map(({ peerId, addrs, record, registeredAt, expiresAt }) =>
        ({ peerId, addrs, record, registeredAt, expiresAt })));
    }
    return this.peersText;
  }
}
