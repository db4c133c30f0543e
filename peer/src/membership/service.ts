/**
 * The membership service: the pure protocol core (core.ts) wired to libp2p. It owns the
 * core's one timer, carries the core's messages over streams of the membership protocol,
 * turns libp2p's signals (a closed connection, a refused dial) into core inputs, reports
 * the core's events, and keeps this peer connected to enough live members for gossipsub.
 *
 * Transport: one long-lived outbound stream per peer, written with length-prefixed frames
 * (framing.ts); each side sends on its own stream and reads the other's, so a peer pair
 * that talks both ways holds two streams. Not a stream per message, because:
 * - opening a stream costs a multistream-select round trip before the first byte (libp2p
 *   3 negotiates even a single protocol), which would double every probe's measured RTT
 *   and eat into probeTimeout (150-200 ms), while a protocol message is tens of bytes;
 * - messages to one peer stay in order (a sync answer in several chunks arrives whole);
 * - stream limits and per-stream bookkeeping stay at one per peer instead of growing with
 *   the message rate (probes, acks, relays, gossip fan-out and sync bursts).
 * The cost is handling a stream that dies under us: it is dropped on its 'close' event or
 * on a failed write, and the next message opens a new one. Backpressure is UDP-like, as
 * SWIM expects: a peer whose stream holds too much unsent data loses messages, it does not
 * make us buffer without bound.
 *
 * Nothing a remote peer sends can throw out of here: frames are size-bounded before they
 * are buffered, decoded strictly, and any failure is counted, logged and dropped. Nor can
 * a peer make us work at the rate it likes: each peer's inbound frames pass a token
 * bucket (inboundFrameRate, INBOUND_FRAME_BURST), and frames beyond it are dropped unread.
 */
