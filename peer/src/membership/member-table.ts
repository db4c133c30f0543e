/**
 * The member table: what this member believes about every member it knows (itself
 * included), stored as columns over MemberIndex handles, with the lists SWIM needs kept
 * in step: the live members (alive or suspect) for random picks, the dead and left ones
 * until they are forgotten, and the shuffled round-robin probe order.
 */
import { entryHash } from './digest-hash.ts';
import { randomInt, shuffle } from './random.ts';
import type { RandomSource } from './random.ts';
import type { MemberIndex } from './member-index.ts';
import type { AliveClaim, LeaveClaim, MemberState } from './member.ts';

export const UNKNOWN = 0;
export const ALIVE = 1;
export const SUSPECT = 2;
export const DEAD = 3;
export const LEFT = 4;
export type StateCode = typeof UNKNOWN | typeof ALIVE | typeof SUSPECT | typeof DEAD | typeof LEFT;

export const STATE_NAMES: Record<Exclude<StateCode, typeof UNKNOWN>, MemberState> = {
  [ALIVE]: 'alive', [SUSPECT]: 'suspect', [DEAD]: 'dead', [LEFT]: 'left'
};

export function isLive(state: number): boolean {
  return state === ALIVE || state === SUSPECT;
}

export class MemberTable {
  readonly index: MemberIndex;
  readonly #random: RandomSource;
  #claims: (AliveClaim | undefined)[] = [];
  #incarnations = new Uint32Array(16);
  #states = new Uint8Array(16);
  #rtts = new Float32Array(16).fill(Number.NaN);
  readonly #since = new Map<number, number>();
  readonly #leaves = new Map<number, LeaveClaim>();
  #live = new Int32Array(16);
  #livePos = new Int32Array(16).fill(-1);
  #liveCount = 0;
  readonly #gone = new Set<number>();
  /** Sync digests of the root and of the 16 first-level buckets, kept up to date. */
  #rootHash = 0;
  readonly #topHashes = new Uint32Array(16);
  readonly #topCounts = new Int32Array(16);
  #probeOrder = new Int32Array(16);
  #probeLength = 0;
  #probeCursor = 0;

  constructor(index: MemberIndex, random: RandomSource) {
    this.index = index;
    this.#random = random;
  }

  #ensure(handle: number): void {
    if (handle < this.#states.length) return;
    let size = this.#states.length * 2;
    while (size <= handle) size *= 2;
    const grow = <T extends Uint32Array | Uint8Array | Float32Array | Int32Array>(old: T, fresh: T, fill?: number): T => {
      if (fill !== undefined) fresh.fill(fill);
      fresh.set(old);
      return fresh;
    };
    this.#incarnations = grow(this.#incarnations, new Uint32Array(size));
    this.#states = grow(this.#states, new Uint8Array(size));
    this.#rtts = grow(this.#rtts, new Float32Array(size), Number.NaN);
    this.#live = grow(this.#live, new Int32Array(size));
    this.#livePos = grow(this.#livePos, new Int32Array(size), -1);
  }

  /** The handle of a member in the table, or -1. */
  lookup(id: string): number {
    const handle = this.index.lookup(id);
    return handle >= 0 && handle < this.#states.length && this.#states[handle] !== UNKNOWN ? handle : -1;
  }

  state(handle: number): StateCode {
    return this.#states[handle] as StateCode;
  }

  incarnation(handle: number): number {
    return this.#incarnations[handle]!;
  }

  claim(handle: number): AliveClaim | undefined {
    return this.#claims[handle];
  }

  leaveClaim(handle: number): LeaveClaim | undefined {
    return this.#leaves.get(handle);
  }

  rtt(handle: number): number | undefined {
    const rtt = this.#rtts[handle]!;
    return Number.isNaN(rtt) ? undefined : rtt;
  }

  since(handle: number): number | undefined {
    return this.#since.get(handle);
  }

  get liveCount(): number {
    return this.#liveCount;
  }

  /** Members known, in any state. */
  get size(): number {
    return this.#liveCount + this.#gone.size;
  }

