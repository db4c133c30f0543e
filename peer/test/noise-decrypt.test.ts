import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { noise as stockNoise } from '@chainsafe/libp2p-noise';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { Uint8ArrayList } from 'uint8arraylist';
import { isSplitMessage } from '../src/node/noise-decrypt.ts';
import { connectionOptions } from '../src/node/create-node.ts';

describe('isSplitMessage', () => {
  it('is true only for a message in several pieces that Node\'s cipher takes as they are', () => {
    expect(isSplitMessage(new Uint8ArrayList(new Uint8Array(40_000), new Uint8Array(25_000)))).toBe(true);
    expect(isSplitMessage(new Uint8ArrayList(new Uint8Array(65_000)))).toBe(false);
    expect(isSplitMessage(new Uint8Array(65_000))).toBe(false);
    // Below 1,200 bytes the package's own cipher runs, and it needs one buffer.
    expect(isSplitMessage(new Uint8ArrayList(new Uint8Array(600), new Uint8Array(500)))).toBe(false);
    expect(isSplitMessage(new Uint8ArrayList(new Uint8Array(40_000), new Uint8Array(40_000)))).toBe(false);
  });
});

describe('two nodes over TCP', () => {
  const nodes: Libp2p[] = [];
  const realConcat = Buffer.concat;
  afterEach(async () => {
    Buffer.concat = realConcat;
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  /** Moves `data` one way over a stream; returns what arrived and how many buffers of 60 kB or more were joined meanwhile. */
  async function transfer(stock: boolean, data: Uint8Array): Promise<{ received: Buffer, joins: number }> {
    const make = async (): Promise<Libp2p> => {
      const options = connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']);
      const node = await createLibp2p(stock ? { ...options, connectionEncrypters: [stockNoise()] } : options);
      nodes.push(node);
      return node;
    };
    const [a, b] = [await make(), await make()];
    const PROTOCOL = '/cli-chat-test/sink/1.0.0';
    const pieces: Uint8Array[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => { done = resolve; });
    await b.handle(PROTOCOL, async (stream) => {
      for await (const chunk of stream) {
        // Kept piece by piece: joining them here would count as a join.
        for (const piece of chunk instanceof Uint8Array ? [chunk] : chunk) pieces.push(Uint8Array.from(piece));
      }
      done();
    });
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL);
    let joins = 0;
    Buffer.concat = ((list: readonly Uint8Array[], length?: number) => {
      const joined = realConcat(list, length);
      if (joined.byteLength >= 60_000) joins++;
      return joined;
    }) as typeof Buffer.concat;
    for (let at = 0; at < data.byteLength; at += 256 * 1024) {
      if (!stream.send(data.subarray(at, at + 256 * 1024))) await stream.onDrain();
    }
    await stream.close();
    await all;
    Buffer.concat = realConcat;
    return { received: Buffer.concat(pieces), joins };
  }

  it('decrypts messages that span two socket reads without joining them first, every byte intact', { timeout: 30_000 }, async () => {
    const data = randomBytes(4 * 2 ** 20);
    const stock = await transfer(true, data);
    expect(stock.received.equals(data)).toBe(true);
    // About 64 messages of 64 KiB; the stock package joined most of them.
    expect(stock.joins).toBeGreaterThanOrEqual(20);
    await Promise.all(nodes.splice(0).map((n) => n.stop()));

    const ours = await transfer(false, data);
    expect(ours.received.equals(data)).toBe(true);
    expect(ours.joins).toBeLessThanOrEqual(stock.joins / 10);
  });
});
