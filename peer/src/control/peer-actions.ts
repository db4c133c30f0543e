/**
 * The commands that act on the peer itself: everything in the command tree but the
 * console's own (scripts, echo, sleep, help, quit). They run where the peer runs, in the
 * console's process or in a daemon answering its control API, and answer with events.
 */
import { resolve } from 'node:path';
import { version as libp2pVersion } from 'libp2p/version';
import { API_PREFIX } from '@cli-chat/bootstrap-api';
import type { BootstrapPeer } from '@cli-chat/bootstrap-api';
import type { PeerEvent } from '../events.ts';
import type { Peer } from '../peer.ts';
import { MEMBERSHIP_PROTOCOL_ID } from '../membership/index.ts';
import { ROOM_TOPIC_PREFIX } from '../chat/constants.ts';
import { SCORE_THRESHOLDS } from '../node/constants.ts';
import { VERSION } from '../version.ts';
import { findMember } from '../member-lookup.ts';
import { displayNames, roomMembers } from '../presence.ts';
import { CommandError } from '../cli/command-tree.ts';
import { seconds, wholeNumber } from '../cli/arg-values.ts';
import type { LogLevel, PeerAction } from '../cli/commands.ts';
import { formatMembers, formatPairs, formatTable, historyLine, reachabilityText, shortFileId, shortId } from '../cli/render.ts';
import { REACH_PROTOCOL } from '../reach/index.ts';
import { FILE_PROTOCOL_ID } from '../files/index.ts';
import { formatBytes } from '../files/format.ts';
import { DEFAULT_HISTORY_SHOWN } from '../config.ts';
import { BACKLOG_PROTOCOL } from '../history/constants.ts';
import { DM_PROTOCOL } from '../direct/messages.ts';
import type { LogSink } from '../cli/log-sink.ts';
import { LOGIN_TICKET_TTL_MS } from './constants.ts';

export interface PeerActionsOptions {
  peer: Peer;
  log: { level: string };
  logSink: LogSink;
  /** Whether `/log on` without a file has a console to show logs in (a daemon has none). */
  consoleLogs: boolean;
  /** A new one-time login link to the web page, when the daemon serves one. */
  webLogin?: () => string;
}

export class PeerActions {
  private readonly options: PeerActionsOptions;

  constructor(options: PeerActionsOptions) {
    this.options = options;
  }

  /**
   * Runs one action with its arguments as the command tree parsed them. Resolves with what
   * it has to say (`info`, `stats`); a refusal throws a CommandError and changes nothing.
   */
  async run(action: PeerAction, args: readonly string[]): Promise<PeerEvent[]> {
    const events: PeerEvent[] = [];
    const info = (message: string): void => {
      events.push({ type: 'info', message });
    };
    await this.act(action, args, info, events);
    return events;
  }

