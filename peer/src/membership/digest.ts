/**
 * Digests of the member table for anti-entropy sync. Members are placed in a 16-ary tree
 * by the hash of their ID (depth d has 16^d buckets); a bucket's digest is the XOR of its
 * live members' entry hashes, where an entry hash covers (ID, incarnation). Two members
 * whose tables agree exchange one root digest; where they differ they descend only into
 * the differing buckets. Suspicion is left out on purpose: it spreads by gossip and is
 * settled by refutation, and a sync should not spread doubt.
 */
import { entryHash } from './digest-hash.ts';
import type { MemberTable } from './member-table.ts';
import type { SyncWant } from './messages.ts';

/** The bucket of an ID hash at `depth` (its top 4 * depth bits). */
export function bucketOf(idHash: number, depth: number): number {
  return depth === 0 ? 0 : idHash >>> (32 - 4 * depth);
}

/** A key for a (depth, prefix) pair, for maps. */
export function bucketKey(depth: number, prefix: number): number {
  return depth * 0x10000 + prefix;
}

export interface BucketDigest {
  hash: number;
  count: number;
}

/**
 * Digests of the buckets in `buckets` and, if `children`, of all their children, in one
 * pass over the live members. Buckets with no live member get no entry (hash 0, count 0).
 */
export function computeDigests(table: MemberTable, buckets: readonly SyncWant[], children: boolean): Map<number, BucketDigest> {
  const digests = new Map<number, BucketDigest>();
  if (buckets.length === 0) return digests;
  if (buckets.every((b) => b.depth === 0 || (b.depth === 1 && !children))) {
    // The table keeps these up to date: no pass needed (the common case of a sync).
    for (const b of buckets) {
      digests.set(bucketKey(b.depth, b.prefix), { ...table.topDigest(b.depth as 0 | 1, b.prefix) });
      if (children) for (let c = 0; c < 16; c++) digests.set(bucketKey(1, c), { ...table.topDigest(1, c) });
    }
    return digests;
  }
  const wanted = new Set<number>();
  const depths = new Set<number>();
  for (const b of buckets) {
    wanted.add(bucketKey(b.depth, b.prefix));
    depths.add(b.depth);
  }
  const add = (key: number, hash: number): void => {
    const digest = digests.get(key);
    if (digest) {
      digest.hash = (digest.hash ^ hash) >>> 0;
      digest.count++;
    } else digests.set(key, { hash, count: 1 });
  };
  table.forEachLive((handle) => {
    const idHash = table.index.hashAt(handle);
    const hash = entryHash(idHash, table.incarnation(handle));
    for (const depth of depths) {
      const key = bucketKey(depth, bucketOf(idHash, depth));
      if (!wanted.has(key)) continue;
      add(key, hash);
      if (children) add(bucketKey(depth + 1, bucketOf(idHash, depth + 1)), hash);
    }
  });
  return digests;
}

/** Calls `fn` for each known member (any state) in bucket (depth, prefix). */
export function forEachInBucket(table: MemberTable, depth: number, prefix: number, fn: (handle: number) => void): void {
  table.forEachKnown((handle) => {
    if (bucketOf(table.index.hashAt(handle), depth) === prefix) fn(handle);
  });
}
