/**
 * FileTransfer: sends files to peers and receives theirs over `/cli-chat/file/2.0.0`
 * (the exchange is described in ./codec.ts). A receiver accepts on its own what its
 * policy allows (a member's file within the size limit and the quota) and keeps every
 * other offer waiting for accept() or reject(). Bytes are written to a partial file,
 * hashed as they arrive, and get their final name only once the hash matches the
 * trailer the sender computed while sending them. Nothing a
 * remote peer sends can throw out of the handler, and every failure removes the partial.
 */
import { randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { TypedEventEmitter } from '@libp2p/interface';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import type { LengthPrefixedStream } from '@libp2p/utils';
import type { Logger } from 'pino';
import { FrameBudgets } from '../membership/frame-budget.ts';
import { openStream, usableConnection } from '../node/open-stream.ts';
import { WireError } from '../wire/json-frame.ts';
import { OncePerPeer } from '../wire/once-per-peer.ts';
import { decodeOffer, decodeReply, decodeResult, encodeFileMessage, quote } from './codec.ts';
import type { FileMessage, FileOffer, FileReply, FileResult } from './codec.ts';
import {
  DEFAULT_AUTO_ACCEPT_BYTES, DEFAULT_DOWNLOADS_QUOTA_BYTES, DIAL_TIMEOUT_MS, FILE_PROTOCOL_ID, FILE_PROTOCOL_VERSION,
  HEADER_TIMEOUT_MS, MAX_ACTIVE_PER_PEER, MAX_ACTIVE_TOTAL, MAX_FILE_BYTES, MAX_HEADER_BYTES, MAX_INBOUND_STREAMS,
  MAX_PENDING_PER_PEER, MAX_PENDING_TOTAL, OFFER_BURST, OFFER_RATE_PER_S, OFFER_TIMEOUT_MS, PARTIAL_PREFIX, PROGRESS_INTERVAL_MS,
  REPLY_TIMEOUT_MS, STALL_TIMEOUT_MS
} from './constants.ts';
import { downloadsUsage, partialPath, prepareDownloads, publishPartial, removeIfPresent } from './downloads.ts';
import { FileTransferError, asTransferError, deadline } from './errors.ts';
import type { FileFailReason } from './errors.ts';
import { mimeType } from './mime.ts';
import { receiveBytes } from './receive-bytes.ts';
import { safeFileName } from './safe-name.ts';
import { openForSending, sendBytes } from './send-bytes.ts';

/** What FileTransfer needs of a libp2p node. */
export type FileTransferNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections'>;

export interface FileTransferInit {
  node: FileTransferNode;
  /** Where received files are saved; created at start(). Partial files live there too. */
  downloadsDir: string;
  /** Largest offer accepted without asking. @default DEFAULT_AUTO_ACCEPT_BYTES (64 MiB) */
  autoAcceptBytes?: number;
  /** Most the downloads directory may hold for an offer to be accepted without asking. @default DEFAULT_DOWNLOADS_QUOTA_BYTES (1 GiB) */
  quotaBytes?: number;
  /** Whether a peer ID is a member: only members' offers are accepted without asking. */
  isMember: (peerId: string) => boolean;
  log: Pick<Logger, 'debug' | 'info' | 'warn'>;
}

/** Why an offer waits for the user instead of being accepted at once. */
export type PendingReason = 'not-member' | 'too-large' | 'over-quota';

/** Receiver: a peer offers a file. Followed by exactly one `received` or `failed` with the same id. */
export interface FileOfferedEvent {
  id: string;
  from: string;
  /** The name it will be saved under (before a ` (1)` suffix a clash may add). */
  name: string;
  size: number;
  mime: string;
  /** True when it waits for accept(id) or reject(id); false when it is being received already. */
  needsAccept: boolean;
  /** Why it waits; empty when accepted at once. */
  why: PendingReason[];
}

/** An offer waiting for a decision, as pending() lists it. */
export interface PendingOffer extends Omit<FileOfferedEvent, 'needsAccept'> {
  /** When it is refused without a decision, ms since the epoch. */
  expiresAt: number;
}

/** Sender: the offer reached the recipient. */
export interface FileOfferSentEvent {
  id: string;
  to: string;
  name: string;
  size: number;
  mime: string;
}

/** Sender: the recipient asks its user; the answer may take up to OFFER_TIMEOUT_MS. */
export interface FileWaitingEvent {
  id: string;
  to: string;
  name: string;
  /** The recipient's PendingReason. */
  reason: string;
}

/** Either side, at most every PROGRESS_INTERVAL_MS, and once when the last byte is through. */
export interface FileProgressEvent {
  id: string;
  peer: string;
  name: string;
  direction: 'send' | 'receive';
  bytes: number;
  size: number;
}

/** Sender: the recipient verified and saved the file, whose bytes as sent hash to `sha256`. */
export interface FileSentEvent {
  id: string;
  to: string;
  name: string;
  size: number;
  sha256: string;
}

/** Receiver: the file is verified and saved at `path`. */
export interface FileReceivedEvent {
  id: string;
  from: string;
  /** The saved file's name inside the downloads directory. */
  name: string;
  path: string;
  size: number;
  sha256: string;
  mime: string;
}

/** Either side: the transfer ended without the file arriving; nothing is left on disk. */
export interface FileFailedEvent {
  id: string;
  peer: string;
  /** The file's name: as sent, or as it would have been saved. */
  name: string;
  direction: 'send' | 'receive';
  reason: FileFailReason;
  message: string;
}

/**
 * Listeners must not throw: an EventTarget reports a throwing listener as an uncaught
 * exception, which ends the process.
 */
export interface FileTransferEvents {
  offered: CustomEvent<FileOfferSentEvent>;
  waiting: CustomEvent<FileWaitingEvent>;
  'file-offered': CustomEvent<FileOfferedEvent>;
  progress: CustomEvent<FileProgressEvent>;
  sent: CustomEvent<FileSentEvent>;
  received: CustomEvent<FileReceivedEvent>;
  failed: CustomEvent<FileFailedEvent>;
}

/** Counters since construction. */
export interface FileTransferStats {
  sent: number;
  received: number;
  failed: number;
  /** Streams whose first message was not a valid offer. */
  badOffers: number;
  /** Offers refused at once: busy, rate-limited, duplicate id, stopping. */
  refused: number;
}

/** A file on its way out: what send() resolves with once the file is checked and opened. */
export interface OutgoingFile {
  id: string;
  name: string;
  size: number;
  mime: string;
  /**
   * Settles when the transfer ends: the `sent` event's detail, or a FileTransferError
   * (also reported as `failed`). Tracked here, so leaving it unawaited is safe.
   */
  result: Promise<FileSentEvent>;
}

/** A transfer in either direction that has not ended, as transfers() lists it. */
export interface TransferView {
  id: string;
  direction: 'send' | 'receive';
  peer: string;
  name: string;
  size: number;
  /** Bytes through so far. */
  bytes: number;
  /**
   * send: `connecting`, `offered` (no answer yet), `waiting` (the recipient's user is asked),
   * `sending`; receive: `deciding`, `pending` (waits for accept or reject here), `receiving`.
   */
  state: 'connecting' | 'offered' | 'waiting' | 'sending' | 'deciding' | 'pending' | 'receiving';
}

interface Outgoing {
  readonly to: string;
  readonly name: string;
  readonly size: number;
  bytes: number;
  state: 'connecting' | 'offered' | 'waiting' | 'sending';
}

/** An inbound offer from the moment it is decoded until it ends. */
interface Incoming {
  readonly offer: FileOffer;
  readonly from: string;
  readonly name: string;
  state: 'deciding' | 'pending' | 'active';
  /** Counted against the quota: accepted and not yet saved or failed. */
  reserved: boolean;
  why: PendingReason[];
  expiresAt: number;
  bytes: number;
  /** Set while pending: settles the wait with accept() (undefined) or an error. */
  decide?: (refusal: FileTransferError | undefined) => void;
}

const LP_OPTIONS = { maxDataLength: MAX_HEADER_BYTES, maxBufferSize: 2 * MAX_HEADER_BYTES };

/** A remote that keeps its side open after our last message is reset after this. */
const CLOSE_GRACE_MS = 5_000;

/** Failure codes a recipient may report that mean the same here. */
const REMOTE_FAILURES: ReadonlySet<string> = new Set<FileFailReason>(['too-short', 'too-long', 'hash-mismatch', 'protocol', 'timeout', 'disk', 'stopped']);

export class FileTransfer extends TypedEventEmitter<FileTransferEvents> {
  readonly #node: FileTransferNode;
  readonly #dir: string;
  readonly #autoAcceptBytes: number;
  readonly #quotaBytes: number;
  readonly #isMember: (peerId: string) => boolean;
  readonly #log: FileTransferInit['log'];
  readonly #incoming = new Map<string, Incoming>();
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #warned = new OncePerPeer();
  readonly #offerBudgets = new FrameBudgets(OFFER_RATE_PER_S, OFFER_BURST);
  readonly #stats: FileTransferStats = { sent: 0, received: 0, failed: 0, badOffers: 0, refused: 0 };
  /** Quota decisions and final renames, one at a time, so no two offers count the same free space. */
  #quotaQueue: Promise<unknown> = Promise.resolve();
  #stopping = new AbortController();
  #started = false;

  constructor(init: FileTransferInit) {
    super();
    this.#node = init.node;
    this.#dir = init.downloadsDir;
    this.#autoAcceptBytes = init.autoAcceptBytes ?? DEFAULT_AUTO_ACCEPT_BYTES;
    this.#quotaBytes = init.quotaBytes ?? DEFAULT_DOWNLOADS_QUOTA_BYTES;
    this.#isMember = init.isMember;
    this.#log = init.log;
  }

  /** Creates the downloads directory, deletes partial files left by a crash, and starts answering offers. */
  async start(): Promise<void> {
    if (this.#started) return;
    await prepareDownloads(this.#dir);
    this.#stopping = new AbortController();
    await this.#node.handle(FILE_PROTOCOL_ID, (stream, connection) => this.#onStream(stream, connection), {
      // A member behind a NAT may have nothing but a relayed connection, limited or not.
      maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true
    });
    this.#started = true;
  }

  /** Stops answering offers and ends every transfer, each with a `failed` event; partial files are deleted. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#stopping.abort(new FileTransferError('stopped', 'file transfer stopped'));
    await this.#node.unhandle(FILE_PROTOCOL_ID);
    await Promise.allSettled([...this.#tasks]);
  }

  stats(): FileTransferStats {
    return { ...this.#stats };
  }

  /** Offers waiting for accept() or reject(), oldest first. */
  pending(): PendingOffer[] {
    return [...this.#incoming.values()].filter((i) => i.state === 'pending' && i.decide !== undefined).map((i) => ({
      id: i.offer.id, from: i.from, name: i.name, size: i.offer.size, mime: i.offer.mime,
      why: [...i.why], expiresAt: i.expiresAt
    }));
  }

  /** Every transfer that has not ended, outgoing first, each in the order it began. */
  transfers(): TransferView[] {
    const out = [...this.#outgoing].map(([id, o]): TransferView => ({
      id, direction: 'send', peer: o.to, name: o.name, size: o.size, bytes: o.bytes, state: o.state
    }));
    const incoming = [...this.#incoming.values()].map((i): TransferView => ({
      id: i.offer.id, direction: 'receive', peer: i.from, name: i.name, size: i.offer.size, bytes: i.bytes,
      state: i.state === 'active' ? 'receiving' : i.state
    }));
    return [...out, ...incoming];
  }

  /**
   * Accepts a pending offer, named by its ID or a unique start of it; its progress and
   * outcome follow as events. Returns the full ID. Throws FileTransferError('unknown-offer').
   */
  accept(id: string): string {
    const incoming = this.#pendingOffer(id);
    incoming.decide?.(undefined);
    return incoming.offer.id;
  }

  /** Refuses a pending offer (ID or a unique start of it) and tells the sender; returns the full ID. Throws FileTransferError('unknown-offer'). */
  reject(id: string): string {
    const incoming = this.#pendingOffer(id);
    incoming.decide?.(new FileTransferError('rejected', 'rejected here'));
    return incoming.offer.id;
  }

  /**
   * Checks and opens a file, then sends it in the background (hashing it as it goes) and
   * resolves with its ID. Local problems (no such file, a directory, an unreadable one,
   * over MAX_FILE_BYTES, a malformed peer ID) reject with a FileTransferError before
   * anything is sent and emit nothing; past that, the outcome is `result` and also a
   * `sent` or `failed` event with the transfer's id.
   */
  async send(peerId: string, path: string): Promise<OutgoingFile> {
    if (!this.#started) throw new FileTransferError('not-started', 'file transfer is not started');
    let peer: PeerId;
    try {
      peer = peerIdFromString(peerId);
    } catch {
      throw new FileTransferError('bad-peer', `${quote(peerId)} is not a peer ID`);
    }
    const size = await fileSize(path);
    const file = await openForSending(path);
    const signal = this.#stopping.signal;
    const offer: FileOffer = {
      v: FILE_PROTOCOL_VERSION, type: 'offer', id: randomBytes(16).toString('hex'),
      name: basename(path), size, mime: mimeType(path)
    };
    const outgoing: Outgoing = { to: peerId, name: offer.name, size, bytes: 0, state: 'connecting' };
    this.#outgoing.set(offer.id, outgoing);
    const task = this.#deliver(peer, peerId, { file, path }, offer, outgoing, signal).finally(async () => {
      this.#outgoing.delete(offer.id);
      await file.close().catch(() => undefined);
    });
    this.#track(task);
    return { id: offer.id, name: offer.name, size, mime: offer.mime, result: task };
  }

  #pendingOffer(id: string): Incoming {
    const lower = id.toLowerCase();
    const found = /^[0-9a-f]+$/.test(lower)
      ? [...this.#incoming.values()].filter((i) => i.state === 'pending' && i.decide !== undefined && i.offer.id.startsWith(lower))
      : [];
    if (found.length === 1) return found[0] as Incoming;
    if (found.length === 0) throw new FileTransferError('unknown-offer', `no offer ${quote(id)} is waiting for a decision`);
    throw new FileTransferError('unknown-offer', `${quote(id)} is the start of ${found.length} offers' IDs: ${found.map((i) => i.offer.id).join(', ')}`);
  }

  #track(task: Promise<unknown>): void {
    const settled = task.then(() => undefined, () => undefined);
    this.#tasks.add(settled);
    void settled.then(() => this.#tasks.delete(settled));
  }

  #emit<K extends keyof FileTransferEvents>(type: K, detail: FileTransferEvents[K]['detail']): void {
    this.safeDispatchEvent(type, { detail });
  }

  #failed(id: string, peer: string, name: string, direction: 'send' | 'receive', err: FileTransferError): void {
    this.#stats.failed++;
    this.#log.info({ id, peer, reason: err.reason }, `file ${direction} failed: ${err.message}`);
    this.#emit('failed', { id, peer, name, direction, reason: err.reason as FileFailReason, message: err.message });
  }

  /** A progress reporter for one transfer: `track` always, the event throttled except for the last byte. */
  #progress(id: string, peer: string, name: string, direction: 'send' | 'receive', size: number, track: { bytes: number }): (bytes: number) => void {
    let last = 0;
    return (bytes) => {
      track.bytes = bytes;
      const now = Date.now();
      if (bytes !== size && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      this.#emit('progress', { id, peer, name, direction, bytes, size });
    };
  }

  #withQuotaLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#quotaQueue.then(fn, fn);
    this.#quotaQueue = run.catch(() => undefined);
    return run;
  }

  // -------------------------------------------------------------------------------------
  // Sending

  async #deliver(peer: PeerId, to: string, source: { file: FileHandle, path: string }, offer: FileOffer, outgoing: Outgoing,
    stop: AbortSignal): Promise<FileSentEvent> {
    const { id, name, size, mime } = offer;
    let stream: Stream | undefined;
    try {
      // A relay's data limit would cut the transfer part way: refuse it before sending anything.
      const allowed = usableConnection(this.#node.getConnections(peer))?.limits?.bytes;
      if (allowed !== undefined && BigInt(size) > allowed) {
        throw new FileTransferError('connection', `the connection to ${to} is relayed and carries at most ${allowed} more bytes, and the file has ${size}`);
      }
      const dial = deadline(DIAL_TIMEOUT_MS, `connection to ${to}`);
      try {
        stream = await openStream(this.#node, peer, FILE_PROTOCOL_ID, { signal: AbortSignal.any([stop, dial.signal]) });
      } catch (err) {
        stop.throwIfAborted();
        const cause = asTransferError(err, dial.signal);
        throw new FileTransferError(cause.reason, `could not open a file stream to ${to}: ${cause.message}`);
      } finally {
        dial.clear();
      }
      const lp = lpStream(stream, LP_OPTIONS);
      await lp.write(encodeFileMessage(offer), { signal: stop });
      outgoing.state = 'offered';
      this.#emit('offered', { id, to, name, size, mime });

      let reply = await readMessage(lp, decodeReply, REPLY_TIMEOUT_MS, 'answer to the offer', stop);
      if (reply.type === 'pending') {
        outgoing.state = 'waiting';
        this.#emit('waiting', { id, to, name, reason: reply.reason });
        reply = await readMessage(lp, decodeReply, OFFER_TIMEOUT_MS + REPLY_TIMEOUT_MS, 'decision on the offer', stop);
        if (reply.type === 'pending') throw new FileTransferError('protocol', `${to} answered pending twice`);
      }
      if (reply.type === 'reject') {
        throw new FileTransferError(reply.reason === 'timeout' ? 'timeout' : 'rejected', `${to} rejected the file: ${reply.reason}`);
      }

      // The result is read from now on: a recipient that fails early (too many bytes, a full
      // disk) says so while we are still sending, and sending stops.
      const resultWait = new AbortController();
      const result = readMessage(lp, decodeResult, undefined, 'result', AbortSignal.any([stop, resultWait.signal]));
      // Awaited below on every path that gets there; this only keeps an early rejection from being unhandled.
      result.catch(() => undefined);
      const sending = new AbortController();
      const stopSending = (): void => sending.abort(new FileTransferError('protocol', 'the recipient answered before the end of the bytes'));
      void result.then(stopSending, stopSending);
      outgoing.state = 'sending';
      let sha256: string | undefined;
      try {
        sha256 = await sendBytes(stream, source.file, source.path, size, {
          onBytes: this.#progress(id, to, name, 'send', size, outgoing), signal: AbortSignal.any([stop, sending.signal])
        });
        await stream.close({ signal: stop });
      } catch (err) {
        if (!sending.signal.aborted || stop.aborted) throw asTransferError(err, stop);
      }
      const timer = setTimeout(() => resultWait.abort(new FileTransferError('timeout', `no result from ${to} within ${STALL_TIMEOUT_MS / 1000} s`)), STALL_TIMEOUT_MS);
      let outcome: FileResult;
      try {
        outcome = await result;
      } finally {
        clearTimeout(timer);
      }
      if (outcome.type === 'failed') {
        const reason = REMOTE_FAILURES.has(outcome.reason) ? outcome.reason as FileFailReason : 'remote-error';
        throw new FileTransferError(reason, `${to} reports ${outcome.reason}`);
      }
      if (sha256 === undefined) throw new FileTransferError('protocol', `${to} reported the file saved before it had all of it`);
      const sent: FileSentEvent = { id, to, name, size, sha256 };
      this.#stats.sent++;
      this.#log.info({ id, to, size }, `sent ${name}`);
      this.#emit('sent', sent);
      return sent;
    } catch (err) {
      const failure = asTransferError(err, stop);
      stream?.abort(failure);
      this.#failed(id, to, name, 'send', failure);
      throw failure;
    }
  }

  // -------------------------------------------------------------------------------------
  // Receiving

  #onStream(stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString();
    const task = this.#receive(stream, from).catch((err: unknown) => {
      this.#log.warn({ err, from }, 'file stream handler failed');
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
    this.#track(task);
  }

  async #receive(stream: Stream, from: string): Promise<void> {
    const lp = lpStream(stream, LP_OPTIONS);
    const now = Date.now();
    this.#offerBudgets.prune(now);
    if (!this.#offerBudgets.take(from, now)) {
      this.#stats.refused++;
      this.#note(from, `${from} offers files too fast`);
      void sendLast(unwrapped(lp), { v: FILE_PROTOCOL_VERSION, type: 'reject', reason: 'rate-limited' });
      return;
    }
    const offer = await this.#readOffer(lp, stream, from);
    if (offer === undefined) return;
    const refusal = this.#stopping.signal.aborted ? 'stopped' : this.#incoming.has(offer.id) ? 'duplicate-id' : undefined;
    if (refusal !== undefined) {
      this.#refuse(lp, from, offer, refusal);
      return;
    }
    const incoming: Incoming = {
      offer, from, name: safeFileName(offer.name), state: 'deciding', reserved: false, why: [], expiresAt: Date.now() + OFFER_TIMEOUT_MS, bytes: 0
    };
    this.#incoming.set(offer.id, incoming);
    try {
      await this.#decideAndReceive(incoming, lp, stream);
    } finally {
      incoming.reserved = false;
      this.#incoming.delete(offer.id);
    }
  }

  async #readOffer(lp: LengthPrefixedStream<Stream>, stream: Stream, from: string): Promise<FileOffer | undefined> {
    try {
      return await readMessage(lp, decodeOffer, HEADER_TIMEOUT_MS, 'offer', this.#stopping.signal);
    } catch (err) {
      if (this.#stopping.signal.aborted) {
        stream.abort(this.#stopping.signal.reason as Error);
        return undefined;
      }
      this.#stats.badOffers++;
      const message = `bad file offer from ${from}: ${err instanceof Error ? err.message : String(err)}`;
      this.#note(from, message);
      if (err instanceof FileTransferError && err.reason === 'protocol') {
        void sendLast(unwrapped(lp), { v: FILE_PROTOCOL_VERSION, type: 'reject', reason: 'bad-offer' });
      } else {
        stream.abort(err instanceof Error ? err : new Error(message));
      }
      return undefined;
    }
  }

  /** One warning per peer for what it did wrong, however often it does it; the rest at debug level. */
  #note(peer: string, message: string): void {
    if (this.#warned.first(peer)) this.#log.warn(`${message} (further ones from this peer are logged at debug level)`);
    else this.#log.debug(message);
  }

  #refuse(lp: LengthPrefixedStream<Stream>, from: string, offer: FileOffer, reason: string): void {
    this.#stats.refused++;
    this.#log.info({ id: offer.id, from, reason }, `refused a file offer: ${reason}`);
    void sendLast(unwrapped(lp), { v: FILE_PROTOCOL_VERSION, type: 'reject', reason });
  }

  /** Why an offer must wait for the user; reserves it against the quota when nothing does. */
  async #decide(incoming: Incoming): Promise<PendingReason[] | 'busy'> {
    return this.#withQuotaLock(async () => {
      const { from, offer } = incoming;
      const why: PendingReason[] = [];
      let member = false;
      try {
        member = this.#isMember(from);
      } catch (err) {
        this.#log.warn({ err }, 'isMember threw; treating the sender as not a member');
      }
      if (!member) why.push('not-member');
      if (offer.size > this.#autoAcceptBytes) why.push('too-large');
      const active = [...this.#incoming.values()].filter((i) => i.reserved);
      const skip = new Set(active.map((i) => PARTIAL_PREFIX + i.offer.id));
      const used = await downloadsUsage(this.#dir, skip) + active.reduce((sum, i) => sum + i.offer.size, 0);
      if (used + offer.size > this.#quotaBytes) why.push('over-quota');
      if (why.length === 0) {
        if (active.filter((i) => i.from === from).length >= MAX_ACTIVE_PER_PEER || active.length >= MAX_ACTIVE_TOTAL) return 'busy';
        incoming.state = 'active';
        incoming.reserved = true;
        return why;
      }
      const pending = [...this.#incoming.values()].filter((i) => i.state === 'pending');
      if (pending.filter((i) => i.from === from).length >= MAX_PENDING_PER_PEER || pending.length >= MAX_PENDING_TOTAL) return 'busy';
      incoming.state = 'pending';
      return why;
    });
  }

  async #decideAndReceive(incoming: Incoming, lp: LengthPrefixedStream<Stream>, stream: Stream): Promise<void> {
    const { offer, from, name } = incoming;
    const { id, size, mime } = offer;
    const why = await this.#decide(incoming);
    if (why === 'busy' || this.#stopping.signal.aborted) {
      this.#refuse(lp, from, offer, why === 'busy' ? 'busy' : 'stopped');
      return;
    }
    incoming.why = why;
    this.#emit('file-offered', { id, from, name, size, mime, needsAccept: incoming.state === 'pending', why: [...why] });
    this.#log.info({ id, from, size, why }, `file offer ${quote(name)}${why.length > 0 ? `, waiting: ${why.join(', ')}` : ''}`);

    if (incoming.state === 'pending') {
      const refusal = await this.#awaitDecision(incoming, lp, stream);
      if (refusal !== undefined) {
        if (refusal.reason !== 'connection') {
          const reason = refusal.reason === 'rejected' ? 'declined' : refusal.reason;
          void sendLast(unwrapped(lp), { v: FILE_PROTOCOL_VERSION, type: 'reject', reason });
        } else {
          stream.abort(refusal);
        }
        this.#failed(id, from, incoming.name, 'receive', refusal);
        return;
      }
      incoming.state = 'active';
      incoming.reserved = true;
    }
    await this.#download(incoming, lp);
  }

  /** Waits for accept(), reject(), the offer timeout, stop(), or the sender giving up. Undefined means accepted. */
  async #awaitDecision(incoming: Incoming, lp: LengthPrefixedStream<Stream>, stream: Stream): Promise<FileTransferError | undefined> {
    const stop = this.#stopping.signal;
    let cleanup = (): void => undefined;
    const decision = new Promise<FileTransferError | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(new FileTransferError('timeout', `no decision within ${OFFER_TIMEOUT_MS / 60_000} minutes`)), OFFER_TIMEOUT_MS);
      const gone = (): void => resolve(new FileTransferError('connection', 'the sender withdrew the offer'));
      const stopped = (): void => resolve(stop.reason as FileTransferError);
      stream.addEventListener('close', gone);
      stream.addEventListener('remoteCloseWrite', gone);
      stop.addEventListener('abort', stopped);
      cleanup = () => {
        clearTimeout(timer);
        stream.removeEventListener('close', gone);
        stream.removeEventListener('remoteCloseWrite', gone);
        stop.removeEventListener('abort', stopped);
      };
      incoming.decide = resolve;
    });
    try {
      await lp.write(encodeFileMessage({ v: FILE_PROTOCOL_VERSION, type: 'pending', reason: incoming.why[0] ?? 'not-member' }), { signal: stop });
      return await decision;
    } catch (err) {
      return asTransferError(err, stop);
    } finally {
      cleanup();
      incoming.decide = undefined;
    }
  }

  async #download(incoming: Incoming, lp: LengthPrefixedStream<Stream>): Promise<void> {
    const { offer, from } = incoming;
    const { id, size, mime } = offer;
    const stop = this.#stopping.signal;
    const partial = partialPath(this.#dir, id);
    let file: FileHandle | undefined;
    /** The bare stream, once accept is sent. */
    let stream: Stream | undefined;
    try {
      try {
        file = await open(partial, 'wx');
      } catch (err) {
        throw new FileTransferError('disk', `cannot create ${partial}: ${(err as Error).message}`);
      }
      stream = await acceptAndUnwrap(lp, stop);
      const handle = file;
      file = undefined;
      const sha256 = await receiveBytes(stream, handle, size, { onBytes: this.#progress(id, from, incoming.name, 'receive', size, incoming), signal: stop });
      const path = await this.#withQuotaLock(async () => {
        try {
          return await publishPartial(partial, this.#dir, incoming.name);
        } catch (err) {
          throw new FileTransferError('disk', `cannot save ${quote(incoming.name)}: ${(err as Error).message}`);
        } finally {
          incoming.reserved = false;
        }
      });
      const name = basename(path);
      this.#stats.received++;
      this.#log.info({ id, from, size, path }, `received ${name}`);
      void sendLast(stream, { v: FILE_PROTOCOL_VERSION, type: 'done' });
      this.#emit('received', { id, from, name, path, size, sha256, mime });
    } catch (err) {
      const failure = asTransferError(err, stop);
      await file?.close().catch(() => undefined);
      await removeIfPresent(partial).catch((e: unknown) => this.#log.warn({ err: e, partial }, 'could not delete a partial file'));
      incoming.reserved = false;
      // Before accept the sender waits for a reply, after it for a result.
      void sendLast(stream ?? unwrapped(lp), stream === undefined
        ? { v: FILE_PROTOCOL_VERSION, type: 'reject', reason: failure.reason }
        : { v: FILE_PROTOCOL_VERSION, type: 'failed', reason: failure.reason });
      this.#failed(id, from, incoming.name, 'receive', failure);
    }
  }
}

/** The size of a regular file at `path`, or the FileTransferError saying why it cannot be sent. */
async function fileSize(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileTransferError('not-found', `no file at ${path}`);
    if (code === 'EACCES' || code === 'EPERM') throw new FileTransferError('not-readable', `${path} cannot be read: permission denied`);
    throw new FileTransferError('not-readable', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (info.isDirectory()) throw new FileTransferError('not-a-file', `${path} is a directory: send one file (an archive of the directory, say)`);
  if (!info.isFile()) throw new FileTransferError('not-a-file', `${path} is not a regular file`);
  if (info.size > MAX_FILE_BYTES) throw new FileTransferError('too-large', `${path} is ${info.size} bytes; at most ${MAX_FILE_BYTES} can be sent`);
  return info.size;
}

/**
 * Reads one control message within `timeoutMs` (or for as long as `signal` allows). A
 * malformed one is FileTransferError('protocol'); a stream that ends first, 'connection'.
 */
async function readMessage<T>(lp: LengthPrefixedStream<Stream>, decode: (bytes: Uint8Array) => T, timeoutMs: number | undefined,
  what: string, signal: AbortSignal): Promise<T> {
  const limit = timeoutMs === undefined ? undefined : deadline(timeoutMs, what);
  const wait = limit === undefined ? signal : AbortSignal.any([signal, limit.signal]);
  let bytes: Uint8Array;
  try {
    bytes = (await lp.read({ signal: wait })).subarray();
  } catch (err) {
    signal.throwIfAborted();
    throw asTransferError(err, wait);
  } finally {
    limit?.clear();
  }
  try {
    return decode(bytes);
  } catch (err) {
    if (err instanceof WireError) throw new FileTransferError('protocol', `bad ${what}: ${err.reason}: ${err.message}`);
    throw err;
  }
}

/**
 * Sends accept and hands back the bare stream for the bytes. Anything the sender sent
 * early stays in front of them; a sender that also closed its side already, against the
 * protocol, leaves nothing that can be unwrapped.
 */
async function acceptAndUnwrap(lp: LengthPrefixedStream<Stream>, stop: AbortSignal): Promise<Stream> {
  const accept: FileReply = { v: FILE_PROTOCOL_VERSION, type: 'accept' };
  try {
    await lp.write(encodeFileMessage(accept), { signal: stop });
    return lp.unwrap();
  } catch (err) {
    stop.throwIfAborted();
    throw asTransferError(err);
  }
}

/**
 * The bare stream under `lp`. Unwrapping hands back bytes read ahead, which throws on a
 * stream whose readable end is closed; the wrapper is unwrapped by then all the same.
 */
function unwrapped(lp: LengthPrefixedStream<Stream>): Stream {
  try {
    return lp.unwrap();
  } catch {
    return lp.unwrap();
  }
}

/**
 * Writes our last message on a bare stream (best effort: the stream may be gone), closes
 * our side and resets the stream if the remote keeps its side open. Never throws.
 */
async function sendLast(stream: Stream, message: FileMessage): Promise<void> {
  try {
    if (stream.writeStatus === 'writable') {
      await lpStream(stream, LP_OPTIONS).write(encodeFileMessage(message), { signal: AbortSignal.timeout(CLOSE_GRACE_MS) });
      await stream.close({ signal: AbortSignal.timeout(CLOSE_GRACE_MS) });
    }
  } catch {
    // The remote is gone or not reading; the reset below is all that is left to do.
  }
  if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') return;
  const timer = setTimeout(() => stream.abort(new Error('the remote kept the file stream open')), CLOSE_GRACE_MS);
  timer.unref();
  stream.addEventListener('close', () => clearTimeout(timer), { once: true });
}