  private async act(action: PeerAction, args: readonly string[], info: (message: string) => void, events: PeerEvent[]): Promise<void> {
    const { peer } = this.options;
    const [arg] = args;
    switch (action) {
      case 'show-version':
        info(formatPairs({
          'cli-chat': VERSION,
          node: process.version,
          libp2p: libp2pVersion,
          'bootstrap API': API_PREFIX,
          membership: MEMBERSHIP_PROTOCOL_ID,
          chat: `${ROOM_TOPIC_PREFIX}ROOM (gossipsub topics)`,
          backlog: BACKLOG_PROTOCOL,
          'direct messages': DM_PROTOCOL,
          files: FILE_PROTOCOL_ID,
          reachability: REACH_PROTOCOL
        }));
        return;
      case 'show-peers': {
        const conns = peer.connections();
        // A graylisted peer stays connected, but gossipsub drops everything it sends unread.
        const score = (s: number): string => `${s.toFixed(1)}${s < SCORE_THRESHOLDS.graylistThreshold ? ' (graylisted)' : ''}`;
        info(conns.length === 0 ? 'no connected peers'
          : formatTable(['PEER', 'ADDRESS', 'SCORE'], conns.map((c) => [shortId(c.peerId), c.addr, score(c.score)])));
        return;
      }
      case 'show-members':
        info(formatMembers(peer.members(), peer.peerId));
        return;
      case 'show-rooms':
        info(this.roomsText());
        return;
      case 'show-bootstrap': {
        const b = peer.bootstrap();
        const head = formatPairs({
          url: b.url, lease: b.lease, 'hosted here': b.hosting ? 'yes' : 'no',
          'seeds from': b.seedsFrom ?? 'not joined', remembered: `${b.remembered} members`
        });
        info(`${head}\n${this.setText(b.set)}`);
        return;
      }
      case 'show-config':
        info(formatPairs({ ...peer.settings(), 'log level': this.options.log.level, logs: this.options.logSink.describe() }));
        return;
      case 'show-stats':
        // Its own event rather than info text, so that --json gives scripts the numbers.
        events.push({ type: 'stats', ts: Date.now(), membership: peer.membershipStats(), chat: peer.chatCounters(), files: peer.fileStats() });
        return;
      case 'show-reachability':
        info(reachabilityText(peer.reachability(), Date.now()));
        return;
      case 'show-processes':
        info(formatTable(['PROCESS', 'STATE', 'DETAIL'], peer.processes().map((p) => [p.name, p.state, p.detail])));
        return;
      case 'show-web': {
        const { webLogin } = this.options;
        if (webLogin === undefined) throw new CommandError('this peer serves no web page: start it with npm run daemon -- --web');
        info(`${webLogin()} (works once, for ${LOGIN_TICKET_TTL_MS / 60_000} minutes)`);
        return;
      }
      case 'whoami':
        info(`${peer.nick} ${peer.peerId}\n${peer.addrs.join('\n')}`);
        return;
      case 'whois': {
        const m = findMember(peer.members(), arg as string);
        info(formatPairs({
          nick: m.meta.nick,
          'peer ID': m.id,
          state: m.id === peer.peerId ? `${m.state} (this peer)` : m.state,
          addresses: m.meta.addrs.join(' ') || '-',
          rooms: m.meta.rooms.map((r) => `#${r}`).join(' ') || '-',
          incarnation: String(m.incarnation),
          version: m.meta.version,
          rtt: m.rtt === undefined ? '-' : `${m.rtt.toFixed(1)} ms`
        }));
        return;
      }
      case 'bootstrap-join':
        await peer.bootstrapJoin();
        info(`${this.setText(peer.bootstrap().set)}${peer.inNetwork ? '' : '\nnext: /members join'}`);
        return;
      case 'bootstrap-leave':
        await peer.bootstrapLeave();
        return;
      case 'bootstrap-list':
        info(this.setText(await peer.bootstrapList()));
        return;
      case 'bootstrap-refill': {
        const answer = await peer.bootstrapRefill();
        const replaced = answer.replaced === null ? 'nobody was replaced' : `replaced ${shortId(answer.replaced)}`;
        info(`refill: ${answer.admitted ? 'in the bootstrap set' : 'not admitted'}, ${replaced}\n${this.setText(answer.peers)}`);
        return;
      }
      case 'bootstrap-config':
        info(configText(await peer.bootstrapConfig()));
        return;
      case 'bootstrap-config-max-peers':
        info(configText(await peer.bootstrapConfig({ maxPeers: wholeNumber(arg as string, 'N') })));
        return;
      case 'bootstrap-config-ttl':
        info(configText(await peer.bootstrapConfig({ ttlMs: seconds(arg as string, 'SECONDS', Number.MAX_SAFE_INTEGER) * 1000 })));
        return;
      case 'members-join':
        await peer.joinMembership(arg);
        if (peer.rooms().length === 0) info('next: /join ROOM');
        return;
      case 'members-leave':
        await peer.leaveMembership();
        return;
      case 'join':
        await peer.joinRoom(arg as string);
        return;
      case 'leave':
        await peer.leaveRoom(arg);
        return;
      case 'who': {
        const room = arg ?? peer.currentRoom;
        if (room === undefined) throw new CommandError('not in any room: /who ROOM names one');
        const members = peer.members();
        const names = displayNames(members);
        const here = roomMembers(members, room);
        info(here.length === 0 ? `nobody announces #${room}` : `#${room} (${here.length}):\n${formatTable(['NICK', 'STATE', 'PEER'],
          here.map((m) => [`${names.get(m.id) ?? m.meta.nick}${m.id === peer.peerId ? ' (you)' : ''}`, m.state, shortId(m.id)]))}`);
        return;
      }
      case 'msg':
        await peer.sendDirect(arg as string, args[1] as string);
        return;
      case 'history': {
        const limit = arg === undefined ? DEFAULT_HISTORY_SHOWN : wholeNumber(arg, 'N');
        const entries = peer.history(limit);
        const names = displayNames(peer.members());
        info(entries.length === 0 ? 'no messages in the local history yet' : entries.map((e) => historyLine(e, names)).join('\n'));
        return;
      }
      case 'show-outbox': {
        const waiting = peer.outbox();
        const names = displayNames(peer.members());
        info(waiting.length === 0 ? 'the outbox is empty' : formatTable(['TO', 'QUEUED', 'TEXT'],
          waiting.map((e) => [names.get(e.to) ?? shortId(e.to), new Date(e.ts).toISOString().replace('T', ' ').slice(0, 19), e.text])));
        return;
      }
      case 'send-file':
        // The outcome is events: file-sending now, then file-progress and file-sent or file-failed.
        await peer.sendFile(arg as string, resolve(args[1] as string));
        return;
      case 'accept':
        info(`* accepted ${shortFileId(peer.acceptFile(arg as string))}`);
        return;
      case 'reject':
        info(`* rejected ${shortFileId(peer.rejectFile(arg as string))}; the sender is told`);
        return;
      case 'show-transfers': {
        const transfers = peer.fileTransfers();
        const names = displayNames(peer.members());
        info(transfers.length === 0 ? 'no file transfers' : formatTable(['ID', '', 'PEER', 'FILE', 'SIZE', 'DONE', 'STATE'],
          transfers.map((t) => [
            shortFileId(t.id), t.direction === 'send' ? 'to' : 'from', names.get(t.peer) ?? shortId(t.peer), t.name, formatBytes(t.size),
            t.size === 0 ? '-' : `${Math.floor((100 * t.bytes) / t.size)}%`,
            t.state === 'pending' ? `waits for /accept ${shortFileId(t.id)} or /reject` : t.state
          ])));
        return;
      }
      case 'nick':
        peer.setNick(arg as string);
        info(`* you are now ${peer.nick}`);
        return;
      case 'log-status':
        info(`logging ${this.options.log.level} and more severe to ${this.options.logSink.describe()}`);
        return;
      case 'log-level':
        this.options.log.level = arg as LogLevel;
        info(`* log level ${arg}`);
        return;
      case 'log-on': {
        if (arg === undefined && !this.options.consoleLogs) throw new CommandError(`a daemon has no console to show logs in: /log on FILE appends them to a file (now: ${this.options.logSink.describe()})`);
        const path = arg === undefined ? undefined : resolve(arg);
        try {
          this.options.logSink.set(path === undefined ? { kind: 'console' } : { kind: 'file', path });
        } catch (err) {
          throw new CommandError(`cannot log to ${path}: ${(err as Error).message}`);
        }
        info(`* logs (${this.options.log.level} and more severe) go to ${this.options.logSink.describe()}`);
        return;
      }
      case 'log-off':
        this.options.logSink.set({ kind: 'off' });
        info('* logging off');
        return;
    }
  }

