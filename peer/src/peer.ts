/**
 * The peer's API: one object that owns the libp2p node, the chat service and the
 * bootstrap lease. The command line, scripts and the JSON stream are all clients of it;
 * none of them touch libp2p directly.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { BootstrapClient, RecordSigner } from '@cli-chat/bootstrap-api';
import type { BootstrapPeer, Config, ConfigPatch, RefillResponse } from '@cli-chat/bootstrap-api';
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from 'pino';
import { acquireDataDirLock, loadOrCreateIdentity } from './identity.ts';
import { createPeerNode } from './node/create-node.ts';
import type { PeerNode } from './node/create-node.ts';
import { parseNick, parseRoomName, parseText } from './chat/codec.ts';
import { graylistedPeers } from './node/gossipsub.ts';
import { AUTHOR_BURST, AUTHOR_RATE } from './chat/constants.ts';
import { BootstrapLease } from './seeding/lease.ts';
import type { LeaseStatus } from './seeding/lease.ts';
import { SeedDialer } from './seeding/dialer.ts';
import type { Seed } from './seeding/dialer.ts';
import { seedsStale } from './seeding/stale.ts';
import { openRememberedStore } from './seeding/remembered-store.ts';
import type { RememberedStore } from './seeding/remembered-store.ts';
import { LanJoin } from './seeding/lan-join.ts';
import { chooseSeeds, joinMessage } from './seeding/seed-source.ts';
import type { SeedChoice, SeedSource } from './seeding/seed-source.ts';
import { canHostLocally, hostLocalBootstrap } from './seeding/local-bootstrap.ts';
import type { HostedBootstrap } from './seeding/local-bootstrap.ts';
import type { PeerEvent, PeerListener } from './events.ts';
import type { RateLimit } from './chat/index.ts';
import type { MemberEventType, MemberState, MemberView, MembershipServiceStats } from './membership/index.ts';
import { VERSION } from './version.ts';
import { DEFAULT_RELAY_OPTIONS, servesWhenPublic } from './node/relay.ts';
import { RESERVATION_WAIT_MS, reservationGate } from './node/reservation-gate.ts';
import { DIAL_BACK_TIMEOUT_MS } from './reach/constants.ts';
import type { RelayOptions } from './node/relay.ts';
import type { ReachabilityChange, ReachInit, ReachView } from './reach/index.ts';
import { describeReachability } from './reach/describe.ts';
import { join } from 'node:path';
import { HistoryStore } from './history/store.ts';
import type { HistoryEntry } from './history/store.ts';
import { Backlog } from './history/backlog.ts';
import { RoomHistory } from './history/room-history.ts';
import { DirectMessages } from './direct/messages.ts';
import { Conversations } from './direct/conversations.ts';
import type { SendOutcome } from './direct/conversations.ts';
import { findMember } from './member-lookup.ts';
import { OncePerPeer } from './wire/once-per-peer.ts';
import { CUT_OFF_FACTOR, CUT_OFF_MS } from './node/constants.ts';
import {
  DEFAULT_BACKLOG, DEFAULT_HISTORY_DAYS, DEFAULT_HISTORY_LIMIT, DEFAULT_REMEMBER_DAYS, DEFAULT_REMEMBER_MEMBERS, DOWNLOADS_DIR, MESSAGE_DB_FILE
} from './config.ts';
import { FileTransfer } from './files/index.ts';
import type { FileTransferStats, PendingOffer, TransferView } from './files/index.ts';
import { DEFAULT_AUTO_ACCEPT_BYTES, DEFAULT_DOWNLOADS_QUOTA_BYTES } from './files/constants.ts';
import { formatBytes } from './files/format.ts';

const MEMBER_EVENT_TYPES: readonly MemberEventType[] = [
  'member-joined', 'member-updated', 'member-suspect', 'member-alive', 'member-left', 'member-failed'
];

export interface PeerOptions {
  nick: string;
  dataDir: string;
  listen: string[];
  bootstrapUrl: string;
  /** Host the local bootstrap server when none answers at a loopback URL. */
  hostBootstrap: boolean;
  mdns: boolean;
  /** Membership timing profile: 'local', 'lan' or 'wan'. */
  membershipProfile: string;
  /** Room to join at start; none when undefined. */
  room?: string;
  /**
   * Step by step: start the node and nothing else. The bootstrap lease, the membership and
   * rooms then wait for bootstrapJoin(), joinMembership() and joinRoom().
   */
  manual?: boolean;
  /** Bearer token for the bootstrap API's admin calls (its config). */
  adminToken?: string;
  /** Messages kept per room and direct conversation. @default DEFAULT_HISTORY_LIMIT */
  historyLimit?: number;
  /** Days messages are kept. @default DEFAULT_HISTORY_DAYS */
  historyDays?: number;
  /** Messages shown from history and asked of members on joining a room. @default DEFAULT_BACKLOG */
  backlog?: number;
  /** How fast each author may send to a room; `false` for no limit. @default 20 a second, 60 at once */
  roomRateLimit?: RateLimit | false;
  /** Largest member's file accepted without asking. @default DEFAULT_AUTO_ACCEPT_BYTES */
  maxFileSize?: number;
  /** Most DATA_DIR/downloads may hold for an offer to be accepted without asking. @default DEFAULT_DOWNLOADS_QUOTA_BYTES */
  downloadsQuota?: number;
  /** Circuit relay: serving as one, and reservations on others. @default DEFAULT_RELAY_OPTIONS (`--relay auto`) */
  relay?: RelayOptions;
  /** Members remembered in DATA_DIR/members.json, tried when the bootstrap API gives no seeds; 0 for none. @default DEFAULT_REMEMBER_MEMBERS */
  rememberMembers?: number;
  /** Days a member not seen is remembered. @default DEFAULT_REMEMBER_DAYS */
  rememberDays?: number;
  /** The reachability check's settings; see ReachInit. */
  reach?: ReachInit;
  log: Logger;
}

