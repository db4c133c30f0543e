/**
 * The membership protocol: SWIM with the Lifeguard refinements, as a pure state machine.
 * No libp2p, no timers, no I/O: the clock, randomness and signatures are injected, and
 * every call to `handle` returns the messages to send and the events to report. The
 * libp2p service and the simulator drive the same code.
 *
 * The protocol in one paragraph: every probeInterval this member pings the next member of
 * a shuffled round-robin; without an ack in probeTimeout it asks k others to ping it
 * (ping-req) and retries directly; if nobody relays an ack it suspects the member, and
 * unless the suspect refutes with a newer incarnation (it hears of the suspicion at once,
 * piggybacked on everything sent to it) the suspicion times out and the member is dead.
 * News travels piggybacked on probes and in gossip messages, each update a bounded number
 * of times; a periodic digest sync with a random member repairs whatever gossip missed.
 * Lifeguard adds local health awareness, nacks, suspicion timeouts that shrink with
 * independent confirmations, and the buddy system. This implementation adds three uses
 * of information SWIM ignores: a lost connection starts a probe at once (and a refused
 * dial makes the suspicion "unreachable", with shorter timeouts); members that hear of a
 * suspicion sometimes probe the suspect themselves; and a pause of this process (a late
 * call) shifts its timers instead of letting them all fire. And, as Serf does on top of
 * memberlist, it keeps trying members it saw fail, so that a healed partition heals.
 */
import {
  MAX_DIGESTS_PER_MESSAGE, MAX_INCARNATION, MAX_SEQ, MAX_UPDATES_PER_MESSAGE, SYNC_CHUNK_BYTES, SYNC_LEAF_MEMBERS,
  SYNC_MAX_DEPTH, SYNC_MAX_STEPS
} from './constants.ts';
import { Awareness } from './awareness.ts';
import { BroadcastQueue } from './broadcast-queue.ts';
import { createAliveClaim, createLeaveClaim, sameClaim, verifyAliveClaim, verifyLeaveClaim } from './claims.ts';
import type { Signer } from './claims.ts';
import { metaProblem, memberIdProblem, updateSize } from './codec.ts';
import { bucketKey, computeDigests, forEachInBucket } from './digest.ts';
import { MemberIndex } from './member-index.ts';
import { ALIVE, DEAD, LEFT, MemberTable, STATE_NAMES, SUSPECT, isLive } from './member-table.ts';
import type { AliveClaim, LeaveClaim, MemberEvent, MemberEventType, MemberId, MemberMeta, MemberView } from './member.ts';
import type { Evidence, Message, SyncDigest, SyncWant, Update } from './messages.ts';
import { retransmitLimit, suspicionBounds } from './profiles.ts';
import type { MembershipProfile } from './profiles.ts';
import type { RandomSource } from './random.ts';
import { randomInt, shuffle } from './random.ts';
import { Suspicion } from './suspicion.ts';
import { TimerQueue } from './timer-queue.ts';
import type { TimerEntry } from './timer-queue.ts';

export interface MembershipCoreInit {
  /** This member: its peer ID, its metadata, and (optionally) the incarnation to start at. */
  readonly self: { readonly id: MemberId, readonly meta: MemberMeta, readonly incarnation?: number };
  readonly profile: MembershipProfile;
  /** The clock, in milliseconds; read once per `handle`. */
  readonly now: () => number;
  /** A float in [0, 1), like Math.random. */
  readonly random: RandomSource;
  readonly signer: Signer;
  /** Handles for member IDs; pass one shared index to many cores (the simulator). */
  readonly memberIndex?: MemberIndex;
  /**
   * Members to start with, whose claims the caller has already verified (a pre-formed
   * simulated cluster, or a table restored from trusted storage). No events are emitted.
   */
  readonly knownMembers?: readonly AliveClaim[];
  /**
   * Whether we hold a connection to a member. Given, first-hand news and gossip go to
   * connected members when there are any: over libp2p every other target costs a dial and
   * a handshake at both ends, which a peer that has just started (or is starved) cannot
   * afford in the burst of a refutation. Absent (the simulator), every member counts as
   * connected.
   */
  readonly connected?: (id: MemberId) => boolean;
}

export interface Seed {
  readonly id: MemberId;
  readonly addrs: readonly string[];
}

export type MembershipInput =
  /** Time passed: call at `nextDeadline()` (earlier is harmless). */
  | { readonly type: 'tick' }
  /** A decoded message from `from`, the authenticated remote peer. */
  | { readonly type: 'message', readonly from: MemberId, readonly message: Message }
  /** Join (or rejoin) through these seeds, e.g. from the bootstrap API. */
  | { readonly type: 'join', readonly seeds: readonly Seed[] }
  /** Leave gracefully; the core reports `left` when the news is out. */
  | { readonly type: 'leave' }
  /** Our connection to a peer closed or reset: probe it now. */
  | { readonly type: 'connection-lost', readonly peerId: MemberId }
  /** A message to a peer could not be sent: its dial was refused or its stream reset. */
  | { readonly type: 'unreachable', readonly peerId: MemberId }
  /** New metadata for this member (nick, addresses, rooms): a new incarnation. */
  | { readonly type: 'update-meta', readonly meta: MemberMeta };

export type MembershipOutput =
  /** Send `message` to `to`; if the send fails, report `unreachable`. */
  | { readonly type: 'send', readonly to: MemberId, readonly message: Message }
  /**
   * `arrival`: a member-joined learned from the gossip that announces a peer joining (or
   * coming back), not from a sync of the members there before us. The member is new to
   * the cluster, not only to us, and is dialling its own seeds as we hear of it.
   */
  | { readonly type: 'event', readonly event: MemberEvent, readonly arrival: boolean }
  /** The leave has been gossiped: the service may stop. */
  | { readonly type: 'left' };

/** A bad local input (metadata that breaks the rules): nothing changed. */
export class MembershipInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MembershipInputError';
  }
}

export interface MembershipStats {
  /** Alive or leave claims whose signature did not verify (forgeries or corruption). */
  readonly rejectedClaims: number;
  /** This member's incarnation bumps to refute suspicions. */
  readonly refutations: number;
  /** Lifeguard health score (0 is healthy). */
  readonly health: number;
  readonly incarnation: number;
}

type ProbeReason = 'round' | 'reset' | 'suspicion';