  /** Adds a member we had never heard of, alive. */
  add(claim: AliveClaim): number {
    const handle = this.index.intern(claim.id);
    this.#ensure(handle);
    this.#claims[handle] = claim;
    this.#incarnations[handle] = claim.incarnation;
    this.#states[handle] = ALIVE;
    this.#rtts[handle] = Number.NaN;
    this.#addLive(handle);
    // A random place in the rest of this round, so that joiners are probed soon but
    // not all at once by everybody (memberlist's random offset).
    if (this.#probeLength === this.#probeOrder.length) {
      const grown = new Int32Array(this.#probeOrder.length * 2);
      grown.set(this.#probeOrder);
      this.#probeOrder = grown;
    }
    const order = this.#probeOrder;
    const at = this.#probeCursor + randomInt(this.#random, this.#probeLength - this.#probeCursor + 1);
    if (at === this.#probeLength) order[this.#probeLength++] = handle;
    else {
      order[this.#probeLength++] = order[at]!;
      order[at] = handle;
    }
    return handle;
  }

  setAlive(handle: number, claim: AliveClaim): void {
    if (isLive(this.#states[handle]!)) this.#setIncarnation(handle, claim.incarnation);
    else {
      this.#incarnations[handle] = claim.incarnation;
      this.#addLive(handle);
    }
    this.#gone.delete(handle);
    this.#since.delete(handle);
    this.#leaves.delete(handle);
    this.#claims[handle] = claim;
    this.#states[handle] = ALIVE;
  }

  /** Marks a live member suspect (at `incarnation`). */
  setSuspect(handle: number, incarnation: number, now: number): void {
    this.#setIncarnation(handle, incarnation);
    this.#states[handle] = SUSPECT;
    this.#since.set(handle, now);
  }

  setDead(handle: number, incarnation: number, now: number): void {
    this.#setGone(handle, DEAD, incarnation, now);
  }

  setLeft(handle: number, claim: LeaveClaim, now: number): void {
    this.#setGone(handle, LEFT, claim.incarnation, now);
    this.#leaves.set(handle, claim);
  }

  setRtt(handle: number, rtt: number): void {
    this.#rtts[handle] = rtt;
  }

  /** Forgets a dead or left member entirely. */
  remove(handle: number): void {
    if (isLive(this.#states[handle]!)) this.#removeLive(handle);
    this.#states[handle] = UNKNOWN;
    this.#claims[handle] = undefined;
    this.#gone.delete(handle);
    this.#since.delete(handle);
    this.#leaves.delete(handle);
    this.index.release(handle);
  }

  #setGone(handle: number, state: StateCode, incarnation: number, now: number): void {
    if (isLive(this.#states[handle]!)) this.#removeLive(handle);
    this.#states[handle] = state;
    this.#incarnations[handle] = incarnation;
    this.#since.set(handle, now);
    this.#gone.add(handle);
  }

  /** XORs a live member's entry in or out of the maintained digests. */
  #toggleDigest(handle: number, sign: 1 | -1): void {
    const idHash = this.index.hashAt(handle);
    const hash = entryHash(idHash, this.#incarnations[handle]!);
    const top = idHash >>> 28;
    this.#rootHash = (this.#rootHash ^ hash) >>> 0;
    this.#topHashes[top] = (this.#topHashes[top]! ^ hash) >>> 0;
    this.#topCounts[top]! += sign;
  }

  /** The digest of bucket `prefix` at depth 0 or 1, without a pass over the table. */
  topDigest(depth: 0 | 1, prefix: number): { hash: number, count: number } {
    if (depth === 0) return { hash: this.#rootHash, count: this.#liveCount };
    return { hash: this.#topHashes[prefix]!, count: this.#topCounts[prefix]! };
  }

  #addLive(handle: number): void {
    this.#live[this.#liveCount] = handle;
    this.#livePos[handle] = this.#liveCount++;
    this.#toggleDigest(handle, 1);
  }

  /** Sets the incarnation of a member, keeping the digests right if it is live. */
  #setIncarnation(handle: number, incarnation: number): void {
    if (this.#incarnations[handle] === incarnation) return;
    const live = isLive(this.#states[handle]!);
    if (live) this.#toggleDigest(handle, -1);
    this.#incarnations[handle] = incarnation;
    if (live) this.#toggleDigest(handle, 1);
  }

  #removeLive(handle: number): void {
    this.#toggleDigest(handle, -1);
    const at = this.#livePos[handle]!;
    const last = this.#live[--this.#liveCount]!;
    this.#live[at] = last;
    this.#livePos[last] = at;
    this.#livePos[handle] = -1;
  }

  /** Dead and left members not yet forgotten. */
  gone(): Iterable<number> {
    return this.#gone;
  }

  forEachLive(fn: (handle: number) => void): void {
    for (let i = 0; i < this.#liveCount; i++) fn(this.#live[i]!);
  }

  forEachKnown(fn: (handle: number) => void): void {
    this.forEachLive(fn);
    for (const handle of this.#gone) fn(handle);
  }

  /**
   * Up to `k` distinct live members chosen at random, none of them rejected by `exclude`
   * (which is expected to reject only a few members, such as ourselves and a target).
   */
  randomLive(k: number, exclude: (handle: number) => boolean): number[] {
    const picked: number[] = [];
    const n = this.#liveCount;
    if (k <= 0 || n === 0) return picked;
    if (n <= 4 * k + 8) {
      const candidates: number[] = [];
      for (let i = 0; i < n; i++) if (!exclude(this.#live[i]!)) candidates.push(this.#live[i]!);
      shuffle(this.#random, candidates);
      return candidates.slice(0, k);
    }
    for (let attempts = 0; picked.length < k && attempts < 8 * k + 16; attempts++) {
      const handle = this.#live[randomInt(this.#random, n)]!;
      if (!exclude(handle) && !picked.includes(handle)) picked.push(handle);
    }
    return picked;
  }

  /** A random dead (not left) member that `accept` approves, or -1. */
  randomDead(accept: (handle: number) => boolean): number {
    const candidates: number[] = [];
    for (const handle of this.#gone) if (this.#states[handle] === DEAD && accept(handle)) candidates.push(handle);
    return candidates.length === 0 ? -1 : candidates[randomInt(this.#random, candidates.length)]!;
  }

  /**
   * The next member in the shuffled round-robin that is live and not skipped; the order
   * is reshuffled at every wrap. -1 if there is none.
   */
  nextProbeTarget(skip: (handle: number) => boolean): number {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#probeCursor < this.#probeLength) {
        const handle = this.#probeOrder[this.#probeCursor++]!;
        if (isLive(this.#states[handle]!) && !skip(handle)) return handle;
      }
      if (this.#probeOrder.length < this.#liveCount) this.#probeOrder = new Int32Array(this.#live.length);
      this.#probeOrder.set(this.#live.subarray(0, this.#liveCount));
      this.#probeLength = this.#liveCount;
      shuffle(this.#random, this.#probeOrder.subarray(0, this.#probeLength));
      this.#probeCursor = 0;
    }
    return -1;
  }
}
