/**
 * The console in a real terminal (tmux), as a person uses it: Tab completion, `?` help
 * that keeps the typed line, a message arriving while typing, history across a restart
 * with Ctrl-R search. The other peer is a --json process fed through a pipe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startBootstrapServer, startPeer } from './support/processes.ts';
import { Terminal, tmuxAvailable } from './support/terminal.ts';

const terminals: Terminal[] = [];
const dirs: string[] = [];

beforeAll(() => {
  // .ci/run installs tmux; without it this test cannot say anything, so it says why.
  if (!tmuxAvailable()) throw new Error('tmux is not installed (apt-get install tmux): the terminal tests need it');
});

afterAll(async () => {
  for (const t of terminals) t.close();
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function openConsole(session: string, nick: string, url: string, dataDir: string): Terminal {
  const t = new Terminal(session, [process.execPath, 'peer/src/main.ts', '--nick', nick, '--bootstrap', url, '--data-dir', dataDir,
    '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'], { TERM: 'xterm-256color' });
  terminals.push(t);
  return t;
}

describe('the console in a terminal', () => {
  it('completes, explains with ?, keeps the typed line under incoming messages, and searches history after a restart', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-term-'));
    dirs.push(dir);
    const aliceDir = join(dir, 'alice');
    const alice = openConsole('alice', 'alice', url, aliceDir);
    await alice.waitFor((s) => s.includes('type a line to chat') && s.includes('#lobby>'), 'the console to be ready');

    // Tab completes each word of a command.
    alice.type('/sh pro', 'Tab');
    await alice.waitFor(() => alice.promptLine() === '#lobby> /sh processes', 'Tab to complete "processes"');
    alice.type('', 'C-u');

    // ? lists what may follow, with help, and leaves the line as typed.
    alice.type('/show ');
    alice.type('?');
    const listed = await alice.waitFor((s) => s.includes("this peer's subsystems"), '? to list the show subcommands');
    expect(listed).toMatch(/version\s+versions of cli-chat/);
    expect(alice.promptLine()).toBe('#lobby> /show');
    alice.type('proc', 'Enter');
    await alice.waitFor((s) => /membership\s+joined/.test(s), '/show proc to list the processes');

    // A message arriving while alice types goes above the prompt; her line stays whole.
    const bob = startPeer(['--nick', 'bob', '--bootstrap', url, '--data-dir', join(dir, 'bob')]);
    await bob.waitFor((e) => e.type === 'ready', 'bob ready');
    await alice.waitFor((s) => s.includes('bob (') && s.includes('joined the network'), 'alice to see bob join');
    alice.type('half typed');
    await alice.waitFor(() => alice.promptLine() === '#lobby> half typed', 'the typed text on the prompt line');
    // The mesh needs a moment after the join: bob repeats until a line arrives.
    const deadline = Date.now() + 20_000;
    for (let i = 0; !alice.screen().includes('<bob> ping '); i++) {
      if (Date.now() > deadline) throw new Error(`bob's messages never reached alice:\n${alice.screen()}`);
      bob.write(`ping ${i}`);
      await alice.waitFor((s) => s.includes('<bob> ping '), 'a message from bob', 500).catch(() => undefined);
    }
    expect(alice.promptLine()).toBe('#lobby> half typed');
    alice.type(' and finished', 'Enter');
    await bob.waitFor((e) => e.type === 'message' && e.text === 'half typed and finished', 'bob to get the whole line');

    // History survives a restart, and Ctrl-R finds an old line.
    alice.type('/echo remember-me-42', 'Enter');
    await alice.waitFor((s) => /^remember-me-42$/m.test(s), 'the echo');
    alice.type('/quit', 'Enter');
    await alice.waitForExit();
    const again = openConsole('alice-again', 'alice', url, aliceDir);
    await again.waitFor((s) => s.includes('type a line to chat') && s.includes('#lobby>'), 'the restarted console');
    again.type('', 'C-r');
    again.type('remember');
    await again.waitFor(() => again.promptLine() === "(reverse-i-search)'remember': /echo remember-me-42", 'Ctrl-R to find the line');
    again.type('', 'Enter');
    await again.waitFor((s) => /^remember-me-42$/m.test(s), 'the found line to run');
    // Up-arrow history is there too, newest first.
    again.type('', 'Up');
    await again.waitFor(() => again.promptLine() === '#lobby> /echo remember-me-42', 'Up to recall the last line');
    again.type('', 'C-u');
    again.type('/quit', 'Enter');
    await again.waitForExit();
    bob.write('/quit');
    expect((await bob.exited).code).toBe(0);
  }, 90_000);
});
