import { describe, expect, it } from 'vitest';
import { CommandError, complete, parseLine } from '../src/cli/commands.ts';
import { parseArgs } from '../src/cli/args.ts';

describe('command line parsing', () => {
  it('sends plain lines and runs commands', () => {
    expect(parseLine('hello there')).toEqual({ kind: 'say', text: 'hello there' });
    expect(parseLine('//etc/hosts is a file')).toEqual({ kind: 'say', text: '/etc/hosts is a file' });
    expect(parseLine('   ')).toEqual({ kind: 'empty' });
    expect(parseLine('/join dev')).toEqual({ kind: 'command', name: 'join', args: ['dev'] });
    expect(parseLine('/leave')).toEqual({ kind: 'command', name: 'leave', args: [] });
    expect(parseLine('/quit')).toEqual({ kind: 'command', name: 'quit', args: [] });
  });

  it('accepts unique abbreviations and refuses ambiguous ones', () => {
    expect(parseLine('/j dev')).toEqual({ kind: 'command', name: 'join', args: ['dev'] });
    expect(parseLine('/q')).toEqual({ kind: 'command', name: 'quit', args: [] });
    expect(parseLine('/st')).toEqual({ kind: 'command', name: 'stats', args: [] });
    expect(() => parseLine('/stats now')).toThrow('usage: /stats');
    expect(() => parseLine('/l')).toThrow(/ambiguous: \/leave, \/log/);
  });

  it('explains unknown commands and wrong argument counts', () => {
    expect(() => parseLine('/frobnicate')).toThrow(CommandError);
    expect(() => parseLine('/frobnicate')).toThrow(/unknown command \/frobnicate/);
    expect(() => parseLine('/join')).toThrow('usage: /join ROOM');
    expect(() => parseLine('/join a b')).toThrow('usage: /join ROOM');
  });

  it('answers ? with help for what could follow', () => {
    const all = parseLine('/?');
    expect(all.kind === 'help' && all.topics.length).toBeGreaterThan(5);
    const l = parseLine('/l?');
    expect(l.kind === 'help' && l.topics.map((t) => t.name)).toEqual(['leave', 'log']);
    const join = parseLine('/join ?');
    expect(join.kind === 'help' && join.topics.map((t) => t.name)).toEqual(['join']);
  });

  it('completes command names and room names', () => {
    expect(complete('/jo', [])).toEqual([['/join '], '/jo']);
    expect(complete('/leave lo', ['lobby', 'other'])).toEqual([['lobby'], 'lo']);
    expect(complete('hello', ['lobby'])).toEqual([[], 'hello']);
  });
});

describe('peer flags', () => {
  it('has documented defaults', () => {
    const o = parseArgs(['--nick', 'alice']);
    expect(o).toMatchObject({ nick: 'alice', room: 'lobby', json: false, mdns: false, hostBootstrap: true, listen: ['/ip4/127.0.0.1/tcp/0'] });
    expect(o.dataDir).toMatch(/cli-chat[/\\]alice$/);
  });

  it('turns mDNS on for LAN listen addresses unless told not to', () => {
    expect(parseArgs(['--listen', '/ip4/0.0.0.0/tcp/4001']).mdns).toBe(true);
    expect(parseArgs(['--listen', '/ip4/0.0.0.0/tcp/4001', '--no-mdns']).mdns).toBe(false);
    expect(parseArgs(['--mdns']).mdns).toBe(true);
  });

  it('refuses bad values with a clear error', () => {
    expect(() => parseArgs(['--listen', 'not-an-addr'])).toThrow(/not a multiaddr/);
    expect(() => parseArgs(['--bootstrap', 'ftp://x'])).toThrow(/http or https/);
    expect(() => parseArgs(['--room', 'no/slash'])).toThrow();
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});
