/**
 * Reachability: whether other peers can dial this one, found by asking a few connected
 * peers to dial our addresses back (`/cli-chat/reach/1.0.0`, docs/reach.md). The factory
 * is a libp2p service in the style of @libp2p/ping: `services: { reach: reach(init) }`.
 */
import type {
  AbortOptions, ComponentLogger, Connection, Libp2pEvents, PeerId, PeerStore, StreamHandler, StreamHandlerOptions,
  TypedEventTarget
} from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { ReachService } from './service.ts';
import type { AddrResult } from './codec.ts';
import type { PolicyOptions } from './policy.ts';
import type { Reachability, VerdictOptions } from './verdict.ts';

export { REACHABILITIES } from './verdict.ts';
export type { Reachability } from './verdict.ts';
export { REACH_PROTOCOL } from './constants.ts';

export interface ReachabilityChange {
  reachability: Reachability;
  previous: Reachability;
}

export interface ReachEvents {
  reachability: CustomEvent<ReachabilityChange>;
}

/** One helper's part in the last check. */
export interface HelperAnswer {
  peerId: string;
  /** Its answer per address, or why there was none (a refusal, a timeout, a bad frame). */
  results: AddrResult[] | { error: string };
}

export interface ReachView {
  reachability: Reachability;
  /** The addresses checks ask about. */
  addrs: string[];
  /** When the last check started and the next is due (ms since the epoch); undefined before the first. */
  lastCheck?: number;
  nextCheck: number;
  /** The last check's answers. */
  answers: HelperAnswer[];
  /** As a helper: requests answered with dial-backs, refused (rate limit, busy, bad frame), and dial-backs that reached their peer. */
  served: { answered: number, refused: number, dialBacks: number, reached: number };
}

export interface Reach extends TypedEventTarget<ReachEvents> {
  readonly reachability: Reachability;
  view(): ReachView;
}

export interface ReachInit extends VerdictOptions, PolicyOptions {
  /** Bound on one dial-back. @default DIAL_BACK_TIMEOUT_MS */
  dialBackTimeout?: number;
  /** Bound on one request as the asker. @default REQUEST_TIMEOUT_MS */
  requestTimeout?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** What the service needs from the node: exactly the parts of libp2p's components it uses. */
export interface ReachComponents {
  peerId: PeerId;
  logger: ComponentLogger;
  events: TypedEventTarget<Libp2pEvents>;
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>;
    unhandle(protocol: string, options?: AbortOptions): Promise<void>;
  };
  connectionManager: {
    getConnections(peerId?: PeerId): Connection[];
    openConnection(peer: Multiaddr, options?: AbortOptions & { force?: boolean }): Promise<Connection>;
  };
  addressManager: {
    getAddresses(): Multiaddr[];
  };
  peerStore: Pick<PeerStore, 'get'>;
}

export function reach(init: ReachInit = {}): (components: ReachComponents) => Reach {
  return (components) => new ReachService(components, init);
}
