import { describe, expect, it } from 'vitest';
import {
  CommandError, complete, END_OF_COMMAND, formatHelp, helpAt, helpLines, nodeAt, parseLine, questionMarkIsHelp
} from '../src/cli/command-tree.ts';
import type { CommandNode, CompletionContext } from '../src/cli/command-tree.ts';
import { COMMAND_TREE } from '../src/cli/commands.ts';
import type { Action } from '../src/cli/commands.ts';
import { parseArgs } from '../src/cli/args.ts';
import { findMember } from '../src/member-lookup.ts';
import type { MemberView } from '../src/membership/index.ts';

const parse = (line: string) => parseLine(COMMAND_TREE, line);
const help = (line: string) => helpAt(COMMAND_TREE, line).map((e) => e.label);

const ctx: CompletionContext = {
  rooms: () => ['lobby', 'dev', 'design'],
  joinedRooms: () => ['lobby'],
  members: () => ['alice', 'bob', '12D3KooWabc'],
  paths: (partial) => ['scripts/', 'script.txt'].filter((p) => p.startsWith(partial))
};
const tab = (line: string) => complete(COMMAND_TREE, line, ctx);

function allNodes(nodes: readonly CommandNode<Action>[]): CommandNode<Action>[] {
  return nodes.flatMap((n) => [n, ...allNodes(n.children ?? [])]);
}

