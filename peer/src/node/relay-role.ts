/**
 * The node's part in circuit relay, switched while it runs: serving as a relay (at start
 * with `--relay on`, or once reachability finds the peer public with `--relay auto`), and
 * reserving slots on relays (once reachability finds it unreachable). A relay server that
 * stopped cannot start again (its shutdown signal stays aborted), so each serve() builds one.
 */
import type { CircuitRelayServerComponents, CircuitRelayService } from '@libp2p/circuit-relay-v2';
import type { Startable } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { relayListenAddrs, relayServer } from './relay.ts';
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
  /** Listens on `/p2p-circuit` once per configured reservation; once is enough for the node's life. */
  reserve(): Promise<void>;
}

export interface RelayRoleComponents extends CircuitRelayServerComponents {
  transportManager: { listen(addrs: Multiaddr[]): Promise<void> };
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

  async reserve(): Promise<void> {
    if (this.#reserving || !this.#running || this.#options.reservations === 0) return;
    this.#reserving = true;
    await this.#components.transportManager.listen(relayListenAddrs(this.#options).map((a) => multiaddr(a)));
  }
}

export function relayRole(options: RelayOptions): (components: RelayRoleComponents) => RelayRole {
  return (components) => new RelayRoleService(components, options);
}
