/**
 * The command language as pure code: a tree of words with one line of help each, as on
 * an IOS-style router. Any unique prefix of each word works (`/sh mem`), `?` lists what
 * may come next, and Tab completes words and arguments. The tree only names actions;
 * the session (console.ts) runs them, so the same language can serve other front ends.
 */

/** Where an argument's completions come from, supplied by the caller at completion time. */
export type CompletionSource = 'rooms' | 'joined-rooms' | 'members' | 'paths';

export interface ArgSpec {
  /** As shown in usage lines: ROOM, [ROOM], TEXT. */
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
  /** Takes the rest of the line as typed, spaces and `?` included. Only the last argument. */
  readonly rest?: boolean;
  /** Allowed values; any unique prefix of one is taken as it. */
  readonly choices?: readonly string[];
  readonly complete?: CompletionSource;
}

export interface CommandNode<A extends string = string> {
  readonly word: string;
  readonly help: string;
  /** What runs when the line ends at this node (plus its arguments). */
  readonly action?: A;
  /** Runs only when typed in full, so that no abbreviation of another word stops the peer. */
  readonly whole?: boolean;
  /** Arguments of the action. A node with children takes none, so a word is never both. */
  readonly args?: readonly ArgSpec[];
  readonly children?: readonly CommandNode<A>[];
}

export type ParsedLine<A extends string = string> =
  | { readonly kind: 'empty' }
  | { readonly kind: 'say', readonly text: string }
  | { readonly kind: 'run', readonly action: A, readonly path: readonly string[], readonly args: readonly string[] }
  | { readonly kind: 'help', readonly entries: readonly HelpEntry[] };

/** One line of `?` output: a word or an argument, and what it does. */
export interface HelpEntry {
  readonly label: string;
  readonly help: string;
}

/** A line that is not a valid command: nothing ran. The message is for the user as it is. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** What completion may offer for arguments, read when Tab is pressed. */
export interface CompletionContext {
  /** Every room known: joined ones and those other members announce. */
  rooms(): readonly string[];
  joinedRooms(): readonly string[];
  /** Member nicks and peer IDs. */
  members(): readonly string[];
  /** Completions of a partial file path, directories ending in `/`. */
  paths(partial: string): readonly string[];
}

/** `?` output's label for "the line may end here". */
export const END_OF_COMMAND = '<cr>';

interface Token {
  readonly text: string;
  readonly start: number;
}

function tokens(text: string, offset: number): Token[] {
  return [...text.matchAll(/\S+/g)].map((m) => ({ text: m[0], start: offset + (m.index ?? 0) }));
}

/** Children of `node` that `word` names: the exact word if there is one, else every word it begins. */
export function matchWord<A extends string>(nodes: readonly CommandNode<A>[], word: string): CommandNode<A>[] {
  const lower = word.toLowerCase();
  const exact = nodes.find((n) => n.word === lower);
  if (exact) return [exact];
  return nodes.filter((n) => !n.whole && n.word.startsWith(lower));
}

function matchChoice(choices: readonly string[], value: string): string[] {
  const lower = value.toLowerCase();
  return choices.includes(lower) ? [lower] : choices.filter((c) => c.startsWith(lower));
}

export function usageOf(path: readonly string[], node: CommandNode): string {
  const head = `/${path.join(' ')}`;
  if (node.children && node.children.length > 0) {
    const words = node.children.map((c) => c.word).join('|');
    return node.action ? `${head} [${words}]` : `${head} ${words}`;
  }
  const args = (node.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name));
  return [head, ...args].join(' ');
}

interface Walked<A extends string> {
  node: CommandNode<A>;
  path: string[];
  /** Tokens after the last command word: the node's arguments. */
  args: Token[];
}

/**
 * Follows command words from the root as far as they go. Throws CommandError for an
 * unknown or ambiguous word; the remaining tokens are the arguments of the node reached.
 */
function walk<A extends string>(tree: readonly CommandNode<A>[], words: readonly Token[]): Walked<A> {
  let node: CommandNode<A> = { word: '', help: '', children: tree };
  const path: string[] = [];
  let i = 0;
  while (i < words.length && node.children && node.children.length > 0) {
    const word = (words[i] as Token).text;
    const found = matchWord(node.children, word);
    const where = path.length === 0 ? '' : ` after /${path.join(' ')}`;
    if (found.length === 0) {
      // A node that also runs on its own takes no arguments, so an unknown word is an error either way.
      if (path.length === 0) throw new CommandError(`unknown command /${word}; /help lists the commands`);
      throw new CommandError(`unknown word "${word}"${where}; expected ${node.children.map((c) => c.word).join(', ')}`);
    }
    if (found.length > 1) {
      const prefix = path.length === 0 ? '/' : `/${path.join(' ')} `;
      throw new CommandError(`${prefix}${word} is ambiguous: ${found.map((c) => `${prefix}${c.word}`).join(', ')}`);
    }
    node = found[0] as CommandNode<A>;
    path.push(node.word);
    i++;
  }
  return { node, path, args: words.slice(i) };
}