  private roomsText(): string {
    const { peer } = this.options;
    const joined = peer.rooms();
    const known = peer.knownRooms();
    const names = [...new Set([...joined, ...known.keys()])].sort();
    if (names.length === 0) return 'no rooms: /join ROOM starts one';
    const rows = names.map((r) => [r === peer.currentRoom ? '*' : (joined.includes(r) ? '+' : ''), `#${r}`, String(known.get(r) ?? 0)]);
    return `${formatTable(['', 'ROOM', 'MEMBERS'], rows)}\n(* current room, + joined)`;
  }

  private setText(set: readonly BootstrapPeer[]): string {
    if (set.length === 0) return 'the bootstrap set is empty';
    const nicks = new Map(this.options.peer.members().map((m) => [m.id, m.meta.nick]));
    const self = this.options.peer.peerId;
    const rows = set.map((p) => [
      p.peerId === self ? `${shortId(p.peerId)}*` : shortId(p.peerId),
      nicks.get(p.peerId) ?? '?',
      p.addrs[0] ?? '-',
      `${Math.max(0, Math.round((p.expiresAt - Date.now()) / 1000))} s`
    ]);
    return `bootstrap set (${set.length}):\n${formatTable(['PEER', 'NICK', 'ADDRESS', 'EXPIRES IN'], rows)}`;
  }
}

function configText(config: { maxPeers: number, ttlMs: number }): string {
  return `bootstrap API config: maxPeers ${config.maxPeers}, lease TTL ${config.ttlMs / 1000} s`;
}
