/**
 * Direct messages: one stream per message to the recipient, which answers with an
 * acknowledgement. The stream runs over the Noise-encrypted connection between the two
 * peers, so nobody else reads it, and the recipient knows the sender by its peer ID, not
 * by the nick it claims. A message carries its own random ID: a sender that retries after
 * a lost acknowledgement sends the same ID, and the recipient shows it once.
 */
import { openStream } from '../node/open-stream.ts';
import { randomBytes } from 'node:crypto';
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import type { Logger } from 'pino';
import Type from 'typebox';
import { ChatInputError, parseNick, parseText } from '../chat/codec.ts';
import { MAX_MESSAGE_BYTES } from '../chat/constants.ts';
import { FrameBudgets } from '../membership/frame-budget.ts';
import { jsonFrameCodec, WireError } from '../wire/json-frame.ts';
import { OncePerPeer } from '../wire/once-per-peer.ts';

export const DM_PROTOCOL = '/cli-chat/dm/1.0.0';
export const DM_VERSION = 1;
/** Dial, write and acknowledgement together. */
export const DM_TIMEOUT_MS = 5_000;
/** Direct messages one peer may send us: a burst, then this many a second. */
export const DM_BURST = 20;
export const DM_RATE_PER_S = 5;
const DM_ID_BYTES = 16;

const DirectMessageFrame = Type.Object({
  v: Type.Literal(DM_VERSION),
  id: Type.String({ pattern: `^[0-9a-f]{${2 * DM_ID_BYTES}}$` }),
  nick: Type.String(),
  text: Type.String(),
  ts: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false });

const AckFrame = Type.Object({
  v: Type.Literal(DM_VERSION),
  id: Type.String({ maxLength: 2 * DM_ID_BYTES }),
  status: Type.Union([Type.Literal('delivered'), Type.Literal('refused')]),
  reason: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false });

const messageCodec = jsonFrameCodec('direct message', DirectMessageFrame, DM_VERSION, MAX_MESSAGE_BYTES);
const ackCodec = jsonFrameCodec('direct message acknowledgement', AckFrame, DM_VERSION, 512);

export interface DirectMessage {
  id: string;
  /** The sender's peer ID (from the connection, so it is authenticated). */
  from: string;
  nick: string;
  text: string;
  ts: number;
}

/** A new message ID: 16 random bytes in hex. */
export function newDirectMessageId(): string {
  return randomBytes(DM_ID_BYTES).toString('hex');
}

/** The recipient could not be reached (no address, dial failed, no answer in time). */
export class UnreachableError extends Error {
  constructor(peerId: string, cause: unknown) {
    super(`could not reach ${peerId}: ${(cause as Error).message ?? String(cause)}`);
    this.name = 'UnreachableError';
  }
}

/** The recipient answered, and refused the message. */
export class DirectRefusedError extends Error {
  constructor(reason: string) {
    super(`the recipient refused the message: ${reason}`);
    this.name = 'DirectRefusedError';
  }
}

export interface DirectMessagesOptions {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections'>;
  /** Called once per received message; returns false for an ID already received (acknowledged, not shown again). */
  receive: (message: DirectMessage) => boolean;
  log: Logger;
  now?: () => number;
}

export interface DirectStats {
  received: number;
  duplicates: number;
  refused: number;
}

export class DirectMessages {
  private readonly options: DirectMessagesOptions;
  private readonly now: () => number;
  private readonly budgets = new FrameBudgets(DM_RATE_PER_S, DM_BURST);
  private readonly counters: DirectStats = { received: 0, duplicates: 0, refused: 0 };
  private readonly logged = new OncePerPeer();

  constructor(options: DirectMessagesOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    // A direct message is one small frame and its ack: a relayed member with a limited circuit gets it too.
    await this.options.node.handle(DM_PROTOCOL, (stream, connection) => { void this.onStream(stream, connection); }, {
      maxInboundStreams: 16, runOnLimitedConnection: true
    });
  }

  async stop(): Promise<void> {
    await this.options.node.unhandle(DM_PROTOCOL);
  }

  stats(): DirectStats {
    return { ...this.counters };
  }

  /**
   * Sends a message and resolves once the recipient acknowledged it. Rejects with
   * UnreachableError when it cannot be delivered now, DirectRefusedError when refused.
   */
  async send(peerId: string, message: { id: string, nick: string, text: string, ts: number }): Promise<void> {
    const frame = messageCodec.encode({ v: DM_VERSION, id: message.id, nick: message.nick, text: message.text, ts: message.ts });
    const signal = AbortSignal.timeout(DM_TIMEOUT_MS);
    let stream: Stream;
    try {
      stream = await openStream(this.options.node, peerIdFromString(peerId), DM_PROTOCOL, { signal });
    } catch (err) {
      throw new UnreachableError(peerId, err);
    }
    let ack;
    try {
      const lp = lpStream(stream, { maxDataLength: 512 });
      await lp.write(frame, { signal });
      ack = ackCodec.decode((await lp.read({ signal })).subarray());
      await stream.close({ signal }).catch(() => undefined);
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err instanceof WireError ? err : new UnreachableError(peerId, err);
    }
    if (ack.id !== message.id) throw new DirectRefusedError('the acknowledgement names another message');
    if (ack.status === 'refused') throw new DirectRefusedError(ack.reason ?? 'no reason given');
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    const signal = AbortSignal.timeout(DM_TIMEOUT_MS);
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES });
    try {
      const reply = async (id: string, reason?: string): Promise<void> => {
        await lp.write(ackCodec.encode({ v: DM_VERSION, id, status: reason === undefined ? 'delivered' : 'refused', ...(reason === undefined ? {} : { reason }) }), { signal });
        await stream.close({ signal });
      };
      if (!this.budgets.take(from, this.now())) {
        this.counters.refused++;
        this.note(from, 'sends direct messages too fast');
        return await reply('', 'rate-limited: too many direct messages');
      }
      let frame;
      try {
        frame = messageCodec.decode((await lp.read({ signal })).subarray());
        parseNick(frame.nick);
        parseText(frame.text);
      } catch (err) {
        if (!(err instanceof WireError) && !(err instanceof ChatInputError)) throw err;
        this.counters.refused++;
        this.note(from, err.message);
        return await reply('', err.message.slice(0, 200));
      }
      const fresh = this.options.receive({ id: frame.id, from, nick: frame.nick, text: frame.text, ts: frame.ts });
      if (fresh) this.counters.received++;
      else this.counters.duplicates++;
      await reply(frame.id);
    } catch (err) {
      this.note(from, (err as Error).message);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.budgets.prune(this.now());
    }
  }

  /** One log line per peer for what it did wrong, however often it does it. */
  private note(peer: string, message: string): void {
    if (!this.logged.first(peer)) return;
    this.options.log.info({ peer }, `direct messages: refused input from ${peer} (further ones not logged): ${message}`);
  }
}
