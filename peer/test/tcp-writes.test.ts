import { Socket, connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { tcp as stockTcp } from '@libp2p/tcp';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { Uint8ArrayList } from 'uint8arraylist';
import { sendCorked } from '../src/node/tcp-writes.ts';
import { connectionOptions } from '../src/node/create-node.ts';

describe('sendCorked', () => {
  it('hands several chunks to the kernel in one writev, each byte intact, and takes them all', { timeout: 10_000 }, async () => {
    let received = Buffer.alloc(0);
    let gotAll!: () => void;
    const all = new Promise<void>((resolve) => { gotAll = resolve; });
    const server = createServer((socket) => socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.byteLength === 5 + 200_000) gotAll();
    }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    try {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      const writes: number[][] = [];
      const internals = socket as unknown as { _write: (...a: unknown[]) => void, _writev: (...a: unknown[]) => void };
      const [write, writev] = [internals._write.bind(socket), internals._writev.bind(socket)];
      internals._write = (chunk, ...rest) => { writes.push([(chunk as Buffer).byteLength]); write(chunk, ...rest); };
      internals._writev = (chunks, ...rest) => { writes.push((chunks as { chunk: Buffer }[]).map((c) => c.chunk.byteLength)); writev(chunks, ...rest); };
      const big = new Uint8Array(200_000).fill(9);
      const result = sendCorked(socket, new Uint8ArrayList(Uint8Array.of(0, 3), Uint8Array.of(7, 8, 9), big));
      // More than the socket's high-water mark: all taken, and the caller told to wait for 'drain'.
      expect(result).toEqual({ sentBytes: 5 + 200_000, canSendMore: false });
      expect(writes).toEqual([[2, 3, 200_000]]);
      await all;
      expect([...received.subarray(0, 5)]).toEqual([0, 3, 7, 8, 9]);
      expect(received.subarray(5).every((b) => b === 9)).toBe(true);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('two nodes over TCP', () => {
  const nodes: Libp2p[] = [];
  /** Node's socket internals: each call is one write (or writev) handed to libuv, so one syscall. */
  type Internals = { _write: (chunk: Buffer, ...rest: unknown[]) => void, _writev: (chunks: { chunk: Buffer }[], ...rest: unknown[]) => void };
  const proto = Socket.prototype as unknown as Internals;
  const [realWrite, realWritev] = [proto._write, proto._writev];
  const restore = (): void => {
    proto._write = realWrite;
    proto._writev = realWritev;
  };
  afterEach(async () => {
    restore();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  /**
   * Sizes of the writes handed to the kernel between two nodes while 100 small messages go one way.
   * `stock` builds them with @libp2p/tcp as it comes, for comparison.
   */
  async function writeSizes(stock: boolean): Promise<number[]> {
    const make = async (): Promise<Libp2p> => {
      const options = connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']);
      const node = await createLibp2p(stock ? { ...options, transports: [stockTcp()] } : options);
      nodes.push(node);
      return node;
    };
    const [a, b] = [await make(), await make()];
    const port = Number(/\/tcp\/(\d+)/.exec(b.getMultiaddrs()[0]!.toString())?.[1]);
    const PROTOCOL = '/cli-chat-test/sink/1.0.0';
    let received = 0;
    let allReceived!: () => void;
    const receivedAll = new Promise<void>((resolve) => { allReceived = resolve; });
    await b.handle(PROTOCOL, async (stream) => {
      for await (const chunk of stream) {
        received += chunk.byteLength;
        if (received === 100 * 40) allReceived();
      }
    });
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL);
    const sizes: number[] = [];
    const ours = (socket: Socket): boolean => socket.remotePort === port || socket.localPort === port;
    proto._write = function (this: Socket, chunk, ...rest) {
      if (ours(this)) sizes.push(chunk.byteLength);
      realWrite.call(this, chunk, ...rest);
    };
    proto._writev = function (this: Socket, chunks, ...rest) {
      if (ours(this)) sizes.push(chunks.reduce((n, c) => n + c.chunk.byteLength, 0));
      realWritev.call(this, chunks, ...rest);
    };
    for (let i = 0; i < 100; i++) {
      stream.send(new Uint8Array(40).fill(i));
      // One message per turn of the event loop, as chat messages go out.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await receivedAll;
    restore();
    return sizes;
  }

  it('sends each encrypted frame in one write, where the stock transport writes its 2-byte length apart', { timeout: 30_000 }, async () => {
    const stock = await writeSizes(true);
    expect(stock.filter((size) => size === 2).length).toBeGreaterThanOrEqual(100);
    await Promise.all(nodes.splice(0).map((n) => n.stop()));

    const ours = await writeSizes(false);
    expect(ours.filter((size) => size === 2)).toEqual([]);
    expect(ours.length).toBeGreaterThanOrEqual(100);
    expect(ours.length).toBeLessThanOrEqual(stock.length / 2 + 5);
  });
});
