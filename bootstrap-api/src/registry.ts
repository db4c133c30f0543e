/**
 * The registry policy, as pure functions: current registrations and a verified record
 * in, a decision out (what to write, what to delete, what to answer). Both backends
 * call these and differ only in how they read and write the entries: the Fastify
 * server from memory, the functions backend inside a Firestore transaction.
 */
import { ApiError } from './errors.ts';
import { RENEWALS_PER_TTL } from './constants.ts';
import type { VerifiedRecord } from './registration.ts';
import type { BootstrapPeer, Config } from './schemas.ts';

/** A lease in the bootstrap set. `seq` orders a peer's records; `registeredAt` orders peers. */
export interface Registration extends BootstrapPeer {
  seq: number;
}

export interface Decision<R> {
  /** Registrations to create or overwrite, keyed by their peerId. */
  put: Registration[];
  /** Peer IDs whose registrations must be deleted (expired, replaced or leaving). */
  remove: string[];
  result: R;
}

export interface JoinResult {
  admitted: boolean;
  peers: BootstrapPeer[];
  ttlMs: number;
  renewAfterMs: number;
}

export interface RefillResult extends JoinResult {
  replaced: string | null;
}

export function isLive(entry: Registration, now: number): boolean {
  return entry.expiresAt > now;
}

/** What a client sees of a registration: the sequence number stays internal. */
export function toPeer(entry: Registration): BootstrapPeer {
  return {
    peerId: entry.peerId,
    addrs: entry.addrs,
    record: entry.record,
    registeredAt: entry.registeredAt,
    expiresAt: entry.expiresAt
  };
}

/** Oldest registration first, so the stable core of the set leads the list. */
function byAge(a: Registration, b: Registration): number {
  return a.registeredAt - b.registeredAt || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
}

export function livePeers(entries: readonly Registration[], now: number): BootstrapPeer[] {
  return entries.filter((e) => isLive(e, now)).sort(byAge).map(toPeer);
}

export function renewAfter(config: Config): number {
  return Math.floor(config.ttlMs / RENEWALS_PER_TTL);
}

function lease(candidate: VerifiedRecord, config: Config, now: number, registeredAt: number): Registration {
  return {
    peerId: candidate.peerId,
    addrs: candidate.addrs,
    record: candidate.record,
    seq: candidate.seq,
    registeredAt,
    expiresAt: now + config.ttlMs
  };
}

/**
 * A peer may renew only with a newer record, or by repeating the exact record it last
 * sent (so a retried request is harmless); anything older is a replay.
 */
function checkNewer(existing: Registration, candidate: VerifiedRecord): void {
  const repeat = candidate.seq === existing.seq && candidate.record === existing.record;
  if (candidate.seq <= existing.seq && !repeat) {
    throw new ApiError('STALE_RECORD', `record sequence ${candidate.seq} is not newer than the registered ${existing.seq}`);
  }
}

interface Admission {
  put: Registration[];
  remove: string[];
  live: Registration[];
  admitted: boolean;
  replaced: string | null;
}

function admit(entries: readonly Registration[], config: Config, candidate: VerifiedRecord, now: number,
  replaceNewestWhenFull: boolean): Admission {
  const remove = entries.filter((e) => !isLive(e, now)).map((e) => e.peerId);
  const live = entries.filter((e) => isLive(e, now));
  const existing = live.find((e) => e.peerId === candidate.peerId);
  if (existing) {
    checkNewer(existing, candidate);
    const renewed = lease(candidate, config, now, existing.registeredAt);
    return { put: [renewed], remove, live: live.map((e) => (e === existing ? renewed : e)), admitted: true, replaced: null };
  }
  const fresh = lease(candidate, config, now, now);
  if (live.length < config.maxPeers) {
    return { put: [fresh], remove, live: [...live, fresh], admitted: true, replaced: null };
  }
  if (!replaceNewestWhenFull) {
    return { put: [], remove, live, admitted: false, replaced: null };
  }
  const newest = [...live].sort(byAge).at(-1) as Registration;
  return {
    put: [fresh],
    remove: [...remove, newest.peerId],
    live: [...live.filter((e) => e !== newest), fresh],
    admitted: true,
    replaced: newest.peerId
  };
}

function answer(admission: Admission, config: Config, now: number): JoinResult {
  return {
    admitted: admission.admitted,
    peers: livePeers(admission.live, now),
    ttlMs: config.ttlMs,
    renewAfterMs: renewAfter(config)
  };
}

/** Join or renew: admitted while the set has room; a full set still answers with its peers. */
export function decideJoin(entries: readonly Registration[], config: Config, candidate: VerifiedRecord,
  now: number): Decision<JoinResult> {
  const admission = admit(entries, config, candidate, now, false);
  return { put: admission.put, remove: admission.remove, result: answer(admission, config, now) };
}

/**
 * Refill: a live peer that finds the set stale or full takes the place of the newest
 * entry, the one least proven to stay.
 */
export function decideRefill(entries: readonly Registration[], config: Config, candidate: VerifiedRecord,
  now: number): Decision<RefillResult> {
  const admission = admit(entries, config, candidate, now, true);
  return {
    put: admission.put,
    remove: admission.remove,
    result: { ...answer(admission, config, now), replaced: admission.replaced }
  };
}

/** Leave needs a record newer than the registered one, so a captured record cannot evict its peer. */
export function decideLeave(entries: readonly Registration[], candidate: VerifiedRecord,
  now: number): Decision<{ removed: boolean }> {
  const remove = entries.filter((e) => !isLive(e, now)).map((e) => e.peerId);
  const existing = entries.find((e) => e.peerId === candidate.peerId && isLive(e, now));
  if (!existing) return { put: [], remove, result: { removed: false } };
  if (candidate.seq <= existing.seq) {
    throw new ApiError('STALE_RECORD', `leave needs a record newer than the registered sequence ${existing.seq}`);
  }
  return { put: [], remove: [...remove, existing.peerId], result: { removed: true } };
}

/** The earliest moment at which a list answer computed now stops being true. */
export function nextExpiry(entries: readonly Registration[], now: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const e of entries) if (isLive(e, now) && e.expiresAt < next) next = e.expiresAt;
  return next;
}
