/**
 * The console: reads lines from a terminal (line editor with completion, `?` help,
 * history and Ctrl-R search) or from a pipe (one command per line, in order), hands them
 * to the command runner, and shows the peer's events as text or as JSON lines.
 */
import { createInterface } from 'node:readline';
import type { Interface } from 'node:readline';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { PeerLink } from '../control/link.ts';
import type { PeerEvent } from '../events.ts';
import { complete, formatHelp, helpAt, questionMarkIsHelp } from './command-tree.ts';
import type { CompletionContext } from './command-tree.ts';
import { COMMAND_TREE } from './commands.ts';
import type { PeerView } from '../control/link.ts';
import { CommandRunner } from './runner.ts';
import { LineEditor } from './line-editor.ts';
import { COLOURED, PLAIN, colourWanted } from './colour.ts';
import type { Style } from './colour.ts';
import type { LogSink } from './log-sink.ts';
import { renderEvent, renderNickChange } from './render.ts';
import { displayNames } from '../presence.ts';
import { HISTORY_FILE, HISTORY_SIZE } from '../config.ts';

export interface SessionOptions {
  link: PeerLink;
  json: boolean;
  input: NodeJS.ReadStream | (NodeJS.ReadableStream & { isTTY?: boolean });
  output: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean });
  dataDir: string;
  log: Logger;
  logSink: LogSink;
  /** A script to run once the peer is ready, before reading input. */
  script?: string;
  env?: NodeJS.ProcessEnv;
}

/** Whether a console on these streams is a person at a terminal (and not --json). */
export function isInteractive(input: { isTTY?: boolean }, output: { isTTY?: boolean }, json: boolean): boolean {
  return Boolean(input.isTTY && output.isTTY) && !json;
}

export class Session {
  private readonly options: SessionOptions;
  private readonly interactive: boolean;
  private readonly style: Style;
  private readonly runner: CommandRunner;
  private editor: LineEditor | undefined;
  private rl: Interface | undefined;
  /** Each member's nick as last shown, to tell a nick change from other news. */
  private readonly nicks = new Map<string, string>();

  constructor(options: SessionOptions) {
    this.options = options;
    this.interactive = isInteractive(options.input, options.output, options.json);
    this.style = colourWanted(options.output, options.json, options.env ?? process.env) ? COLOURED : PLAIN;
    this.runner = new CommandRunner({ link: options.link, emit: (event) => this.show(event), cwd: process.cwd() });
    options.logSink.onConsole((line) => this.print(this.style.dim(line)));
  }

  /** Shows the peer's events; call before the peer starts so `ready` is not missed. */
  attach(): void {
    this.options.link.on((event) => this.show(event));
  }

  /** Runs until /quit or end of input; resolves when the session is over. */
  async run(): Promise<void> {
    if (this.options.script !== undefined) await this.runner.runScript(this.options.script);
    if (this.runner.quit) return;
    const rl = this.interactive ? await this.openEditor() : createInterface({ input: this.options.input, terminal: false });
    this.rl = rl;
    // Ctrl-C at the prompt quits gracefully, like /quit.
    rl.on('SIGINT', () => this.close());
    const closed = new Promise<void>((done) => rl.once('close', done));
    this.prompt();
    // Lines are handled one at a time, in order, so a script's /join takes effect before its next line.
    for await (const line of rl) {
      await this.runner.run(line);
      if (this.runner.quit) break;
      this.prompt();
    }
    if (this.editor) await this.saveHistory(this.editor.entries());
    rl.close();
    await closed;
  }

  close(): void {
    this.runner.requestQuit();
    this.rl?.close();
  }

  private async openEditor(): Promise<Interface> {
    const editor = new LineEditor({
      input: this.options.input as NodeJS.ReadStream,
      output: this.options.output as NodeJS.WriteStream,
      history: await this.loadHistory(),
      historySize: HISTORY_SIZE,
      completer: (line) => complete(COMMAND_TREE, line, this.completions()),
      help: (before) => {
        if (!questionMarkIsHelp(COMMAND_TREE, before)) return undefined;
        try {
          return formatHelp(helpAt(COMMAND_TREE, before));
        } catch (err) {
          return this.style.error(`! ${(err as Error).message}`);
        }
      }
    });
    this.editor = editor;
    return editor.rl;
  }

  private completions(): CompletionContext {
    const view = (): PeerView => this.options.link.view();
    return {
      rooms: () => { const v = view(); return [...v.rooms, ...v.knownRooms.map(([room]) => room)]; },
      joinedRooms: () => view().rooms,
      members: () => { const v = view(); return v.members.filter((m) => m.id !== v.peerId).flatMap((m) => [m.meta.nick, m.id]); },
      paths: (partial) => completePath(process.cwd(), partial)
    };
  }

  private show(event: PeerEvent): void {
    const { output, json, link } = this.options;
    if (json) {
      output.write(`${JSON.stringify(event)}\n`);
      return;
    }
    if (event.type === 'member-updated') {
      const change = renderNickChange(this.nicks.get(event.peerId), event);
      if (change !== undefined) this.print(this.style.dim(change));
    }
    if ('peerId' in event && 'nick' in event && event.type.startsWith('member-')) this.nicks.set(event.peerId, event.nick);
    const view = link.view();
    const names = event.type === 'message' ? displayNames(view.members) : undefined;
    const text = renderEvent(event, view.currentRoom, this.style, (id, nick) => names?.get(id) ?? nick);
    if (text !== undefined) this.print(text);
    if (event.type === 'ready' && this.interactive && this.options.logSink.target.kind === 'file') {
      this.print(this.style.dim(`* logs go to ${this.options.logSink.describe()}; /log on shows them here`));
    }
  }

  private print(text: string): void {
    if (this.editor) this.editor.print(text);
    else this.options.output.write(`${text}\n`);
  }

  private prompt(): void {
    if (!this.editor || !this.rl) return;
    const room = this.options.link.view().currentRoom;
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

  private async saveHistory(entries: string[]): Promise<void> {
    try {
      await writeFile(join(this.options.dataDir, HISTORY_FILE), `${[...entries].reverse().join('\n')}\n`, { mode: 0o600 });
    } catch (err) {
      this.options.log.warn({ err }, 'could not save command history');
    }
  }
}

/** File names that complete `partial` (relative to `cwd`), directories with a trailing `/`. */
export function completePath(cwd: string, partial: string): string[] {
  const slash = partial.lastIndexOf('/');
  const dir = slash < 0 ? '' : partial.slice(0, slash + 1);
  const base = partial.slice(slash + 1);
  try {
    return readdirSync(resolve(cwd, dir === '' ? '.' : dir), { withFileTypes: true })
      .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
      .map((e) => `${dir}${e.name}${e.isDirectory() ? '/' : ''}`)
      .sort();
  } catch {
    return [];
  }
}
