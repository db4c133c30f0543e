/**
 * Remembers which peers a protocol already logged bad input from, so a misbehaving peer
 * costs one log line, not one per message. Bounded: a peer minting keys cannot grow it.
 */
const MAX_PEERS = 1024;

export class OncePerPeer {
  private readonly seen = new Set<string>();

  /** True the first time for `peer` (until the set fills up and starts over). */
  first(peer: string): boolean {
    if (this.seen.has(peer)) return false;
    if (this.seen.size >= MAX_PEERS) this.seen.clear();
    this.seen.add(peer);
    return true;
  }
}
