/**
 * The node's part in circuit relay, switched while it runs: serving as a relay (at start
 * with `--relay on`, or once reachability finds the peer public with `--relay auto`), and
 * reserving slots on relays (once reachability finds it unreachable). A relay server that
 * stopped cannot start again (its shutdown signal stays aborted), so each serve() builds one.
 */
import type { CircuitRelayServerComponents, CircuitRelayService } from '@libp2p/circuit-relay-v2';
import type { Listener, PeerId, Startable } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { freeReservation, relayListenAddrs, relayServer } from './relay.ts';
import type { RelayOptions } from './relay.ts';

export interface RelayRole {
  /** Whether the relay service runs (the hop protocol is handled). */
  readonly serving: boolean;
  /** Reservations other peers hold on us now. */
  readonly reservationsTaken: number;
  /** Whether we listen on `/p2p-circuit`, i.e. look for relays to reserve on. */
  readonly reserving: boolean;
  /** Starts serving with the configured limits; throws when none are configured. */
  serve(): Promise<void>;
  /** Stops serving: reservations held on us end, and peers learn (identify push) that we no longer relay. */
  stopServing(): Promise<void>;
  /** Listens on `/p2p-circuit` once per configured reservation, unless it does already. */
  reserve(): Promise<void>;
  /**
   * Stops listening on `/p2p-circuit` and withdraws the relayed addresses: a peer found
   * public needs no way in through a relay. The relay frees the slot when it expires.
   */
  unreserve(): Promise<void>;
  /** Frees the slot a peer reserved on us once it is gone (see freeReservation). */
  release(peer: PeerId): void;
}

export interface RelayRoleComponents extends CircuitRelayServerComponents {
  transportManager: { listen(addrs: Multiaddr[]): Promise<void>, getListeners(): Listener[] };
}

/** The relay transport's listeners: every address they have is a relayed one (none before their reservation), unlike a TCP listener's. */
function isCircuitListener(listener: Listener): boolean {
  return listener.getAddrs().every((a) => a.getComponents().some((c) => c.name === 'p2p-circuit'));
}

class RelayRoleService implements RelayRole, Startable {
  readonly #components: RelayRoleComponents;
  readonly #options: RelayOptions;
  #server: (CircuitRelayService & Startable) | undefined;
  #reserving: boolean;
  #running = false;

  constructor(components: RelayRoleComponents, options: RelayOptions) {
    this.#components = components;
    this.#options = options;
    // Reservations made at start are the node's listen addresses (see createPeerNode).
    this.#reserving = options.reserveAtStart !== false && options.reservations > 0;
  }

  readonly [Symbol.toStringTag] = 'cli-chat:relay-role';

  get serving(): boolean {
    return this.#server !== undefined;
  }

  get reservationsTaken(): number {
    return this.#server?.reservations.size ?? 0;
  }

  get reserving(): boolean {
    return this.#reserving;
  }

  async start(): Promise<void> {
    this.#running = true;
    if (this.#options.serve !== undefined && this.#options.serveAtStart !== false) await this.serve();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.stopServing();
  }

  async serve(): Promise<void> {
    if (this.#server !== undefined || !this.#running) return;
    if (this.#options.serve === undefined) throw new Error('no relay limits configured: this node does not serve as a relay');
    // The server is a Startable, as every libp2p service is; its interface just does not say so.
    const server = relayServer(this.#options.serve)(this.#components) as CircuitRelayService & Startable;
    this.#server = server;
    await server.start();
  }

  async stopServing(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.stop();
  }

  release(peer: PeerId): void {
    if (this.#server !== undefined) freeReservation(this.#server, peer);
  }

  async reserve(): Promise<void> {
    if (this.#reserving || !this.#running || this.#options.reservations === 0) return;
    this.#reserving = true;
    await this.#components.transportManager.listen(relayListenAddrs(this.#options).map((a) => multiaddr(a)));
  }

  async unreserve(): Promise<void> {
    if (!this.#reserving) return;
    this.#reserving = false;
    const listeners = this.#components.transportManager.getListeners().filter(isCircuitListener);
    for (const listener of listeners) {
      // Closing a circuit listener does not withdraw the address its reservation confirmed.
      for (const addr of listener.getAddrs()) this.#components.addressManager.removeObservedAddr(addr);
      await listener.close();
    }
  }
}

export function relayRole(options: RelayOptions): (components: RelayRoleComponents) => RelayRole {
  return (components) => new RelayRoleService(components, options);
}