/** A layer asked for before the one it stands on: the message names what to do first. */
export class LayerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerError';
  }
}

/** One of the peer's subsystems, as `/show processes` lists them. */
export interface ProcessView {
  name: string;
  state: string;
  detail: string;
}

/** What this peer knows of the bootstrap API. */
export interface BootstrapView {
  url: string;
  /** The lease: 'not started', 'registered', 'full', 'unreachable', 'refused' or 'left'. */
  lease: string;
  /** Whether this peer hosts the local bootstrap server. */
  hosting: boolean;
  /** The bootstrap set in the last answer. */
  set: BootstrapPeer[];
  /** Where the seeds membership joined through came from; null before a join. */
  seedsFrom: SeedSource | null;
  /** Members remembered from earlier runs, for when the API gives no seeds. */
  remembered: number;
}

/** Chat traffic since start. */
export interface ChatCounters {
  sent: number;
  received: number;
  rejected: number;
  /** Peers whose gossipsub score is below the graylist threshold: whatever they send is dropped unread. */
  graylisted: number;
  /** Times a peer was cut off for flooding: disconnected and refused for a minute (node/cut-off.ts). */
  cutOff: number;
}

export interface ConnectionInfo {
  peerId: string;
  addr: string;
  /** The peer's gossipsub score. */
  score: number;
}

function withoutPeerId(addr: string): string {
  return addr.replace(/\/p2p\/[^/]+$/, '');
}

function shortPeerId(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}

/** A member's full multiaddr as a seed; refuses one without its peer ID, which Noise needs to check. */
function seedFromAddr(addr: string): Seed {
  let peerId: string | null;
  try {
    peerId = multiaddr(addr).getComponents().findLast((c) => c.name === 'p2p')?.value ?? null;
  } catch {
    throw new LayerError(`"${addr}" is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo...)`);
  }
  if (peerId === null) throw new LayerError(`"${addr}" has no /p2p/PEER-ID at its end: the peer's identity is needed to dial it`);
  return { peerId, addrs: [withoutPeerId(addr)] };
}

export class Peer {
  private readonly options: PeerOptions;
  private readonly listeners = new Set<PeerListener>();
  private readonly joined: string[] = [];
  private readonly client: BootstrapClient;
  private node: PeerNode | undefined;
  private lease: BootstrapLease | undefined;
  private dialer: SeedDialer | undefined;
  private hosted: HostedBootstrap | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private hosting: Promise<void> | undefined;
  private nickName: string;
  private stopping: Promise<void> | undefined;
  private privateKey: PrivateKey | undefined;
  /** Whether this peer takes part in the membership (and so dials and gossips with members). */
  private inMembership = false;
  private leaseState = 'not started';
  private seeds: BootstrapPeer[] = [];
  /** Settles once this peer may join the membership: see awaitReservation. */
  private reservationWait: Promise<void> | undefined;
  /** Resolved when start() has joined its room: the first claim then carries the room too, not a second claim just after. */
  private markStarted: () => void = () => {};
  private readonly startup = new Promise<void>((resolve) => { this.markStarted = resolve; });
  private readonly counters: Omit<ChatCounters, 'graylisted'> = { sent: 0, received: 0, rejected: 0, cutOff: 0 };
  private readonly cutOffLogged = new OncePerPeer();
  private readonly extraProcesses: (() => ProcessView[])[] = [];
  private store: HistoryStore | undefined;
  private backlog: Backlog | undefined;
  private roomHistory: RoomHistory | undefined;
  private direct: DirectMessages | undefined;
  private conversations: Conversations | undefined;
  private files: FileTransfer | undefined;
  private remembered: RememberedStore | undefined;
  private lan: LanJoin | undefined;
  private seedSource: SeedSource | null = null;
  /** Whether `ready` was emitted. */
  private ready = false;
  /** The relay role's switches, in the order reachability asked for them. */
  private relaySwitching: Promise<void> = Promise.resolve();

