/**
 * The console's pure parts: Ctrl-R search, colour, the log sink and path completion.
 * No peer runs here; the log sink and completion use real files in a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOlder, searchKey, searchPrompt, startSearch } from '../src/cli/reverse-search.ts';
import type { Key, SearchOutcome, SearchState } from '../src/cli/reverse-search.ts';
import { COLOURED, colourWanted, nickColour } from '../src/cli/colour.ts';
import { LogSink, formatLogLine } from '../src/cli/log-sink.ts';
import { completePath } from '../src/cli/session.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-chat-units-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('Ctrl-R reverse search', () => {
  // Newest first, as readline keeps it.
  const history = ['/join dev', 'hello world', '/join lobby', 'hello there', '/bootstrap join'];

  function searching(outcome: SearchOutcome): SearchState {
    if (outcome.kind !== 'searching') throw new Error(`expected to be still searching, got ${outcome.kind}`);
    return outcome.state;
  }
  /** Types `text` one key at a time into a search begun on `line`. */
  function typed(text: string, state: SearchState = startSearch('draft')): SearchState {
    for (const ch of text) state = searching(searchKey(history, state, ch, { sequence: ch, name: ch }));
    return state;
  }
  const key = (state: SearchState, k: Key): SearchOutcome => searchKey(history, state, undefined, k);

  it('findOlder finds the newest entry at or after the index that contains the query', () => {
    expect(findOlder(history, 'join', 0)).toBe(0);
    expect(findOlder(history, 'join', 1)).toBe(2);
    expect(findOlder(history, 'join', 3)).toBe(4);
    expect(findOlder(history, 'join', 5)).toBe(-1);
    expect(findOlder(history, 'nowhere', 0)).toBe(-1);
    expect(findOlder(history, 'hello', -3)).toBe(1);
  });

  it('builds the query as keys are typed and shows the newest match', () => {
    let state = typed('hel');
    expect(state).toMatchObject({ query: 'hel', index: 1, failed: false, original: 'draft' });
    expect(searchPrompt(history, state)).toBe("(reverse-i-search)'hel': hello world");
    // A longer query that still matches the entry shown stays on it.
    state = typed('lo w', state);
    expect(state).toMatchObject({ query: 'hello w', index: 1 });
    // One that does not moves to the next older match.
    state = typed('j');
    expect(state.index).toBe(0);
    state = typed('oin l', state);
    expect(state.index).toBe(2);
  });

  it('goes to older matches on Ctrl-R, and fails past the oldest keeping the last match', () => {
    let state = typed('join');
    expect(state.index).toBe(0);
    state = searching(key(state, { name: 'r', ctrl: true }));
    expect(state.index).toBe(2);
    state = searching(key(state, { name: 'r', ctrl: true }));
    expect(state.index).toBe(4);
    state = searching(key(state, { name: 'r', ctrl: true }));
    expect(state).toMatchObject({ index: 4, failed: true });
    expect(searchPrompt(history, state)).toBe("(failing reverse-i-search)'join': /bootstrap join");
  });

  it('keeps the last match while the query fails, and searches again after backspace', () => {
    let state = typed('hello');
    expect(state.index).toBe(1);
    state = typed('x', state);
    expect(state).toMatchObject({ query: 'hellox', index: 1, failed: true });
    expect(searchPrompt(history, state)).toBe("(failing reverse-i-search)'hellox': hello world");
    state = searching(key(state, { name: 'backspace' }));
    expect(state).toMatchObject({ query: 'hello', index: 1, failed: false });
    expect(searchPrompt(history, state)).toBe("(reverse-i-search)'hello': hello world");
    // Backspace to an empty query shows nothing and fails nothing.
    for (let i = 0; i < 5; i++) state = searching(key(state, { name: 'backspace' }));
    expect(state).toMatchObject({ query: '', index: -1, failed: false });
    expect(searchPrompt(history, state)).toBe("(reverse-i-search)'': ");
  });

  it('runs the match on Enter, edits it on Escape, and gives the line back on Ctrl-G', () => {
    const state = typed('lobby');
    expect(key(state, { name: 'return' })).toEqual({ kind: 'run', line: '/join lobby' });
    expect(key(state, { name: 'escape' })).toEqual({ kind: 'edit', line: '/join lobby' });
    expect(key(state, { name: 'g', ctrl: true })).toEqual({ kind: 'cancel', line: 'draft' });
    expect(key(state, { name: 'c', ctrl: true })).toEqual({ kind: 'cancel', line: 'draft' });
    // With nothing found, Enter runs the line as it was.
    expect(key(typed('zzz'), { name: 'return' })).toEqual({ kind: 'run', line: 'draft' });
  });

  it('ends the search on another key, editing the match and passing the key on', () => {
    const state = typed('dev');
    const up: Key = { name: 'up', sequence: '\x1b[A' };
    expect(key(state, up)).toEqual({ kind: 'edit', line: '/join dev', key: up });
    const ctrlA: Key = { name: 'a', ctrl: true, sequence: '\x01' };
    expect(searchKey(history, state, '\x01', ctrlA)).toEqual({ kind: 'edit', line: '/join dev', key: ctrlA });
  });
});

