/**
 * Circuit relay v2, as the peer uses it: a publicly reachable peer may serve as a relay
 * (`--relay`), and a peer reserves slots on relays so that members behind a NAT can be
 * dialled through them (`--reserve-relays`). Relays are found among the peers we are
 * connected to: the bootstrap set and the members membership keeps us connected to
 * (the transport's relay discovery reserves on any connected peer that speaks the hop
 * protocol, and looks in the peer store for ones it heard of).
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2';
import type { CircuitRelayServerComponents, CircuitRelayService } from '@libp2p/circuit-relay-v2';
import type { PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

/** `--relay`: serve always, never, or once reachability finds the peer public. */
export const RELAY_MODES = ['auto', 'on', 'off'] as const;
export type RelayMode = typeof RELAY_MODES[number];

/** What a relay grants. 0 means no limit for a circuit's seconds or bytes. */
export interface RelayLimits {
  /** Peers that may hold a reservation at once (each a member reachable through us). */
  maxReservations: number;
  /** How long one relayed connection may last, in seconds; 0: as long as both ends keep it. */
  circuitSeconds: number;
  /** How many bytes one relayed connection may carry, both ways together; 0: no limit. */
  circuitBytes: number;
}

export interface RelayOptions {
  /** Serve as a relay with these limits; not a relay when undefined. */
  serve?: RelayLimits;
  /** Serve from the start, or only once told (RelayRole.serve, `--relay auto`). @default true */
  serveAtStart?: boolean;
  /** On how many relays to hold a reservation (and so a relayed listen address). */
  reservations: number;
  /** Reserve from the start, or only once told (RelayRole.reserve, when found unreachable). @default true */
  reserveAtStart?: boolean;
}

/**
 * libp2p's defaults (go-libp2p's): 15 reservations, two minutes and 128 KiB a circuit.
 * Those suit a relay that only helps two peers meet before hole punching; where no direct
 * path can be made (see docs/reach.md) the circuit is the connection, and two minutes or
 * 128 KiB would cut a member's probes, chat and direct messages again and again.
 */
export const DEFAULT_RELAY_LIMITS: RelayLimits = { maxReservations: 16, circuitSeconds: 0, circuitBytes: 0 };

/** Slots reserved by default on a peer that is not itself a relay: a second relay keeps it reachable while one restarts. */
export const DEFAULT_RESERVATIONS = 2;
export const MAX_RESERVATIONS = 4;

/**
 * `--relay auto`: serve only once reachability finds the peer public, and reserve only once
 * it finds it unreachable, so a laptop serves nobody and a public peer holds no reservation.
 */
export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  serve: DEFAULT_RELAY_LIMITS, serveAtStart: false, reservations: DEFAULT_RESERVATIONS, reserveAtStart: false
};

/** Whether the relay serves only once the peer is found public. */
export function servesWhenPublic(options: RelayOptions): boolean {
  return options.serve !== undefined && options.serveAtStart === false;
}

/**
 * The relay takes a duration in ms for AbortSignal.timeout, which fires at once for
 * anything above 2^31 - 1; that is also the longest "no limit" it can express once a data
 * limit is set (the two are applied together).
 */
const LONGEST_DURATION_MS = 2 ** 31 - 1;
const LARGEST_DATA = 2n ** 63n - 1n;

/** One `/p2p-circuit` listen address per reservation: the transport then finds a relay for each. */
export function relayListenAddrs(options: RelayOptions | undefined): string[] {
  return Array.from({ length: options?.reservations ?? 0 }, () => '/p2p-circuit');
}

export function relayServer(limits: RelayLimits): (components: CircuitRelayServerComponents) => CircuitRelayService {
  const limited = limits.circuitSeconds > 0 || limits.circuitBytes > 0;
  return circuitRelayServer({
    reservations: {
      maxReservations: limits.maxReservations,
      // Without a limit the relayed connection carries none either, so libp2p does not
      // treat it as limited and every protocol runs on it.
      applyDefaultLimit: limited,
      ...(limited
        ? {
            defaultDurationLimit: limits.circuitSeconds > 0 ? Math.min(limits.circuitSeconds * 1000, LONGEST_DURATION_MS) : LONGEST_DURATION_MS,
            defaultDataLimit: limits.circuitBytes > 0 ? BigInt(limits.circuitBytes) : LARGEST_DATA
          }
        : {})
    }
  });
}

/** The relay's IP in the address of a connection through it, or undefined for a direct connection. */
export function relayIp(remoteAddr: Multiaddr): string | undefined {
  const components = remoteAddr.getComponents();
  if (!components.some((c) => c.name === 'p2p-circuit')) return undefined;
  const first = components[0];
  return first !== undefined && (first.name === 'ip4' || first.name === 'ip6') ? first.value : undefined;
}

/**
 * Frees the slot of a peer we no longer have any connection to. The relay keeps a
 * reservation for its TTL (two hours), though nobody can be relayed to a peer it is not
 * connected to: a relay whose reserved peers crashed would refuse every newcomer until
 * then. go-libp2p's relay frees the slot on disconnect too; the peer reserves again when
 * it reconnects. The timer is cleared first, or its late abort would remove a new
 * reservation of the same peer.
 */
export function freeReservation(service: CircuitRelayService, peer: PeerId): void {
  const reservation = service.reservations.get(peer);
  if (reservation === undefined) return;
  reservation.signal.clear();
  service.reservations.delete(peer);
}
