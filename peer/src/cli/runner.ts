/**
 * Runs command lines: the console's own actions (scripts, echo, sleep, help, quit) here,
 * every other action and the chat lines in between through the link to the peer. It
 * knows no terminal: what it has to say goes out as peer events (`info`, `error`, `stats`),
 * which the console renders and `--json` prints.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerEvent } from '../events.ts';
import type { PeerLink } from '../control/link.ts';
import { CommandError, formatHelp, helpLines, nodeAt, parseLine, usageOf } from './command-tree.ts';
import type { CommandNode } from './command-tree.ts';
import { COMMAND_TREE, MAX_SLEEP_SECONDS, isPeerAction } from './commands.ts';
import type { Action } from './commands.ts';
import { seconds } from './arg-values.ts';

/** Scripts may run scripts, but not forever: a script that runs itself stops here. */
export const MAX_SCRIPT_DEPTH = 8;

export interface RunnerOptions {
  link: PeerLink;
  emit: (event: PeerEvent) => void;
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
        await this.options.link.say(parsed.text);
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
    const { link } = this.options;
    const [arg] = args;
    if (isPeerAction(action)) {
      // Files are named from where the console runs, not where the peer does.
      const sent = action === 'log-on' && arg !== undefined ? [resolve(this.options.cwd, arg)]
        : action === 'send-file' ? [arg as string, resolve(this.options.cwd, args[1] as string)] : args;
      for (const event of await link.run(action, sent)) this.options.emit(event);
      return;
    }
    switch (action) {
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
      case 'detach':
        if (!link.attached) throw new CommandError('this console runs its peer itself, attached to no daemon: /quit stops both');
        this.requestQuit();
        return;
      case 'shutdown':
        if (link.attached) await link.shutdown();
        this.requestQuit();
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
