/**
 * The command-line session: reads lines from a terminal (with completion, history and a
 * prompt) or from a pipe (one command per line, in order), runs them against the peer's
 * API, and shows the peer's events as text or as JSON lines.
 */
import { createInterface } from 'node:readline';
import type { Interface } from 'node:readline';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Peer } from '../peer.ts';
import type { PeerEvent } from '../events.ts';
import { COMMANDS, CommandError, complete, parseLine, usage } from './commands.ts';
import type { CommandSpec } from './commands.ts';
import { formatMembers, renderEvent, shortId } from './render.ts';
import { HISTORY_FILE, HISTORY_SIZE } from '../config.ts';

export interface SessionOptions {
  peer: Peer;
  json: boolean;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  dataDir: string;
  log: Logger;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class Session {
  private readonly options: SessionOptions;
  private readonly interactive: boolean;
  private rl: Interface | undefined;
  private closed: Promise<void> | undefined;
  private quitting = false;
  private history: string[] = [];

  constructor(options: SessionOptions) {
    this.options = options;
    this.interactive = Boolean(options.input.isTTY && options.output.isTTY) && !options.json;
  }

  /** Shows the peer's events; call before the peer starts so `ready` is not missed. */
  attach(): void {
    this.options.peer.on((event) => this.show(event));
  }

  /** Runs until /quit or end of input; resolves when the session is over. */
  async run(): Promise<void> {
    if (this.quitting) return;
    const history = this.interactive ? await this.loadHistory() : [];
    const rl = createInterface({
      input: this.options.input,
      output: this.interactive ? this.options.output : undefined,
      terminal: this.interactive,
      history,
      historySize: HISTORY_SIZE,
      completer: (line: string) => complete(line, this.options.peer.rooms())
    });
    this.rl = rl;
    rl.on('history', (entries: string[]) => { this.history = entries; });
    // Ctrl-C at the prompt quits gracefully, like /quit.
    rl.on('SIGINT', () => this.close());
    this.prompt();
    this.closed = new Promise((resolve) => rl.once('close', resolve));
    // Lines are handled one at a time, in order, so a script's /join takes effect before its next line.
    for await (const line of rl) {
      await this.handle(line);
      if (this.quitting) break;
      this.prompt();
    }
    if (this.interactive) await this.saveHistory();
    rl.close();
    await this.closed;
  }

  close(): void {
    this.quitting = true;
    this.rl?.close();
  }

  private async handle(line: string): Promise<void> {
    const { peer } = this.options;
    try {
      const command = parseLine(line);
      switch (command.kind) {
        case 'empty':
          return;
        case 'say':
          await peer.send(command.text);
          return;
        case 'help':
          this.info(this.helpText(command.topics));
          return;
        case 'command':
          await this.execute(command.name, command.args);
      }
    } catch (err) {
      this.show({ type: 'error', message: err instanceof CommandError ? err.message : (err as Error).message });
    }
  }

  private async execute(name: string, args: string[]): Promise<void> {
    const { peer } = this.options;
    const [arg] = args;
    switch (name) {
      case 'join':
        await peer.joinRoom(arg as string);
        return;
      case 'leave':
        await peer.leaveRoom(arg);
        return;
      case 'rooms': {
        const rooms = peer.rooms();
        this.info(rooms.length === 0 ? 'no rooms joined' : rooms.map((r) => (r === peer.currentRoom ? `* #${r}` : `  #${r}`)).join('\n'));
        return;
      }
      case 'peers': {
        const conns = peer.connections();
        this.info(conns.length === 0 ? 'no connected peers' : conns.map((c) => `${shortId(c.peerId)}  ${c.addr}`).join('\n'));
        return;
      }
      case 'members':
        this.info(formatMembers(peer.members(), peer.peerId));
        return;
      case 'stats':
        // Its own event rather than info text, so that --json gives scripts the numbers.
        this.show({ type: 'stats', ts: Date.now(), membership: peer.membershipStats() });
        return;
      case 'nick':
        peer.setNick(arg as string);
        this.info(`* you are now ${peer.nick}`);
        return;
      case 'whoami':
        this.info(`${peer.nick} ${peer.peerId}\n${peer.addrs.join('\n')}`);
        return;
      case 'log':
        if (!LOG_LEVELS.includes(arg as string)) throw new CommandError(`log level must be one of ${LOG_LEVELS.join(', ')}`);
        this.options.log.level = arg as string;
        this.info(`* log level ${arg}`);
        return;
      case 'quit':
        this.quitting = true;
        return;
    }
  }

  private helpText(topics: CommandSpec[]): string {
    const width = Math.max(...COMMANDS.map((c) => usage(c).length));
    const lines = topics.map((c) => `  ${usage(c).padEnd(width)}  ${c.help}`);
    if (topics.length === COMMANDS.length) {
      lines.push('  any other line is sent to the current room (start it with // to send a leading /)');
      lines.push('  commands may be abbreviated (/j lobby); a trailing ? shows help (/le?)');
    }
    return lines.join('\n');
  }

  private info(text: string): void {
    this.show({ type: 'info', message: text });
  }

  private show(event: PeerEvent): void {
    const { output, json, peer } = this.options;
    if (json) {
      output.write(`${JSON.stringify(event)}\n`);
      return;
    }
    const text = renderEvent(event, peer.currentRoom);
    if (text === undefined) return;
    if (this.interactive && this.rl) {
      // Print above the prompt and redraw what the user was typing.
      output.write('\r\x1b[K');
      output.write(`${text}\n`);
      this.rl.prompt(true);
    } else {
      output.write(`${text}\n`);
    }
  }

  private prompt(): void {
    if (!this.interactive || !this.rl) return;
    const room = this.options.peer.currentRoom;
    this.rl.setPrompt(room ? `#${room}> ` : '> ');
    this.rl.prompt();
  }

  private async loadHistory(): Promise<string[]> {
    try {
      const text = await readFile(join(this.options.dataDir, HISTORY_FILE), 'utf8');
      // readline keeps the newest entry first.
      return text.split('\n').filter((l) => l !== '').reverse().slice(0, HISTORY_SIZE);
    } catch {
      return [];
    }
  }

  private async saveHistory(): Promise<void> {
    try {
      await writeFile(join(this.options.dataDir, HISTORY_FILE), `${[...this.history].reverse().join('\n')}\n`, { mode: 0o600 });
    } catch (err) {
      this.options.log.warn({ err }, 'could not save command history');
    }
  }
}