describe('colour', () => {
  const nicks = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

  it('gives a nick the same colour every time, never red, and not one colour to all', () => {
    for (const nick of nicks) {
      expect(nickColour(nick)).toBe(nickColour(nick));
      expect(nickColour(nick)).not.toBe(31);
    }
    expect(new Set(nicks.map(nickColour)).size).toBeGreaterThan(1);
    expect(COLOURED.nick('alice')).toBe(`\x1b[${nickColour('alice')}malice\x1b[0m`);
  });

  it('colours only a terminal without NO_COLOR, and never --json', () => {
    const tty = { isTTY: true };
    expect(colourWanted(tty, false, {})).toBe(true);
    expect(colourWanted(tty, false, { NO_COLOR: '1' })).toBe(false);
    // no-color.org: set and not empty disables; empty does not.
    expect(colourWanted(tty, false, { NO_COLOR: '' })).toBe(true);
    expect(colourWanted({ isTTY: false }, false, {})).toBe(false);
    expect(colourWanted({}, false, {})).toBe(false);
    expect(colourWanted(tty, true, {})).toBe(false);
  });
});

describe('the log sink', () => {
  it('formats a pino line for people', () => {
    const time = new Date(2024, 0, 2, 13, 4, 5).getTime();
    const line = JSON.stringify({ level: 40, time, msg: 'dial failed', err: { message: 'ECONNREFUSED' } });
    expect(formatLogLine(`${line}\n`)).toBe('[13:04:05] WARN dial failed (ECONNREFUSED)');
    expect(formatLogLine(JSON.stringify({ level: 50, time, msg: 'boom' }))).toBe('[13:04:05] ERROR boom');
    // Not JSON: shown as it is.
    expect(formatLogLine('plain text\n')).toBe('plain text');
  });

  it('appends to a file, keeps its target when a new one cannot be opened, and drops lines when off', () => {
    const dir = tempDir();
    const path = join(dir, 'peer.log');
    writeFileSync(join(dir, 'a-file'), 'not a directory');
    // A directory that does not exist is refused, not created: a typo must not make directories.
    expect(() => new LogSink({ kind: 'file', path: join(dir, 'nested', 'peer.log') })).toThrow(/ENOENT/);
    expect(existsSync(join(dir, 'nested'))).toBe(false);
    const sink = new LogSink({ kind: 'file', path });
    sink.write('{"msg":"one"}\n');
    sink.close();
    // A second sink on the same file appends, it does not truncate.
    const again = new LogSink({ kind: 'file', path });
    again.write('{"msg":"two"}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"msg":"one"}\n{"msg":"two"}\n');

    const bad = join(dir, 'a-file', 'x', 'log');
    expect(() => again.set({ kind: 'file', path: bad })).toThrow();
    expect(again.target).toEqual({ kind: 'file', path });
    expect(again.describe()).toBe(path);
    again.write('{"msg":"three"}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"msg":"one"}\n{"msg":"two"}\n{"msg":"three"}\n');

    again.set({ kind: 'off' });
    again.write('{"msg":"dropped"}\n');
    expect(readFileSync(path, 'utf8')).not.toContain('dropped');
    expect(again.describe()).toBe('nowhere (off)');
    again.close();
  });

  it('passes formatted lines to the console', () => {
    const shown: string[] = [];
    const sink = new LogSink({ kind: 'console' });
    sink.onConsole((line) => shown.push(line));
    sink.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'hello' })}\n`);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO hello$/);
    sink.set({ kind: 'off' });
    sink.write(`${JSON.stringify({ level: 30, msg: 'not shown' })}\n`);
    expect(shown).toHaveLength(1);
  });
});

describe('path completion', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    mkdirSync(join(dir, 'alpine'));
    mkdirSync(join(dir, 'sub'));
    for (const file of ['alpha.txt', 'beta.txt', '.hidden', 'sub/file1', 'sub/fig', 'sub/other', 'sub/.dot']) {
      writeFileSync(join(dir, file), '');
    }
    mkdirSync(join(dir, 'sub', 'folder'));
  });

  it('lists matching names, directories with a slash, hidden ones only when asked for', () => {
    expect(completePath(dir, 'al')).toEqual(['alpha.txt', 'alpine/']);
    expect(completePath(dir, '')).toEqual(['alpha.txt', 'alpine/', 'beta.txt', 'sub/']);
    expect(completePath(dir, '.')).toEqual(['.hidden']);
    expect(completePath(dir, 'zzz')).toEqual([]);
  });

  it('completes inside a subdirectory, keeping the path typed', () => {
    expect(completePath(dir, 'sub/f')).toEqual(['sub/fig', 'sub/file1', 'sub/folder/']);
    expect(completePath(dir, 'sub/')).toEqual(['sub/fig', 'sub/file1', 'sub/folder/', 'sub/other']);
    expect(completePath(dir, 'sub/.')).toEqual(['sub/.dot']);
    expect(completePath(dir, `${dir}/b`)).toEqual([`${dir}/beta.txt`]);
    expect(completePath(dir, 'missing/x')).toEqual([]);
  });
});
