/**
 * Runs command lines against the peer's API: the actions of the command tree, scripts,
 * and the chat lines in between. It knows no terminal: what it has to say goes out as
 * peer events (`info`, `error`, `stats`), which the console renders and `--json` prints.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
import { CommandError, formatHelp, helpLines, nodeAt, parseLine, usageOf } from './command-tree.ts';
import type { CommandNode } from './command-tree.ts';
import { COMMAND_TREE, MAX_SLEEP_SECONDS } from './commands.ts';
import type { Action, LogLevel } from './commands.ts';
import { formatMembers, formatPairs, formatTable, historyLine, shortFileId, shortId } from './render.ts';
import { DEFAULT_HISTORY_SHOWN } from '../config.ts';
import { BACKLOG_PROTOCOL } from '../history/constants.ts';
import { DM_PROTOCOL } from '../direct/messages.ts';
import { FILE_PROTOCOL_ID } from '../files/index.ts';
import { formatBytes } from '../files/format.ts';
import type { LogSink } from './log-sink.ts';

/** Scripts may run scripts, but not forever: a script that runs itself stops here. */
export const MAX_SCRIPT_DEPTH = 8;

export interface RunnerOptions {
  peer: Peer;
  emit: (event: PeerEvent) => void;
  log: { level: string };
  logSink: LogSink;
  /** Relative script and log paths resolve from here. */
  cwd: string;
}

/** A script line failed: the message already names the file and line, so it is not wrapped again. */
class ScriptStopped extends CommandError {}

export class CommandRunner {
  private readonly options: RunnerOptions;
  private quitRequested = false;
  private readonly quitting = new AbortController();

  constructor(options: RunnerOptions) {
    this.options = options;
  }

  /** Set by `/quit` (or quit()): the console stops reading and the peer leaves. */
  get quit(): boolean {
    return this.quitRequested;
  }

  requestQuit(): void {
    this.quitRequested = true;
    this.quitting.abort();
  }

  /** Runs one line; a failure is reported as an `error` event. Resolves false if it failed. */
  run(line: string): Promise<boolean> {
    return this.reporting(() => this.runLine(line, 0));
  }

  /** Runs a script file, as `/execute FILE` and `--script FILE` do; reports failure likewise. */
  runScript(file: string): Promise<boolean> {
    return this.reporting(() => this.execute(file, 1));
  }

  private async reporting(work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (err) {
      this.options.emit({ type: 'error', message: (err as Error).message });
      return false;
    }
  }

  private async runLine(line: string, depth: number): Promise<void> {
    const parsed = parseLine(COMMAND_TREE, line);
    switch (parsed.kind) {
      case 'empty':
        return;
      case 'say':
        await this.options.peer.send(parsed.text);
        return;
      case 'help':
        this.info(formatHelp(parsed.entries));
        return;
      case 'run':
        await this.act(parsed.action, parsed.args, depth);
    }
  }

  private info(message: string): void {
    this.options.emit({ type: 'info', message });
  }

