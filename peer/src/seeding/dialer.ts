/**
 * Dials the bootstrap set and keeps retrying it: libp2p's own bootstrap discovery dials
 * each peer once and gives up, which strands a peer that started before its seeds.
 * Noise authenticates the remote peer ID, so an address the API got wrong costs a
 * failed dial, never a connection to an impostor.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p } from '@libp2p/interface';
import type { Logger } from 'pino';

export interface Seed {
  peerId: string;
  addrs: string[];
}

const TICK_MS = 500;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const DIAL_TIMEOUT_MS = 5_000;
const REDIAL_JITTER_MS = 2_000;
/**
 * Seed dials in flight at once. A peer that has just started learns up to maxPeers seeds in
 * one answer; dialling them all at once makes every Noise handshake share a cold process,
 * so the first connection (the one the membership join is waiting for) is up last. A
 * few at a time, the first are up in a few ms and the rest follow.
 */
const MAX_PARALLEL_DIALS = 2;

interface SeedState extends Seed {
  nextDialAt: number;
  backoffMs: number;
  dialing: boolean;
  wasConnected: boolean;
  /** The last dial failed and no connection has been seen since. */
  failing: boolean;
}

export class SeedDialer {
  private readonly node: Libp2p;
  private readonly log: Logger;
  private readonly seeds = new Map<string, SeedState>();
  private readonly onUnreachable: (peerId: string) => void;
  private timer: NodeJS.Timeout | undefined;

  /** `onUnreachable` hears of every failed dial, so the caller can judge the set stale at once. */
  constructor(node: Libp2p, log: Logger, onUnreachable: (peerId: string) => void) {
    this.node = node;
    this.log = log;
    this.onUnreachable = onUnreachable;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.seeds.clear();
  }

  /** Whether the last dial to this seed failed and no connection to it has been seen since. */
  unreachable(peerId: string): boolean {
    return this.seeds.get(peerId)?.failing === true;
  }

  /** How many seeds are listed, and how many of them the last dial could not reach. */
  stats(): { seeds: number, failing: number } {
    let failing = 0;
    for (const seed of this.seeds.values()) if (seed.failing) failing++;
    return { seeds: this.seeds.size, failing };
  }

  /** Replaces the seed list; seeds no longer listed are no longer retried. */
  update(seeds: Seed[]): void {
    const self = this.node.peerId.toString();
    const listed = new Set<string>();
    for (const seed of seeds) {
      if (seed.peerId === self) continue;
      listed.add(seed.peerId);
      const known = this.seeds.get(seed.peerId);
      if (known) known.addrs = seed.addrs;
      else this.seeds.set(seed.peerId, { ...seed, nextDialAt: 0, backoffMs: BACKOFF_MIN_MS, dialing: false, wasConnected: false, failing: false });
    }
    for (const id of this.seeds.keys()) if (!listed.has(id)) this.seeds.delete(id);
    this.tick();
  }

  private tick(): void {
    const now = Date.now();
    let dialing = 0;
    for (const seed of this.seeds.values()) if (seed.dialing) dialing++;
    for (const seed of this.seeds.values()) {
      if (seed.dialing || seed.nextDialAt > now) continue;
      if (this.node.getConnections(peerIdFromString(seed.peerId)).length > 0) {
        seed.backoffMs = BACKOFF_MIN_MS;
        seed.wasConnected = true;
        seed.failing = false;
        continue;
      }
      if (seed.wasConnected) {
        // A lost connection: both ends may notice at once. A random delay lets one redial
        // win and the other find the connection already there, instead of two connections.
        seed.wasConnected = false;
        seed.nextDialAt = now + Math.random() * REDIAL_JITTER_MS;
        continue;
      }
      if (dialing >= MAX_PARALLEL_DIALS) continue;
      dialing++;
      void this.dial(seed);
    }
  }

  private async dial(seed: SeedState): Promise<void> {
    seed.dialing = true;
    try {
      const addrs = seed.addrs.map((a) => multiaddr(`${a}/p2p/${seed.peerId}`));
      await this.node.dial(addrs, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
      seed.backoffMs = BACKOFF_MIN_MS;
      seed.failing = false;
    } catch (err) {
      this.log.debug({ err, peer: seed.peerId }, 'seed dial failed; will retry');
      seed.nextDialAt = Date.now() + seed.backoffMs * (0.5 + Math.random());
      seed.backoffMs = Math.min(seed.backoffMs * 2, BACKOFF_MAX_MS);
      seed.failing = true;
      // Still listed (update() may have dropped it while the dial ran): only then does it matter.
      if (this.seeds.get(seed.peerId) === seed) this.onUnreachable(seed.peerId);
    } finally {
      seed.dialing = false;
      // The next seed waiting for a dial slot need not wait for the next tick.
      if (this.timer !== undefined) this.tick();
    }
  }
}
