/**
 * Assembles the peer's libp2p node: TCP and circuit relay v2, Noise, Yamux, identify,
 * ping, gossipsub, the chat service, reachability, the relay role (serving and
 * reservations, switched while it runs), and optionally mDNS and a static bootstrap list.
 * The numbers are in ./constants.ts, the gossipsub settings in ./gossipsub.ts, the relay's
 * in ./relay.ts.
 */
import { createLibp2p } from 'libp2p';
import type { ConnectionMonitorInit, Libp2p, Libp2pOptions } from 'libp2p';
import { tcp } from './tcp-writes.ts';
import { noise } from './noise-decrypt.ts';
import { yamux } from './yamux-window.ts';
import { identify, identifyPush } from '@libp2p/identify';
import type { Identify, IdentifyPush } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import type { Ping } from '@libp2p/ping';
import { mdns } from '@libp2p/mdns';
import type { MulticastDNSComponents } from '@libp2p/mdns';
import { bootstrap } from '@libp2p/bootstrap';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import type { ConnectionGater, PeerDiscovery, PeerId, PeerInfo, PrivateKey } from '@libp2p/interface';
import { chat } from '../chat/index.ts';
import type { Chat, ChatInit } from '../chat/index.ts';
import { membership } from '../membership/index.ts';
import type { Membership, MembershipInit } from '../membership/index.ts';
import { exemptFromColocation, pubsub } from './gossipsub.ts';
import { withKeptSigningHandle } from './ed25519-keys.ts';
import { CutOff, cutOffLimit } from './cut-off.ts';
import { relayIp, relayListenAddrs } from './relay.ts';
import type { RelayOptions } from './relay.ts';
import { relayRole } from './relay-role.ts';
import type { RelayRole } from './relay-role.ts';
import { reach } from '../reach/index.ts';
import type { Reach, ReachInit } from '../reach/index.ts';
import type { Pubsub, PubsubOptions } from './gossipsub.ts';
import {
  CONNECTION_MONITOR, CUT_OFF_FACTOR, CUT_OFF_MAX_PEERS, CUT_OFF_MS, DISCOVERY_DIAL_TIMEOUT_MS, INBOUND_CONNECTION_THRESHOLD, MAX_INCOMING_PENDING_CONNECTIONS,
  MDNS_QUERY_INTERVAL_MS
} from './constants.ts';

export interface PeerNodeOptions {
  /** The peer's identity; see loadOrCreateIdentity. */
  privateKey: PrivateKey;
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0. */
  listen: string[];
  /**
   * Find and dial peers on the LAN with mDNS. It binds 0.0.0.0:5353 and announces on every
   * interface, the real network included: keep it off in tests.
   */
  mdns: boolean;
  /** Hears of every peer mDNS finds, each time it answers (after the node's own dial). */
  onLanPeer?: (peer: PeerInfo) => void;
  /** Peer multiaddrs (with /p2p/) that libp2p dials once at start. */
  bootstrapAddrs?: string[];
  /** Serving circuit relay v2, and reserving slots on other peers' relays; neither when undefined. */
  relay?: RelayOptions;
  /** The reachability check's settings (tests on one host make loopback count as a network). */
  reach?: ReachInit;
  /** Overrides CONNECTION_MONITOR field by field. */
  connectionMonitor?: ConnectionMonitorInit;
  /** Overrides our gossipsub settings; see pubsub(). */
  pubsub?: PubsubOptions;
  /** Its room rate limit also sets the cut-off's (CUT_OFF_FACTOR times it); no cut-off when it is `false`. */
  chat?: ChatInit;
  membership?: MembershipInit;
  /** Told of each peer cut off for flooding: disconnected and refused for CUT_OFF_MS (see cut-off.ts). */
  onCutOff?: (peerId: string, topic: string) => void;
}

export interface PeerServices extends Record<string, unknown> {
  identify: Identify;
  identifyPush: IdentifyPush;
  ping: Ping;
  pubsub: Pubsub;
  chat: Chat;
  membership: Membership;
  reach: Reach;
  /** Serving as a relay, and reserving on relays, switched while the node runs. */
  relay: RelayRole;
}

export type PeerNode = Libp2p<PeerServices>;

/**
 * Identity (signing through a handle made once, see ed25519-keys.ts), transport,
 * encryption, muxer and connection limits: what every node of ours shares, the peer's as
 * much as the test and benchmark nodes built beside it, so a comparison with a bare node
 * compares like with like.
 */
export function connectionOptions(privateKey: PrivateKey, listen: string[]): Pick<Libp2pOptions,
  'privateKey' | 'addresses' | 'transports' | 'connectionEncrypters' | 'streamMuxers' | 'connectionManager'> {
  return {
    privateKey: withKeptSigningHandle(privateKey),
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      inboundConnectionThreshold: INBOUND_CONNECTION_THRESHOLD,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS
    }
  };
}

