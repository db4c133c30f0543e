/**
 * The Fastify backend over real HTTP against the shared contract, and what is particular
 * to Fastify through `inject()`: body limits, content types, rate limit, 404, OpenAPI.
 */
import { describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { clientKey } from '../src/rate-limit.ts';
import { describeContract } from '@cli-chat/bootstrap-api/contract-tests';
import { BODY_LIMIT_BYTES, OPENAPI_PATH, routes } from '@cli-chat/bootstrap-api';
import { buildServer, startServer } from '../src/index.ts';
import { testApp, testDir, testPeer } from './support.ts';

const ADMIN_TOKEN = 'contract-admin-token';

describeContract('fastify', async () => {
  const server = await startServer({ host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN });
  return { baseUrl: server.url, adminToken: ADMIN_TOKEN, close: () => server.close() };
});

describe('fastify specifics', () => {
  it('answers 413 above the body limit, before reading further', async () => {
    const res = await testApp().inject({
      method: 'POST', url: routes.join.path, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ record: 'A'.repeat(BODY_LIMIT_BYTES) })
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'BODY_TOO_LARGE', message: expect.stringContaining(String(BODY_LIMIT_BYTES)) } });
  });

  it('answers 415 for a body that is not JSON by content type', async () => {
    const res = await testApp().inject({ method: 'POST', url: routes.join.path, headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('answers 400 for invalid JSON and for an empty JSON body', async () => {
    const headers = { 'content-type': 'application/json' };
    const bad = await testApp().inject({ method: 'POST', url: routes.join.path, headers, payload: '{"record":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: { code: 'BAD_REQUEST', message: 'body is not valid JSON' } });
    const empty = await testApp().inject({ method: 'POST', url: routes.leave.path, headers, payload: '' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('answers 404 NOT_FOUND for unknown routes and methods', async () => {
    const server = testApp();
    for (const [method, url] of [['GET', '/'], ['GET', '/v1/peerz'], ['DELETE', routes.list.path]] as const) {
      const res = await server.inject({ method, url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: `no endpoint ${method} ${url}` } });
    }
  });

  it('limits requests per IP and answers 429 RATE_LIMITED, which admin attempts count against', async () => {
    const server = testApp({ rateLimitPerMinute: 3, adminToken: 'secret' });
    for (let i = 0; i < 3; i++) {
      expect((await server.inject({ method: 'POST', url: routes.reset.path, headers: { authorization: 'Bearer guess' } })).statusCode).toBe(401);
    }
    const res = await server.inject({ method: 'GET', url: routes.ping.path });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json()).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('3 requests per minute') } });
    const other = await server.inject({ method: 'GET', url: routes.ping.path, remoteAddress: '127.0.0.2' });
    expect(other.statusCode).toBe(200);
  });

  it('the limit counts per minute, and per /64 for IPv6 clients', async () => {
    let now = 1_000_000_000_000;
    const server = testApp({ rateLimitPerMinute: 2, now: () => now });
    const ping = (remoteAddress: string) => server.inject({ method: 'GET', url: routes.ping.path, remoteAddress }).then((r) => r.statusCode);
    expect([await ping('2001:db8::1'), await ping('2001:db8:0:0:ffff::2'), await ping('2001:db8::3')]).toEqual([200, 200, 429]);
    expect(await ping('2001:db8:0:1::1')).toBe(200);
    now += 60_000;
    expect(await ping('2001:db8::1')).toBe(200);
  });

  it('groups clients by IPv4 address and by IPv6 /64', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('2001:0db8:0000:0000:1:2:3:4')).toBe('2001:db8:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });

  it('rate limit 0 turns the limit off', async () => {
    const server = testApp({ rateLimitPerMinute: 0 });
    const answers = await Promise.all(Array.from({ length: 50 }, () => server.inject({ method: 'GET', url: routes.ping.path })));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
  });

  it('admin endpoints are disabled, not open, without an admin token', async () => {
    const res = await testApp().inject({ method: 'POST', url: routes.reset.path, headers: { authorization: 'Bearer anything' } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'ADMIN_DISABLED' } });
  });

  it('serves the OpenAPI document with every route of the table', async () => {
    const res = await testApp().inject({ method: 'GET', url: OPENAPI_PATH, headers: { host: '127.0.0.1:8080' } });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string, servers: { url: string }[], paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'http://127.0.0.1:8080' }]);
    for (const route of Object.values(routes)) expect(doc.paths[route.path]?.[route.method.toLowerCase()]).toBeDefined();
  });

  it('an unexpected failure is a 500 INTERNAL that leaks nothing', async () => {
    let exploding = false;
    const server = testApp({ now: () => { if (exploding) throw new Error('clock exploded at /secret/path'); return Date.now(); } });
    await server.ready();
    exploding = true;
    const res = await server.inject({ method: 'GET', url: routes.ping.path });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: expect.not.stringMatching(/secret|exploded/) } });
  });

  it('logs each request at info, only failures at warn, as JSON lines', async () => {
    const logged = async (level: string): Promise<{ msg: string, reqId?: string }[]> => {
      const lines: string[] = [];
      const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(...chunk.toString().trim().split('\n')); done(); } });
      let exploding = false;
      const server = testApp({ logger: { level, stream }, now: () => { if (exploding) throw new Error('boom'); return Date.now(); } });
      await server.inject({ method: 'GET', url: routes.list.path });
      exploding = true;
      await server.inject({ method: 'GET', url: routes.ping.path });
      return lines.map((line) => JSON.parse(line) as { msg: string, reqId?: string });
    };
    const info = await logged('info');
    expect(info.filter((l) => l.msg === 'incoming request').map((l) => l.reqId)).toEqual(['req-1', 'req-2']);
    expect(info.some((l) => l.msg === 'request failed' && l.reqId === 'req-2')).toBe(true);
    expect((await logged('warn')).map((l) => l.msg)).toEqual(['request failed']);
  });

  it('at warn, still logs what goes wrong outside requests: a data file it cannot write', async () => {
    const lines: { level: number, msg: string }[] = [];
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(JSON.parse(chunk.toString()) as { level: number, msg: string }); done(); } });
    const dir = await testDir();
    const server = testApp({ logger: { level: 'warn', stream }, dataFile: join(dir, 'blocked', 'registry.json') });
    await server.ready();
    // A file where the data file's directory was: the write fails, even for root.
    await rm(join(dir, 'blocked'), { recursive: true, force: true });
    await writeFile(join(dir, 'blocked'), '');
    const { signer } = await testPeer();
    const joined = await server.inject({ method: 'POST', url: routes.join.path, payload: { record: await signer.seal([]) } });
    expect(joined.statusCode).toBe(200);
    await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('could not write the data file; will retry on the next change'), { timeout: 5_000 });
    expect(lines.every((l) => l.level >= 40)).toBe(true);
    // Writable again, so the final write at close succeeds.
    await rm(join(dir, 'blocked'));
  });

  it('the cached list follows writes and lease expiry on the injected clock', async () => {
    let now = 1_000_000_000_000;
    const server = testApp({ now: () => now, ttlMs: 10_000 });
    const list = async () => (await server.inject({ method: 'GET', url: routes.list.path })).json<{ peers: { peerId: string }[] }>().peers;
    const { signer } = await testPeer(() => now);
    expect(await list()).toEqual([]);
    const join = await server.inject({ method: 'POST', url: routes.join.path, payload: { record: await signer.seal([]) } });
    expect(join.statusCode).toBe(200);
    expect(await list()).toHaveLength(1);
    now += 9_999;
    expect(await list()).toHaveLength(1);
    now += 1;
    expect(await list()).toEqual([]);
  });

  it('refuses options out of bounds when built', () => {
    expect(() => buildServer({ maxPeers: 0 })).toThrow(/maxPeers/);
    expect(() => buildServer({ ttlMs: 10 })).toThrow(/ttlMs/);
    expect(() => buildServer({ rateLimitPerMinute: -1 })).toThrow(/rateLimitPerMinute/);
  });

  it('startServer rejects with EADDRINUSE when the port is taken', async () => {
    const first = await startServer({ host: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startServer({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });
});