  constructor(options: PeerOptions) {
    this.options = options;
    this.nickName = parseNick(options.nick);
    if (options.room !== undefined) parseRoomName(options.room);
    this.client = new BootstrapClient({
      baseUrl: options.bootstrapUrl, timeoutMs: 3000, retries: 1,
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken })
    });
  }

  on(listener: PeerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get peerId(): string {
    return this.started().peerId.toString();
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  get nick(): string {
    return this.nickName;
  }

  /** Full multiaddrs others can dial, each ending in /p2p/<peer ID>. */
  get addrs(): string[] {
    return this.started().getMultiaddrs().map((a) => a.toString());
  }

  /** The room plain lines go to: the most recently joined one still joined. */
  get currentRoom(): string | undefined {
    return this.joined.at(-1);
  }

  rooms(): string[] {
    return [...this.joined];
  }

  /** Every member the membership protocol knows, this peer included. */
  members(): MemberView[] {
    return this.started().services.membership.members();
  }

  /** The membership protocol's counters since start: its traffic, refused input, health. */
  membershipStats(): MembershipServiceStats {
    return this.started().services.membership.stats();
  }

  connections(): ConnectionInfo[] {
    const { pubsub } = this.started().services;
    return this.started().getConnections().map((c) => {
      const peerId = c.remotePeer.toString();
      return { peerId, addr: c.remoteAddr.toString(), score: pubsub.getScore(peerId) };
    });
  }

  /** Rooms other live members announce, with how many are in each (this peer included). */
  knownRooms(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.members()) {
      if (m.state !== 'alive' && m.state !== 'suspect') continue;
      for (const room of m.meta.rooms) counts.set(room, (counts.get(room) ?? 0) + 1);
    }
    return counts;
  }

  get inNetwork(): boolean {
    return this.inMembership;
  }

  chatCounters(): ChatCounters {
    return { ...this.counters, graylisted: graylistedPeers(this.started().services.pubsub).length };
  }

  bootstrap(): BootstrapView {
    return {
      url: this.options.bootstrapUrl, lease: this.leaseState, hosting: this.hosted !== undefined, set: [...this.seeds],
      seedsFrom: this.seedSource, remembered: this.remembered?.members().length ?? 0
    };
  }

  /** The settings this peer runs with, for `/show config`. */
  settings(): Record<string, string> {
    const { options } = this;
    const profile = this.started().services.membership.profile;
    const relay = this.relayOptions();
    return {
      version: VERSION,
      nick: this.nickName,
      'data dir': options.dataDir,
      listen: options.listen.join(' '),
      bootstrap: options.bootstrapUrl,
      'host bootstrap': options.hostBootstrap ? 'yes, when none answers at a loopback URL' : 'no',
      'admin token': options.adminToken === undefined ? 'not set' : 'set',
      'room rate limit': options.roomRateLimit === false ? 'off' : `${options.roomRateLimit?.rate ?? AUTHOR_RATE} a second per author, ${options.roomRateLimit?.burst ?? AUTHOR_BURST} at once`,
      downloads: `${this.downloadsDir()}: members' files up to ${formatBytes(this.maxFileSize())} saved without asking while it holds ` +
        `under ${formatBytes(options.downloadsQuota ?? DEFAULT_DOWNLOADS_QUOTA_BYTES)}`,
      mdns: options.mdns ? 'on' : 'off',
      'remembered members': this.remembered === undefined ? 'off' : this.remembered.describe(),
      relay: relay.serve === undefined ? 'off'
        : `${servesWhenPublic(relay) ? 'auto: serves once reachability finds this peer public' : 'on'}, up to ${relay.serve.maxReservations} reservations`,
      'relay reservations': `${relay.reservations}${relay.reserveAtStart === false ? ', made once reachability finds this peer unreachable' : ''}`,
      manual: options.manual === true ? 'yes' : 'no',
      membership: `${options.membershipProfile} profile: probe every ${profile.probeInterval} ms (timeout ${profile.probeTimeout} ms), ` +
        `gossip every ${profile.gossipInterval} ms to ${profile.gossipNodes}, push-pull every ${profile.pushPullInterval} ms`
    };
  }

  /** Adds rows to `/show processes` for what runs beside the peer (the daemon's API servers). */
  addProcesses(rows: () => ProcessView[]): void {
    this.extraProcesses.push(rows);
  }

  /** The subsystems this peer runs, in the order they stand on each other. */
  processes(): ProcessView[] {
    const node = this.started();
    const membership = node.services.membership;
    const members = membership.members();
    const count = (state: MemberState): number => members.filter((m) => m.state === state && m.id !== this.peerId).length;
    const dialer = this.dialer?.stats() ?? { seeds: 0, failing: 0 };
    const rooms = this.rooms();
    const backlog = this.backlog?.stats() ?? { answered: 0, refused: 0, badRequests: 0 };
    return [
      { name: 'node', state: node.status, detail: `libp2p ${shortPeerId(this.peerId)}: ${this.addrs.length} listen addresses, ${node.getConnections().length} connections` },
      { name: 'bootstrap lease', state: this.leaseState, detail: `${this.options.bootstrapUrl}, ${this.seeds.length} in the last bootstrap set` },
      {
        name: 'bootstrap server', state: this.hosted ? 'hosting' : 'not hosting',
        detail: this.hosted ? `serving ${this.hosted.url} for the peers on this machine` : (this.canHost() ? 'hosts one if none answers' : 'uses a remote server')
      },
      { name: 'seed dialer', state: this.dialer ? 'running' : 'stopped', detail: `${dialer.seeds} seeds, ${dialer.failing} unreachable` },
      this.reachProcess(),
      this.relayProcess(),
      {
        name: 'membership', state: this.inMembership ? 'joined' : 'not joined',
        detail: `${this.options.membershipProfile} profile, ${count('alive')} alive, ${count('suspect')} suspect, ` +
          `${count('dead')} failed, ${count('left')} left; incarnation ${membership.stats().incarnation}`
      },
      {
        name: 'chat', state: rooms.length > 0 ? 'in rooms' : 'no rooms',
        detail: `${rooms.length === 0 ? 'no rooms' : rooms.map((r) => `#${r}`).join(' ')}; ${this.counters.sent} sent, ` +
          `${this.counters.received} received, ${this.counters.rejected} rejected`
      },
      {
        name: 'history', state: this.store ? 'open' : 'closed',
        detail: `${join(this.options.dataDir, MESSAGE_DB_FILE)}; backlog answers ${backlog.answered} sent, ${backlog.refused} refused, ` +
          `${backlog.badRequests} bad requests`
      },
      { name: 'direct messages', state: this.direct ? 'running' : 'stopped', detail: `${this.outbox().length} waiting in the outbox` },
      {
        name: 'files', state: this.files === undefined ? 'stopped' : 'running',
        detail: `${this.fileTransfers().length} under way, ${this.pendingFiles().length} waiting for /accept; saving to ${this.downloadsDir()}`
      },
      ...this.extraProcesses.flatMap((rows) => rows())
    ];
  }

  async start(): Promise<void> {
    const { options } = this;
    this.releaseLock = await acquireDataDirLock(options.dataDir);
    const privateKey = await loadOrCreateIdentity(options.dataDir);
    const node = await createPeerNode({
      privateKey,
      listen: options.listen,
      mdns: options.mdns,
      onLanPeer: (peer) => this.lan?.found(peer),
      relay: this.relayOptions(),
      ...(options.reach === undefined ? {} : { reach: options.reach }),
      membership: { profile: options.membershipProfile, meta: { nick: this.nickName, rooms: [], version: VERSION } },
      chat: { authorRateLimit: options.roomRateLimit },
      onCutOff: (peerId, topic) => {
        this.counters.cutOff++;
        if (!this.cutOffLogged.first(peerId)) return;
        options.log.warn({ peerId, topic }, `cut off ${peerId} for ${CUT_OFF_MS / 1000} s: it sent more than ${CUT_OFF_FACTOR} times ` +
          'the room rate limit of its own messages (further cut-offs of this peer are not logged)');
      }
    });
    this.node = node;
    const store = new HistoryStore(join(options.dataDir, MESSAGE_DB_FILE), {
      maxPerConversation: options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      maxAgeMs: (options.historyDays ?? DEFAULT_HISTORY_DAYS) * 86_400_000
    });
    this.store = store;
    this.backlog = new Backlog({ node, store, rooms: () => this.joined, log: options.log });
    this.roomHistory = new RoomHistory({
      store, backlog: this.backlog, selfId: () => this.peerId, members: () => this.members(),
      backlogCount: options.backlog ?? DEFAULT_BACKLOG, emit: (event) => this.emit(event), log: options.log
    });
    this.direct = new DirectMessages({ node, receive: (m) => this.conversations?.received(m) ?? false, log: options.log });
    this.conversations = new Conversations({
      dm: this.direct, store, nick: () => this.nickName, emit: (event) => this.emit(event), log: options.log,
      isAlive: (peerId) => this.members().some((m) => m.id === peerId && m.state === 'alive')
    });
    this.files = this.fileTransfer(node);
    node.addEventListener('peer:connect', (evt) => this.emit({ type: 'peer-connected', peerId: evt.detail.toString() }));
    node.addEventListener('peer:disconnect', (evt) => this.emit({ type: 'peer-disconnected', peerId: evt.detail.toString() }));
    node.services.chat.addEventListener('message', (evt) => {
      this.counters.received++;
      this.roomHistory?.live(evt.detail);
    });
    node.services.chat.addEventListener('rejected', (evt) => {
      this.counters.rejected += evt.detail.count;
      this.emit({ type: 'rejected', ...evt.detail });
    });
    for (const type of MEMBER_EVENT_TYPES) {
      node.services.membership.addEventListener(type, (evt) => this.emit({ ...evt.detail, type }));
    }
    // A member that is (back) up may be in a room waiting for its backlog, or have direct messages waiting.
    for (const type of ['member-joined', 'member-updated', 'member-alive'] as const) {
      node.services.membership.addEventListener(type, (evt) => {
        const member = this.members().find((m) => m.id === evt.detail.peerId);
        if (member === undefined || member.state !== 'alive') return;
        this.roomHistory?.memberSeen(member);
        this.conversations?.memberAlive(member.id);
        this.remembered?.changed();
      });
    }
    // A seed that failed or left may have made the bootstrap set stale.
    for (const type of ['member-failed', 'member-left'] as const) {
      node.services.membership.addEventListener(type, () => this.lease?.seedsChanged());
    }
    node.services.reach.addEventListener('reachability', ({ detail }) => this.onReachability(detail));
    // A relay reservation adds a relayed address after start, and one lost takes it away.
    node.addEventListener('self:peer:update', () => this.lease?.addrsChanged());
    node.addEventListener('transport:listening', () => this.lease?.addrsChanged());
    await node.start();
    node.services.chat.setNick(this.nickName);
    await this.backlog.start();
    await this.direct.start();
    await this.files.start();

    this.dialer = new SeedDialer(node, options.log, () => this.lease?.seedsChanged());
    this.dialer.start();
    const remembered = await openRememberedStore({
      dataDir: options.dataDir, self: this.peerId, max: options.rememberMembers ?? DEFAULT_REMEMBER_MEMBERS,
      days: options.rememberDays ?? DEFAULT_REMEMBER_DAYS, log: options.log,
      live: () => this.members().filter((m) => m.id !== this.peerId && m.state === 'alive').map((m) => ({ peerId: m.id, addrs: m.meta.addrs }))
    });
    this.remembered = remembered.store;
    if (remembered.problem !== undefined) this.emit({ type: 'error', message: remembered.problem });
    this.lan = new LanJoin({
      node, inMembership: () => this.inMembership, join: (seed) => this.joinSeeds({ seeds: [seed], source: 'lan' }, { keep: true }),
      isMember: (peerId) => this.members().some((m) => m.id === peerId && (m.state === 'alive' || m.state === 'suspect'))
    });
    this.lan.start();
    this.privateKey = privateKey;
    if (options.manual !== true) {
      this.inMembership = true;
      await this.connectBootstrap(privateKey);
      if (options.room !== undefined) await this.joinRoom(options.room);
    }
    this.markStarted();
    this.ready = true;
    this.emit({
      type: 'ready',
      peerId: this.peerId,
      addrs: this.addrs,
      nick: this.nickName,
      room: this.currentRoom ?? null,
      bootstrap: this.options.bootstrapUrl,
      manual: options.manual === true,
      reachability: this.reachability().reachability,
      ts: Date.now()
    });
  }

  /** Layer 1: registers with the bootstrap API and keeps the lease; resolves after the first answer. */
  async bootstrapJoin(): Promise<void> {
    if (this.lease) throw new LayerError(`already registered with ${this.options.bootstrapUrl} (/bootstrap leave first)`);
    await this.connectBootstrap(this.privateKey as PrivateKey);
  }

  /** Leaves the bootstrap set and stops renewing; members already known stay. */
  async bootstrapLeave(): Promise<void> {
    const lease = this.lease;
    if (!lease) throw new LayerError('not registered with the bootstrap API: /bootstrap join first');
    this.lease = undefined;
    await lease.stop();
    this.leaseState = 'left';
    const url = this.options.bootstrapUrl;
    this.emit({ type: 'bootstrap', state: 'left', url, message: `left the bootstrap set at ${url}; the members already known stay` });
  }

  /** The bootstrap set as the API lists it now; needs no registration. */
  async bootstrapList(): Promise<BootstrapPeer[]> {
    return (await this.client.list()).peers;
  }

  /** Asks to take the newest entry's place in a full set (what a peer does when the set is stale). */
  async bootstrapRefill(): Promise<RefillResponse> {
    const answer = await this.client.refill(await this.signer().seal(this.listenAddrs()));
    this.onSeeds(answer.peers);
    return answer;
  }

  /** Reads the API's configuration, or changes it; both need the admin token. */
  async bootstrapConfig(patch?: ConfigPatch): Promise<Config> {
    if (this.options.adminToken === undefined) {
      throw new LayerError('the bootstrap config needs the admin token: start with --admin-token or set BOOTSTRAP_ADMIN_TOKEN');
    }
    return patch === undefined ? this.client.getConfig() : this.client.setConfig(patch);
  }

  /**
   * Layer 2: joins the membership through the bootstrap set, or through one member's
   * address (`/ip4/.../tcp/.../p2p/ID`). With no seed but ourselves we are the first member.
   */
  async joinMembership(addr?: string): Promise<number> {
    if (this.inMembership) throw new LayerError('already a member (/members leave first)');
    let chosen: SeedChoice;
    if (addr !== undefined) {
      chosen = { seeds: [seedFromAddr(addr)], source: 'address' };
    } else {
      chosen = this.seedsToJoin();
      if (chosen.source === 'bootstrap' && (this.leaseState === 'not started' || this.leaseState === 'left')) {
        throw new LayerError('no seeds to join through: /bootstrap join first, or /members join ADDR');
      }
    }
    this.inMembership = true;
    this.joinSeeds(chosen, { announce: true });
    return chosen.seeds.length;
  }

  /** Leaves the membership gracefully: every member reports member-left. */
  async leaveMembership(): Promise<void> {
    if (!this.inMembership) throw new LayerError('not a member: /members join first');
    this.inMembership = false;
    this.seedSource = null;
    this.dialer?.update([]);
    await this.started().services.membership.leave();
    this.emit({ type: 'membership', state: 'left', seeds: 0, source: null, message: 'left the membership: the others report member-left' });
  }

  async joinRoom(room: string): Promise<void> {
    const name = parseRoomName(room);
    if (!this.inMembership) throw new LayerError('not in the network yet: /members join first (rooms reach the members you are connected to)');
    const chat = this.started().services.chat;
    if (!this.joined.includes(name)) {
      chat.join(name);
      this.roomHistory?.joined(name);
    }
    // Re-joining a room makes it the current one again.
    const at = this.joined.indexOf(name);
    if (at >= 0) this.joined.splice(at, 1);
    this.joined.push(name);
    this.announceRooms();
    this.emit({ type: 'room-joined', room: name });
  }

  async leaveRoom(room?: string): Promise<string> {
    const name = room === undefined ? this.currentRoom : parseRoomName(room);
    if (name === undefined) throw new Error('not in any room');
    const at = this.joined.indexOf(name);
    if (at < 0) throw new Error(`not in room ${name}`);
    this.started().services.chat.leave(name);
    this.roomHistory?.left(name);
    this.joined.splice(at, 1);
    this.announceRooms();
    this.emit({ type: 'room-left', room: name });
    return name;
  }

  /** Sends to the current room. Own messages are reported as `sent`, never as `message`. */
  /** Sends to `to`, a joined room, or by default to the current room. */
  async send(text: string, to?: string): Promise<{ room: string, id: string, ts: number }> {
    const room = to ?? this.currentRoom;
    if (room === undefined) throw new LayerError('not in any room: /join ROOM first');
    if (!this.joined.includes(room)) throw new LayerError(`not in #${room}: /join ${room} first`);
    const { id, ts, record } = await this.started().services.chat.send(room, text);
    this.roomHistory?.sent(room, id, text, ts, this.nickName, record);
    this.counters.sent++;
    this.emit({ type: 'sent', room, id, text, ts });
    return { room, id, ts };
  }

  /**
   * Sends a direct message to a member (nick, nick#abcd, or peer ID). Resolves 'delivered'
   * once acknowledged, or 'queued' when the recipient is unreachable and the outbox holds it.
   */
  async sendDirect(target: string, text: string): Promise<SendOutcome> {
    const conversations = this.conversations;
    if (conversations === undefined) throw new Error('peer is not started');
    parseText(text);
    const member = findMember(this.members().filter((m) => m.id !== this.peerId), target);
    return conversations.send({ peerId: member.id, nick: member.meta.nick }, text);
  }

  /**
   * Offers a file to a member (nick, nick#abcd, or peer ID). Resolves once the file is
   * checked and opened, with the transfer's ID; what follows is events (file-waiting,
   * file-progress, file-sent or file-failed). A missing, unreadable or special file, or an
   * unknown member, rejects with nothing sent.
   */
  async sendFile(target: string, path: string): Promise<{ id: string, name: string, size: number }> {
    const files = this.startedFiles();
    const member = findMember(this.members().filter((m) => m.id !== this.peerId), target);
    const outgoing = await files.send(member.id, path);
    const { id, name, size, mime } = outgoing;
    this.emit({ type: 'file-sending', id, to: member.id, toNick: member.meta.nick, name, size, mime });
    return { id, name, size };
  }

  /** Accepts an offer waiting for a decision, by its ID or a unique start of it; returns the full ID. */
  acceptFile(id: string): string {
    return this.startedFiles().accept(id);
  }

  /** Refuses an offer waiting for a decision and tells the sender; returns the full ID. */
  rejectFile(id: string): string {
    return this.startedFiles().reject(id);
  }

  /** Offers waiting for /accept or /reject. */
  pendingFiles(): PendingOffer[] {
    return this.files?.pending() ?? [];
  }

  /** File transfers under way in either direction, offers waiting for a decision included. */
  fileTransfers(): TransferView[] {
    return this.files?.transfers() ?? [];
  }

  fileStats(): FileTransferStats {
    return this.startedFiles().stats();
  }

  /** The newest `limit` messages of one room in the local history, oldest first. */
  roomLog(room: string, limit: number): HistoryEntry[] {
    return this.store?.roomTail(parseRoomName(room), limit) ?? [];
  }

  /** The local log: the newest `limit` messages of joined rooms and direct conversations, oldest first. */
  history(limit: number): HistoryEntry[] {
    if (this.store === undefined) throw new Error('peer is not started');
    return this.store.recent(this.joined, limit);
  }

  /** Direct messages waiting for their recipients. */
  outbox(): { id: string, to: string, text: string, ts: number }[] {
    return (this.store?.outbox() ?? []).map((e) => ({ id: e.id, to: e.peer, text: e.text, ts: e.ts }));
  }

  setNick(nick: string): void {
    this.nickName = parseNick(nick);
    this.started().services.chat.setNick(this.nickName);
    this.started().services.membership.updateMeta({ nick: this.nickName });
  }

  /** Graceful: leaves the bootstrap set, then stops the node. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    // While membership still knows who is up: the next start may need them.
    await this.remembered?.stop();
    // Leaving the membership first makes others report member-left, not member-failed.
    if (this.node?.status === 'started') {
      await this.node.services.membership.leave().catch((err: unknown) => this.options.log.warn({ err }, 'membership leave failed'));
    }
    await this.lease?.stop();
    this.lan?.stop();
    this.dialer?.stop();
    this.roomHistory?.stop();
    this.conversations?.stop();
    // Before the node: transfers under way end with file-failed here and a word to the other side.
    await this.files?.stop();
    await this.node?.stop();
    this.store?.close();
    await this.hosted?.close();
    await this.releaseLock?.();
  }

  /** Whether other peers can dial this one, what the last check found, and what this peer did for others' checks. */
  reachability(): ReachView {
    return this.started().services.reach.view();
  }

  private relayOptions(): RelayOptions {
    return this.options.relay ?? DEFAULT_RELAY_OPTIONS;
  }

  /**
   * Reported, and acted on: with `--relay auto` a public peer serves as a relay and stops
   * when it is no longer public; an unreachable one reserves slots on relays, and drops
   * them once found public.
   */
  private onReachability(change: ReachabilityChange): void {
    const { reachability, previous } = change;
    // `ready` comes first and carries the reachability of the moment; events report changes after it.
    if (this.ready) this.emit({ type: 'reachability', reachability, previous, message: describeReachability(reachability) });
    const role = this.started().services.relay;
    // One change at a time: a quick public-then-unreachable must not start and stop the relay out of order.
    this.relaySwitching = this.relaySwitching.then(async () => {
      if (servesWhenPublic(this.relayOptions())) {
        if (reachability === 'public') await role.serve();
        else if (reachability !== 'checking') await role.stopServing();
      }
      if (reachability === 'unreachable') await role.reserve();
      else if (reachability === 'public') await role.unreserve();
    }).catch((err: unknown) => this.options.log.warn({ err }, `could not act on reachability ${reachability}`));
  }

  /** The reachability check: the verdict, how many addresses it is about, and its part in others' checks. */
  private reachProcess(): ProcessView {
    const view = this.reachability();
    const served = `${view.served.answered} checks answered for others, ${view.served.refused} refused`;
    return { name: 'reachability', state: view.reachability, detail: `${view.addrs.length} TCP addresses checked by dial-back; ${served}` };
  }

  /** The circuit relay: the reservations others hold on us, and the relayed addresses we hold elsewhere. */
  private relayProcess(): ProcessView {
    const relay = this.relayOptions();
    const relayed = this.addrs.filter((a) => a.includes('/p2p-circuit')).length;
    const role = this.started().services.relay;
    const wanted = `${relayed} of ${relay.reservations} reservations held on relays` +
      `${role.reserving ? '' : ' (none sought: made once this peer is found unreachable)'}`;
    if (!role.serving || relay.serve === undefined) {
      const why = servesWhenPublic(relay) ? 'auto: serves once this peer is found public' : 'off';
      return { name: 'relay', state: 'not serving', detail: `${why}; ${wanted}` };
    }
    const { maxReservations, circuitSeconds, circuitBytes } = relay.serve;
    const limits = `circuits ${circuitSeconds === 0 ? 'unlimited in time' : `up to ${circuitSeconds} s`}, ` +
      `${circuitBytes === 0 ? 'unlimited in data' : `up to ${circuitBytes} bytes`}`;
    return { name: 'relay', state: 'serving', detail: `${role.reservationsTaken} of ${maxReservations} reservations taken; ${limits}; ${wanted}` };
  }

  /** Rooms are part of this member's signed metadata: others see who is where. */
  private announceRooms(): void {
    this.started().services.membership.updateMeta({ rooms: [...this.joined] });
  }

  /** Where received files are saved. */
  downloadsDir(): string {
    return join(this.options.dataDir, DOWNLOADS_DIR);
  }

  private maxFileSize(): number {
    return this.options.maxFileSize ?? DEFAULT_AUTO_ACCEPT_BYTES;
  }

  private startedFiles(): FileTransfer {
    if (!this.files) throw new Error('peer is not started');
    return this.files;
  }

  /** The file-transfer service, its events turned into peer events with the other side's nick. */
  private fileTransfer(node: PeerNode): FileTransfer {
    const files = new FileTransfer({
      node, downloadsDir: this.downloadsDir(), autoAcceptBytes: this.maxFileSize(),
      quotaBytes: this.options.downloadsQuota ?? DEFAULT_DOWNLOADS_QUOTA_BYTES,
      isMember: (peerId) => this.members().some((m) => m.id === peerId && (m.state === 'alive' || m.state === 'suspect')),
      log: this.options.log
    });
    const nickOf = (peerId: string): string => this.members().find((m) => m.id === peerId)?.meta.nick ?? shortPeerId(peerId);
    files.addEventListener('waiting', ({ detail: d }) => this.emit({ type: 'file-waiting', ...d, toNick: nickOf(d.to) }));
    files.addEventListener('file-offered', ({ detail: d }) => this.emit({ type: 'file-offered', ...d, nick: nickOf(d.from) }));
    files.addEventListener('progress', ({ detail: d }) => this.emit({ type: 'file-progress', ...d }));
    files.addEventListener('sent', ({ detail: d }) => this.emit({ type: 'file-sent', ...d, toNick: nickOf(d.to) }));
    files.addEventListener('received', ({ detail: d }) => this.emit({ type: 'file-received', ...d, nick: nickOf(d.from) }));
    files.addEventListener('failed', ({ detail: d }) => this.emit({ type: 'file-failed', ...d }));
    return files;
  }

  private started(): PeerNode {
    if (!this.node) throw new Error('peer is not started');
    return this.node;
  }

  private emit(event: PeerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.options.log.error({ err }, 'peer event listener threw');
      }
    }
  }

  private signer(): RecordSigner {
    return new RecordSigner(this.privateKey as PrivateKey);
  }

  private listenAddrs(): string[] {
    return this.started().getMultiaddrs().map((a) => withoutPeerId(a.toString()));
  }

  /** A bootstrap answer: kept, and followed by dials and a membership join once a member. */
  private onSeeds(peers: BootstrapPeer[]): void {
    this.seeds = peers;
    if (this.inMembership) this.joinSeeds(this.seedsToJoin());
  }

  private seedsToJoin(): SeedChoice {
    return chooseSeeds(this.peerId, this.seeds, this.othersUp(), this.remembered?.members() ?? []);
  }

  /** Whether any member but us is alive or suspect. */
  private othersUp(): boolean {
    return this.members().some((m) => m.id !== this.peerId && (m.state === 'alive' || m.state === 'suspect'));
  }

  /**
   * Dials the seeds (in place of the dialer's current ones unless `keep`) and joins
   * through them. Where our way in came from changing is news (`announce` makes it news
   * anyway); a LAN peer met, or an empty set, while among members is not.
   */
  private joinSeeds({ seeds, source }: SeedChoice, { keep = false, announce = false } = {}): void {
    const up = this.othersUp();
    if (!keep) this.dialer?.update(seeds);
    this.reservationWait ??= Promise.all([this.awaitReservation(seeds), this.startup]).then(() => undefined);
    void this.reservationWait.then(() => {
      if (this.inMembership && !this.stopping) this.started().services.membership.join(seeds);
    });
    if (!announce && (source === this.seedSource || (up && (source === 'lan' || seeds.length === 0)))) return;
    this.seedSource = source;
    this.emit({ type: 'membership', state: 'joined', seeds: seeds.length, source, message: joinMessage(seeds.length, source) });
  }

  /**
   * A peer that may reserve relay slots joins once its claim can carry a relayed address
   * (node/reservation-gate.ts). Reservations wait for reachability to find it unreachable,
   * so the wait covers a dial-back too, and a peer found public or local has none to wait for.
   */
  private async awaitReservation(seeds: Seed[]): Promise<void> {
    const relay = this.relayOptions();
    if (relay.reservations === 0 || (relay.serve !== undefined && relay.serveAtStart !== false)) return;
    const dialer = this.dialer;
    const reach = this.started().services.reach;
    const since = Date.now();
    const how = await reservationGate(this.started(), {
      seeds,
      unreachable: (peerId) => dialer?.unreachable(peerId) ?? false,
      reachable: () => ['public', 'local'].includes(reach.view().reachability)
    }, relay.reserveAtStart === false ? RESERVATION_WAIT_MS + DIAL_BACK_TIMEOUT_MS : RESERVATION_WAIT_MS);
    this.options.log.debug({ how, waitedMs: Date.now() - since }, 'joining the membership after the wait for a relay reservation');
  }

  private async connectBootstrap(privateKey: PrivateKey): Promise<void> {
    const url = this.options.bootstrapUrl;
    this.lease = new BootstrapLease({
      client: this.client,
      signer: new RecordSigner(privateKey),
      addrs: () => this.listenAddrs(),
      onSeeds: (peers: BootstrapPeer[]) => this.onSeeds(peers),
      isStale: (peers: BootstrapPeer[]) => this.seedsStale(peers),
      onStatus: (status) => this.onLeaseStatus(status, url),
      log: this.options.log
    });
    const first = await this.lease.start();
    // Ready is reported only once the zero-setup server is up, so a script can rely on it.
    if (first.state === 'unreachable') await this.hosting;
    // No answer gave seeds: the members remembered from earlier runs are the way in.
    if (this.inMembership && this.seedSource === null) this.joinSeeds(this.seedsToJoin());
  }

  /** Whether none of these seeds can get anyone into the network (see seeding/stale.ts). */
  private seedsStale(peers: BootstrapPeer[]): boolean {
    const states = new Map<string, MemberState>(this.members().map((m) => [m.id, m.state]));
    return seedsStale(this.peerId, peers, {
      stateOf: (peerId) => states.get(peerId),
      unreachable: (peerId) => this.dialer?.unreachable(peerId) ?? false
    });
  }

  private canHost(): boolean {
    return this.options.hostBootstrap && canHostLocally(this.options.bootstrapUrl);
  }

  private onLeaseStatus(status: LeaseStatus, url: string): void {
    this.leaseState = status.state === 'registered' && !status.admitted ? 'full' : status.state;
    switch (status.state) {
      case 'registered':
        this.emit(status.admitted
          ? { type: 'bootstrap', state: 'registered', url, message: `registered with the bootstrap server at ${url} (${status.peers} in the bootstrap set)` }
          : { type: 'bootstrap', state: 'full', url, message: `the bootstrap set at ${url} is full; dialling its ${status.peers} peers and retrying` });
        break;
      case 'refused':
        this.emit({ type: 'bootstrap', state: 'refused', url, message: status.message });
        break;
      case 'unreachable':
        if (this.canHost() && !this.hosted) {
          // No server, or the peer that hosted it exited: take its place.
          this.hosting ??= this.host(url)
            .catch((err: Error) => this.emit({ type: 'error', message: `could not host the bootstrap server: ${err.message}` }))
            .finally(() => { this.hosting = undefined; });
        } else {
          this.emit({
            type: 'bootstrap', state: 'unreachable', url,
            message: `${status.message}; chatting with peers already known and retrying in the background`
          });
        }
        break;
    }
  }

  private async host(url: string): Promise<void> {
    if (this.stopping) return;
    const hosted = await hostLocalBootstrap(url);
    if (hosted) {
      this.hosted = hosted;
      this.emit({
        type: 'bootstrap', state: 'hosting', url,
        message: `no bootstrap server answered at ${url}, so this peer hosts one there (it stops when this peer exits; --no-host-bootstrap turns this off)`
      });
    }
    // Whether we host it or another peer won the port, register there now.
    await this.lease?.renewNow();
  }
}