function restArgIndex(node: CommandNode): number {
  const args = node.args ?? [];
  const last = args.at(-1);
  return last?.rest ? args.length - 1 : -1;
}

/** Whether the word at index `argIndex` of `node`'s arguments is free text (where `?` is literal). */
function inRestArg(node: CommandNode, argIndex: number): boolean {
  const rest = restArgIndex(node);
  return rest >= 0 && argIndex >= rest;
}

/** Checks argument count and choices; returns the arguments as the action receives them. */
function bindArgs<A extends string>(line: string, walked: Walked<A>): string[] {
  const { node, path, args } = walked;
  const specs = node.args ?? [];
  const usage = `usage: ${usageOf(path, node)}`;
  if (node.action === undefined) throw new CommandError(usage);
  const rest = restArgIndex(node);
  let values: string[];
  if (rest >= 0 && args.length > rest) {
    values = [...args.slice(0, rest).map((t) => t.text), line.slice((args[rest] as Token).start).trimEnd()];
  } else {
    values = args.map((t) => t.text);
  }
  const required = specs.filter((a) => !a.optional).length;
  if (values.length < required || values.length > specs.length) throw new CommandError(usage);
  return values.map((value, i) => {
    const choices = specs[i]?.choices;
    if (!choices) return value;
    const found = matchChoice(choices, value);
    if (found.length !== 1) throw new CommandError(`${usage} (${specs[i]?.name} is one of ${choices.join(', ')})`);
    return found[0] as string;
  });
}

function entriesAfter(walked: Walked<string>, partial: string | undefined): HelpEntry[] {
  const { node, args } = walked;
  if (node.children && node.children.length > 0 && args.length === 0) {
    const children = partial === undefined ? node.children : matchWord(node.children, partial);
    const entries = children.map((c) => ({ label: c.word, help: c.help }));
    if (partial === undefined && node.action) entries.push({ label: END_OF_COMMAND, help: node.help });
    return entries;
  }
  const specs = node.args ?? [];
  const index = args.length;
  const spec = specs[index] ?? (specs.at(-1)?.rest ? specs.at(-1) : undefined);
  const entries: HelpEntry[] = [];
  if (spec) {
    const choices = spec.choices ? matchChoice(spec.choices, partial ?? '') : [];
    if (spec.choices) entries.push(...choices.map((c) => ({ label: c, help: spec.help })));
    else entries.push({ label: spec.name, help: spec.help });
  }
  const required = specs.filter((a) => !a.optional).length;
  if (partial === undefined && node.action && index >= required && (index <= specs.length)) {
    entries.push({ label: END_OF_COMMAND, help: node.help });
  }
  return entries;
}

/**
 * What `?` shows at the end of `before` (the line up to the `?`): the words that may
 * come next, or those the partial word begins (`/sh?`), each with its help.
 */
export function helpAt<A extends string>(tree: readonly CommandNode<A>[], before: string): HelpEntry[] {
  const body = before.trimStart().slice(1);
  const all = tokens(body, 0);
  const partial = /\s$/.test(body) || body === '' ? undefined : all.at(-1)?.text;
  const words = partial === undefined ? all : all.slice(0, -1);
  const walked = walk(tree, words);
  const entries = entriesAfter(walked, partial);
  if (entries.length === 0) {
    const where = walked.path.length === 0 ? '' : ` /${walked.path.join(' ')}`;
    throw new CommandError(partial === undefined
      ? `nothing more may follow; usage: ${usageOf(walked.path, walked.node)}`
      : `nothing${where} begins with "${partial}"`);
  }
  return entries;
}

/**
 * Whether a `?` typed after `before` asks for help (and so is not inserted): on a command
 * line, except inside free text such as `/echo TEXT`, where a question mark is just text.
 */
export function questionMarkIsHelp(tree: readonly CommandNode[], before: string): boolean {
  const trimmed = before.trimStart();
  if (!trimmed.startsWith('/') || trimmed.startsWith('//')) return false;
  const body = trimmed.slice(1);
  const all = tokens(body, 0);
  const partial = /\s$/.test(body) || body === '' ? undefined : all.at(-1);
  const words = partial === undefined ? all : all.slice(0, -1);
  try {
    const walked = walk(tree, words);
    return !inRestArg(walked.node, walked.args.length);
  } catch {
    // A mistyped word: `?` shows what is wrong with it.
    return true;
  }
}