  private async act(action: Action, args: readonly string[], depth: number): Promise<void> {
    const { peer } = this.options;
    const [arg] = args;
    switch (action) {
      case 'show-version':
        this.info(formatPairs({
          'cli-chat': VERSION,
          node: process.version,
          libp2p: libp2pVersion,
          'bootstrap API': API_PREFIX,
          membership: MEMBERSHIP_PROTOCOL_ID,
          chat: `${ROOM_TOPIC_PREFIX}ROOM (gossipsub topics)`,
          backlog: BACKLOG_PROTOCOL,
          'direct messages': DM_PROTOCOL,
          files: FILE_PROTOCOL_ID
        }));
        return;
      case 'show-peers': {
        const conns = peer.connections();
        // A graylisted peer stays connected, but gossipsub drops everything it sends unread.
        const score = (s: number): string => `${s.toFixed(1)}${s < SCORE_THRESHOLDS.graylistThreshold ? ' (graylisted)' : ''}`;
        this.info(conns.length === 0 ? 'no connected peers'
          : formatTable(['PEER', 'ADDRESS', 'SCORE'], conns.map((c) => [shortId(c.peerId), c.addr, score(c.score)])));
        return;
      }
      case 'show-members':
        this.info(formatMembers(peer.members(), peer.peerId));
        return;
      case 'show-rooms':
        this.info(this.roomsText());
        return;
      case 'show-bootstrap': {
        const b = peer.bootstrap();
        const head = formatPairs({ url: b.url, lease: b.lease, 'hosted here': b.hosting ? 'yes' : 'no' });
        this.info(`${head}\n${this.setText(b.set)}`);
        return;
      }
      case 'show-config':
        this.info(formatPairs({ ...peer.settings(), 'log level': this.options.log.level, logs: this.options.logSink.describe() }));
        return;
      case 'show-stats':
        // Its own event rather than info text, so that --json gives scripts the numbers.
        this.options.emit({ type: 'stats', ts: Date.now(), membership: peer.membershipStats(), chat: peer.chatCounters(), files: peer.fileStats() });
        return;
      case 'show-processes':
        this.info(formatTable(['PROCESS', 'STATE', 'DETAIL'], peer.processes().map((p) => [p.name, p.state, p.detail])));
        return;
      case 'whoami':
        this.info(`${peer.nick} ${peer.peerId}\n${peer.addrs.join('\n')}`);
        return;
      case 'whois': {
        const m = findMember(peer.members(), arg as string);
        this.info(formatPairs({
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
        this.info(`${this.setText(peer.bootstrap().set)}${peer.inNetwork ? '' : '\nnext: /members join'}`);
        return;
      case 'bootstrap-leave':
        await peer.bootstrapLeave();
        return;
      case 'bootstrap-list':
        this.info(this.setText(await peer.bootstrapList()));
        return;
      case 'bootstrap-refill': {
        const answer = await peer.bootstrapRefill();
        const replaced = answer.replaced === null ? 'nobody was replaced' : `replaced ${shortId(answer.replaced)}`;
        this.info(`refill: ${answer.admitted ? 'in the bootstrap set' : 'not admitted'}, ${replaced}\n${this.setText(answer.peers)}`);
        return;
      }
      case 'bootstrap-config':
        this.info(configText(await peer.bootstrapConfig()));
        return;
      case 'bootstrap-config-max-peers':
        this.info(configText(await peer.bootstrapConfig({ maxPeers: wholeNumber(arg as string, 'N') })));
        return;
      case 'bootstrap-config-ttl':
        this.info(configText(await peer.bootstrapConfig({ ttlMs: seconds(arg as string, 'SECONDS', Number.MAX_SAFE_INTEGER) * 1000 })));
        return;
      case 'members-join':
        await peer.joinMembership(arg);
        if (peer.rooms().length === 0) this.info('next: /join ROOM');
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
        this.info(here.length === 0 ? `nobody announces #${room}` : `#${room} (${here.length}):\n${formatTable(['NICK', 'STATE', 'PEER'],
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
        this.info(entries.length === 0 ? 'no messages in the local history yet' : entries.map((e) => historyLine(e, names)).join('\n'));
        return;
      }
      case 'show-outbox': {
        const waiting = peer.outbox();
        const names = displayNames(peer.members());
        this.info(waiting.length === 0 ? 'the outbox is empty' : formatTable(['TO', 'QUEUED', 'TEXT'],
          waiting.map((e) => [names.get(e.to) ?? shortId(e.to), new Date(e.ts).toISOString().replace('T', ' ').slice(0, 19), e.text])));
        return;
      }
      case 'send-file':
        // The outcome is events: file-sending now, then file-progress and file-sent or file-failed.
        await peer.sendFile(arg as string, resolve(this.options.cwd, args[1] as string));
        return;
      case 'accept':
        this.info(`* accepted ${shortFileId(peer.acceptFile(arg as string))}`);
        return;
      case 'reject':
        this.info(`* rejected ${shortFileId(peer.rejectFile(arg as string))}; the sender is told`);
        return;
      case 'show-transfers': {
        const transfers = peer.fileTransfers();
        const names = displayNames(peer.members());
        this.info(transfers.length === 0 ? 'no file transfers' : formatTable(['ID', '', 'PEER', 'FILE', 'SIZE', 'DONE', 'STATE'],
          transfers.map((t) => [
            shortFileId(t.id), t.direction === 'send' ? 'to' : 'from', names.get(t.peer) ?? shortId(t.peer), t.name, formatBytes(t.size),
            t.size === 0 ? '-' : `${Math.floor((100 * t.bytes) / t.size)}%`,
            t.state === 'pending' ? `waits for /accept ${shortFileId(t.id)} or /reject` : t.state
          ])));
        return;
      }
      case 'nick':
        peer.setNick(arg as string);
        this.info(`* you are now ${peer.nick}`);
        return;
      case 'log-status':
        this.info(`logging ${this.options.log.level} and more severe to ${this.options.logSink.describe()}`);
        return;
      case 'log-level':
        this.options.log.level = arg as LogLevel;
        this.info(`* log level ${arg}`);
        return;
      case 'log-on': {
        const path = arg === undefined ? undefined : resolve(this.options.cwd, arg);
        try {
          this.options.logSink.set(path === undefined ? { kind: 'console' } : { kind: 'file', path });
        } catch (err) {
          throw new CommandError(`cannot log to ${path}: ${(err as Error).message}`);
        }
        this.info(`* logs (${this.options.log.level} and more severe) go to ${this.options.logSink.describe()}`);
        return;
      }
      case 'log-off':
        this.options.logSink.set({ kind: 'off' });
        this.info('* logging off');
        return;
      case 'execute':
        await this.execute(arg as string, depth + 1);
        return;
      case 'echo':
        this.info(arg ?? '');
        return;
      case 'sleep':
        await sleep(seconds(arg as string, 'SECONDS', MAX_SLEEP_SECONDS) * 1000, undefined, { signal: this.quitting.signal })
          .catch(() => undefined);
        return;
      case 'help':
        this.info(helpText(arg));
        return;
      case 'quit':
        this.requestQuit();
    }
  }

  /**
   * Runs a script's lines as typed. `#` starts a comment line; a line written `-/command`
   * may fail without stopping the script; any other failing line stops it, naming the line.
   */
  private async execute(file: string, depth: number): Promise<void> {
    if (depth > MAX_SCRIPT_DEPTH) throw new CommandError(`scripts nest more than ${MAX_SCRIPT_DEPTH} deep: does ${file} run itself?`);
    const path = resolve(this.options.cwd, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new CommandError(`cannot read script ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const lines = text.split(/\r?\n/);
    for (const [i, raw] of lines.entries()) {
      if (this.quitRequested) return;
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const mayFail = trimmed.startsWith('-/');
      try {
        await this.runLine(mayFail ? trimmed.slice(1) : raw, depth);
      } catch (err) {
        if (err instanceof ScriptStopped) throw err;
        const where = `${file}:${i + 1}`;
        if (!mayFail) throw new ScriptStopped(`${where}: ${(err as Error).message} (the script stopped here)`);
        this.options.emit({ type: 'error', message: `${where}: ${(err as Error).message} (going on: the line starts with -)` });
      }
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

function wholeNumber(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new CommandError(`${name} must be a whole number, not "${value}"`);
  return Number(value);
}

function seconds(value: string, name: string, max: number): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n > max) throw new CommandError(`${name} must be a number of seconds from 0 to ${max}, not "${value}"`);
  return n;
}

function helpText(topic: string | undefined): string {
  if (topic === undefined) {
    return [
      formatHelp(COMMAND_TREE.map((n: CommandNode) => ({ label: n.children ? `/${n.word} …` : usageOf([n.word], n), help: n.help }))),
      '',
      'Any other line is sent to the current room (start it with // to send a leading /).',
      'Words may be abbreviated (/sh mem); ? lists what may come next (/show ?); Tab completes.',
      'Step by step: /bootstrap join, /members join, /join ROOM; /help WORD shows a command\'s subcommands.'
    ].join('\n');
  }
  const { node, path } = nodeAt(COMMAND_TREE, topic.split(/\s+/).filter((w) => w !== ''));
  return formatHelp(helpLines(node, path));
}
