/**
 * The backlog protocol: a peer joining a room asks a member of it for the room's recent
 * messages, and checks every one it gets as if it had arrived live (history/record.ts).
 *
 * One stream per request. The asker writes `{ v, room, since, limit }`; the answerer writes
 * a header `{ v, status: 'ok', count }` or `{ v, status: 'refused', reason }`, then `count`
 * signed records oldest first, each length-prefixed, and closes. Both sides bound what they
 * read; an answerer bounds how many answers it writes at once and how often a peer may ask.
 */
import { openStream } from '../node/open-stream.ts';
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import type { Logger } from 'pino';
import Type from 'typebox';
import { MAX_ROOM_LENGTH } from '../chat/constants.ts';
import { FrameBudgets } from '../membership/frame-budget.ts';
import { jsonFrameCodec, WireError } from '../wire/json-frame.ts';
import { OncePerPeer } from '../wire/once-per-peer.ts';
import {
  BACKLOG_PROTOCOL, BACKLOG_REQUEST_BURST, BACKLOG_REQUEST_RATE_PER_S, BACKLOG_TIMEOUT_MS, BACKLOG_VERSION,
  MAX_ANSWERS_PER_PEER, MAX_BACKLOG_BYTES, MAX_BACKLOG_ENTRIES, MAX_BACKLOG_REQUEST_BYTES, MAX_CONCURRENT_ANSWERS
} from './constants.ts';
import { MAX_RECORD_BYTES, RecordError, verifyRecords } from './record.ts';
import type { VerifiedRecord } from './record.ts';
import type { HistoryStore } from './store.ts';

const BacklogRequest = Type.Object({
  v: Type.Literal(BACKLOG_VERSION),
  room: Type.String({ minLength: 1, maxLength: MAX_ROOM_LENGTH }),
  since: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_BACKLOG_ENTRIES })
}, { additionalProperties: false });

const Refusal = Type.Union([Type.Literal('busy'), Type.Literal('rate-limited'), Type.Literal('not-in-room'), Type.Literal('bad-request')]);
type Refusal = Type.Static<typeof Refusal>;

const BacklogHeader = Type.Union([
  Type.Object({ v: Type.Literal(BACKLOG_VERSION), status: Type.Literal('ok'), count: Type.Integer({ minimum: 0, maximum: MAX_BACKLOG_ENTRIES }) },
    { additionalProperties: false }),
  Type.Object({ v: Type.Literal(BACKLOG_VERSION), status: Type.Literal('refused'), reason: Refusal },
    { additionalProperties: false })
]);

export const requestCodec = jsonFrameCodec('backlog request', BacklogRequest, BACKLOG_VERSION, MAX_BACKLOG_REQUEST_BYTES);
export const headerCodec = jsonFrameCodec('backlog header', BacklogHeader, BACKLOG_VERSION, 256);

/** What asking one peer brought: the entries that verified, and why the others did not. */
export interface BacklogAnswer {
  entries: VerifiedRecord[];
  rejected: { reason: string, message: string }[];
}

export class BacklogRefusedError extends Error {
  readonly reason: Refusal;

  constructor(reason: Refusal) {
    super(`the peer refused the backlog request: ${reason}`);
    this.name = 'BacklogRefusedError';
    this.reason = reason;
  }
}

export interface BacklogOptions {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections'>;
  store: HistoryStore;
  /** Rooms this peer answers for: the ones it is in. */
  rooms: () => readonly string[];
  log: Logger;
  now?: () => number;
}

export interface BacklogStats {
  answered: number;
  refused: number;
  /** Requests from peers that could not be read (bad frames, timeouts). */
  badRequests: number;
}

export class Backlog {
  private readonly options: BacklogOptions;
  private readonly now: () => number;
  private readonly budgets = new FrameBudgets(BACKLOG_REQUEST_RATE_PER_S, BACKLOG_REQUEST_BURST);
  private readonly answering = new Map<string, number>();
  private active = 0;
  private readonly counters: BacklogStats = { answered: 0, refused: 0, badRequests: 0 };
  private readonly logged = new OncePerPeer();

  constructor(options: BacklogOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    // An answer is bounded (MAX_BACKLOG_ENTRIES records), and a joiner behind a NAT may have
    // only relayed members to ask; a circuit's data limit cut short ends it as a failed fetch.
    await this.options.node.handle(BACKLOG_PROTOCOL, (stream, connection) => { void this.answer(stream, connection); }, {
      maxInboundStreams: MAX_CONCURRENT_ANSWERS * 2, runOnLimitedConnection: true
    });
  }

