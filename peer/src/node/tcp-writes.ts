/**
 * TCP whose connections hand the kernel one buffer per send, not one per chunk.
 *
 * `@libp2p/tcp` 11 writes each chunk of what a connection sends with its own
 * `socket.write`, and Noise sends every encrypted frame as two chunks: its 2-byte length
 * and the ciphertext. So each frame cost two write syscalls, and on loopback a write is
 * where the kernel also runs the receiving side's TCP processing: `writeBuffer` was the
 * largest item in a chat publisher's profile, ahead of Ed25519 signing, and strace of a
 * receiver at 50 msg/s showed as many 2-byte writes as frames. Joining the chunks first
 * costs a copy of a few hundred bytes per frame and halves those syscalls.
 */
import { tcp as libp2pTcp } from '@libp2p/tcp';
import type { TCPComponents, TCPOptions } from '@libp2p/tcp';
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';

/** The part of a connection's message stream the rule replaces: abstract there, not in the interface. */
interface SendsData {
  sendData(data: Uint8ArrayList): { sentBytes: number, canSendMore: boolean };
}

/** The list as one contiguous chunk (`subarray` copies only when there are several). */
export function joined(data: Uint8ArrayList): Uint8ArrayList {
  return new Uint8ArrayList(data.subarray());
}

function joiningWrites(maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as MultiaddrConnection & Partial<SendsData>;
  const sendData = conn.sendData;
  if (typeof sendData !== 'function') {
    throw new Error('@libp2p/tcp changed: its connection has no sendData; see peer/src/node/tcp-writes.ts');
  }
  conn.sendData = (data) => sendData.call(conn, joined(data));
  return conn;
}

/** The upgrader the transport was given, with every connection it upgrades joining its writes. */
function joiningUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property) {
      if (property === 'upgradeOutbound') {
        return (maConn: MultiaddrConnection, options: Parameters<Upgrader['upgradeOutbound']>[1]) =>
          target.upgradeOutbound(joiningWrites(maConn), options);
      }
      if (property === 'upgradeInbound') {
        return (maConn: MultiaddrConnection, options: Parameters<Upgrader['upgradeInbound']>[1]) =>
          target.upgradeInbound(joiningWrites(maConn), options);
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    }
  });
}

/** The transport every node of ours uses: `@libp2p/tcp` with the write rule above. */
export function tcp(init?: TCPOptions): (components: TCPComponents) => Transport {
  const create = libp2pTcp(init);
  return (components) => {
    const transport = create(components);
    const dial = transport.dial.bind(transport);
    const createListener = transport.createListener.bind(transport);
    transport.dial = async (ma, options) => dial(ma, { ...options, upgrader: joiningUpgrader(options.upgrader) });
    transport.createListener = (options) => createListener({ ...options, upgrader: joiningUpgrader(options.upgrader) });
    return transport;
  };
}
