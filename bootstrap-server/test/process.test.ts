/**
 * The real process, as `npm run bootstrap-server` starts it: the listening line, real
 * signals, exit codes, and the data file it leaves behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Interface } from 'node:readline';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootstrapClient, routes } from '@cli-chat/bootstrap-api';
import { testDir, testPeer } from './support.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Running {
  child: ChildProcessWithoutNullStreams;
  exit: Promise<number | null>;
  stdoutLines: Interface;
  stdout: string[];
  stderr: string[];
}

const children = new Set<Running>();

afterEach(async () => {
  const left = [...children];
  for (const r of left) r.child.kill('SIGKILL');
  await Promise.all(left.map((r) => r.exit));
});

function run(args: string[], cwd: string): Running {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdoutLines = createInterface({ input: child.stdout });
  const running: Running = { child, exit: Promise.resolve(null), stdoutLines, stdout: [], stderr: [] };
  running.exit = new Promise((resolve) => child.once('exit', (code) => {
    children.delete(running);
    resolve(code);
  }));
  children.add(running);
  stdoutLines.on('line', (line) => running.stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => running.stderr.push(line));
  return running;
}

function deadline<T>(promise: Promise<T>, ms: number, what: string, running: Running): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms; stderr:\n${running.stderr.join('\n')}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Starts the server on a free port; resolves with its URL once it prints its listening line. */
async function startListening(args: string[], cwd: string): Promise<Running & { url: string }> {
  const running = run(['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], cwd);
  const listening = new Promise<string>((resolve, reject) => {
    running.stdoutLines.on('line', (line) => {
      const url = /^bootstrap server listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
      if (url !== undefined) resolve(url);
    });
    void running.exit.then((code) => reject(new Error(`exited with ${code} before listening; stderr:\n${running.stderr.join('\n')}`)));
  });
  const url = await deadline(listening, 15_000, 'listening', running);
  return { ...running, url };
}

function exitCode(running: Running): Promise<number | null> {
  return deadline(running.exit, 10_000, 'exit', running);
}

describe('the bootstrap-server process', () => {
  it('keeps a lease across SIGTERM and a restart, exiting 0 each time', async () => {
    const cwd = await testDir();
    const dataFile = join(cwd, 'state', 'registry.json');
    const peer = await testPeer();
    const first = await startListening(['--data-file', dataFile], cwd);
    expect(Number(new URL(first.url).port)).toBeGreaterThan(0);
    expect(first.stdout).toEqual([`bootstrap server listening on ${first.url}`]);
    await new BootstrapClient({ baseUrl: first.url }).join(await peer.signer.seal(['/ip4/127.0.0.1/tcp/4001']));
    first.child.kill('SIGTERM');
    expect(await exitCode(first)).toBe(0);
    const stored = JSON.parse(await readFile(dataFile, 'utf8')) as { registrations: { peerId: string }[] };
    expect(stored.registrations.map((r) => r.peerId)).toEqual([peer.peerId]);

    const second = await startListening(['--data-file', dataFile], cwd);
    const list = await new BootstrapClient({ baseUrl: second.url }).list();
    expect(list.peers.map((p) => p.peerId)).toEqual([peer.peerId]);
    second.child.kill('SIGINT');
    expect(await exitCode(second)).toBe(0);
  });

  it('answers and keeps the joins it is verifying when SIGINT arrives, then exits 0', async () => {
    const cwd = await testDir();
    const dataFile = join(cwd, 'registry.json');
    const peers = await Promise.all(Array.from({ length: 300 }, () => testPeer()));
    const bodies = await Promise.all(peers.map(async (p) => JSON.stringify({ record: await p.signer.seal(['/ip4/127.0.0.1/tcp/4001']) })));
    const server = await startListening(['--data-file', dataFile, '--rate-limit', '0', '--max-peers', '1000', '--verify-threads', '1'], cwd);
    let signalled = false;
    const answers = bodies.map(async (body, i) => {
      const peerId = peers[i]?.peerId;
      try {
        const res = await fetch(server.url + routes.join.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return { peerId, status: res.status, afterSignal: signalled };
      } catch {
        return { peerId, status: 'no answer' as const, afterSignal: signalled };
      }
    });
    // The first answer means the rest are parsed or on their way: most wait for verification.
    await deadline(Promise.race(answers), 10_000, 'a first answer', server);
    signalled = true;
    server.child.kill('SIGINT');
    const settled = await Promise.all(answers);
    expect(await exitCode(server)).toBe(0);
    // Before the fix the pool was torn down under them: 500 "Terminating worker thread".
    expect(settled.filter((a) => a.status !== 200 && a.status !== 503 && a.status !== 'no answer')).toEqual([]);
    expect(settled.filter((a) => a.afterSignal && a.status === 200).length).toBeGreaterThan(0);
    expect(server.stderr.filter((line) => line.includes('request failed'))).toEqual([]);
    const stored = JSON.parse(await readFile(dataFile, 'utf8')) as { registrations: { peerId: string }[] };
    const kept = new Set(stored.registrations.map((r) => r.peerId));
    expect(settled.filter((a) => a.status === 200 && !kept.has(a.peerId as string))).toEqual([]);
  });

  it('keeps its data file under .cli-chat in the working directory by default', async () => {
    const cwd = await testDir();
    const server = await startListening([], cwd);
    server.child.kill('SIGTERM');
    expect(await exitCode(server)).toBe(0);
    expect(JSON.parse(await readFile(join(cwd, '.cli-chat', 'bootstrap-registry.json'), 'utf8'))).toMatchObject({ registrations: [] });
  });

  it('a taken port is a clear message and exit code 1', async () => {
    const cwd = await testDir();
    const first = await startListening(['--no-data-file'], cwd);
    const port = new URL(first.url).port;
    const second = run(['--host', '127.0.0.1', '--port', port, '--no-data-file'], cwd);
    expect(await exitCode(second)).toBe(1);
    expect(second.stderr.join('\n')).toContain(`port ${port} on 127.0.0.1 is already in use`);
  });

  it('a bad flag value is a clear message and exit code 2', async () => {
    const bad = run(['--port', 'http'], await testDir());
    expect(await exitCode(bad)).toBe(2);
    expect(bad.stderr.join('\n')).toContain("option '--port <port>' argument 'http' is invalid");
  });

  it('a corrupt data file stops the start with exit code 1, naming the file', async () => {
    const cwd = await testDir();
    const dataFile = join(cwd, 'registry.json');
    await writeFile(dataFile, 'garbage');
    const corrupt = run(['--port', '0', '--data-file', dataFile], cwd);
    expect(await exitCode(corrupt)).toBe(1);
    expect(corrupt.stderr.join('\n')).toContain(`bootstrap data file ${dataFile} is not valid JSON`);
    expect(await readFile(dataFile, 'utf8')).toBe('garbage');
  });
});
