/**
 * TCP whose connections hand the kernel one write per send, not one per chunk.
 *
 * `@libp2p/tcp` 11 writes each chunk of what a connection sends with its own
 * `socket.write`, and Noise sends every encrypted frame as two chunks: its 2-byte length
 * and the ciphertext. So each frame cost two write syscalls, and on loopback a write is
 * where the kernel also runs the receiving side's TCP processing: `writeBuffer` was the
 * largest item in a chat publisher's profile, ahead of Ed25519 signing, and strace of a
 * receiver at 50 msg/s showed as many 2-byte writes as frames. Corking the socket around
 * the chunks makes Node hand them to one `writev`, without copying them into one buffer
 * (a copy of every byte of a file transfer).
 */
import type { Socket } from 'node:net';
import { tcp as libp2pTcp } from '@libp2p/tcp';
import type { TCPComponents, TCPOptions } from '@libp2p/tcp';
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';

interface SendResult {
  sentBytes: number;
  canSendMore: boolean;
}

/** The part of a TCP connection the rule replaces: abstract or private there, not in the interface. */
interface CorkableConnection {
  socket: Socket;
  sendData(data: Uint8ArrayList): SendResult;
}

/**
 * Writes every chunk of `data` to the socket between cork and uncork, so they leave in one
 * writev. All of it is taken, as one joined buffer would have been; `canSendMore` is false
 * once the socket holds more than its high-water mark, and its 'drain' follows.
 */
export function sendCorked(socket: Socket, data: Uint8ArrayList): SendResult {
  let canSendMore = true;
  socket.cork();
  try {
    for (const chunk of data) canSendMore = socket.write(chunk);
  } finally {
    socket.uncork();
  }
  return { sentBytes: data.byteLength, canSendMore };
}

function corkingWrites(maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as MultiaddrConnection & Partial<CorkableConnection>;
  const socket = conn.socket;
  if (typeof conn.sendData !== 'function' || socket === undefined || typeof socket.cork !== 'function') {
    throw new Error('@libp2p/tcp changed: its connection has no sendData or socket; see peer/src/node/tcp-writes.ts');
  }
  conn.sendData = (data) => sendCorked(socket, data);
  return conn;
}

/** The upgrader the transport was given, with every connection it upgrades corking its writes. */
function corkingUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property) {
      if (property === 'upgradeOutbound') {
        return (maConn: MultiaddrConnection, options: Parameters<Upgrader['upgradeOutbound']>[1]) =>
          target.upgradeOutbound(corkingWrites(maConn), options);
      }
      if (property === 'upgradeInbound') {
        return (maConn: MultiaddrConnection, options: Parameters<Upgrader['upgradeInbound']>[1]) =>
          target.upgradeInbound(corkingWrites(maConn), options);
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
    transport.dial = async (ma, options) => dial(ma, { ...options, upgrader: corkingUpgrader(options.upgrader) });
    transport.createListener = (options) => createListener({ ...options, upgrader: corkingUpgrader(options.upgrader) });
    return transport;
  };
}