interface Probe {
  readonly seq: number;
  readonly target: number;
  readonly targetId: MemberId;
  reason: ProbeReason;
  startedAt: number;
  phase: 'direct' | 'indirect';
  directAt: number;
  endAt: number;
  relays: MemberId[];
  readonly nacked: Set<MemberId>;
  expectedNacks: number;
  /** A send to the target failed outright (refused or reset). */
  unreachable: boolean;
}

interface Relay {
  readonly origin: MemberId;
  readonly originSeq: number;
  readonly target: MemberId;
  readonly nack: boolean;
  nackAt: number;
}

/** How an update reached us: piggybacked or gossiped, in a sync, or in the sync that joins us. */
type Via = 'gossip' | 'sync' | 'join';

type MessageBody = Message extends infer M ? (M extends Message ? Omit<M, 'updates'> : never) : never;

const T_PROBE = 0;
const T_DIRECT = 1;
const T_END = 2;
const T_RELAY = 3;
const T_SUSPICION = 4;
const T_GOSSIP = 5;
const T_SYNC = 6;
const T_REAP = 7;
const T_JOIN = 8;
const T_LEAVE = 9;
const T_RECONNECT = 10;

/** Bounds on state a remote peer can make us hold. */
const MAX_RELAYS = 1024;
/** Failed members remembered for reconnection; beyond this the longest-failed are forgotten. */
const MAX_FAILED = 4096;
const MAX_SYNC_MEMOS = 8;
const EMPTY_DIGEST = { hash: 0, count: 0 };

/** Orders claims about one member: a higher incarnation wins, then left > dead > suspect > alive. */
function precedence(incarnation: number, state: number): number {
  const rank = state === LEFT ? 3 : state === DEAD ? 2 : state === SUSPECT ? 1 : 0;
  return incarnation * 4 + rank;
}

export class MembershipCore {
  readonly #profile: MembershipProfile;
  readonly #clock: () => number;
  readonly #random: RandomSource;
  readonly #signer: Signer;
  readonly #connected: ((id: MemberId) => boolean) | undefined;
  readonly #selfId: MemberId;
  readonly #table: MemberTable;
  readonly #self: number;
  readonly #awareness: Awareness;
  readonly #queue = new BroadcastQueue();
  readonly #timers = new TimerQueue();
  readonly #probes = new Map<number, Probe>();
  readonly #probing = new Map<number, Probe>();
  readonly #relays = new Map<number, Relay>();
  readonly #suspicions = new Map<number, Suspicion>();
  readonly #syncMemos = new Map<string, Map<number, number>>();
  readonly #seeds = new Map<MemberId, readonly string[]>();
  /**
   * Members we saw fail (dead, not left), oldest first, with the addresses they last
   * claimed: reconnection targets until they come back, leave, or reconnectTimeout passes,
   * also after the table has forgotten them (deadRetention).
   */
  readonly #failed = new Map<MemberId, { readonly addrs: readonly string[], readonly since: number }>();

  #incarnation: number;
  #meta: MemberMeta;
  #claim: AliveClaim;
  #phase: 'running' | 'leaving' | 'left' = 'running';
  /** The session of our join: its replies (maybe many chunks) are the initial state, not news. */
  #joinSession: number | undefined;
  #joined = false;
  #seq: number;
  #out: MembershipOutput[] = [];
  #now = 0;
  #expectedWake: number | undefined;
  #nextProbeAt: number | undefined;
  #nextGossipAt: number | undefined;
  #nextSyncAt: number | undefined;
  #nextReapAt: number | undefined;
  #nextJoinAt: number | undefined;
  #nextReconnectAt: number | undefined;
  #leaveAt: number | undefined;
  /** Something was queued for broadcast during this call: gossip it now (eager push). */
  #news = false;
  #rejectedClaims = 0;
  #refutations = 0;

  constructor(init: MembershipCoreInit) {
    const idProblem = memberIdProblem(init.self.id);
    if (idProblem !== undefined) throw new MembershipInputError(idProblem);
    const problem = metaProblem(init.self.meta);
    if (problem !== undefined) throw new MembershipInputError(problem);
    this.#profile = init.profile;
    this.#clock = init.now;
    this.#random = init.random;
    this.#signer = init.signer;
    this.#connected = init.connected;
    this.#selfId = init.self.id;
    this.#meta = init.self.meta;
    this.#incarnation = Math.min(MAX_INCARNATION, Math.max(0, Math.floor(init.self.incarnation ?? 0)));
    this.#awareness = new Awareness(init.profile.lifeguard ? init.profile.awarenessMax : 1);
    this.#table = new MemberTable(init.memberIndex ?? new MemberIndex(), init.random);
    this.#seq = randomInt(init.random, MAX_SEQ);
    this.#claim = createAliveClaim(this.#signer, this.#selfId, this.#incarnation, this.#meta);
    this.#self = this.#table.add(this.#claim);
    for (const claim of init.knownMembers ?? []) {
      if (claim.id !== this.#selfId && this.#table.lookup(claim.id) < 0) this.#table.add(claim);
    }
    const now = this.#clock();
    this.#now = now;
    // Random phases, so that members started together do not probe and sync in lockstep.
    this.#setProbeAt(now + this.#random() * init.profile.probeInterval);
    this.#setSyncAt(now + this.#random() * init.profile.pushPullInterval);
    this.#setReapAt(now + init.profile.deadRetention / 4);
    this.#setReconnectAt(now + this.#random() * init.profile.reconnectInterval);
    this.#expectedWake = this.nextDeadline();
  }

  /** This member's ID. */
  get id(): MemberId {
    return this.#selfId;
  }

  get stats(): MembershipStats {
    return {
      rejectedClaims: this.#rejectedClaims,
      refutations: this.#refutations,
      health: this.#awareness.score,
      incarnation: this.#incarnation
    };
  }

  /** Processes one input and returns what to send and report, in order. */
  handle(input: MembershipInput): MembershipOutput[] {
    const out: MembershipOutput[] = [];
    if (this.#phase === 'left') return out;
    this.#out = out;
    const now = this.#clock();
    this.#now = now;
    this.#detectPause(now);
    // Only a tick concludes anything from a deadline. A message handled late by a busy
    // process may have arrived in time (the ack sitting unread while this process was
    // starved): it is heard first, and the deadline is judged at the next tick, which the
    // driver schedules after the input it has already received (Lifeguard: a slow member
    // must not accuse others because of its own slowness).
    if (input.type === 'tick') this.#runTimers(now);
    if (!this.#hasLeft()) {
      this.#apply(input);
      this.#flushGossip();
    }
    this.#expectedWake = this.nextDeadline();
    this.#out = [];
    return out;
  }

  /** When `handle({ type: 'tick' })` is next due; undefined once the member has left. */
  nextDeadline(): number | undefined {
    for (;;) {
      const top = this.#timers.peek();
      if (!top) return undefined;
      if (this.#isCurrent(top)) return top.at;
      this.#timers.pop();
    }
  }

  /** Every member known, this one included. */
  members(): MemberView[] {
    const views: MemberView[] = [];
    this.#table.forEachKnown((handle) => {
      const view = this.#view(handle);
      if (view) views.push(view);
    });
    return views;
  }

  member(id: MemberId): MemberView | undefined {
    const handle = this.#table.lookup(id);
    return handle < 0 ? undefined : this.#view(handle);
  }

  /** Where to reach a member or a seed: its claimed listen addresses. */
  addressesOf(id: MemberId): readonly string[] {
    const handle = this.#table.lookup(id);
    const claim = handle < 0 ? undefined : this.#table.claim(handle);
    return claim?.meta.addrs ?? this.#seeds.get(id) ?? this.#failed.get(id)?.addrs ?? [];
  }

  /** Live members (alive or suspect), this one included: the N of the protocol's formulas. */
  /** Whether this member has left: it then ignores every input, and a rejoin needs a new core. */
  get left(): boolean {
    return this.#hasLeft();
  }

  get liveCount(): number {
    return this.#table.liveCount;
  }

  #view(handle: number): MemberView | undefined {
    const state = this.#table.state(handle);
    if (state === 0) return undefined;
    const claim = this.#table.claim(handle);
    return {
      id: this.#table.index.idAt(handle),
      state: STATE_NAMES[state],
      incarnation: this.#table.incarnation(handle),
      meta: claim?.meta ?? { nick: '', addrs: [], rooms: [], version: '' },
      rtt: this.#table.rtt(handle),
      since: this.#table.since(handle)
    };
  }

