/**
 * The functions backend (Functions Framework over HTTP, Firestore emulator) against the
 * shared contract, and what is particular to it: the framework's body parsing turned
 * into the contract's errors, and the Firestore store's leases and config document.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describeContract } from '@cli-chat/bootstrap-api/contract-tests';
import {
  BODY_LIMIT_BYTES, OPENAPI_PATH, RecordSigner, RegistryService, routes
} from '@cli-chat/bootstrap-api';
import { Firestore } from '@google-cloud/firestore';
import { FirestoreStore } from '../src/firestore-store.ts';
import { createBootstrapFunction } from '../src/bootstrap-function.ts';
import { loadConfig } from '../src/config.ts';
import { REGISTRATIONS_COLLECTION } from '../src/constants.ts';
import { useFirestoreEmulator } from './support.ts';

const ADMIN_TOKEN = 'functions-admin-token';
/** 20 joins on one set retry against each other; on the emulator the last can take tens of seconds. */
const CONTENDED_REQUEST_TIMEOUT_MS = 60_000;
const { emulator, backend } = useFirestoreEmulator();

describeContract('functions + firestore emulator', async () => {
  const b = await backend({ BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN });
  // The file's afterAll closes every backend, after the contract's own afterAll.
  return { baseUrl: b.baseUrl, adminToken: ADMIN_TOKEN, requestTimeoutMs: CONTENDED_REQUEST_TIMEOUT_MS, close: async () => {} };
});

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** A raw request, so headers and framing are exactly what the test says (fetch would fix them up). */
function send(baseUrl: string, options: { method: string, path: string, headers?: Record<string, string>, body?: string, chunked?: boolean }): Promise<Answer> {
  const url = new URL(baseUrl + options.path);
  const headers = { ...options.headers };
  if (options.body !== undefined && !options.chunked) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: options.method, path: url.pathname + url.search, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function expectError(answer: Answer, status: number, code: string, message: string | RegExp): void {
  expect(answer.contentType).toMatch(/^application\/json/);
  expect(answer.status).toBe(status);
  expect(JSON.parse(answer.body)).toEqual({ error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) } });
}

const JSON_TYPE = { 'content-type': 'application/json' };