describe('the command tree', () => {
  it('gives every node a line of help, and never both children and arguments', () => {
    for (const node of allNodes(COMMAND_TREE)) {
      expect(node.help.length, node.word).toBeGreaterThan(5);
      expect(node.children !== undefined && node.args !== undefined, node.word).toBe(false);
      expect(node.action !== undefined || (node.children?.length ?? 0) > 0, node.word).toBe(true);
      // Only the last argument may take the rest of the line.
      expect((node.args ?? []).slice(0, -1).some((a) => a.rest), node.word).toBe(false);
    }
  });

  it('sends plain lines and runs multi-word commands', () => {
    expect(parse('hello there')).toEqual({ kind: 'say', text: 'hello there' });
    expect(parse('//etc/hosts is a file')).toEqual({ kind: 'say', text: '/etc/hosts is a file' });
    expect(parse('   ')).toEqual({ kind: 'empty' });
    expect(parse('/show members')).toMatchObject({ kind: 'run', action: 'show-members', path: ['show', 'members'], args: [] });
    expect(parse('/bootstrap config ttl 30')).toMatchObject({ action: 'bootstrap-config-ttl', args: ['30'] });
    expect(parse('/join dev')).toMatchObject({ action: 'join', args: ['dev'] });
    expect(parse('/leave')).toMatchObject({ action: 'leave', args: [] });
    expect(parse('/send-file bob#1f3a my photos/beach day.jpg')).toMatchObject({ action: 'send-file', args: ['bob#1f3a', 'my photos/beach day.jpg'] });
    expect(parse('/acc 1a2b3c4d')).toMatchObject({ action: 'accept', args: ['1a2b3c4d'] });
    expect(parse('/rej 1a2b')).toMatchObject({ action: 'reject', args: ['1a2b'] });
    expect(parse('/show tr')).toMatchObject({ action: 'show-transfers' });
    expect(() => parse('/send-file bob')).toThrow('usage: /send-file MEMBER PATH');
  });

  it('takes any unique prefix of each word', () => {
    expect(parse('/sh mem')).toMatchObject({ action: 'show-members', path: ['show', 'members'] });
    expect(parse('/SH VER')).toMatchObject({ action: 'show-version' });
    expect(parse('/b j')).toMatchObject({ action: 'bootstrap-join' });
    expect(parse('/bo co m 5')).toMatchObject({ action: 'bootstrap-config-max-peers', args: ['5'] });
    expect(parse('/j dev')).toMatchObject({ action: 'join' });
    expect(parse('/q')).toMatchObject({ action: 'quit' });
    expect(parse('/st')).toMatchObject({ action: 'show-stats' });
    expect(parse('/log lev deb')).toMatchObject({ action: 'log-level', args: ['debug'] });
  });

  it('keeps the short forms as the same nodes', () => {
    expect(parse('/members')).toMatchObject({ action: 'show-members' });
    expect(parse('/rooms')).toMatchObject({ action: 'show-rooms' });
    expect(parse('/peers')).toMatchObject({ action: 'show-peers' });
    expect(parse('/stats')).toMatchObject({ action: 'show-stats' });
    expect(parse('/whoami')).toMatchObject({ action: 'whoami' });
    expect(parse('/members join')).toMatchObject({ action: 'members-join', args: [] });
  });

  it('refuses an ambiguous prefix with the candidates', () => {
    expect(() => parse('/l')).toThrow('/l is ambiguous: /leave, /log');
    expect(() => parse('/s')).toThrow('/s is ambiguous: /show, /send-file, /stats, /sleep');
    expect(() => parse('/show p')).toThrow('/show p is ambiguous: /show peers, /show processes');
  });

  it('explains unknown words and wrong arguments with the usage line', () => {
    expect(() => parse('/frobnicate')).toThrow(CommandError);
    expect(() => parse('/frobnicate')).toThrow(/unknown command \/frobnicate/);
    expect(() => parse('/show frob')).toThrow(/unknown word "frob" after \/show; expected version, peers/);
    expect(() => parse('/join')).toThrow('usage: /join ROOM');
    expect(() => parse('/join a b')).toThrow('usage: /join ROOM');
    expect(() => parse('/stats now')).toThrow('usage: /stats');
    expect(() => parse('/show')).toThrow('usage: /show version|peers|members|rooms|bootstrap|config|stats|processes');
    expect(() => parse('/leave a b')).toThrow('usage: /leave [ROOM]');
    expect(() => parse('/log level loud')).toThrow(/usage: \/log level LEVEL \(LEVEL is one of fatal, error/);
  });

  it('keeps free text as typed, question marks included', () => {
    expect(parse('/echo  two  spaces? yes ')).toMatchObject({ action: 'echo', args: ['two  spaces? yes'] });
    expect(parse('/echo why?')).toMatchObject({ action: 'echo', args: ['why?'] });
    expect(questionMarkIsHelp(COMMAND_TREE, '/echo what')).toBe(false);
    expect(questionMarkIsHelp(COMMAND_TREE, 'is it')).toBe(false);
    expect(questionMarkIsHelp(COMMAND_TREE, '//not a command')).toBe(false);
    expect(questionMarkIsHelp(COMMAND_TREE, '/sh')).toBe(true);
    expect(questionMarkIsHelp(COMMAND_TREE, '/show ')).toBe(true);
    expect(questionMarkIsHelp(COMMAND_TREE, '/frob ')).toBe(true);
  });
});

describe('? help', () => {
  it('lists what may come next, with help', () => {
    expect(help('/')).toEqual(COMMAND_TREE.map((n) => n.word));
    expect(help('/sh')).toEqual(['show']);
    expect(help('/l')).toEqual(['leave', 'log']);
    expect(help('/show ')).toEqual(['version', 'peers', 'members', 'rooms', 'bootstrap', 'config', 'stats', 'processes', 'reachability', 'outbox', 'web', 'transfers']);
    expect(help('/show p')).toEqual(['peers', 'processes']);
    expect(help('/members ')).toEqual(['join', 'leave', END_OF_COMMAND]);
    expect(help('/join ')).toEqual(['ROOM']);
    expect(help('/leave ')).toEqual(['ROOM', END_OF_COMMAND]);
    expect(help('/show members ')).toEqual([END_OF_COMMAND]);
    expect(help('/log level ')).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
    expect(helpAt(COMMAND_TREE, '/show ').find((e) => e.label === 'processes')?.help).toMatch(/subsystems/);
  });

  it('answers /...? typed with Enter, as in pipes and scripts', () => {
    expect(parse('/sh?')).toMatchObject({ kind: 'help', entries: [{ label: 'show' }] });
    const next = parse('/show ?');
    expect(next.kind === 'help' && next.entries.map((e) => e.label)).toContain('processes');
    const all = parse('/?');
    expect(all.kind === 'help' && all.entries).toHaveLength(COMMAND_TREE.length);
    expect(() => parse('/show frob ?')).toThrow(/unknown word "frob"/);
    expect(() => parse('/zz?')).toThrow(/nothing begins with "zz"/);
    expect(() => parse('/show members extra ?')).toThrow(/nothing more may follow/);
  });

  it('writes /help text from the tree', () => {
    const { node, path } = nodeAt(COMMAND_TREE, ['bo', 'con']);
    expect(path).toEqual(['bootstrap', 'config']);
    const text = formatHelp(helpLines(node, path));
    expect(text).toContain('/bootstrap config [max-peers|ttl]');
    expect(text).toContain('/bootstrap config ttl SECONDS');
    expect(() => nodeAt(COMMAND_TREE, ['show', 'members', 'x'])).toThrow(/no word "x"/);
  });
});

describe('Tab completion', () => {
  it('completes command words at every level', () => {
    expect(tab('/jo')).toEqual([['/join '], '/jo']);
    expect(tab('/s')).toEqual([['/show ', '/send-file ', '/stats ', '/sleep '], '/s']);
    expect(tab('/show pr')).toEqual([['processes '], 'pr']);
    expect(tab('/sh me')).toEqual([['members '], 'me']);
    expect(tab('/bootstrap ')).toEqual([['join ', 'leave ', 'list ', 'refill ', 'config '], '']);
  });

  it('completes arguments from rooms, members, files and choices', () => {
    expect(tab('/join d')).toEqual([['design', 'dev'], 'd']);
    expect(tab('/leave ')).toEqual([['lobby'], '']);
    expect(tab('/execute scr')).toEqual([['scripts/', 'script.txt'], 'scr']);
    expect(tab('/log level d')).toEqual([['debug'], 'd']);
    expect(tab('/log on s')).toEqual([['scripts/', 'script.txt'], 's']);
    expect(tab('/send-file bob scr')).toEqual([['scripts/', 'script.txt'], 'scr']);
    expect(tab('/whois b')).toEqual([['bob'], 'b']);
    expect(tab('/whois 12D')).toEqual([['12D3KooWabc'], '12D']);
    expect(tab('/echo hi')).toEqual([[], 'hi']);
    expect(tab('hello')).toEqual([[], 'hello']);
    expect(tab('/frob x')).toEqual([[], 'x']);
  });
});

describe('peer flags', () => {
  it('has documented defaults', () => {
    const o = parseArgs(['--nick', 'alice']);
    expect(o).toMatchObject({ nick: 'alice', room: 'lobby', json: false, mdns: false, hostBootstrap: true, listen: ['/ip4/127.0.0.1/tcp/0'] });
    expect(o.dataDir).toMatch(/cli-chat[/\\]alice$/);
  });

  it('takes file sizes with binary units, from the flag or the environment', () => {
    expect(parseArgs([])).toMatchObject({ maxFileSize: 64 * 2 ** 20, downloadsQuota: 2 ** 30 });
    expect(parseArgs(['--max-file-size', '1.5MiB', '--downloads-quota', '10G']).maxFileSize).toBe(1.5 * 2 ** 20);
    expect(parseArgs(['--max-file-size', '0']).maxFileSize).toBe(0);
    expect(parseArgs(['--downloads-quota', '500k']).downloadsQuota).toBe(500 * 1024);
    process.env.CLI_CHAT_MAX_FILE_SIZE = '2048';
    try {
      expect(parseArgs([]).maxFileSize).toBe(2048);
    } finally {
      delete process.env.CLI_CHAT_MAX_FILE_SIZE;
    }
    expect(() => parseArgs(['--max-file-size', '64 parsecs'])).toThrow(/not a size/);
    expect(() => parseArgs(['--max-file-size', '-1'])).toThrow(/not a size/);
    expect(() => parseArgs(['--max-file-size', '100G'])).toThrow(/over 64 GiB/);
    expect(parseArgs(['--downloads-quota', '2048G']).downloadsQuota).toBe(2 ** 41);
  });

  it('turns mDNS on for LAN listen addresses unless told not to', () => {
    expect(parseArgs(['--listen', '/ip4/0.0.0.0/tcp/4001']).mdns).toBe(true);
    expect(parseArgs(['--listen', '/ip4/0.0.0.0/tcp/4001', '--no-mdns']).mdns).toBe(false);
    expect(parseArgs(['--mdns']).mdns).toBe(true);
  });

  it('takes the room rate limit as RATE/BURST or off, from the flag or the environment', () => {
    expect(parseArgs([]).roomRateLimit).toEqual({ rate: 20, burst: 60 });
    expect(parseArgs(['--room-rate-limit', '2.5/10']).roomRateLimit).toEqual({ rate: 2.5, burst: 10 });
    expect(parseArgs(['--room-rate-limit', 'off']).roomRateLimit).toBe(false);
    process.env.CLI_CHAT_ROOM_RATE_LIMIT = '5/5';
    try {
      expect(parseArgs([]).roomRateLimit).toEqual({ rate: 5, burst: 5 });
    } finally {
      delete process.env.CLI_CHAT_ROOM_RATE_LIMIT;
    }
    expect(() => parseArgs(['--room-rate-limit', '20'])).toThrow(/not RATE\/BURST/);
    expect(() => parseArgs(['--room-rate-limit', '0/60'])).toThrow(/rate must be a positive number/);
    expect(() => parseArgs(['--room-rate-limit', '20/0'])).toThrow(/burst must be a whole number/);
  });

  it('takes how many members to remember and for how long, 0 members for none', () => {
    expect(parseArgs([])).toMatchObject({ rememberMembers: 32, rememberDays: 7 });
    expect(parseArgs(['--remember-members', '0', '--remember-days', '30'])).toMatchObject({ rememberMembers: 0, rememberDays: 30 });
    expect(() => parseArgs(['--remember-members', '257'])).toThrow(/from 0 to 256/);
    expect(() => parseArgs(['--remember-members', '-1'])).toThrow(/from 0 to 256/);
    expect(() => parseArgs(['--remember-days', '0'])).toThrow(/from 1 to 365/);
    expect(() => parseArgs(['--remember-days', '1.5'])).toThrow(/whole number/);
  });

  it('serves as a relay once found public by default, always with --relay, never with --relay off; reserves once found unreachable', () => {
    const limits = { maxReservations: 16, circuitSeconds: 0, circuitBytes: 0 };
    expect(parseArgs([]).relay).toEqual({ serve: limits, serveAtStart: false, reservations: 2, reserveAtStart: false });
    expect(parseArgs(['--relay']).relay).toEqual({ serve: limits, serveAtStart: true, reservations: 0, reserveAtStart: false });
    expect(parseArgs(['--relay', 'on', '--relay-max-reservations', '4']).relay).toMatchObject({ serve: { maxReservations: 4 }, serveAtStart: true });
    expect(parseArgs(['--relay', 'off']).relay).toEqual({ serveAtStart: false, reservations: 2, reserveAtStart: false });
    expect(parseArgs(['--relay', 'auto', '--reserve-relays', '1']).relay).toMatchObject({ serveAtStart: false, reservations: 1 });
    expect(() => parseArgs(['--relay', 'maybe'])).toThrow(/Allowed choices are auto, on, off/);
  });

  it('refuses bad values with a clear error', () => {
    expect(() => parseArgs(['--listen', 'not-an-addr'])).toThrow(/not a multiaddr/);
    expect(() => parseArgs(['--bootstrap', 'ftp://x'])).toThrow(/http or https/);
    expect(() => parseArgs(['--room', 'no/slash'])).toThrow();
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});

describe('finding a member by name', () => {
  const member = (id: string, nick: string): MemberView =>
    ({ id, state: 'alive', incarnation: 1, rtt: undefined, since: undefined, meta: { nick, addrs: [], rooms: [], version: '1' } });
  const members = [member('12D3KooWAAAAAAAAAAAAaaaa1111', 'alice'), member('12D3KooWBBBBBBBBBBBBbbbb2222', 'bob'),
    member('12D3KooWCCCCCCCCCCCCcccc3333', 'bob')];

  it('takes a unique nick, a full peer ID or the shown end of one', () => {
    expect(findMember(members, 'alice').id).toBe('12D3KooWAAAAAAAAAAAAaaaa1111');
    expect(findMember(members, '12D3KooWCCCCCCCCCCCCcccc3333').meta.nick).toBe('bob');
    expect(findMember(members, '…bbbb2222').id).toBe('12D3KooWBBBBBBBBBBBBbbbb2222');
  });

  it('refuses a shared nick with the candidates, and an unknown one', () => {
    expect(() => findMember(members, 'bob')).toThrow('bob is ambiguous: bob (…bbbb2222), bob (…cccc3333); use the peer ID');
    expect(() => findMember(members, 'carol')).toThrow(/no member is called carol/);
    // Too short a tail would match by accident.
    expect(() => findMember(members, '1111')).toThrow(/no member/);
  });
});