/**
 * Creates the node without starting it: callers attach their event listeners first,
 * then `await node.start()`.
 */
export async function createPeerNode(options: PeerNodeOptions): Promise<PeerNode> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = [];
  // mDNS only reports peers; the node dials them once it exists.
  let dialDiscovered: (peer: PeerInfo) => void = () => {};
  if (options.mdns) {
    peerDiscovery.push(dialingMdns((peer) => {
      dialDiscovered(peer);
      options.onLanPeer?.(peer);
    }));
  }
  if (options.bootstrapAddrs !== undefined && options.bootstrapAddrs.length > 0) {
    peerDiscovery.push(bootstrap({ list: options.bootstrapAddrs }));
  }

  const base = connectionOptions(options.privateKey, options.listen);
  const limit = cutOffLimit(options.chat?.authorRateLimit, CUT_OFF_FACTOR);
  const cutOff = limit === undefined ? undefined : new CutOff({ limit, refuseMs: CUT_OFF_MS, maxPeers: CUT_OFF_MAX_PEERS });
  const onCutOff = options.onCutOff ?? (() => {});
  const node: PeerNode = await createLibp2p({
    start: false,
    ...base,
    // Every peer can dial a relayed address, so a member behind a NAT is reachable through
    // its relay; reserving a slot is listening on `/p2p-circuit` (see relay.ts).
    addresses: { listen: [...options.listen, ...(options.relay?.reserveAtStart === false ? [] : relayListenAddrs(options.relay))] },
    transports: [...base.transports ?? [], circuitRelayTransport()],
    peerDiscovery,
    connectionMonitor: { ...CONNECTION_MONITOR, ...options.connectionMonitor },
    ...(cutOff === undefined ? {} : { connectionGater: refusing(cutOff) }),
    services: {
      identify: identify(),
      // Tells connected peers when our protocols change: a relay that starts serving once
      // found public (`--relay auto`) is only reserved on by peers that hear of it.
      identifyPush: identifyPush(),
      // The connection monitor pings over /ipfs/ping: peers must answer it.
      ping: ping(),
      pubsub: pubsub(options.pubsub, cutOff === undefined ? undefined : { cutOff, onCutOff }),
      chat: chat(options.chat),
      membership: membership(options.membership),
      reach: reach(options.reach),
      relay: relayRole(options.relay ?? { reservations: 0 })
    }
  });
  dialDiscovered = discoveryDialer(node);
  node.addEventListener('connection:open', ({ detail: connection }) => {
    const ip = relayIp(connection.remoteAddr);
    if (ip !== undefined) exemptFromColocation(node.services.pubsub, ip);
  });
  const relay = node.services.relay;
  node.addEventListener('peer:disconnect', ({ detail: peer }) => { relay.release(peer); });
  return node;
}

/** Refuses every connection with a peer cut off, dialled or dialling, direct or relayed, until its time is up. */
function refusing(cutOff: CutOff): ConnectionGater {
  const refused = (peer: PeerId): boolean => cutOff.refuses(peer.toString(), Date.now());
  return {
    denyDialPeer: refused,
    denyInboundEncryptedConnection: refused,
    denyOutboundEncryptedConnection: refused,
    denyInboundRelayedConnection: (_relay, remotePeer) => refused(remotePeer)
  };
}

/** mDNS discovery that also hands every answer to `onPeer`; it answers again each query interval. */
function dialingMdns(onPeer: (peer: PeerInfo) => void): (components: MulticastDNSComponents) => PeerDiscovery {
  const create = mdns({ interval: MDNS_QUERY_INTERVAL_MS });
  return (components) => {
    const discovery = create(components);
    discovery.addEventListener('peer', (evt) => onPeer(evt.detail));
    return discovery;
  };
}

/**
 * Dials discovered peers we are not connected to, one dial per peer at a time. libp2p's
 * own `peer:discovery` event fires only the first time a peer enters the peer store, so
 * mDNS answers are used directly: a peer that restarts is found again.
 */
function discoveryDialer(node: PeerNode): (peer: PeerInfo) => void {
  const log = node.logger.forComponent('cli-chat:discovery');
  const dialing = new Set<string>();
  return (peer) => {
    const id = peer.id.toString();
    if (node.status !== 'started' || peer.id.equals(node.peerId) || dialing.has(id)) return;
    if (node.getConnections(peer.id).length > 0) return;
    dialing.add(id);
    void (async () => {
      try {
        // The discovery event and libp2p's own peer store update race; merge to be sure.
        await node.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs });
        await node.dial(peer.id, { signal: AbortSignal.timeout(DISCOVERY_DIAL_TIMEOUT_MS) });
      } catch (err) {
        log('could not dial discovered peer %p - %e', peer.id, err);
      } finally {
        dialing.delete(id);
      }
    })();
  };
}