describe('functions specifics', () => {
  it('answers the framework\'s body errors in the contract\'s JSON, never an HTML page', async () => {
    const { baseUrl } = await backend({ BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN });
    const join = routes.join.path;
    expectError(await send(baseUrl, { method: 'POST', path: join, headers: JSON_TYPE, body: '{"record":' }), 400, 'BAD_REQUEST', 'body is not valid JSON');
    expectError(await send(baseUrl, { method: 'POST', path: join, headers: JSON_TYPE, body: '' }), 400, 'BAD_REQUEST',
      'body is empty but content-type says application/json');
    // Valid JSON the framework's strict parser refuses is judged by the schema, as Fastify does.
    expectError(await send(baseUrl, { method: 'POST', path: join, headers: JSON_TYPE, body: 'null' }), 400, 'BAD_REQUEST', 'body must be object');
    expectError(await send(baseUrl, { method: 'POST', path: join, headers: JSON_TYPE, body: '{"__proto__":{"admin":true}}' }), 400, 'BAD_REQUEST',
      'body is not valid JSON');
  });

  it('answers 413 above the body limit, declared or chunked, and 415 for other content types', async () => {
    const { baseUrl } = await backend();
    const big = JSON.stringify({ record: 'A'.repeat(BODY_LIMIT_BYTES) });
    const tooLarge = `request body is larger than ${BODY_LIMIT_BYTES} bytes`;
    expectError(await send(baseUrl, { method: 'POST', path: routes.join.path, headers: JSON_TYPE, body: big }), 413, 'BODY_TOO_LARGE', tooLarge);
    expectError(await send(baseUrl, { method: 'POST', path: routes.join.path, headers: JSON_TYPE, body: big, chunked: true }), 413, 'BODY_TOO_LARGE', tooLarge);
    const mediaType = 'request body must be sent as content-type application/json';
    expectError(await send(baseUrl, { method: 'POST', path: routes.join.path, headers: { 'content-type': 'text/plain' }, body: 'hello' }), 415,
      'UNSUPPORTED_MEDIA_TYPE', mediaType);
    expectError(await send(baseUrl, { method: 'POST', path: routes.leave.path, body: '{"record":"AAAA"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE', mediaType);
  });

  it('checks the admin token before the body, as Fastify does', async () => {
    const { baseUrl } = await backend({ BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN });
    expectError(await send(baseUrl, { method: 'PUT', path: routes.setConfig.path, headers: JSON_TYPE, body: '{' }), 401, 'UNAUTHORIZED', /Bearer/);
    const disabled = await backend();
    expectError(await send(disabled.baseUrl, { method: 'POST', path: routes.reset.path, headers: { authorization: 'Bearer anything' } }), 403,
      'ADMIN_DISABLED', /no admin token/);
  });

  it('answers 404 NOT_FOUND for unknown routes and methods; HEAD is GET without a body', async () => {
    const { baseUrl } = await backend();
    for (const [method, path] of [['GET', '/'], ['GET', '/v1/peerz?x=1'], ['DELETE', routes.list.path], ['GET', `${routes.ping.path}/`]] as const) {
      expectError(await send(baseUrl, { method, path }), 404, 'NOT_FOUND', `no endpoint ${method} ${path}`);
    }
    const head = await send(baseUrl, { method: 'HEAD', path: routes.ping.path });
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('serves the OpenAPI document with every route of the table', async () => {
    const { baseUrl } = await backend();
    const answer = await send(baseUrl, { method: 'GET', path: OPENAPI_PATH });
    expect(answer.status).toBe(200);
    const doc = JSON.parse(answer.body) as { servers: { url: string }[], paths: Record<string, Record<string, unknown>> };
    expect(doc.servers).toEqual([{ url: baseUrl }]);
    for (const route of Object.values(routes)) expect(doc.paths[route.path]?.[route.method.toLowerCase()]).toBeDefined();
  });

  it('the environment sets the config until the first PUT /config; then the config document decides, on every instance', async () => {
    const env = { BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN, BOOTSTRAP_MAX_PEERS: '3', BOOTSTRAP_TTL: '20' };
    const first = await backend(env);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const read = async (baseUrl: string): Promise<unknown> =>
      JSON.parse((await send(baseUrl, { method: 'GET', path: routes.getConfig.path, headers: admin })).body);
    expect(await read(first.baseUrl)).toEqual({ maxPeers: 3, ttlMs: 20_000 });
    await send(first.baseUrl, { method: 'PUT', path: routes.setConfig.path, headers: { ...admin, ...JSON_TYPE }, body: '{"maxPeers":5}' });
    // A new instance (a cold start) of the same deployment, on the same project.
    const second = createBootstrapFunction(loadConfig({ ...env, GOOGLE_CLOUD_PROJECT: first.projectId, FIRESTORE_EMULATOR_HOST: emulator().host }));
    try {
      expect(await second.store.config()).toEqual({ maxPeers: 5, ttlMs: 20_000 });
    } finally {
      await second.close();
    }
  });

  it('never lists an expired lease, and the next write deletes it', async () => {
    const projectId = 'demo-expiry';
    await emulator().reset(projectId);
    let now = Date.now();
    const clock = (): number => now;
    const db = firestoreOn(projectId);
    try {
      const store = new FirestoreStore(db, { initialConfig: { maxPeers: 2, ttlMs: 10_000 }, now: clock });
      const service = new RegistryService(store, { backend: 'test', now: clock });
      const signer = async (): Promise<RecordSigner> => new RecordSigner(await generateKeyPair('Ed25519'), clock);
      const [a, b, c] = await Promise.all([signer(), signer(), signer()]);
      await service.join({ record: await a.seal([]) });
      await service.join({ record: await b.seal([]) });
      expect((await service.join({ record: await c.seal([]) })).admitted).toBe(false);
      now += 10_000;
      expect((await service.list()).peers).toEqual([]);
      expect(await store.entries()).toEqual([]);
      // Still stored: expiry costs no write until the next one.
      expect((await db.collection(REGISTRATIONS_COLLECTION).get()).size).toBe(2);
      const joined = await service.join({ record: await c.seal([]) });
      expect(joined.admitted).toBe(true);
      const stored = await db.collection(REGISTRATIONS_COLLECTION).get();
      expect(stored.docs.map((d) => d.id)).toEqual([joined.peers[0]?.peerId]);
    } finally {
      await db.terminate();
    }
  });

  it('instances of one deployment racing for the last places admit exactly maxPeers (Firestore transactions, not the per-instance queue)', async () => {
    const projectId = 'demo-two-instances';
    await emulator().reset(projectId);
    const dbs = [firestoreOn(projectId), firestoreOn(projectId)];
    try {
      // Each instance queues its own transactions, so only the two instances can conflict.
      const services = dbs.map((db) => new RegistryService(new FirestoreStore(db, { initialConfig: { maxPeers: 3, ttlMs: 60_000 } }), { backend: 'test' }));
      const keys = await Promise.all(Array.from({ length: 8 }, () => generateKeyPair('Ed25519')));
      const records = await Promise.all(keys.map((key) => new RecordSigner(key).seal([])));
      const answers = await Promise.all(records.map((record, i) => (services[i % 2] as RegistryService).join({ record })));
      const admitted = keys.filter((_, i) => answers[i]?.admitted).map((key) => peerIdFromPrivateKey(key).toString());
      expect(admitted).toHaveLength(3);
      expect((await (services[0] as RegistryService).list()).peers.map((p) => p.peerId).sort()).toEqual(admitted.sort());
      // Every refused join was shown the full set.
      for (const a of answers.filter((x) => !x.admitted)) expect(a.peers).toHaveLength(3);
    } finally {
      await Promise.all(dbs.map((db) => db.terminate()));
    }
  }, 60_000);

  function firestoreOn(projectId: string): Firestore {
    return new Firestore({ projectId, host: emulator().host, ssl: false });
  }

});
