/**
 * When is the bootstrap set stale? When none of its peers (ourselves aside) can get us
 * into the network: each one is known to the membership protocol as failed or left, or
 * the protocol has never heard of it and dialling it failed. Pure: the caller supplies
 * what membership and the seed dialler know.
 */
import type { MemberState } from '../membership/index.ts';

export interface SeedKnowledge {
  /** The membership state of a peer, undefined if membership has never heard of it. */
  stateOf(peerId: string): MemberState | undefined;
  /** Whether the last dial to a seed failed and no connection to it has been seen since. */
  unreachable(peerId: string): boolean;
}

export function seedsStale(self: string, seeds: readonly { readonly peerId: string }[], know: SeedKnowledge): boolean {
  const others = seeds.filter((seed) => seed.peerId !== self);
  // An empty set is not stale: there is nothing to replace, and join admits us anyway.
  return others.length > 0 && others.every((seed) => {
    const state = know.stateOf(seed.peerId);
    // Membership's verdict wins: a seed it holds alive or suspect is still a way in.
    return state === undefined ? know.unreachable(seed.peerId) : state === 'dead' || state === 'left';
  });
}
