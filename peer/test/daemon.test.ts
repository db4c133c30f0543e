/**
 * The daemon and its control API, as real processes: every console command and the event
 * stream over the Unix socket and over TCP, what is refused (no token, a wrong one, another
 * Origin, malformed bodies) without changing anything, owner-only files, and consoles
 * attached to one daemon: both see the network, /detach leaves it running, /shutdown stops it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, Proc, parseJsonLine, startBootstrapServer, startDaemon, startPeer } from './support/processes.ts';
import type { DaemonLine, PeerProc } from './support/processes.ts';
import { call, openEvents } from './support/control.ts';
import type { Endpoint } from './support/control.ts';
import type { PeerEvent } from '../src/events.ts';
import { COMMAND_ROUTES } from '../src/control/routes.ts';
import type { PeerAction } from '../src/cli/commands.ts';

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Ready = Extract<PeerEvent, { type: 'ready' }>;

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-daemon-'));
  dirs.push(dir);
  return dir;
}

/** A console process attached to a daemon, printing --json like a standalone one. */
function attach(args: string[]): PeerProc {
  return new Proc<PeerEvent>(['peer/src/main.ts', '--json', ...args], parseJsonLine);
}

/**
 * A body for every command the API offers, in an order that leaves the daemon as it was.
 * A command added to the tree without a line here fails the test, so the API stays covered.
 */
