/**
 * The members a peer remembers between runs, so that it can get back into the network
 * when the bootstrap API gives it no seeds. Pure: the caller supplies the clock and the
 * members it sees; the file lives in remembered-store.ts.
 */

/** A member as last seen alive: its peer ID, the addresses its signed claim carried, and when. */
export interface RememberedMember {
  readonly peerId: string;
  readonly addrs: readonly string[];
  /** Milliseconds since the epoch. */
  readonly lastSeen: number;
}

export interface RememberPolicy {
  /** Members kept at most; the most recently seen win. */
  readonly max: number;
  /** A member not seen for this long is forgotten. */
  readonly maxAgeMs: number;
}

/**
 * Merges what was remembered with members seen now: one entry per peer (its newest
 * sighting, with that sighting's addresses), none older than `maxAgeMs`, none without an
 * address, never ourselves, newest first, at most `max`. A time ahead of `now` (a clock
 * set back, or a file written elsewhere) counts as `now`, so it expires in time too.
 */
export function remember(
  known: readonly RememberedMember[], seen: readonly RememberedMember[], policy: RememberPolicy, now: number, self: string
): RememberedMember[] {
  const newest = new Map<string, RememberedMember>();
  for (const member of [...known, ...seen]) {
    if (member.peerId === self || member.addrs.length === 0) continue;
    const entry = { peerId: member.peerId, addrs: [...member.addrs], lastSeen: Math.min(member.lastSeen, now) };
    if (now - entry.lastSeen > policy.maxAgeMs) continue;
    const held = newest.get(entry.peerId);
    if (held === undefined || entry.lastSeen >= held.lastSeen) newest.set(entry.peerId, entry);
  }
  return [...newest.values()]
    .sort((a, b) => b.lastSeen - a.lastSeen || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
    .slice(0, Math.max(0, policy.max));
}
