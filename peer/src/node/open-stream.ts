/**
 * Opening a protocol stream to a peer on the connection we already have, relayed ones
 * included. libp2p's own dialProtocol reuses only an unlimited connection: with a limited
 * (relayed, with a relay's limits) one it dials the peer again for a better connection,
 * which for a member behind a NAT is another circuit at best and a timeout at worst, so a
 * direct message to it waited in the outbox instead (peer/test/nat.test.ts).
 */
import type { AbortOptions, Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';

/** The open connection a new stream should use: an unlimited one if there is one, else a limited one. */
export function usableConnection(connections: readonly Connection[]): Connection | undefined {
  const open = connections.filter((c) => c.status === 'open');
  return open.find((c) => c.limits === undefined) ?? open[0];
}

export async function openStream(node: Pick<Libp2p, 'getConnections' | 'dialProtocol'>, peer: PeerId, protocol: string,
  options: AbortOptions): Promise<Stream> {
  const connection = usableConnection(node.getConnections(peer));
  if (connection !== undefined) return connection.newStream(protocol, { ...options, runOnLimitedConnection: true });
  return node.dialProtocol(peer, protocol, { ...options, runOnLimitedConnection: true });
}