function commandBodies(logFile: string, file: string): [PeerAction, Record<string, string>, 'ok' | 'refused'][] {
  return [
    ['show-version', {}, 'ok'], ['show-peers', {}, 'ok'], ['show-members', {}, 'ok'], ['show-rooms', {}, 'ok'],
    ['show-bootstrap', {}, 'ok'], ['show-config', {}, 'ok'], ['show-stats', {}, 'ok'], ['show-processes', {}, 'ok'], ['show-reachability', {}, 'ok'],
    ['show-outbox', {}, 'ok'], ['show-web', {}, 'refused'], ['whoami', {}, 'ok'], ['whois', { member: 'carl' }, 'ok'],
    ['bootstrap-list', {}, 'ok'], ['bootstrap-config', {}, 'refused'], ['bootstrap-config-max-peers', { n: '10' }, 'refused'],
    ['bootstrap-config-ttl', { seconds: '60' }, 'refused'], ['bootstrap-refill', {}, 'ok'],
    ['bootstrap-leave', {}, 'ok'], ['bootstrap-join', {}, 'ok'],
    ['join', { room: 'side' }, 'ok'], ['who', { room: 'side' }, 'ok'], ['leave', { room: 'side' }, 'ok'],
    ['msg', { member: 'carl', text: 'psst' }, 'ok'], ['history', { n: '3' }, 'ok'],
    ['send-file', { member: 'carl', path: file }, 'ok'], ['send-file', { member: 'carl', path: `${file}.missing` }, 'refused'],
    ['show-transfers', {}, 'ok'], ['accept', { id: 'ffff' }, 'refused'], ['reject', { id: 'ffff' }, 'refused'],
    ['nick', { name: 'dee2' }, 'ok'], ['nick', { name: 'dee' }, 'ok'],
    ['log-status', {}, 'ok'], ['log-level', { level: 'info' }, 'ok'], ['log-on', {}, 'refused'],
    ['log-on', { file: logFile }, 'ok'], ['log-off', {}, 'ok'],
    ['members-leave', {}, 'ok'], ['members-join', {}, 'ok']
  ];
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('the daemon', () => {
  it('serves every command and its events over the Unix socket and TCP, and refuses what it must without changing anything', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await tempDir();
    const dataDir = join(dir, 'dee');
    const { proc: daemon, started } = startDaemon(['--nick', 'dee', '--bootstrap', url, '--data-dir', dataDir, '--api-port', '0']);
    const carl = startPeer(['--nick', 'carl', '--bootstrap', url, '--data-dir', join(dir, 'carl')]);
    const line: DaemonLine = await started;
    const dee = await daemon.waitFor((e) => e.type === 'ready', 'the daemon peer to be ready') as Ready;
    await carl.waitFor((e) => e.type === 'member-joined' && e.peerId === dee.peerId, 'carl to see the daemon peer');

    expect(line.socket).toBe(join(dataDir, 'api.sock'));
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(line.socket)).toBe(0o600);
    expect(await mode(line.tokenFile)).toBe(0o600);
    const token = (await readFile(line.tokenFile, 'utf8')).trim();
    const socket: Endpoint = { socketPath: line.socket };
    const tcp: Endpoint = { port: Number(new URL(line.api as string).port) };
    const host = `127.0.0.1:${(tcp as { port: number }).port}`;
    const bearer = { authorization: `Bearer ${token}`, host };

    // The event stream and a chat line, over each transport.
    for (const [endpoint, headers, name] of [[socket, {}, 'socket'], [tcp, bearer, 'tcp']] as const) {
      const stream = await openEvents(endpoint, headers);
      const first = await stream.waitFor(() => true, `the first event over ${name}`);
      expect(first).toMatchObject({ type: 'ready', peerId: dee.peerId, nick: 'dee' });
      const state = await call(endpoint, 'GET', '/v1/state', { headers });
      expect(state.status).toBe(200);
      expect(state.json).toMatchObject({ peerId: dee.peerId, nick: 'dee', currentRoom: 'lobby' });
      const said = await call(endpoint, 'POST', '/v1/say', { headers, body: { text: `hello over ${name}` } });
      expect(said.status).toBe(200);
      await carl.waitFor((e) => e.type === 'message' && e.text === `hello over ${name}`, `carl to get the line sent over ${name}`);
      await stream.waitFor((e) => e.type === 'sent' && e.text === `hello over ${name}`, `the sent event over ${name}`);
      carl.write(`hi dee via ${name}`);
      await stream.waitFor((e) => e.type === 'message' && e.text === `hi dee via ${name}`, `carl's line on the ${name} stream`);
      stream.close();
    }

    // Every command, once, over the socket; a sample again over TCP.
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'a file sent through the control API\n');
    const bodies = commandBodies(join(dir, 'daemon-log.jsonl'), file);
    expect(new Set(bodies.map(([action]) => action))).toEqual(new Set(COMMAND_ROUTES.map((r) => r.action)));
    for (const [action, body, expected] of bodies) {
      const answer = await call(socket, 'POST', `/v1/commands/${action}`, { body });
      if (expected === 'ok') {
        expect(answer.status, `${action}: ${JSON.stringify(answer.json)}`).toBe(200);
        expect((answer.json as { events: unknown[] }).events).toBeInstanceOf(Array);
      } else {
        expect(answer.status, `${action}: ${JSON.stringify(answer.json)}`).toBe(422);
        expect(answer.json).toMatchObject({ error: { code: 'REFUSED', message: expect.any(String) } });
      }
    }
    await carl.waitFor((e) => e.type === 'dm' && e.text === 'psst', 'carl to get the direct message');
    await carl.waitFor((e) => e.type === 'file-received' && e.name === 'notes.txt', 'carl to get the file');
    await carl.waitFor((e) => e.type === 'member-left' && e.peerId === dee.peerId, 'carl to see /members leave');
    await carl.waitFor((e) => e.type === 'member-joined' && e.peerId === dee.peerId && e.ts > 0 &&
      carl.items.findIndex((x) => x.type === 'member-left') < carl.items.indexOf(e), 'carl to see /members join', 20_000);
    const carlId = (await carl.waitFor((e) => e.type === 'ready', 'carl ready') as Ready).peerId;
    const left = daemon.items.findIndex((e) => e.type === 'membership' && e.state === 'left');
    await daemon.waitFor((e) => e.type === 'member-joined' && e.peerId === carlId && daemon.items.indexOf(e) > left, 'the daemon to see carl again', 20_000);
    // Files through the API: one uploaded to be sent, one received and downloaded.
    const upload = await call(socket, 'POST', '/v1/files?member=carl&name=upload.bin', {
      headers: { 'content-type': 'application/octet-stream' }, body: 'uploaded bytes'
    });
    expect(upload.status, JSON.stringify(upload.json)).toBe(200);
    const got = await carl.waitFor((e) => e.type === 'file-received' && e.name === 'upload.bin', 'carl to get the uploaded file') as Extract<PeerEvent, { type: 'file-received' }>;
    expect(await readFile(got.path, 'utf8')).toBe('uploaded bytes');
    expect((await call(socket, 'POST', '/v1/files?member=nobody&name=x.bin', { headers: { 'content-type': 'application/octet-stream' }, body: 'x' })).status).toBe(422);
    const back = join(dir, 'back.txt');
    await writeFile(back, 'carl sends this back\n');
    carl.write(`/send-file dee ${back}`);
    await daemon.waitFor((e) => e.type === 'file-received' && e.name === 'back.txt', 'the daemon to get carl\'s file');
    const listed = (await call(socket, 'GET', '/v1/downloads')).json as { files: { name: string, size: number }[] };
    expect(listed.files).toContainEqual(expect.objectContaining({ name: 'back.txt', size: 21 }));
    const download = await call(socket, 'GET', '/v1/downloads/back.txt');
    expect(download.status).toBe(200);
    expect(download.json).toBe('carl sends this back\n');
    expect(download.headers['content-disposition']).toContain('attachment');
    for (const sneaky of ['..%2Fidentity.key', '%2E%2E%2Fapi-token', 'nothing-here']) {
      expect((await call(socket, 'GET', `/v1/downloads/${sneaky}`)).status, sneaky).toBe(404);
    }

    const who = await call(tcp, 'POST', '/v1/commands/who', { headers: bearer, body: { room: 'lobby' } });
    expect(who.status).toBe(200);
    expect(JSON.stringify(who.json)).toContain('carl');

    // Refused, with a JSON error, and nothing changed: the nick stays dee throughout.
    const rename = { name: 'mallory' };
    const refusals: [string, Endpoint, Record<string, string>, string | object, number, string][] = [
      ['no token', tcp, { host }, rename, 401, 'UNAUTHORIZED'],
      ['a wrong token', tcp, { host, authorization: 'Bearer nope' }, rename, 401, 'UNAUTHORIZED'],
      ['another origin over TCP', tcp, { ...bearer, origin: 'http://evil.example' }, rename, 403, 'FORBIDDEN'],
      ['another origin over the socket', socket, { origin: 'http://evil.example' }, rename, 403, 'FORBIDDEN'],
      ['a rebound host name', tcp, { authorization: `Bearer ${token}`, host: `evil.example:${(tcp as { port: number }).port}` }, rename, 403, 'FORBIDDEN'],
      ['broken JSON', socket, {}, '{"name": ', 400, 'BAD_REQUEST'],
      ['an unknown field', socket, {}, { name: 'mallory', admin: true }, 400, 'BAD_REQUEST'],
      ['a wrong type', socket, {}, { name: 7 }, 400, 'BAD_REQUEST'],
      ['a missing argument', socket, {}, {}, 400, 'BAD_REQUEST'],
      ['an oversized body', socket, {}, { name: 'x'.repeat(70_000) }, 413, 'BODY_TOO_LARGE'],
      ['a nick the peer refuses', socket, {}, { name: 'n'.repeat(40) }, 422, 'REFUSED']
    ];
    for (const [what, endpoint, headers, body, status, code] of refusals) {
      const answer = await call(endpoint, 'POST', '/v1/commands/nick', { headers, body });
      expect(answer.status, `${what}: ${JSON.stringify(answer.json)}`).toBe(status);
      expect(answer.json, what).toMatchObject({ error: { code, message: expect.any(String) } });
    }
    expect((await call(socket, 'GET', '/v1/events', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await call(tcp, 'GET', '/v1/state', { headers: { host } })).status).toBe(401);
    expect((await call(socket, 'POST', '/v1/say', { body: { text: 'x', room: 'not-joined' } })).json)
      .toMatchObject({ error: { code: 'REFUSED', message: expect.stringContaining('not in #not-joined') } });
    expect((await call(socket, 'GET', '/v1/state')).json).toMatchObject({ nick: 'dee', rooms: ['lobby'] });
    expect(daemon.items.some((e) => (e.type === 'member-updated' && e.nick === 'mallory') || (e.type === 'info' && e.message.includes('mallory')))).toBe(false);

    // A client can discover every call.
    const doc = (await call(socket, 'GET', '/openapi.json')).json as { paths: Record<string, unknown> };
    for (const route of COMMAND_ROUTES) expect(Object.keys(doc.paths)).toContain(route.path);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/state', '/v1/events', '/v1/say', '/v1/history', '/v1/shutdown']));

    daemon.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    await carl.waitFor((e) => e.type === 'member-left' && e.peerId === dee.peerId &&
      carl.items.filter((x) => x.type === 'member-left').length >= 2, 'carl to see the daemon leave on SIGTERM');
    await expect(stat(line.socket)).rejects.toThrow();
    carl.write('/quit');
    expect((await carl.exited).code).toBe(0);
  }, 90_000);

  it('lets two consoles share one peer: both see the network, /detach leaves it running, /shutdown stops it', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await tempDir();
    const dataDir = join(dir, 'dee');
    const { proc: daemon, started } = startDaemon(['--nick', 'dee', '--bootstrap', url, '--data-dir', dataDir]);
    const carl = startPeer(['--nick', 'carl', '--bootstrap', url, '--data-dir', join(dir, 'carl')]);
    await started;
    const dee = await daemon.waitFor((e) => e.type === 'ready', 'the daemon peer to be ready') as Ready;
    await carl.waitFor((e) => e.type === 'member-joined' && e.peerId === dee.peerId, 'carl to see the daemon peer');

    // One console names the daemon's data dir; the other just starts on it, and attaches instead of failing on the lock.
    const one = attach(['--attach', dataDir]);
    const two = attach(['--nick', 'dee', '--bootstrap', url, '--data-dir', dataDir]);
    for (const c of [one, two]) expect(await c.waitFor((e) => e.type === 'ready', 'an attached console to show ready')).toMatchObject({ peerId: dee.peerId });

    carl.write('hello both of you');
    for (const c of [one, two]) await c.waitFor((e) => e.type === 'message' && e.text === 'hello both of you', 'each console to show carl\'s line');
    // A line typed in one console is the peer's: both show it as sent, carl gets it.
    one.write('from console one');
    await carl.waitFor((e) => e.type === 'message' && e.text === 'from console one' && e.from === dee.peerId, 'carl to get console one\'s line');
    for (const c of [one, two]) await c.waitFor((e) => e.type === 'sent' && e.text === 'from console one', 'each console to show the line as sent');
    // A command's answer goes to the console that asked.
    one.write('/whoami');
    await one.waitFor((e) => e.type === 'info' && e.message.startsWith(`dee ${dee.peerId}`), 'the answer to /whoami');

    one.write('/detach');
    expect((await one.exited).code).toBe(0);
    two.write('/who');
    await two.waitFor((e) => e.type === 'info' && e.message.includes('carl'), 'the daemon to answer after the other console detached');
    expect(two.items.some((e) => e.type === 'info' && e.message.startsWith(`dee ${dee.peerId}`))).toBe(false);

    two.write('/shutdown');
    await carl.waitFor((e) => e.type === 'member-left' && e.peerId === dee.peerId, 'carl to see the daemon peer leave');
    expect((await two.exited).code).toBe(0);
    expect((await daemon.exited).code).toBe(0);
    carl.write('/quit');
    expect((await carl.exited).code).toBe(0);
  }, 90_000);
});
