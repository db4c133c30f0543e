/**
 * The terminal line editor: Node's readline (editing keys, history, Tab completion) with
 * two keys readline lacks, taken out of the key stream before readline sees it: Ctrl-R
 * searches the history backwards, and `?` on a command line lists what may come next and
 * leaves the typed line in place, as on a router. Output printed while the user types goes
 * above the prompt, and the line being typed is redrawn intact.
 */
import { EventEmitter } from 'node:events';
import { clearScreenDown, createInterface, cursorTo, emitKeypressEvents, moveCursor } from 'node:readline';
import type { Interface } from 'node:readline';
import { searchKey, searchPrompt, startSearch } from './reverse-search.ts';
import type { Key, SearchState } from './reverse-search.ts';

export interface LineEditorOptions {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  /** Earlier lines, newest first. */
  history: string[];
  historySize: number;
  completer: (line: string) => [string[], string];
  /** The text `?` shows after `before` (the line up to the cursor), or undefined to insert a plain `?`. */
  help: (before: string) => string | undefined;
}

/**
 * What readline reads keys from: an emitter we feed, standing in for the terminal, so a
 * key handled here never reaches readline. Raw mode and flow control pass to the real one.
 */
class KeySource extends EventEmitter {
  readonly isTTY = true;
  private readonly tty: NodeJS.ReadStream;

  constructor(tty: NodeJS.ReadStream) {
    super();
    this.tty = tty;
  }

  get isRaw(): boolean {
    return this.tty.isRaw;
  }

  setRawMode(mode: boolean): this {
    this.tty.setRawMode(mode);
    return this;
  }

  pause(): this {
    this.tty.pause();
    return this;
  }

  resume(): this {
    this.tty.resume();
    return this;
  }
}

export class LineEditor {
  readonly rl: Interface;
  private readonly options: LineEditorOptions;
  private readonly keys: KeySource;
  private history: string[];
  private search: SearchState | undefined;
  /** Screen rows the search line occupies below its first. */
  private searchRows = 0;
  private readonly onKeypress: (typed: string | undefined, key: Key | undefined) => void;

  constructor(options: LineEditorOptions) {
    this.options = options;
    this.history = [...options.history];
    this.keys = new KeySource(options.input);
    emitKeypressEvents(options.input);
    this.onKeypress = (typed, key) => this.key(typed, key ?? { sequence: typed });
    options.input.on('keypress', this.onKeypress);
    options.input.once('end', () => this.keys.emit('end'));
    this.rl = createInterface({
      input: this.keys as unknown as NodeJS.ReadableStream,
      output: options.output,
      terminal: true,
      history: options.history,
      historySize: options.historySize,
      removeHistoryDuplicates: true,
      completer: options.completer
    });
    this.rl.on('history', (entries: string[]) => { this.history = entries; });
    this.rl.once('close', () => options.input.removeListener('keypress', this.onKeypress));
  }

  /** Lines as the user enters them, newest history first. */
  entries(): string[] {
    return [...this.history];
  }

  /** Prints `text` above the prompt and redraws the prompt with what was being typed. */
  print(text: string): void {
    const { output } = this.options;
    this.clearInput();
    output.write(`${text}\n`);
    this.redrawInput();
  }

  private key(typed: string | undefined, key: Key): void {
    if (this.search) {
      this.searchStep(typed, key);
      return;
    }
    if (key.ctrl && key.name === 'r') {
      this.clearInput();
      this.search = startSearch(this.rl.line);
      this.drawSearch();
      return;
    }
    if (typed === '?' && !key.ctrl && !key.meta) {
      const text = this.options.help(this.rl.line.slice(0, this.rl.cursor));
      if (text !== undefined) {
        this.print(text);
        return;
      }
    }
    this.keys.emit('keypress', typed, key);
  }

  private searchStep(typed: string | undefined, key: Key): void {
    const outcome = searchKey(this.history, this.search as SearchState, typed, key);
    if (outcome.kind === 'searching') {
      this.search = outcome.state;
      this.clearSearch();
      this.drawSearch();
      return;
    }
    this.clearSearch();
    this.search = undefined;
    this.forgetDrawnRows();
    this.replaceLine(outcome.line);
    if (outcome.kind === 'run') this.keys.emit('keypress', '\r', { name: 'return', sequence: '\r' });
    if (outcome.kind === 'edit' && outcome.key) this.keys.emit('keypress', outcome.key.sequence, outcome.key);
  }

  /** Replaces readline's line through its own editing keys, so its cursor and display stay right. */
  private replaceLine(line: string): void {
    this.rl.write(null, { ctrl: true, name: 'e' });
    this.rl.write(null, { ctrl: true, name: 'u' });
    if (line !== '') this.rl.write(line);
  }

  /** Erases the prompt and the typed line (or the search line) from the screen. */
  private clearInput(): void {
    if (this.search) {
      this.clearSearch();
      return;
    }
    const { output } = this.options;
    moveCursor(output, 0, -this.rl.getCursorPos().rows);
    cursorTo(output, 0);
    clearScreenDown(output);
  }

  private redrawInput(): void {
    if (this.search) {
      this.drawSearch();
      return;
    }
    this.forgetDrawnRows();
    this.rl.prompt(true);
  }

  /**
   * readline moves up by the rows it drew last before it redraws; we have just erased
   * them and drawn elsewhere, so it must start from where the cursor is now.
   */
  private forgetDrawnRows(): void {
    (this.rl as unknown as { prevRows: number }).prevRows = 0;
  }

  private drawSearch(): void {
    const text = searchPrompt(this.history, this.search as SearchState);
    const columns = this.options.output.columns || 80;
    this.searchRows = Math.floor(text.length / columns);
    this.options.output.write(text);
  }

  private clearSearch(): void {
    const { output } = this.options;
    moveCursor(output, 0, -this.searchRows);
    cursorTo(output, 0);
    clearScreenDown(output);
    this.searchRows = 0;
  }
}
