/**
 * The command language of the peer's command line, as pure code: a line in, a command
 * or an error out. Commands may be abbreviated to any unique prefix (`/j` is `/join`),
 * and a trailing `?` lists what could follow, as on an IOS-style router CLI.
 */

export interface CommandSpec {
  name: string;
  args: string;
  help: string;
  /** Smallest and largest number of arguments. */
  min: number;
  max: number;
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'join', args: 'ROOM', help: 'join ROOM and make it the current room', min: 1, max: 1 },
  { name: 'leave', args: '[ROOM]', help: 'leave ROOM (default: the current room)', min: 0, max: 1 },
  { name: 'rooms', args: '', help: 'list joined rooms; the current one is marked', min: 0, max: 0 },
  { name: 'peers', args: '', help: 'list connected peers', min: 0, max: 0 },
  { name: 'members', args: '', help: 'list every member: state, nick, peer ID, address, incarnation, last RTT', min: 0, max: 0 },
  { name: 'stats', args: '', help: 'show membership protocol counters: frames and bytes sent and received, refused input, health', min: 0, max: 0 },
  { name: 'nick', args: 'NAME', help: 'change your nick', min: 1, max: 1 },
  { name: 'whoami', args: '', help: 'show your nick, peer ID and addresses', min: 0, max: 0 },
  { name: 'log', args: 'LEVEL', help: 'set the log level shown on stderr (error, warn, info, debug, silent)', min: 1, max: 1 },
  { name: 'help', args: '', help: 'list commands', min: 0, max: 0 },
  { name: 'quit', args: '', help: 'leave the network gracefully and exit', min: 0, max: 0 }
];

export type Command =
  | { kind: 'say', text: string }
  | { kind: 'command', name: string, args: string[] }
  | { kind: 'help', topics: CommandSpec[] }
  | { kind: 'empty' };

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Commands whose name starts with `prefix`; an exact name wins over longer ones. */
export function matchCommands(prefix: string): CommandSpec[] {
  const exact = COMMANDS.find((c) => c.name === prefix);
  if (exact) return [exact];
  return COMMANDS.filter((c) => c.name.startsWith(prefix));
}

export function usage(spec: CommandSpec): string {
  return `/${spec.name}${spec.args ? ` ${spec.args}` : ''}`;
}

export function parseLine(line: string): Command {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  // `//text` sends a line that starts with a slash.
  if (trimmed.startsWith('//')) return { kind: 'say', text: trimmed.slice(1) };
  if (!trimmed.startsWith('/')) return { kind: 'say', text: line.trimEnd() };

  const words = trimmed.slice(1).split(/\s+/).filter((w) => w !== '');
  const head = words[0] ?? '';
  if (head === '?' || head === '') return { kind: 'help', topics: [...COMMANDS] };
  if (head.endsWith('?')) {
    const topics = matchCommands(head.slice(0, -1).toLowerCase());
    if (topics.length === 0) throw new CommandError(`no command starts with /${head.slice(0, -1)}; /help lists them`);
    return { kind: 'help', topics };
  }
  const candidates = matchCommands(head.toLowerCase());
  if (candidates.length === 0) throw new CommandError(`unknown command /${head}; /help lists the commands`);
  if (candidates.length > 1) {
    throw new CommandError(`/${head} is ambiguous: ${candidates.map((c) => `/${c.name}`).join(', ')}`);
  }
  const spec = candidates[0] as CommandSpec;
  const args = words.slice(1);
  if (args.at(-1) === '?') return { kind: 'help', topics: [spec] };
  if (args.length < spec.min || args.length > spec.max) throw new CommandError(`usage: ${usage(spec)}`);
  if (spec.name === 'help') return { kind: 'help', topics: [...COMMANDS] };
  return { kind: 'command', name: spec.name, args };
}

/** Completions for readline: command names after a `/`, otherwise nothing. */
export function complete(line: string, rooms: readonly string[]): [string[], string] {
  if (!line.startsWith('/')) return [[], line];
  const parts = line.slice(1).split(' ');
  if (parts.length === 1) {
    return [matchCommands(parts[0] ?? '').map((c) => `/${c.name} `), line];
  }
  const [name, ...rest] = parts;
  const spec = matchCommands(name ?? '');
  if (spec.length === 1 && (spec[0]?.name === 'leave' || spec[0]?.name === 'join') && rest.length === 1) {
    const partial = rest[0] ?? '';
    return [rooms.filter((r) => r.startsWith(partial)), partial];
  }
  return [[], line];
}
