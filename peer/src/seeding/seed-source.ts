/**
 * Which seeds membership joins through, and how a join is told. Pure: the caller says
 * what the bootstrap API gave, whether other members are up, and what is remembered.
 */
import type { Seed } from './dialer.ts';
import type { RememberedMember } from './remembered.ts';

/**
 * Where the seeds of a membership join came from: the bootstrap API, members remembered
 * from earlier runs, an address given, or a peer mDNS found on the LAN.
 */
export type SeedSource = 'bootstrap' | 'remembered' | 'address' | 'lan';

export interface SeedChoice {
  readonly seeds: Seed[];
  readonly source: SeedSource;
}

/**
 * The bootstrap set, ourselves aside. When that is empty (the API is down, refused us, or
 * lists only us) and no other member is up, the members remembered from earlier runs:
 * while members are up, membership itself keeps us among them.
 */
export function chooseSeeds(self: string, set: readonly Seed[], othersUp: boolean, remembered: readonly RememberedMember[]): SeedChoice {
  const others = set.filter((p) => p.peerId !== self);
  if (others.length > 0 || othersUp || remembered.length === 0) return { seeds: others, source: 'bootstrap' };
  return { seeds: remembered.map((m) => ({ peerId: m.peerId, addrs: [...m.addrs] })), source: 'remembered' };
}

const FROM: Record<SeedSource, string> = {
  bootstrap: 'from the bootstrap API',
  remembered: 'remembered from earlier runs (the bootstrap API gave none)',
  address: 'given',
  lan: 'found on the LAN by mDNS'
};

/** The `membership` event's message for a join through `seeds` seeds. */
export function joinMessage(seeds: number, source: SeedSource): string {
  return seeds === 0
    ? 'joined the membership as its first member: others join through you'
    : `joining the membership through ${seeds} seed${seeds === 1 ? '' : 's'} ${FROM[source]}; member-joined follows for each member`;
}
