/**
 * When a peer that reserves relay slots may join the membership. Its first signed claim
 * is what members probe it at: joined with only its private, undialable address, members
 * it is not yet connected to dial that, fail, and suspect it in its first seconds. So the
 * join waits until the node holds a relayed address, or until no seed turns out to be a
 * relay (nothing to wait for), or RESERVATION_WAIT_MS at most. A network whose seeds are
 * all on loopback lives on one host, where every member dials us directly: no wait.
 */
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p } from '@libp2p/interface';

/** The longest a join waits for a reservation: a relay on the other side of the world answers well within it. */
export const RESERVATION_WAIT_MS = 3_000;

/** What the gate needs to know of the seeds: who they are, and which ones the seed dialer gave up on for now. */
export interface GateSeeds {
  readonly seeds: readonly { readonly peerId: string, readonly addrs: readonly string[] }[];
  unreachable(peerId: string): boolean;
  /** Whether reachability found this peer dialable (public, or loopback only): it reserves nowhere then. */
  reachable?(): boolean;
}

const isLoopback = (addr: string): boolean => addr.startsWith('/ip4/127.') || addr.startsWith('/ip6/::1/');

/** Whether every seed is reachable only on this host's loopback. */
export function loopbackOnly(seeds: GateSeeds['seeds']): boolean {
  return seeds.every((seed) => seed.addrs.length > 0 && seed.addrs.every(isLoopback));
}

export function holdsRelayedAddress(node: Libp2p): boolean {
  return node.getMultiaddrs().some((ma) => ma.getComponents().some((c) => c.name === 'p2p-circuit'));
}

/**
 * What a seed tells the gate: undefined while we do not know yet (not connected, or not
 * identified), else whether it serves the relay's hop protocol.
 */
async function seedIsRelay(node: Libp2p, id: string): Promise<boolean | undefined> {
  const peerId = peerIdFromString(id);
  if (node.getConnections(peerId).length === 0) return undefined;
  const protocols: string[] = await node.peerStore.get(peerId).then((p) => p.protocols, () => []);
  return protocols.length === 0 ? undefined : protocols.includes(RELAY_V2_HOP_CODEC);
}

/**
 * Resolves with how the wait ended: 'loopback' at once for seeds on loopback only,
 * 'relayed' once the node has a relayed address, 'reachable' once reachability finds it dialable, 'no relay' once every seed is identified
 * or unreachable and none is a relay, 'timeout' after `timeoutMs`.
 */
export function reservationGate(node: Libp2p, seeds: GateSeeds, timeoutMs = RESERVATION_WAIT_MS): Promise<'loopback' | 'relayed' | 'reachable' | 'no relay' | 'timeout'> {
  const ids = seeds.seeds.map((seed) => seed.peerId);
  if (ids.length > 0 && loopbackOnly(seeds.seeds)) return Promise.resolve('loopback');
  return new Promise((resolve) => {
    let done = false;
    const finish = (how: 'relayed' | 'reachable' | 'no relay' | 'timeout'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      node.removeEventListener('transport:listening', check);
      node.removeEventListener('peer:identify', check);
      resolve(how);
    };
    const check = (): void => {
      if (holdsRelayedAddress(node)) return finish('relayed');
      if (seeds.reachable?.() === true) return finish('reachable');
      void Promise.all(ids.map(async (id) => seeds.unreachable(id) ? false : seedIsRelay(node, id))).then((answers) => {
        // A relay among the seeds: its reservation is on its way (the transport reserves on identify).
        if (answers.every((a) => a === false)) finish('no relay');
      });
    };
    // Neither timer holds a stopping process open.
    const timer = setTimeout(() => finish('timeout'), timeoutMs).unref();
    // Failed dials raise no event here: the seed dialer's verdicts are polled.
    const poll = setInterval(check, 100).unref();
    node.addEventListener('transport:listening', check);
    node.addEventListener('peer:identify', check);
    check();
  });
}