/** Parses one line: chat text, a command with its arguments, or a request for help. */
export function parseLine<A extends string>(tree: readonly CommandNode<A>[], line: string): ParsedLine<A> {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  // `//text` sends a line that starts with a slash.
  if (trimmed.startsWith('//')) return { kind: 'say', text: trimmed.slice(1) };
  if (!trimmed.startsWith('/')) return { kind: 'say', text: line.trimEnd() };
  const offset = line.indexOf('/') + 1;
  const all = tokens(line.slice(offset), offset);
  if (all.length === 0) return { kind: 'help', entries: helpAt(tree, '/') };
  const last = all.at(-1) as Token;
  if (last.text.endsWith('?')) {
    const before = line.slice(0, last.start + last.text.length - 1);
    const walked = walk(tree, all.slice(0, -1));
    // In free text (`/echo why?`) a question mark is text, not a question.
    if (!inRestArg(walked.node, walked.args.length)) return { kind: 'help', entries: helpAt(tree, before) };
  }
  const walked = walk(tree, all);
  return { kind: 'run', action: walked.node.action as A, path: walked.path, args: bindArgs(line, walked) };
}

/** The node a path of full words names, for `/help show members`. */
export function nodeAt<A extends string>(tree: readonly CommandNode<A>[], words: readonly string[]): { node: CommandNode<A>, path: string[] } {
  const walked = walk(tree, tokens(words.join(' '), 0));
  if (walked.args.length > 0) {
    throw new CommandError(`/${walked.path.join(' ')} has no word "${(walked.args[0] as Token).text}"`);
  }
  return { node: walked.node, path: walked.path };
}

/** Every command in the subtree at `path` as a usage line and its help, depth first. */
export function helpLines(node: CommandNode, path: readonly string[]): HelpEntry[] {
  const out: HelpEntry[] = [];
  if (path.length > 0 && (node.action !== undefined || !node.children)) out.push({ label: usageOf(path, node), help: node.help });
  for (const child of node.children ?? []) out.push(...helpLines(child, [...path, child.word]));
  return out;
}

function candidatesFor(spec: ArgSpec, partial: string, ctx: CompletionContext): string[] {
  let values: readonly string[];
  if (spec.choices) values = spec.choices;
  else if (spec.complete === 'rooms') values = ctx.rooms();
  else if (spec.complete === 'joined-rooms') values = ctx.joinedRooms();
  else if (spec.complete === 'members') values = ctx.members();
  else if (spec.complete === 'paths') return [...ctx.paths(partial)];
  else values = [];
  return [...new Set(values)].filter((v) => v.startsWith(partial)).sort();
}

/**
 * Tab completion in readline's shape: the candidates for the word being typed and that
 * word. Command words complete with a trailing space; arguments from their source.
 */
export function complete<A extends string>(tree: readonly CommandNode<A>[], line: string, ctx: CompletionContext): [string[], string] {
  const trimmed = line.trimStart();
  if (!trimmed.startsWith('/') || trimmed.startsWith('//')) return [[], line];
  const body = trimmed.slice(1);
  const all = tokens(body, 0);
  const partial = /\s$/.test(body) || body === '' ? '' : (all.at(-1) as Token).text;
  const words = partial === '' ? all : all.slice(0, -1);
  let walked: Walked<A>;
  try {
    walked = walk(tree, words);
  } catch {
    return [[], partial];
  }
  const { node, args } = walked;
  if (node.children && node.children.length > 0 && args.length === 0) {
    const matching = node.children.filter((c) => c.word.startsWith(partial.toLowerCase()));
    // A word that runs only in full is offered only when nothing else matches.
    const abbreviable = matching.filter((c) => !c.whole);
    const hits = (abbreviable.length > 0 ? abbreviable : matching).map((c) => `${c.word} `);
    // On the first word the slash is part of what readline replaces.
    if (words.length === 0) return [hits.map((h) => `/${h}`), `/${partial}`];
    return [hits, partial];
  }
  const spec = (node.args ?? [])[args.length];
  if (!spec || spec.rest && !spec.complete) return [[], partial];
  return [candidatesFor(spec, partial, ctx), partial];
}

/** Format help entries as an aligned two-column list. */
export function formatHelp(entries: readonly HelpEntry[]): string {
  const width = Math.max(...entries.map((e) => e.label.length));
  return entries.map((e) => `  ${e.label.padEnd(width)}  ${e.help}`).join('\n');
}
