import { afterEach, describe, expect, it } from 'vitest';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { defaultLogger } from '@libp2p/logger';
import { Uint8ArrayList } from 'uint8arraylist';
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { widenReceiveWindow, windowUpdateDue, yamux } from '../src/node/yamux-window.ts';
import { connectionOptions } from '../src/node/create-node.ts';

const WINDOW = 256 * 1024;
const DATA = 0;
const WINDOW_UPDATE = 1;

describe('windowUpdateDue', () => {
  it('sends at once while a flag is pending or the stream is paused', () => {
    for (const state of [StreamState.Init, StreamState.SYNReceived, StreamState.Paused]) {
      expect(windowUpdateDue(state, WINDOW, WINDOW)).toBe(true);
    }
  });

  it('otherwise waits until half the window is used', () => {
    for (const state of [StreamState.SYNSent, StreamState.Established, StreamState.Finished]) {
      expect(windowUpdateDue(state, WINDOW, WINDOW - 100)).toBe(false);
      expect(windowUpdateDue(state, WINDOW, WINDOW / 2 + 1)).toBe(false);
      expect(windowUpdateDue(state, WINDOW, WINDOW / 2)).toBe(true);
      expect(windowUpdateDue(state, WINDOW, 0)).toBe(true);
    }
  });
});

describe('a yamux stream with our window rule', () => {
  it('answers small frames with no window update until half the window is used, then with one', () => {
    yamux();
    const sent: { type: number, flag: number, length: number }[] = [];
    const stream = new YamuxStream({
      id: '1', streamId: 1, direction: 'inbound', state: StreamState.SYNReceived,
      log: defaultLogger().forComponent('test:yamux'),
      sendFrame: (header) => { sent.push({ type: header.type, flag: header.flag, length: header.length }); return true; },
      getRTT: () => -1
    });
    const frame = (bytes: number): Parameters<YamuxStream['handleData']>[0] => ({
      header: { type: DATA, flag: 0, streamID: 1, length: bytes, version: 0 },
      // The package bundles uint8arraylist 2, whose type differs from 3's in a brand
      // symbol only; the stream reads the list through methods both versions have.
      data: new Uint8ArrayList(new Uint8Array(bytes)) as unknown as Parameters<YamuxStream['handleData']>[0]['data']
    });
    // The first frame of an inbound stream is answered at once: it carries the ACK.
    stream.handleData(frame(100));
    expect(sent).toEqual([{ type: WINDOW_UPDATE, flag: 2, length: 100 }]);
    sent.length = 0;
    // 1,000 membership-sized frames, 100 kB: less than half the window.
    for (let i = 0; i < 1000; i++) stream.handleData(frame(100));
    expect(sent).toEqual([]);
    // Past half the window: one update returns all the credit used.
    for (let i = 0; i < 400; i++) stream.handleData(frame(100));
    expect(sent.filter((f) => f.type === WINDOW_UPDATE)).toHaveLength(1);
    expect(sent[0]?.length).toBeGreaterThanOrEqual(WINDOW / 2);
  });
});

describe('widenReceiveWindow', () => {
  const MiB = 2 ** 20;
  const inbound = (sent: { type: number, flag: number, length: number }[]): YamuxStream => new YamuxStream({
    id: '3', streamId: 3, direction: 'inbound', state: StreamState.SYNReceived,
    log: defaultLogger().forComponent('test:yamux'),
    sendFrame: (header) => { sent.push({ type: header.type, flag: header.flag, length: header.length }); return true; },
    getRTT: () => 0
  });
  const frame = (bytes: number): Parameters<YamuxStream['handleData']>[0] => ({
    header: { type: DATA, flag: 0, streamID: 3, length: bytes, version: 0 },
    data: new Uint8ArrayList(new Uint8Array(bytes)) as unknown as Parameters<YamuxStream['handleData']>[0]['data']
  });

  it('grants the sender the wider window at once, so a frame far beyond 256 KiB is taken', () => {
    yamux();
    const sent: { type: number, flag: number, length: number }[] = [];
    const stream = inbound(sent);
    expect(widenReceiveWindow(stream, 16 * MiB)).toBe(16 * MiB);
    expect(sent).toEqual([{ type: WINDOW_UPDATE, flag: 2, length: 16 * MiB - WINDOW }]);
    stream.addEventListener('message', () => undefined);
    expect(() => stream.handleData(frame(12 * MiB))).not.toThrow();
  });

  it('is bounded by the stream\'s maximum, and without it such a frame breaks the window', () => {
    yamux();
    const sent: { type: number, flag: number, length: number }[] = [];
    expect(widenReceiveWindow(inbound(sent), 64 * MiB)).toBe(16 * MiB);
    const narrow = inbound([]);
    expect(() => narrow.handleData(frame(WINDOW + 1))).toThrow(/window exceeded/i);
  });

  it('leaves other streams alone', () => {
    expect(widenReceiveWindow({ recvWindow: 1 }, 16 * MiB)).toBeUndefined();
  });
});

describe('two nodes over TCP with it', () => {
  const nodes: Libp2p[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('moves 2 MB each way over one stream, eight times the initial window, and many small messages', { timeout: 30_000 }, async () => {
    const make = async (): Promise<Libp2p> => {
      const node = await createLibp2p(connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']));
      nodes.push(node);
      return node;
    };
    const [a, b] = [await make(), await make()];
    const PROTOCOL = '/cli-chat-test/echo/1.0.0';
    await b.handle(PROTOCOL, async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain();
      }
      await stream.close();
    });
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL);
    const chunks = [...Array.from({ length: 500 }, (_, i) => new Uint8Array(40).fill(i % 251)),
      ...Array.from({ length: 32 }, (_, i) => new Uint8Array(64 * 1024).fill(i))];
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    const received: Uint8Array[] = [];
    const reading = (async () => {
      for await (const chunk of stream) received.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    })();
    for (const chunk of chunks) {
      if (!stream.send(chunk)) await stream.onDrain();
    }
    await stream.close();
    await reading;
    const echoed = Buffer.concat(received);
    expect(echoed.byteLength).toBe(total);
    expect(echoed.equals(Buffer.concat(chunks))).toBe(true);
  });
});
