/**
 * mDNS finds peers on the LAN and the node dials them, but a connection is not a
 * membership: a peer found on the LAN that speaks the membership protocol, and that
 * membership does not hold alive, is joined through. So peers on one LAN meet without the
 * bootstrap API, and two groups that each formed on their own merge once they see each other.
 */
import type { IdentifyResult, Libp2p, PeerInfo } from '@libp2p/interface';
import { MEMBERSHIP_PROTOCOL_ID } from '../membership/index.ts';
import type { Seed } from './dialer.ts';

/** Peers found on the LAN that are remembered as such; beyond this the oldest are forgotten. */
const MAX_LAN_PEERS = 256;

export interface LanJoinOptions {
  node: Libp2p;
  /** Whether membership holds this peer alive (or suspect): then there is nothing to join. */
  isMember: (peerId: string) => boolean;
  /** Whether we take part in the membership at all (a manual peer may not yet). */
  inMembership: () => boolean;
  join: (seed: Seed) => void;
}

export class LanJoin {
  private readonly options: LanJoinOptions;
  /** Peer IDs mDNS reported, oldest first. */
  private readonly lan = new Set<string>();

  constructor(options: LanJoinOptions) {
    this.options = options;
  }

  start(): void {
    this.options.node.addEventListener('peer:identify', this.onIdentify);
  }

  stop(): void {
    this.options.node.removeEventListener('peer:identify', this.onIdentify);
    this.lan.clear();
  }

  /**
   * An mDNS answer. The first leads to a dial, and identify then tells whether the peer
   * speaks membership; mDNS answers again every query interval, so a LAN peer that is
   * connected already but not a member (it restarted, or left and came back) is joined then.
   */
  found(peer: PeerInfo): void {
    const id = peer.id.toString();
    this.lan.delete(id);
    this.lan.add(id);
    if (this.lan.size > MAX_LAN_PEERS) this.lan.delete(this.lan.values().next().value as string);
    const { node } = this.options;
    if (node.getConnections(peer.id).length === 0 || !this.wanted(id)) return;
    void node.peerStore.get(peer.id).then((known) => {
      if (known.protocols.includes(MEMBERSHIP_PROTOCOL_ID)) this.join(id, known.addresses.map((a) => a.multiaddr.toString()));
    }, () => {});
  }

  private readonly onIdentify = ({ detail }: CustomEvent<IdentifyResult>): void => {
    const id = detail.peerId.toString();
    if (!this.lan.has(id) || !detail.protocols.includes(MEMBERSHIP_PROTOCOL_ID)) return;
    this.join(id, detail.listenAddrs.map((a) => a.toString()));
  };

  private wanted(id: string): boolean {
    return this.options.inMembership() && !this.options.isMember(id);
  }

  private join(peerId: string, addrs: string[]): void {
    if (!this.wanted(peerId) || addrs.length === 0) return;
    this.options.join({ peerId, addrs });
  }
}
