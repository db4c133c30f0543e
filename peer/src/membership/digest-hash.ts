/**
 * The hash of one member's entry in the sync digests: (ID hash, incarnation) mixed into
 * 32 bits. Kept apart so that the member table can maintain digests without importing
 * the sync code.
 */
export function entryHash(idHash: number, incarnation: number): number {
  let h = (idHash ^ Math.imul(incarnation | 0, 0x9e3779b1)) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

