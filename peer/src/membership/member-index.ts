/**
 * Dense integer handles for member IDs, and each ID's 32-bit hash (which places it in the
 * sync digest tree). The member table stores its columns in typed arrays indexed by these
 * handles; one index may be shared by many tables (the simulator runs thousands of
 * members in one process, each knowing thousands of members: 10,000 x 10,000 entries fit
 * in memory only as compact columns over a shared index). A private index recycles the
 * handles of forgotten members; a shared one never does.
 */
import type { MemberId } from './member.ts';

/** FNV-1a over the ID's UTF-16 code units, finished with murmur3's avalanche step. */
export function memberIdHash(id: MemberId): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class MemberIndex {
  readonly #ids: MemberId[] = [];
  readonly #hashes: number[] = [];
  readonly #byId = new Map<MemberId, number>();
  readonly #free: number[] = [];
  readonly #shared: boolean;

  /** `shared`: used by several tables at once, so handles are never recycled. */
  constructor(options: { shared?: boolean } = {}) {
    this.#shared = options.shared ?? false;
  }

  /** Number of handles ever issued (the tables' column length). */
  get capacity(): number {
    return this.#ids.length;
  }

  /** The handle of `id`, or -1 if it has none. */
  lookup(id: MemberId): number {
    return this.#byId.get(id) ?? -1;
  }

  /** The handle of `id`, issuing one if needed. */
  intern(id: MemberId): number {
    const known = this.#byId.get(id);
    if (known !== undefined) return known;
    const handle = this.#free.pop() ?? this.#ids.length;
    this.#ids[handle] = id;
    this.#hashes[handle] = memberIdHash(id);
    this.#byId.set(id, handle);
    return handle;
  }

  idAt(handle: number): MemberId {
    return this.#ids[handle]!;
  }

  hashAt(handle: number): number {
    return this.#hashes[handle]!;
  }

  /** The table no longer knows this member; a private index may reuse the handle. */
  release(handle: number): void {
    if (this.#shared) return;
    this.#byId.delete(this.#ids[handle]!);
    this.#free.push(handle);
  }
}