  // ---------------------------------------------------------------- inputs

  #apply(input: MembershipInput): void {
    switch (input.type) {
      case 'tick':
        return;
      case 'message':
        if (input.from !== this.#selfId) this.#onMessage(input.from, input.message);
        return;
      case 'join':
        this.#join(input.seeds);
        return;
      case 'leave':
        this.#leave();
        return;
      case 'connection-lost':
        this.#onConnectionLost(input.peerId);
        return;
      case 'unreachable':
        this.#onUnreachable(input.peerId);
        return;
      case 'update-meta':
        this.#updateMeta(input.meta);
    }
  }

  #knownLive(id: MemberId): boolean {
    const handle = this.#table.lookup(id);
    return handle >= 0 && isLive(this.#table.state(handle));
  }

  #onMessage(from: MemberId, message: Message): void {
    if (this.#phase === 'leaving') {
      if (message.type === 'ping' && message.target === this.#selfId) this.#send(from, { type: 'ack', seq: message.seq });
      return;
    }
    // A join reaches a seed as a sync opening that carries the newcomer's own claim. The seed
    // is the first to know and, unlike the newcomer, already connected to the cluster: it
    // announces the newcomer for it.
    const joining = message.type === 'sync' && message.step === 0 && !this.#knownLive(from);
    for (const update of message.updates) this.#applyUpdate(update, 'gossip');
    if (joining && this.#knownLive(from)) {
      const handle = this.#table.lookup(from);
      const claim = this.#table.claim(handle);
      if (claim !== undefined) this.#announce({ kind: 'alive', claim }, handle);
    }
    switch (message.type) {
      case 'ping':
        if (message.target === this.#selfId) this.#send(from, { type: 'ack', seq: message.seq });
        return;
      case 'ack':
        this.#onAck(from, message.seq);
        return;
      case 'nack':
        this.#onNack(from, message.seq);
        return;
      case 'ping-req':
        this.#onPingReq(from, message.seq, message.target, message.nack);
        return;
      case 'gossip':
        return;
      case 'sync':
        this.#onSync(from, message);
    }
  }

  #join(seeds: readonly Seed[]): void {
    if (this.#phase !== 'running') return;
    for (const seed of seeds) if (seed.id !== this.#selfId) this.#seeds.set(seed.id, seed.addrs);
    if (this.#seeds.size === 0) return;
    // A re-join (the peer calls join at every lease renewal) is there to heal a split from
    // the seeds: once joined, with every seed a live member, there is nothing to heal.
    if (this.#joined && seeds.every((seed) => seed.id === this.#selfId || this.#knownLive(seed.id))) return;
    this.#joinSession = randomInt(this.#random, MAX_SEQ);
    this.#joined = false;
    this.#sendJoin();
  }

  #sendJoin(): void {
    const session = this.#joinSession;
    if (session === undefined || this.#joined) return;
    const root = computeDigests(this.#table, [{ depth: 0, prefix: 0 }], false).get(bucketKey(0, 0)) ?? EMPTY_DIGEST;
    // A few seeds at a time (a fresh random few at each retry): each one that learns of us
    // announces us to announceNodes members, and each costs us a dial while we start.
    const seeds = [...this.#seeds.keys()];
    shuffle(this.#random, seeds);
    for (const seed of seeds.slice(0, this.#profile.joinSeeds)) {
      // Our own claim rides along whatever the queue holds: the seed must learn who we are.
      const updates = [{ kind: 'alive', claim: this.#claim } as const, ...this.#takeUpdates(this.#profile.piggybackBytes)];
      this.#emitSend(seed, {
        type: 'sync', session, step: 0, digests: [{ depth: 0, prefix: 0, ...root }], want: [], entries: [], updates
      });
    }
    this.#nextJoinAt = this.#now + this.#profile.joinRetryInterval;
    this.#timers.push(this.#nextJoinAt, T_JOIN, 0);
  }

  #leave(): void {
    if (this.#phase !== 'running') return;
    this.#phase = 'leaving';
    const claim = createLeaveClaim(this.#signer, this.#selfId, this.#incarnation);
    this.#broadcast(this.#selfId, { kind: 'left', claim });
    this.#announce({ kind: 'left', claim });
    this.#nextProbeAt = undefined;
    this.#nextSyncAt = undefined;
    this.#nextJoinAt = undefined;
    this.#nextReconnectAt = undefined;
    this.#leaveAt = this.#now + this.#profile.leaveTimeout;
    this.#timers.push(this.#leaveAt, T_LEAVE, 0);
  }

  #updateMeta(meta: MemberMeta): void {
    const problem = metaProblem(meta);
    if (problem !== undefined) throw new MembershipInputError(problem);
    if (this.#phase !== 'running') return;
    this.#meta = meta;
    this.#newIncarnation(this.#incarnation + 1);
  }

  #onConnectionLost(peerId: MemberId): void {
    if (this.#phase !== 'running') return;
    const handle = this.#table.lookup(peerId);
    if (handle < 0 || handle === this.#self || !isLive(this.#table.state(handle))) return;
    const probe = this.#probing.get(handle);
    if (!probe) {
      this.#startProbe(handle, 'reset');
      return;
    }
    probe.reason = 'reset';
    if (probe.phase === 'direct') this.#goIndirect(probe);
  }

  #onUnreachable(peerId: MemberId): void {
    const handle = this.#table.lookup(peerId);
    const probe = handle < 0 ? undefined : this.#probing.get(handle);
    if (probe) {
      probe.unreachable = true;
      if (probe.phase === 'direct') this.#goIndirect(probe);
      else if (probe.relays.length > 0 && probe.nacked.size === probe.relays.length) this.#probeFailed(probe);
    }
    for (const [seq, relay] of this.#relays) {
      if (relay.target !== peerId) continue;
      this.#relays.delete(seq);
      if (relay.nack) this.#send(relay.origin, { type: 'nack', seq: relay.originSeq });
    }
  }

  // ---------------------------------------------------------------- probing

  #startProbe(target: number, reason: ProbeReason): void {
    const m = this.#awareness.multiplier;
    const seq = this.#nextSeq();
    const probe: Probe = {
      seq, target, targetId: this.#table.index.idAt(target), reason, startedAt: this.#now,
      phase: 'direct', directAt: this.#now + this.#profile.probeTimeout * m, endAt: Number.NaN,
      relays: [], nacked: new Set(), expectedNacks: 0, unreachable: false
    };
    this.#probes.set(seq, probe);
    this.#probing.set(target, probe);
    this.#send(probe.targetId, { type: 'ping', seq, target: probe.targetId });
    // A reset connection will most likely refuse the redial: ask the relays at once.
    if (reason === 'reset') this.#goIndirect(probe);
    else this.#timers.push(probe.directAt, T_DIRECT, seq);
  }

  #goIndirect(probe: Probe): void {
    probe.phase = 'indirect';
    const m = this.#awareness.multiplier;
    const relays = this.#table.randomLive(this.#profile.indirectChecks, (h) => h === this.#self || h === probe.target);
    probe.relays = relays.map((h) => this.#table.index.idAt(h));
    const nack = this.#profile.lifeguard;
    probe.expectedNacks = nack ? relays.length : 0;
    for (const relay of probe.relays) this.#send(relay, { type: 'ping-req', seq: probe.seq, target: probe.targetId, nack });
    // A second direct attempt: on a lossy link it is as good as another relay.
    if (probe.reason !== 'reset' && !probe.unreachable) this.#send(probe.targetId, { type: 'ping', seq: probe.seq, target: probe.targetId });
    probe.endAt = this.#now + this.#profile.indirectTimeout * m;
    this.#timers.push(probe.endAt, T_END, probe.seq);
  }

  #endProbe(probe: Probe): void {
    this.#probes.delete(probe.seq);
    if (this.#probing.get(probe.target) === probe) this.#probing.delete(probe.target);
  }

  #onAck(from: MemberId, seq: number): void {
    const probe = this.#probes.get(seq);
    if (probe && (from === probe.targetId || probe.relays.includes(from))) {
      this.#endProbe(probe);
      if (from === probe.targetId && probe.phase === 'direct') this.#table.setRtt(probe.target, this.#now - probe.startedAt);
      if (probe.reason === 'round') this.#awareness.apply(-1);
      return;
    }
    const relay = this.#relays.get(seq);
    if (relay && from === relay.target) {
      this.#relays.delete(seq);
      this.#send(relay.origin, { type: 'ack', seq: relay.originSeq });
    }
  }

  #onNack(from: MemberId, seq: number): void {
    const probe = this.#probes.get(seq);
    if (!probe || !probe.relays.includes(from)) return;
    probe.nacked.add(from);
    // Every relay failed too and the target refused us: no ack can come any more.
    if (probe.unreachable && probe.nacked.size === probe.relays.length) this.#probeFailed(probe);
  }

  #onPingReq(from: MemberId, seq: number, target: MemberId, nack: boolean): void {
    if (target === this.#selfId) {
      this.#send(from, { type: 'ack', seq });
      return;
    }
    if (this.#relays.size >= MAX_RELAYS) return;
    const localSeq = this.#nextSeq();
    // The relay's wait is not scaled by our health: a slow relay should miss its nack
    // deadline, so that the prober learns it cannot rely on us.
    const relay: Relay = { origin: from, originSeq: seq, target, nack, nackAt: this.#now + this.#profile.relayTimeout };
    this.#relays.set(localSeq, relay);
    this.#timers.push(relay.nackAt, T_RELAY, localSeq);
    this.#send(target, { type: 'ping', seq: localSeq, target });
  }

  #probeFailed(probe: Probe): void {
    this.#endProbe(probe);
    if (probe.reason === 'round') {
      const missed = probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacked.size : 1;
      this.#awareness.apply(missed);
    }
    const state = this.#table.state(probe.target);
    if (!isLive(state) || this.#table.index.idAt(probe.target) !== probe.targetId) return;
    const evidence: Evidence = probe.reason === 'reset' || probe.unreachable ? 'unreachable' : 'timeout';
    this.#onSuspect(probe.targetId, this.#table.incarnation(probe.target), this.#selfId, evidence, 'gossip');
  }

  // ---------------------------------------------------------------- updates

  #applyUpdate(update: Update, via: Via): void {
    switch (update.kind) {
      case 'alive':
        this.#onAlive(update.claim, via);
        return;
      case 'suspect':
        this.#onSuspect(update.id, update.incarnation, update.from, update.evidence, via);
        return;
      case 'dead':
        // A dead member in someone's sync is only hearsay: suspect it, so that it can
        // refute, rather than declare it dead (memberlist does the same).
        if (via === 'gossip') this.#onDead(update.id, update.incarnation, update.from);
        else this.#onSuspect(update.id, update.incarnation, this.#selfId, 'timeout', via);
        return;
      case 'left':
        this.#onLeft(update.claim, via);
    }
  }

  #onAlive(claim: AliveClaim, via: Via): void {
    const handle = this.#table.lookup(claim.id);
    if (handle === this.#self) {
      // Only an older life of ours can have signed this: outdo it.
      if (this.#phase === 'running' && (claim.incarnation > this.#incarnation ||
        (claim.incarnation === this.#incarnation && !sameClaim(claim, this.#claim)))) {
        this.#refute(claim.incarnation);
      }
      return;
    }
    if (handle >= 0 && claim.incarnation <= this.#table.incarnation(handle)) return;
    if (!verifyAliveClaim(this.#signer, claim)) {
      this.#rejectedClaims++;
      return;
    }
    this.#failed.delete(claim.id);
    if (handle < 0) {
      const added = this.#table.add(claim);
      this.#emit('member-joined', added, via === 'gossip');
      if (via !== 'join') this.#broadcast(claim.id, { kind: 'alive', claim });
      return;
    }
    const before = this.#table.state(handle);
    const oldClaim = this.#table.claim(handle);
    this.#clearSuspicion(handle);
    this.#table.setAlive(handle, claim);
    if (before === DEAD || before === LEFT) this.#emit('member-joined', handle, via === 'gossip');
    else if (before === SUSPECT) this.#emit('member-alive', handle);
    else if (!oldClaim || !sameMeta(oldClaim.meta, claim.meta)) this.#emit('member-updated', handle);
    if (via !== 'join') this.#broadcast(claim.id, { kind: 'alive', claim });
  }

  #onSuspect(id: MemberId, incarnation: number, from: MemberId, evidence: Evidence, via: Via): void {
    const handle = this.#table.lookup(id);
    if (handle < 0 || incarnation < this.#table.incarnation(handle)) return;
    if (handle === this.#self) {
      if (this.#phase === 'running') this.#refute(incarnation);
      return;
    }
    const state = this.#table.state(handle);
    // Hearsay from a sync is not an independent observation.
    const accuser = via === 'gossip' ? from : this.#selfId;
    const existing = this.#suspicions.get(handle);
    if (state === SUSPECT && existing) {
      // A confirmation, even one that names a later incarnation (the suspect has refuted,
      // and someone doubts its new life too). The incarnation we hold stays that of the
      // claim we hold, as in memberlist: raising it here made us drop the signed claim of
      // that later life when it arrived (no newer than what we held), so this suspicion
      // outlived the refutation and failed a live member (bench-membership, 50 processes).
      let news = false;
      if (evidence === 'unreachable' && !existing.unreachable && via === 'gossip') {
        existing.upgrade(suspicionBounds(this.#profile, this.#table.liveCount, true));
        news = true;
      }
      if (existing.confirm(accuser)) news = true;
      if (news) {
        this.#timers.push(existing.deadline(), T_SUSPICION, handle);
        this.#broadcast(id, { kind: 'suspect', id, incarnation, from: accuser, evidence });
      }
      return;
    }
    if (state !== ALIVE) return;
    const unreachable = evidence === 'unreachable' && via === 'gossip';
    const suspicion = new Suspicion(accuser, this.#now, suspicionBounds(this.#profile, this.#table.liveCount, unreachable), unreachable);
    this.#suspicions.set(handle, suspicion);
    this.#table.setSuspect(handle, incarnation, this.#now);
    this.#timers.push(suspicion.deadline(), T_SUSPICION, handle);
    this.#emit('member-suspect', handle);
    const update: Update = { kind: 'suspect', id, incarnation, from: accuser, evidence: unreachable ? 'unreachable' : 'timeout' };
    this.#broadcast(id, update);
    if (!this.#profile.lifeguard) return;
    if (accuser === this.#selfId) {
      // Buddy system: tell the suspect first, so that it can refute while others still doubt
      // (also when the doubt is only hearsay from a sync: it may be stale).
      this.#send(id, { type: 'gossip' });
    } else if (via === 'gossip' && !this.#probing.has(handle) &&
      this.#random() * this.#table.liveCount < this.#profile.suspicionProbes) {
      this.#startProbe(handle, 'suspicion');
    }
  }

  #onDead(id: MemberId, incarnation: number, from: MemberId): void {
    const handle = this.#table.lookup(id);
    if (handle < 0 || incarnation < this.#table.incarnation(handle)) return;
    const state = this.#table.state(handle);
    if (state === DEAD || state === LEFT) return;
    if (handle === this.#self) {
      if (this.#phase === 'running') this.#refute(incarnation);
      return;
    }
    this.#clearSuspicion(handle);
    this.#table.setDead(handle, incarnation, this.#now);
    this.#rememberFailed(id, this.#table.claim(handle)?.meta.addrs ?? []);
    this.#emit('member-failed', handle);
    this.#broadcast(id, { kind: 'dead', id, incarnation, from });
  }

  #onLeft(claim: LeaveClaim, via: Via): void {
    const handle = this.#table.lookup(claim.id);
    if (handle < 0 || claim.incarnation < this.#table.incarnation(handle)) return;
    const state = this.#table.state(handle);
    if (state === LEFT) return;
    if (!verifyLeaveClaim(this.#signer, claim)) {
      this.#rejectedClaims++;
      return;
    }
    if (handle === this.#self) {
      // A leave from an earlier life of ours, replayed: we are back.
      if (this.#phase === 'running') this.#refute(claim.incarnation);
      return;
    }
    this.#clearSuspicion(handle);
    this.#failed.delete(claim.id);
    this.#table.setLeft(handle, claim, this.#now);
    if (state !== DEAD) this.#emit('member-left', handle);
    if (via !== 'join') this.#broadcast(claim.id, { kind: 'left', claim });
  }

  #clearSuspicion(handle: number): void {
    this.#suspicions.delete(handle);
  }

  #refute(accused: number): void {
    this.#refutations++;
    // Being suspected is a hint that we are the slow one (Lifeguard).
    this.#awareness.apply(1);
    this.#newIncarnation(Math.max(this.#incarnation, accused) + 1);
  }

  #newIncarnation(incarnation: number): void {
    this.#incarnation = Math.min(MAX_INCARNATION, incarnation);
    this.#claim = createAliveClaim(this.#signer, this.#selfId, this.#incarnation, this.#meta);
    this.#table.setAlive(this.#self, this.#claim);
    this.#broadcast(this.#selfId, { kind: 'alive', claim: this.#claim });
    this.#announce({ kind: 'alive', claim: this.#claim });
  }

  // ---------------------------------------------------------------- sync

  #onSync(from: MemberId, message: Extract<Message, { type: 'sync' }>): void {
    let via: Via = 'sync';
    if (this.#joinSession !== undefined && message.session === this.#joinSession) {
      via = 'join';
      this.#joined = true;
      this.#nextJoinAt = undefined;
    }
    const memo = this.#syncMemo(`${from}/${message.session}`);
    for (const entry of message.entries) {
      this.#applyUpdate(entry, via);
      const handle = this.#table.lookup(entryId(entry));
      if (handle >= 0) memo.set(handle, Math.max(memo.get(handle) ?? -1, entryPrecedence(entry)));
    }
    if (message.step >= SYNC_MAX_STEPS) return;
    const entries: Update[] = [];
    const want: SyncWant[] = [];
    const digests: SyncDigest[] = [];
    const added = new Set<number>();
    const addBucket = (depth: number, prefix: number, skipKnown: boolean): void => {
      forEachInBucket(this.#table, depth, prefix, (handle) => {
        if (added.has(handle)) return;
        const theirs = memo.get(handle);
        if (skipKnown && theirs !== undefined && theirs >= precedence(this.#table.incarnation(handle), this.#table.state(handle))) return;
        added.add(handle);
        this.#entriesOf(handle, entries);
      });
    };
    for (const bucket of message.want) addBucket(bucket.depth, bucket.prefix, true);
    if (message.digests.length > 0) {
      const mine = computeDigests(this.#table, message.digests, true);
      for (const theirs of message.digests) {
        const own = mine.get(bucketKey(theirs.depth, theirs.prefix)) ?? EMPTY_DIGEST;
        if (own.hash === theirs.hash && own.count === theirs.count) continue;
        if (theirs.depth >= SYNC_MAX_DEPTH || theirs.count <= SYNC_LEAF_MEMBERS || own.count <= SYNC_LEAF_MEMBERS ||
          digests.length + 16 > MAX_DIGESTS_PER_MESSAGE) {
          addBucket(theirs.depth, theirs.prefix, false);
          want.push({ depth: theirs.depth, prefix: theirs.prefix });
          continue;
        }
        for (let child = 0; child < 16; child++) {
          const prefix = theirs.prefix * 16 + child;
          const digest = mine.get(bucketKey(theirs.depth + 1, prefix)) ?? EMPTY_DIGEST;
          digests.push({ depth: theirs.depth + 1, prefix, hash: digest.hash, count: digest.count });
        }
      }
    }
    const step = message.step + 1;
    if (entries.length === 0 && want.length === 0 && digests.length === 0) {
      // Nothing differs, but what we just learned (a refutation, say) should go back at once;
      // and an opening is always answered, so a member re-joining a cluster that already
      // knows all it knows learns that it has joined instead of retrying for ever.
      if (this.#queue.hasFresh || message.step === 0) this.#send(from, { type: 'sync', session: message.session, step, digests, want, entries });
      return;
    }
    // Entries in chunks; the digests and wants go last, after every entry they may cover
    // (the peer answers a want with only what our entries did not already tell it).
    const tail = 12 * digests.length + 6 * want.length;
    let chunk: Update[] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = updateSize(entry);
      if (chunk.length > 0 && (bytes + size > SYNC_CHUNK_BYTES - tail || chunk.length >= MAX_UPDATES_PER_MESSAGE)) {
        // No piggyback on the leading chunks: one message's worth is enough, and a full state
        // in many chunks would spend an update's whole retransmit budget on this one peer.
        this.#send(from, { type: 'sync', session: message.session, step, digests: [], want: [], entries: chunk }, 0);
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += size;
    }
    this.#send(from, { type: 'sync', session: message.session, step, digests, want, entries: chunk });
  }

  #syncMemo(key: string): Map<number, number> {
    let memo = this.#syncMemos.get(key);
    if (!memo) {
      if (this.#syncMemos.size >= MAX_SYNC_MEMOS) this.#syncMemos.delete(this.#syncMemos.keys().next().value!);
      memo = new Map();
      this.#syncMemos.set(key, memo);
    }
    return memo;
  }

  /** What a sync says about one member: its claim, and its doubt or its end if any. */
  #entriesOf(handle: number, out: Update[]): void {
    const state = this.#table.state(handle);
    const id = this.#table.index.idAt(handle);
    if (isLive(state)) {
      const claim = this.#table.claim(handle);
      if (claim) out.push({ kind: 'alive', claim });
      if (state === SUSPECT) out.push({ kind: 'suspect', id, incarnation: this.#table.incarnation(handle), from: this.#selfId, evidence: 'timeout' });
    } else if (state === DEAD) {
      out.push({ kind: 'dead', id, incarnation: this.#table.incarnation(handle), from: this.#selfId });
    } else if (state === LEFT) {
      const claim = this.#table.leaveClaim(handle);
      if (claim) out.push({ kind: 'left', claim });
    }
  }

  #startSync(): void {
    const target = this.#table.randomLive(1, (h) => h === this.#self)[0] ?? -1;
    if (target >= 0) this.#sendSync(this.#table.index.idAt(target), []);
  }

  /** Opens a sync (push-pull) with `to`: our root digest, and `entries` it must hear first. */
  #sendSync(to: MemberId, entries: Update[]): void {
    const root = computeDigests(this.#table, [{ depth: 0, prefix: 0 }], false).get(bucketKey(0, 0)) ?? EMPTY_DIGEST;
    this.#send(to, {
      type: 'sync', session: randomInt(this.#random, MAX_SEQ), step: 0, digests: [{ depth: 0, prefix: 0, ...root }], want: [], entries
    });
  }

  // ---------------------------------------------------------------- reconnection

  #rememberFailed(id: MemberId, addrs: readonly string[]): void {
    this.#failed.delete(id);
    if (this.#failed.size >= MAX_FAILED) this.#failed.delete(this.#failed.keys().next().value!);
    this.#failed.set(id, { addrs, since: this.#now });
  }

  /**
   * Serf's reconnect: SWIM never talks to a member it holds dead again, so after a
   * partition each side would stay dead to the other for good (and after deadRetention
   * forget it). So every reconnectInterval, with probability failed / live (Serf's rule:
   * cluster-wide about one attempt per failed member per interval, however large the
   * cluster), this member opens a sync with one random failed member, its own alive claim
   * first in case the other side has forgotten it. If the member is back, the sync merges
   * the two views: each side's claims (and refutations, as each tells the other it holds
   * it dead) flow both ways, and eager gossip spreads them on each side. A crashed member
   * costs a refused dial per interval until reconnectTimeout.
   */
  #reconnect(): void {
    for (const [id, failed] of this.#failed) {
      if (this.#now - failed.since < this.#profile.reconnectTimeout) break;
      this.#failed.delete(id);
    }
    if (this.#failed.size === 0 || this.#random() * this.#table.liveCount >= this.#failed.size) return;
    let pick = randomInt(this.#random, this.#failed.size);
    for (const id of this.#failed.keys()) {
      if (pick-- > 0) continue;
      this.#sendSync(id, [{ kind: 'alive', claim: this.#claim }]);
      return;
    }
  }

  // ---------------------------------------------------------------- dissemination

  /** News first-hand, straight to announceNodes random live members but `skip` (see the profile). */
  #announce(update: Update, skip = this.#self): void {
    for (const target of this.#randomTargets(this.#profile.announceNodes, (h) => h === this.#self || h === skip)) {
      this.#emitSend(this.#table.index.idAt(target), { type: 'gossip', updates: [update] });
    }
  }

  #broadcast(id: MemberId, update: Update): void {
    this.#queue.enqueue(id, update, updateSize(update));
    this.#news = true;
  }

  #takeUpdates(budget: number): Update[] {
    return this.#queue.take(budget, retransmitLimit(this.#profile, this.#table.liveCount));
  }

  #send(to: MemberId, body: MessageBody, budget = this.#profile.piggybackBytes): void {
    const updates = this.#takeUpdates(budget);
    if (this.#profile.lifeguard) {
      // Whoever we think is suspect or dead hears it from us first, so it can refute.
      const handle = this.#table.lookup(to);
      if (handle >= 0 && handle !== this.#self) {
        const state = this.#table.state(handle);
        const incarnation = this.#table.incarnation(handle);
        if (state === SUSPECT && !updates.some((u) => u.kind === 'suspect' && u.id === to)) {
          updates.unshift({ kind: 'suspect', id: to, incarnation, from: this.#selfId, evidence: 'timeout' });
        } else if (state === DEAD && !updates.some((u) => u.kind === 'dead' && u.id === to)) {
          updates.unshift({ kind: 'dead', id: to, incarnation, from: this.#selfId });
        }
      }
    }
    if (body.type === 'gossip' && updates.length === 0) return;
    this.#emitSend(to, { ...body, updates } as Message);
  }

  #emitSend(to: MemberId, message: Message): void {
    this.#out.push({ type: 'send', to, message });
  }

  /** Up to k random live members but excluded ones: connected ones, if we know of any (see `connected`). */
  #randomTargets(k: number, exclude: (handle: number) => boolean): number[] {
    const connected = this.#connected;
    if (connected !== undefined) {
      const targets = this.#table.randomLive(k, (h) => exclude(h) || !connected(this.#table.index.idAt(h)));
      if (targets.length > 0) return targets;
    }
    return this.#table.randomLive(k, exclude);
  }

  /** Gossip targets: live members, and the recently dead, who may yet refute. */
  #gossipTargets(): number[] {
    const profile = this.#profile;
    const targets = this.#randomTargets(profile.gossipNodes, (h) => h === this.#self);
    if (this.#table.liveCount - 1 < profile.gossipNodes) {
      for (const h of this.#table.gone()) {
        if (targets.length >= profile.gossipNodes) break;
        if (this.#table.state(h) === DEAD && this.#now - (this.#table.since(h) ?? 0) < profile.gossipToTheDead) targets.push(h);
      }
    } else if (this.#random() < 0.1) {
      const dead = this.#table.randomDead((h) => this.#now - (this.#table.since(h) ?? 0) < profile.gossipToTheDead);
      if (dead >= 0) targets[0] = dead;
    }
    return targets;
  }

  #gossip(): void {
    for (const target of this.#gossipTargets()) {
      if (this.#queue.length === 0) break;
      this.#send(this.#table.index.idAt(target), { type: 'gossip' }, this.#profile.gossipBytes);
    }
  }

  /**
   * Eager push: news leaves now, to gossipNodes members, even if a reply already carried
   * it to one; the gossip timer paces the retransmissions.
   */
  #flushGossip(): void {
    if (this.#news) {
      this.#news = false;
      this.#gossip();
    }
    if (this.#phase === 'leaving' && this.#queue.pending(this.#selfId) === undefined) {
      // Our leave has been sent as often as any update is: nothing more to wait for.
      this.#finishLeave();
      return;
    }
    if (this.#queue.length > 0 && this.#nextGossipAt === undefined) {
      this.#nextGossipAt = this.#now + this.#profile.gossipInterval;
      this.#timers.push(this.#nextGossipAt, T_GOSSIP, 0);
    }
  }

  #emit(type: MemberEventType, handle: number, arrival = false): void {
    const claim = this.#table.claim(handle);
    this.#out.push({
      type: 'event',
      event: {
        type, peerId: this.#table.index.idAt(handle), nick: claim?.meta.nick ?? '',
        incarnation: this.#table.incarnation(handle), ts: this.#now
      },
      arrival
    });
  }

  // ---------------------------------------------------------------- timers

  #setProbeAt(at: number): void {
    this.#nextProbeAt = at;
    this.#timers.push(at, T_PROBE, 0);
  }

  #setSyncAt(at: number): void {
    this.#nextSyncAt = at;
    this.#timers.push(at, T_SYNC, 0);
  }

  #setReconnectAt(at: number): void {
    this.#nextReconnectAt = at;
    this.#timers.push(at, T_RECONNECT, 0);
  }

  #setReapAt(at: number): void {
    this.#nextReapAt = at;
    this.#timers.push(at, T_REAP, 0);
  }

  #isCurrent(entry: TimerEntry): boolean {
    switch (entry.kind) {
      case T_PROBE: return this.#nextProbeAt === entry.at;
      case T_DIRECT: {
        const probe = this.#probes.get(entry.key);
        return probe !== undefined && probe.phase === 'direct' && probe.directAt === entry.at;
      }
      case T_END: return this.#probes.get(entry.key)?.endAt === entry.at;
      case T_RELAY: return this.#relays.get(entry.key)?.nackAt === entry.at;
      case T_SUSPICION: return this.#suspicions.get(entry.key)?.deadline() === entry.at;
      case T_GOSSIP: return this.#nextGossipAt === entry.at;
      case T_SYNC: return this.#nextSyncAt === entry.at;
      case T_REAP: return this.#nextReapAt === entry.at;
      case T_JOIN: return this.#nextJoinAt === entry.at;
      case T_LEAVE: return this.#leaveAt === entry.at;
      case T_RECONNECT: return this.#nextReconnectAt === entry.at;
      default: return false;
    }
  }

  #runTimers(now: number): void {
    for (;;) {
      const top = this.#timers.peek();
      if (!top || top.at > now) return;
      this.#timers.pop();
      if (this.#isCurrent(top)) this.#fire(top);
      if (this.#hasLeft()) return;
    }
  }

  #fire(entry: TimerEntry): void {
    const profile = this.#profile;
    switch (entry.kind) {
      case T_PROBE: {
        this.#setProbeAt(this.#now + this.#awareness.scale(profile.probeInterval));
        const target = this.#table.nextProbeTarget((h) => h === this.#self || this.#probing.has(h));
        if (target >= 0) this.#startProbe(target, 'round');
        return;
      }
      case T_DIRECT: {
        const probe = this.#probes.get(entry.key);
        if (probe) this.#goIndirect(probe);
        return;
      }
      case T_END: {
        const probe = this.#probes.get(entry.key);
        if (probe) this.#probeFailed(probe);
        return;
      }
      case T_RELAY: {
        const relay = this.#relays.get(entry.key);
        if (!relay) return;
        this.#relays.delete(entry.key);
        if (relay.nack) this.#send(relay.origin, { type: 'nack', seq: relay.originSeq });
        return;
      }
      case T_SUSPICION: {
        const handle = entry.key;
        this.#suspicions.delete(handle);
        if (this.#table.state(handle) !== SUSPECT) return;
        this.#onDead(this.#table.index.idAt(handle), this.#table.incarnation(handle), this.#selfId);
        return;
      }
      case T_GOSSIP:
        this.#nextGossipAt = undefined;
        this.#gossip();
        this.#flushGossip();
        return;
      case T_SYNC:
        this.#setSyncAt(this.#now + profile.pushPullInterval);
        this.#startSync();
        return;
      case T_REAP:
        this.#setReapAt(this.#now + profile.deadRetention / 4);
        this.#reap();
        return;
      case T_JOIN:
        this.#nextJoinAt = undefined;
        this.#sendJoin();
        return;
      case T_LEAVE:
        this.#finishLeave();
        return;
      case T_RECONNECT:
        this.#setReconnectAt(this.#now + profile.reconnectInterval);
        this.#reconnect();
        return;
    }
  }

  #hasLeft(): boolean {
    return this.#phase === 'left';
  }

  #finishLeave(): void {
    this.#leaveAt = undefined;
    this.#nextGossipAt = undefined;
    this.#phase = 'left';
    this.#timers.clear();
    this.#out.push({ type: 'left' });
  }

  #reap(): void {
    const expired: number[] = [];
    for (const handle of this.#table.gone()) {
      if (this.#now - (this.#table.since(handle) ?? this.#now) >= this.#profile.deadRetention) expired.push(handle);
    }
    for (const handle of expired) this.#table.remove(handle);
  }

  /**
   * Called much later than the deadline we asked for: this process was paused. Every
   * pending deadline moves by the pause, so that what we would have heard during it (it
   * is queued for us now) is heard before any timer concludes anything.
   */
  #detectPause(now: number): void {
    if (!this.#profile.lifeguard || this.#expectedWake === undefined) return;
    const late = now - this.#expectedWake;
    if (late <= this.#profile.pauseThreshold) return;
    for (const probe of this.#probes.values()) {
      probe.startedAt += late;
      probe.directAt += late;
      probe.endAt += late;
    }
    for (const relay of this.#relays.values()) relay.nackAt += late;
    for (const suspicion of this.#suspicions.values()) suspicion.start += late;
    const shift = (at: number | undefined): number | undefined => (at === undefined ? undefined : at + late);
    this.#nextProbeAt = shift(this.#nextProbeAt);
    this.#nextGossipAt = shift(this.#nextGossipAt);
    this.#nextSyncAt = shift(this.#nextSyncAt);
    this.#nextReapAt = shift(this.#nextReapAt);
    this.#nextJoinAt = shift(this.#nextJoinAt);
    this.#nextReconnectAt = shift(this.#nextReconnectAt);
    this.#leaveAt = shift(this.#leaveAt);
    this.#timers.clear();
    const push = (at: number | undefined, kind: number, key: number): void => {
      if (at !== undefined && !Number.isNaN(at)) this.#timers.push(at, kind, key);
    };
    push(this.#nextProbeAt, T_PROBE, 0);
    push(this.#nextGossipAt, T_GOSSIP, 0);
    push(this.#nextSyncAt, T_SYNC, 0);
    push(this.#nextReapAt, T_REAP, 0);
    push(this.#nextJoinAt, T_JOIN, 0);
    push(this.#nextReconnectAt, T_RECONNECT, 0);
    push(this.#leaveAt, T_LEAVE, 0);
    for (const probe of this.#probes.values()) push(probe.phase === 'direct' ? probe.directAt : probe.endAt, probe.phase === 'direct' ? T_DIRECT : T_END, probe.seq);
    for (const [seq, relay] of this.#relays) push(relay.nackAt, T_RELAY, seq);
    for (const [handle, suspicion] of this.#suspicions) push(suspicion.deadline(), T_SUSPICION, handle);
    this.#awareness.apply(1);
  }

  #nextSeq(): number {
    this.#seq = this.#seq >= MAX_SEQ ? 0 : this.#seq + 1;
    return this.#seq;
  }
}

function entryId(update: Update): MemberId {
  return update.kind === 'alive' || update.kind === 'left' ? update.claim.id : update.id;
}

function entryPrecedence(update: Update): number {
  switch (update.kind) {
    case 'alive': return precedence(update.claim.incarnation, ALIVE);
    case 'suspect': return precedence(update.incarnation, SUSPECT);
    case 'dead': return precedence(update.incarnation, DEAD);
    case 'left': return precedence(update.claim.incarnation, LEFT);
  }
}

function sameMeta(a: MemberMeta, b: MemberMeta): boolean {
  const sameList = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.nick === b.nick && a.version === b.version && sameList(a.addrs, b.addrs) && sameList(a.rooms, b.rooms);
}