import { NotStartedError, TypedEventEmitter, serviceCapabilities } from '@libp2p/interface';
import type { Connection, Logger, PeerId, Startable, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { DEFAULT_NICK } from '../chat/constants.ts';
import { usableConnection } from '../node/open-stream.ts';
import type { Signer } from './claims.ts';
import { decodeMessage, encodeMessage, metaProblem } from './codec.ts';
import { MAX_ADDRS, MAX_MESSAGE_BYTES, MEMBERSHIP_PROTOCOL_ID } from './constants.ts';
import { MembershipCore, MembershipInputError } from './core.ts';
import type { MembershipInput, MembershipOutput, Seed } from './core.ts';
import { ed25519Signer } from './ed25519-signer.ts';
import { FrameBudgets } from './frame-budget.ts';
import { FrameDecoder, encodeFrame } from './framing.ts';
import type {
  Membership as MembershipInterface, MembershipComponents, MembershipEvents, MembershipInit, MembershipMetaInit,
  MembershipSeed, MembershipServiceStats
} from './index.ts';
import type { MemberId, MemberMeta, MemberView } from './member.ts';
import type { Message } from './messages.ts';
import { DEFAULT_PROFILE_NAME, profileByName } from './profiles.ts';
import type { MembershipProfile } from './profiles.ts';
import { shuffle } from './random.ts';
import {
  CONNECTION_TARGET, CONNECTIVITY_CHECK_INTERVAL_MS, DEFAULT_VERSION, DIAL_TIMEOUT_MS, INBOUND_FRAME_BURST, LEAVE_FLUSH_TIMEOUT_MS,
  LEAVE_MARGIN_MS, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, MAX_QUEUED_FRAMES, MAX_TIMER_DELAY_MS, MAX_UNSENT_BYTES,
  NEWCOMER_GRACE_MS,
  RATE_LIMIT_LOG_INTERVAL_MS, inboundFrameRate
} from './service-constants.ts';

/** Our sending side towards one peer: its stream, or the frames waiting for one. */
interface Channel {
  stream: Stream | undefined;
  /** Settles when the stream being opened (dial included) is ready or has failed. */
  opening: Promise<void> | undefined;
  readonly queue: Uint8Array[];
}

function withoutPeerId(addr: string): string {
  return addr.replace(/\/p2p\/[^/]+$/, '');
}

function isLoopback(addr: string): boolean {
  return addr.startsWith('/ip4/127.') || addr.startsWith('/ip6/::1/');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function sameMeta(a: MemberMeta, b: MemberMeta): boolean {
  return a.nick === b.nick && a.version === b.version && sameList(a.addrs, b.addrs) && sameList(a.rooms, b.rooms);
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export class Membership extends TypedEventEmitter<MembershipEvents> implements Startable, MembershipInterface {
  readonly profile: MembershipProfile;
  readonly #components: MembershipComponents;
  readonly #log: Logger;
  readonly #selfId: MemberId;
  readonly #signer: Signer;
  readonly #startIncarnation: number | undefined;
  readonly #dialTimeout: number;
  readonly #connectionTarget: number;
  readonly #channels = new Map<MemberId, Channel>();
  readonly #inbound = new Set<Stream>();
  /** Open connections per remote peer, for the core's `connected`. */
  readonly #openConnections = new Map<string, number>();
  /** Members we are connecting to for connectivity's sake (not for a message). */
  readonly #dialing = new Set<MemberId>();
  /** Members heard arriving, and until when we leave them to dial us (see NEWCOMER_GRACE_MS). */
  readonly #newcomers = new Map<MemberId, number>();
  #meta: MemberMeta;
  #core: MembershipCore | undefined;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt: number | undefined;
  #tickPending: ReturnType<typeof setImmediate> | undefined;
  #nextConnectivityCheck = 0;
  #connectivityQueued = false;
  #leaving: Promise<void> | undefined;
  #whenLeft: (() => void) | undefined;
  readonly #budgets: FrameBudgets;
  #badFrames = 0;
  #droppedSends = 0;
  #unreachable = 0;
  #rateLimitedFrames = 0;
  #sentFrames = 0;
  #sentBytes = 0;
  #receivedFrames = 0;
  #receivedBytes = 0;
  /** Frames dropped by the rate limit since the last log line about them, and when that was. */
  #unloggedRateLimited = 0;
  #rateLimitLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(components: MembershipComponents, init: MembershipInit = {}) {
    super();
    this.#components = components;
    this.#log = components.logger.forComponent('cli-chat:membership');
    this.profile = typeof init.profile === 'object' ? init.profile : profileByName(init.profile ?? DEFAULT_PROFILE_NAME);
    this.#selfId = components.peerId.toString();
    const key = init.privateKey ?? components.privateKey;
    if (init.privateKey !== undefined && components.peerId.publicKey?.equals(init.privateKey.publicKey) !== true) {
      throw new MembershipInputError('the membership private key is not the key of this node\'s peer ID');
    }
    this.#signer = ed25519Signer(key);
    this.#meta = {
      nick: init.meta?.nick ?? DEFAULT_NICK,
      addrs: [],
      rooms: [...(init.meta?.rooms ?? [])],
      version: init.meta?.version ?? DEFAULT_VERSION
    };
    const problem = metaProblem(this.#meta);
    if (problem !== undefined) throw new MembershipInputError(problem);
    this.#startIncarnation = init.incarnation;
    this.#dialTimeout = init.dialTimeout ?? DIAL_TIMEOUT_MS;
    this.#connectionTarget = init.connectionTarget ?? CONNECTION_TARGET;
    this.#budgets = new FrameBudgets(inboundFrameRate(this.profile), INBOUND_FRAME_BURST);
  }

  readonly [Symbol.toStringTag] = '@cli-chat/membership';
  readonly [serviceCapabilities]: string[] = ['@cli-chat/membership'];

  async start(): Promise<void> {
    this.#newCore(this.#startIncarnation ?? Math.floor(Date.now() / 1000));
    this.#running = true;
    try {
      await this.#components.registrar.handle(MEMBERSHIP_PROTOCOL_ID, this.#onStream, {
        maxInboundStreams: MAX_INBOUND_STREAMS,
        maxOutboundStreams: MAX_OUTBOUND_STREAMS,
        // A member behind a NAT may be reachable only through a relay that limits its
        // circuits: its probes and acks must still flow, or it is failed for being unreachable.
        runOnLimitedConnection: true
      });
    } catch (err) {
      this.#running = false;
      throw err;
    }
    this.#components.events.addEventListener('connection:open', this.#onConnectionOpen);
    this.#components.events.addEventListener('self:peer:update', this.#onSelfUpdate);
    // A relay reservation (a new listener address) reaches self:peer:update only after
    // libp2p's one-second debounce; members probing us meanwhile would dial the old claim.
    this.#components.events.addEventListener('transport:listening', this.#onSelfUpdate);
    this.#components.events.addEventListener('transport:close', this.#onSelfUpdate);
    for (const connection of this.#components.connectionManager.getConnections()) this.#watch(connection);
    this.#arm();
  }

  #newCore(incarnation: number): void {
    this.#meta = { ...this.#meta, addrs: this.#listenAddrs() };
    this.#core = new MembershipCore({
      self: { id: this.#selfId, meta: this.#meta, incarnation },
      profile: this.profile,
      now: () => Date.now(),
      random: () => Math.random(),
      signer: this.#signer,
      connected: (id) => this.#openConnections.has(id)
    });
    this.#leaving = undefined;
    this.#newcomers.clear();
  }

  /** Stops without leaving: to the others this is a crash. Call leave() first to say goodbye. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
    if (this.#tickPending !== undefined) clearImmediate(this.#tickPending);
    this.#tickPending = undefined;
    this.#components.events.removeEventListener('connection:open', this.#onConnectionOpen);
    this.#components.events.removeEventListener('self:peer:update', this.#onSelfUpdate);
    this.#components.events.removeEventListener('transport:listening', this.#onSelfUpdate);
    this.#components.events.removeEventListener('transport:close', this.#onSelfUpdate);
    this.#whenLeft?.();
    const stopped = new Error('the membership service stopped');
    for (const channel of this.#channels.values()) {
      channel.queue.length = 0;
      channel.stream?.abort(stopped);
    }
    this.#channels.clear();
    for (const stream of this.#inbound) stream.abort(stopped);
    this.#inbound.clear();
    await this.#components.registrar.unhandle(MEMBERSHIP_PROTOCOL_ID);
  }

  isStarted(): boolean {
    return this.#running;
  }

  get meta(): MemberMeta {
    return this.#meta;
  }

  join(seeds: readonly MembershipSeed[]): void {
    if (!this.#running) throw new NotStartedError('the membership service is not started');
    // The node listens by now: others must learn addresses they can dial us at.
    this.#refreshAddrs();
    const valid: Seed[] = [];
    for (const seed of seeds) {
      if (seed.peerId === this.#selfId) continue;
      try {
        peerIdFromString(seed.peerId);
      } catch {
        this.#log('skipping a seed with a malformed peer ID');
        continue;
      }
      valid.push({ id: seed.peerId, addrs: seed.addrs.map(withoutPeerId) });
    }
    if (this.#core?.left === true) {
      // Back after a leave: the others remember our leave claim, which only a newer incarnation outranks.
      this.#newCore(Math.max(Math.floor(Date.now() / 1000), this.#core.stats.incarnation + 1));
      this.#arm();
    }
    if (valid.length > 0) this.#input({ type: 'join', seeds: valid });
  }

  leave(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  updateMeta(partial: MembershipMetaInit): void {
    const meta: MemberMeta = {
      nick: partial.nick ?? this.#meta.nick,
      addrs: this.#meta.addrs,
      rooms: partial.rooms !== undefined ? [...partial.rooms] : this.#meta.rooms,
      version: partial.version ?? this.#meta.version
    };
    // Checked here, not by the core: a throw from inside core.handle would lose the
    // outputs of the timers it ran first.
    const problem = metaProblem(meta);
    if (problem !== undefined) throw new MembershipInputError(problem);
    this.#setMeta(meta);
  }

  members(): MemberView[] {
    return this.#core?.members() ?? [];
  }

  stats(): MembershipServiceStats {
    const core = this.#core?.stats ?? { rejectedClaims: 0, refutations: 0, health: 0, incarnation: 0 };
    return {
      ...core, badFrames: this.#badFrames, droppedSends: this.#droppedSends, unreachable: this.#unreachable,
      rateLimitedFrames: this.#rateLimitedFrames, sentFrames: this.#sentFrames, sentBytes: this.#sentBytes,
      receivedFrames: this.#receivedFrames, receivedBytes: this.#receivedBytes
    };
  }

  // ---------------------------------------------------------------- the core

  /** Feeds one input to the core and carries out what it asks. */
  #input(input: MembershipInput): void {
    const core = this.#core;
    if (core === undefined || !this.#running) return;
    let outputs: MembershipOutput[];
    try {
      outputs = core.handle(input);
    } catch (err) {
      this.#log.error('the membership core failed on a %s input - %e', input.type, err);
      this.#arm();
      return;
    }
    let membersChanged = false;
    for (const output of outputs) {
      if (output.type === 'send') {
        this.#send(output.to, output.message);
      } else if (output.type === 'event') {
        membersChanged = true;
        if (output.event.type === 'member-failed') this.#hangUp(output.event.peerId);
        if (output.arrival) this.#welcome(output.event.peerId);
        this.safeDispatchEvent(output.event.type, { detail: output.event });
      } else {
        this.#whenLeft?.();
      }
    }
    this.#arm();
    if (membersChanged) this.#queueConnectivityCheck();
  }

  /** One timer, always at the core's next deadline. */
  #arm(): void {
    // A tick is about to run and will arm the timer after it.
    if (this.#tickPending !== undefined) return;
    const at = this.#running ? this.#core?.nextDeadline() : undefined;
    if (at === this.#timerAt && (at === undefined || this.#timer !== undefined)) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = setTimeout(this.#wake, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, at - Date.now())));
  }

  /**
   * The timer fires in the event loop's timers phase, before the sockets are read. On a
   * busy host the timer is late and an ack may already be waiting unread, so the tick runs
   * in the check phase (setImmediate), after this turn's I/O has reached the core.
   */
  readonly #wake = (): void => {
    this.#timer = undefined;
    this.#timerAt = undefined;
    this.#tickPending ??= setImmediate(this.#tick);
  };

  readonly #tick = (): void => {
    this.#tickPending = undefined;
    this.#input({ type: 'tick' });
    if (Date.now() >= this.#nextConnectivityCheck) this.#checkConnectivity();
  };

  #setMeta(meta: MemberMeta): void {
    if (sameMeta(meta, this.#meta)) return;
    this.#meta = meta;
    // Before start only the stored metadata changes; start() announces it.
    this.#input({ type: 'update-meta', meta });
  }

  /** Our listen addresses as a claim carries them: no /p2p/ suffix, valid, loopback last. */
  #listenAddrs(): string[] {
    const addrs: string[] = [];
    for (const ma of this.#components.addressManager.getAddresses()) {
      const addr = withoutPeerId(ma.toString());
      if (addrs.includes(addr) || metaProblem({ ...this.#meta, addrs: [addr] }) !== undefined) continue;
      addrs.push(addr);
    }
    // Only MAX_ADDRS fit in a claim, and other hosts cannot use a loopback address.
    return [...addrs.filter((a) => !isLoopback(a)), ...addrs.filter(isLoopback)].slice(0, MAX_ADDRS);
  }

  #refreshAddrs(): void {
    const addrs = this.#listenAddrs();
    if (!sameList(addrs, this.#meta.addrs)) this.#setMeta({ ...this.#meta, addrs });
  }

  readonly #onSelfUpdate = (): void => {
    if (this.#running && this.#leaving === undefined) this.#refreshAddrs();
  };

  readonly #onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    this.#watch(evt.detail);
  };

  /**
   * When the last connection to a peer ends, the core probes it at once, and a failed
   * probe counts as "unreachable" evidence (short suspicion timeouts). So only a
   * connection the other side ended counts (closed, reset, or failed under us: libp2p's
   * 'peer:disconnect' cannot tell). One we closed ourselves says nothing probing would not
   * find out: the connection monitor aborts a connection whose ping timed out, which a
   * slow peer also causes, and the connection manager prunes connections to live peers.
   */
  #watch(connection: Connection): void {
    const remote = connection.remotePeer.toString();
    this.#openConnections.set(remote, (this.#openConnections.get(remote) ?? 0) + 1);
    connection.addEventListener('close', (evt: StreamCloseEvent) => {
      const left = (this.#openConnections.get(remote) ?? 1) - 1;
      if (left > 0) this.#openConnections.set(remote, left);
      else this.#openConnections.delete(remote);
      if (!this.#running) return;
      this.#queueConnectivityCheck();
      if (evt.local) return;
      const peer = connection.remotePeer;
      // libp2p drops a closed connection from its table before this listener runs.
      if (this.#components.connectionManager.getConnections(peer).some((c) => c.status === 'open')) return;
      this.#input({ type: 'connection-lost', peerId: peer.toString() });
    }, { once: true });
  }

  // ---------------------------------------------------------------- leaving

  async #leave(): Promise<void> {
    let resolveLeft = (): void => {};
    const left = new Promise<void>((resolve) => {
      resolveLeft = resolve;
    });
    this.#whenLeft = resolveLeft;
    const timer = setTimeout(resolveLeft, this.profile.leaveTimeout + LEAVE_MARGIN_MS);
    // Nobody to tell: the core would only wait out its leaveTimeout.
    const alone = (this.#core?.liveCount ?? 1) <= 1;
    this.#input({ type: 'leave' });
    if (alone) resolveLeft();
    try {
      await left;
    } finally {
      clearTimeout(timer);
      this.#whenLeft = undefined;
    }
    await this.#flush(LEAVE_FLUSH_TIMEOUT_MS);
  }

  /** Waits until what we have sent is written out (streams opened, buffers flushed), at most `timeoutMs`. */
  async #flush(timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    const channels = [...this.#channels.values()];
    const opening = channels.flatMap((channel) => (channel.opening === undefined ? [] : [channel.opening]));
    await Promise.race([Promise.allSettled(opening), untilAborted(signal)]);
    await Promise.allSettled(channels.map(async (channel) => channel.stream?.close({ signal })));
  }

  // ---------------------------------------------------------------- sending

  #send(to: MemberId, message: Message): void {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(encodeMessage(message));
    } catch (err) {
      this.#log.error('could not encode a %s message - %e', message.type, err);
      return;
    }
    let channel = this.#channels.get(to);
    if (channel === undefined) {
      channel = { stream: undefined, opening: undefined, queue: [] };
      this.#channels.set(to, channel);
    }
    if (channel.stream !== undefined) {
      if (this.#write(channel.stream, frame)) return;
      channel.stream = undefined;
    }
    if (channel.queue.length >= MAX_QUEUED_FRAMES) {
      this.#droppedSends++;
      return;
    }
    channel.queue.push(frame);
    if (channel.opening === undefined) {
      const opened = channel;
      opened.opening = this.#open(to, opened).finally(() => {
        opened.opening = undefined;
      });
    }
  }

  /** Writes a frame; false if the stream is unusable (closed or failed) and must be replaced. */
  #write(stream: Stream, frame: Uint8Array): boolean {
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return false;
    if (stream.writeBufferLength + frame.length > MAX_UNSENT_BYTES) {
      this.#droppedSends++;
      return true;
    }
    try {
      stream.send(frame);
      this.#sentFrames++;
      this.#sentBytes += frame.length;
      return true;
    } catch (err) {
      this.#log('a membership stream failed on write - %e', err);
      return false;
    }
  }

  /** Opens the stream to `to` (dialling if needed) and sends what queued meanwhile. Never rejects. */
  async #open(to: MemberId, channel: Channel): Promise<void> {
    let stream: Stream;
    try {
      const options = { signal: AbortSignal.timeout(this.#dialTimeout), runOnLimitedConnection: true };
      // On the connection already there, even a limited one: dialling the claimed addresses
      // would open a second circuit through the relay to a member behind a NAT.
      const existing = usableConnection(this.#components.connectionManager.getConnections(peerIdFromString(to)));
      stream = existing !== undefined
        ? await existing.newStream(MEMBERSHIP_PROTOCOL_ID, options)
        : await this.#components.connectionManager.openStream(this.#dialTarget(to), MEMBERSHIP_PROTOCOL_ID, options);
    } catch (err) {
      channel.queue.length = 0;
      if (this.#channels.get(to) === channel) this.#channels.delete(to);
      if (!this.#running) return;
      this.#unreachable++;
      this.#log('could not open a membership stream to %s - %e', to, err);
      this.#input({ type: 'unreachable', peerId: to });
      return;
    }
    if (!this.#running || this.#channels.get(to) !== channel) {
      stream.abort(new Error('the membership service stopped'));
      return;
    }
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined) this.#log('the membership stream to %s failed - %e', to, evt.error);
      if (channel.stream === stream) channel.stream = undefined;
      if (channel.stream === undefined && channel.opening === undefined && channel.queue.length === 0 &&
        this.#channels.get(to) === channel) {
        this.#channels.delete(to);
      }
    });
    channel.stream = stream;
    for (const frame of channel.queue.splice(0)) {
      if (!this.#write(stream, frame)) {
        channel.stream = undefined;
        break;
      }
    }
  }

  /** Where to reach a member: its claimed (or seed) addresses, else whatever libp2p knows of its peer ID. */
  #dialTarget(id: MemberId): PeerId | Multiaddr[] {
    const addrs: Multiaddr[] = [];
    for (const addr of this.#core?.addressesOf(id) ?? []) {
      try {
        addrs.push(multiaddr(`${withoutPeerId(addr)}/p2p/${id}`));
      } catch {
        // A member may claim an address we cannot parse; the others may still do.
      }
    }
    return addrs.length > 0 ? addrs : peerIdFromString(id);
  }

  // ---------------------------------------------------------------- receiving

  /** A peer's stream of frames to us; it lives as long as the peer keeps it open. */
  readonly #onStream = (stream: Stream, connection: Connection): void => {
    if (!this.#running) {
      stream.abort(new Error('the membership service is not running'));
      return;
    }
    const from = connection.remotePeer.toString();
    const decoder = new FrameDecoder(MAX_MESSAGE_BYTES);
    const onMessage = (evt: StreamMessageEvent): void => {
      const data = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray();
      // Counted as they arrive: bytes a peer sends cost us bandwidth whatever becomes of them.
      this.#receivedBytes += data.length;
      let payloads: Uint8Array[];
      try {
        payloads = decoder.push(data);
      } catch (err) {
        // The byte stream cannot be resynchronised after a bad length prefix.
        this.#badFrames++;
        this.#log('closing the membership stream from %s - %e', from, err);
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.#receivedFrames += payloads.length;
      const now = Date.now();
      for (const payload of payloads) {
        if (this.#budgets.take(from, now)) this.#receive(from, payload);
        else this.#rateLimited(from, now);
      }
    };
    this.#inbound.add(stream);
    stream.addEventListener('message', onMessage);
    // The peer is done sending: close our (unused) side too, so the stream is released.
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch(() => stream.abort(new Error('could not close the membership stream')));
    });
    stream.addEventListener('close', () => {
      stream.removeEventListener('message', onMessage);
      this.#inbound.delete(stream);
    });
  };

  #rateLimited(from: MemberId, now: number): void {
    this.#rateLimitedFrames++;
    this.#unloggedRateLimited++;
    if (now - this.#rateLimitLoggedAt < RATE_LIMIT_LOG_INTERVAL_MS) return;
    this.#log.error('dropped %d membership frames over the per-peer rate limit (latest from %s)', this.#unloggedRateLimited, from);
    this.#unloggedRateLimited = 0;
    this.#rateLimitLoggedAt = now;
  }

  #receive(from: MemberId, payload: Uint8Array): void {
    let message: Message;
    try {
      message = decodeMessage(payload);
    } catch (err) {
      this.#badFrames++;
      this.#log('dropped a membership message from %s - %e', from, err);
      return;
    }
    this.#input({ type: 'message', from, message });
  }

  // ---------------------------------------------------------------- connectivity

  #queueConnectivityCheck(): void {
    if (this.#connectivityQueued) return;
    this.#connectivityQueued = true;
    queueMicrotask(() => {
      this.#connectivityQueued = false;
      this.#checkConnectivity();
    });
  }

  /**
   * Keeps connections to at least connectionTarget alive members, preferring members in
   * one of our rooms (those are the gossipsub peers that matter), so that a peer that
   * only knew its seeds gets a mesh, and one whose peers failed gets a new one.
   */
  #checkConnectivity(): void {
    const now = Date.now();
    this.#nextConnectivityCheck = now + CONNECTIVITY_CHECK_INTERVAL_MS;
    // Riding on this once-a-second check: buckets of peers that went quiet are dropped.
    this.#budgets.prune(now);
    const core = this.#core;
    if (!this.#running || core === undefined || this.#leaving !== undefined) return;
    for (const [id, until] of this.#newcomers) {
      if (now >= until) this.#newcomers.delete(id);
    }
    const connected = new Set(this.#components.connectionManager.getConnections().map((c) => c.remotePeer.toString()));
    const inOurRooms: MemberId[] = [];
    const others: MemberId[] = [];
    let count = 0;
    for (const member of core.members()) {
      if (member.state !== 'alive' || member.id === this.#selfId) continue;
      if (connected.has(member.id) || this.#dialing.has(member.id)) count++;
      else if (this.#newcomers.has(member.id)) continue;
      else if (member.meta.rooms.some((room) => this.#meta.rooms.includes(room))) inOurRooms.push(member.id);
      else others.push(member.id);
    }
    if (count >= this.#connectionTarget) return;
    shuffle(Math.random, inOurRooms);
    shuffle(Math.random, others);
    for (const id of [...inOurRooms, ...others].slice(0, this.#connectionTarget - count)) this.#connect(id);
  }

  /**
   * Leaves a member we heard arrive to dial us first. Two members that arrive together hear
   * each other arrive: the one with the greater ID waits twice as long, so that when the
   * waits end they do not both dial.
   */
  #welcome(id: MemberId): void {
    this.#newcomers.set(id, Date.now() + (this.#selfId < id ? NEWCOMER_GRACE_MS : 2 * NEWCOMER_GRACE_MS));
  }

  /**
   * Closes every connection to a member we hold failed. A crashed peer's connections close
   * by themselves, but those to a frozen or cut-off one stay open while it is silent, and
   * gossipsub would keep queueing messages on them; libp2p's connection monitor, which
   * would find them, pings too rarely to matter (see CONNECTION_MONITOR). If the member was
   * only slow, it refutes and members dial it again.
   */
  #hangUp(id: MemberId): void {
    let peer: PeerId;
    try {
      peer = peerIdFromString(id);
    } catch {
      return;
    }
    this.#components.connectionManager.closeConnections(peer).catch((err: unknown) => {
      this.#log('could not close the connections to failed member %s - %e', id, err);
    });
  }

  #connect(id: MemberId): void {
    this.#dialing.add(id);
    void (async () => {
      try {
        await this.#components.connectionManager.openConnection(this.#dialTarget(id), { signal: AbortSignal.timeout(this.#dialTimeout) });
      } catch (err) {
        // Probing will find out whether it is gone; the next check picks someone else.
        this.#log('could not connect to member %s - %e', id, err);
      } finally {
        this.#dialing.delete(id);
      }
    })();
  }
}