  async stop(): Promise<void> {
    await this.options.node.unhandle(BACKLOG_PROTOCOL);
  }

  stats(): BacklogStats {
    return { ...this.counters };
  }

  /** Asks `peerId` for `room`'s messages from `since` on, at most `limit`; verifies each. */
  async fetch(peerId: string, room: string, since: number, limit: number): Promise<BacklogAnswer> {
    const signal = AbortSignal.timeout(BACKLOG_TIMEOUT_MS);
    const stream = await openStream(this.options.node, peerIdFromString(peerId), BACKLOG_PROTOCOL, { signal });
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES });
      await lp.write(requestCodec.encode({ v: BACKLOG_VERSION, room, since, limit }), { signal });
      const header = headerCodec.decode((await lp.read({ signal })).subarray());
      if (header.status === 'refused') throw new BacklogRefusedError(header.reason);
      if (header.count > limit) throw new WireError('bad-shape', `the answer announces ${header.count} entries for a request of ${limit}`);
      const records: Uint8Array[] = [];
      let bytes = 0;
      const now = this.now();
      for (let i = 0; i < header.count; i++) {
        const record = (await lp.read({ signal })).subarray();
        bytes += record.byteLength;
        if (bytes > MAX_BACKLOG_BYTES) throw new WireError('too-large', `the answer exceeds ${MAX_BACKLOG_BYTES} bytes`);
        records.push(record);
      }
      await stream.close({ signal }).catch(() => undefined);
      // All read first, so that the signatures can be checked on several cores at once.
      const answer: BacklogAnswer = { entries: [], rejected: [] };
      for (const result of await verifyRecords(records, room, now)) {
        if (result instanceof RecordError) answer.rejected.push({ reason: result.reason, message: result.message });
        else answer.entries.push(result);
      }
      return answer;
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const signal = AbortSignal.timeout(BACKLOG_TIMEOUT_MS);
    const lp = lpStream(stream, { maxDataLength: MAX_BACKLOG_REQUEST_BYTES });
    const refuse = async (reason: Refusal): Promise<void> => {
      this.counters.refused++;
      await lp.write(headerCodec.encode({ v: BACKLOG_VERSION, status: 'refused', reason }), { signal });
      await stream.close({ signal });
    };
    const perPeer = this.answering.get(peer) ?? 0;
    this.active++;
    this.answering.set(peer, perPeer + 1);
    try {
      // Decide before reading: a refused peer costs one short frame.
      if (!this.budgets.take(peer, this.now())) return await refuse('rate-limited');
      if (this.active > MAX_CONCURRENT_ANSWERS || perPeer >= MAX_ANSWERS_PER_PEER) return await refuse('busy');
      let request;
      try {
        request = requestCodec.decode((await lp.read({ signal })).subarray());
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        this.badRequest(peer, err.message);
        return await refuse('bad-request');
      }
      if (!this.options.rooms().includes(request.room)) return await refuse('not-in-room');
      const records = this.options.store.roomRecords(request.room, request.since, request.limit);
      let bytes = 0;
      let count = 0;
      for (const record of records) {
        if (bytes + record.byteLength > MAX_BACKLOG_BYTES) break;
        bytes += record.byteLength;
        count++;
      }
      // The newest `count` fit the byte bound; the oldest are dropped first.
      const sent = records.slice(records.length - count);
      await lp.write(headerCodec.encode({ v: BACKLOG_VERSION, status: 'ok', count }), { signal });
      const BATCH = 256;
      for (let i = 0; i < sent.length; i += BATCH) await lp.writeV(sent.slice(i, i + BATCH), { signal });
      await stream.close({ signal });
      this.counters.answered++;
    } catch (err) {
      this.badRequest(peer, (err as Error).message);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.active--;
      const left = (this.answering.get(peer) ?? 1) - 1;
      if (left === 0) this.answering.delete(peer);
      else this.answering.set(peer, left);
      this.budgets.prune(this.now());
    }
  }

  private badRequest(peer: string, message: string): void {
    this.counters.badRequests++;
    if (!this.logged.first(peer)) return;
    this.options.log.info({ peer }, `backlog: a bad request from ${peer} (further ones not logged): ${message}`);
  }
}
