/**
 * The peer's API: one object that owns the libp2p node, the chat service and the
 * bootstrap lease. The command line, scripts and the JSON stream are all clients of it;
 * none of them touch libp2p directly.
 */
import { BootstrapClient, RecordSigner } from '@cli-chat/bootstrap-api';
import type { BootstrapPeer } from '@cli-chat/bootstrap-api';
import type { Logger } from 'pino';
import { acquireDataDirLock, loadOrCreateIdentity } from './identity.ts';
import { createPeerNode } from './node/create-node.ts';
import type { PeerNode } from './node/create-node.ts';
import { parseNick, parseRoomName } from './chat/codec.ts';
import { BootstrapLease } from './seeding/lease.ts';
import type { LeaseStatus } from './seeding/lease.ts';
import { SeedDialer } from './seeding/dialer.ts';
import { seedsStale } from './seeding/stale.ts';
import { canHostLocally, hostLocalBootstrap } from './seeding/local-bootstrap.ts';
import type { HostedBootstrap } from './seeding/local-bootstrap.ts';
import type { PeerEvent, PeerListener } from './events.ts';
import type { MemberEventType, MemberState, MemberView, MembershipServiceStats } from './membership/index.ts';

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
  log: Logger;
}

export interface ConnectionInfo {
  peerId: string;
  addr: string;
}

function withoutPeerId(addr: string): string {
  return addr.replace(/\/p2p\/[^/]+$/, '');
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

  constructor(options: PeerOptions) {
    this.options = options;
    this.nickName = parseNick(options.nick);
    if (options.room !== undefined) parseRoomName(options.room);
    this.client = new BootstrapClient({ baseUrl: options.bootstrapUrl, timeoutMs: 3000, retries: 1 });
  }

  on(listener: PeerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get peerId(): string {
    return this.started().peerId.toString();
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
    return this.started().getConnections().map((c) => ({ peerId: c.remotePeer.toString(), addr: c.remoteAddr.toString() }));
  }

  async start(): Promise<void> {
    const { options } = this;
    this.releaseLock = await acquireDataDirLock(options.dataDir);
    const privateKey = await loadOrCreateIdentity(options.dataDir);
    const node = await createPeerNode({
      privateKey,
      listen: options.listen,
      mdns: options.mdns,
      membership: { profile: options.membershipProfile, meta: { nick: this.nickName, rooms: [] } }
    });
    this.node = node;
    node.addEventListener('peer:connect', (evt) => this.emit({ type: 'peer-connected', peerId: evt.detail.toString() }));
    node.addEventListener('peer:disconnect', (evt) => this.emit({ type: 'peer-disconnected', peerId: evt.detail.toString() }));
    node.services.chat.addEventListener('message', (evt) => this.emit({ type: 'message', ...evt.detail }));
    node.services.chat.addEventListener('rejected', (evt) => this.emit({ type: 'rejected', ...evt.detail }));
    for (const type of MEMBER_EVENT_TYPES) {
      node.services.membership.addEventListener(type, (evt) => this.emit({ ...evt.detail, type }));
    }
    // A seed that failed or left may have made the bootstrap set stale.
    for (const type of ['member-failed', 'member-left'] as const) {
      node.services.membership.addEventListener(type, () => this.lease?.seedsChanged());
    }
    await node.start();
    node.services.chat.setNick(this.nickName);

    this.dialer = new SeedDialer(node, options.log, () => this.lease?.seedsChanged());
    this.dialer.start();
    await this.connectBootstrap(privateKey);
    if (options.room !== undefined) await this.joinRoom(options.room);
    this.emit({
      type: 'ready',
      peerId: this.peerId,
      addrs: this.addrs,
      nick: this.nickName,
      room: this.currentRoom ?? null,
      bootstrap: this.options.bootstrapUrl,
      ts: Date.now()
    });
  }

  async joinRoom(room: string): Promise<void> {
    const name = parseRoomName(room);
    const chat = this.started().services.chat;
    if (!this.joined.includes(name)) chat.join(name);
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
    this.joined.splice(at, 1);
    this.announceRooms();
    this.emit({ type: 'room-left', room: name });
    return name;
  }

  /** Sends to the current room. Own messages are reported as `sent`, never as `message`. */
  async send(text: string): Promise<{ room: string, id: string, ts: number }> {
    const room = this.currentRoom;
    if (room === undefined) throw new Error('not in any room: /join ROOM first');
    const { id, ts } = await this.started().services.chat.send(room, text);
    this.emit({ type: 'sent', room, id, text, ts });
    return { room, id, ts };
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
    // Leaving the membership first makes others report member-left, not member-failed.
    if (this.node?.status === 'started') {
      await this.node.services.membership.leave().catch((err: unknown) => this.options.log.warn({ err }, 'membership leave failed'));
    }
    await this.lease?.stop();
    this.dialer?.stop();
    await this.node?.stop();
    await this.hosted?.close();
    await this.releaseLock?.();
  }

  /** Rooms are part of this member's signed metadata: others see who is where. */
  private announceRooms(): void {
    this.started().services.membership.updateMeta({ rooms: [...this.joined] });
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

  private async connectBootstrap(privateKey: Parameters<typeof createPeerNode>[0]['privateKey']): Promise<void> {
    const url = this.options.bootstrapUrl;
    this.lease = new BootstrapLease({
      client: this.client,
      signer: new RecordSigner(privateKey),
      addrs: () => this.started().getMultiaddrs().map((a) => withoutPeerId(a.toString())),
      onSeeds: (peers: BootstrapPeer[]) => {
        this.dialer?.update(peers);
        this.started().services.membership.join(peers.filter((p) => p.peerId !== this.peerId));
      },
      isStale: (peers: BootstrapPeer[]) => this.seedsStale(peers),
      onStatus: (status) => this.onLeaseStatus(status, url),
      log: this.options.log
    });
    const first = await this.lease.start();
    // Ready is reported only once the zero-setup server is up, so a script can rely on it.
    if (first.state === 'unreachable') await this.hosting;
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
    this.lease?.renewNow();
  }
}
