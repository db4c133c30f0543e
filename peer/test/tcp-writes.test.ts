import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { tcp as stockTcp } from '@libp2p/tcp';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { Uint8ArrayList } from 'uint8arraylist';
import { joined } from '../src/node/tcp-writes.ts';
import { connectionOptions } from '../src/node/create-node.ts';

describe('joined', () => {
  it('makes one chunk of several, with the same bytes', () => {
    const list = new Uint8ArrayList(Uint8Array.of(0, 3), Uint8Array.of(7, 8, 9));
    const one = joined(list);
    expect([...one]).toHaveLength(1);
    expect([...one.subarray()]).toEqual([0, 3, 7, 8, 9]);
  });

  it('leaves a single chunk uncopied', () => {
    const chunk = Uint8Array.of(1, 2, 3);
    expect(joined(new Uint8ArrayList(chunk)).subarray()).toBe(chunk);
  });
});

describe('two nodes over TCP', () => {
  const nodes: Libp2p[] = [];
  const realWrite = Socket.prototype.write;
  afterEach(async () => {
    Socket.prototype.write = realWrite;
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  /**
   * Sizes of the socket writes between two nodes while 100 small messages go one way.
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
    Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      const [chunk] = args;
      if ((this.remotePort === port || this.localPort === port) && chunk instanceof Uint8Array) sizes.push(chunk.byteLength);
      return realWrite.apply(this, args);
    } as Socket['write'];
    for (let i = 0; i < 100; i++) {
      stream.send(new Uint8Array(40).fill(i));
      // One message per turn of the event loop, as chat messages go out.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await receivedAll;
    Socket.prototype.write = realWrite;
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
