/**
 * The contract test suite: what every backend of the bootstrap data API must do, checked
 * over real HTTP with the typed client and with raw requests the client would never send.
 * A backend's test file calls `describeContract` with a setup that starts it:
 *
 *   describeContract('fastify', async () => { ...; return { baseUrl, adminToken, close } });
 *
 * The suite resets the registry before each test and restores the backend's starting
 * config, so the setup runs once per suite. It needs the admin endpoints enabled.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record';
import { multiaddr } from '@multiformats/multiaddr';
import type { PrivateKey } from '@libp2p/interface';
import {
  API_VERSION, BODY_LIMIT_BYTES, BootstrapApiError, BootstrapClient, ERROR_STATUS, MIN_TTL_MS, RECORD_MAX_AGE_MS,
  RECORD_MAX_SKEW_MS, RecordSigner, renewAfter, routes, sealRecord
} from '../src/index.ts';
import type { BootstrapPeer, Config, ErrorCode, ListResponse } from '../src/index.ts';

export interface ContractBackend {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  adminToken: string;
  /**
   * Longest one request may take; the client's default (5 s) when absent. A backend whose
   * contended transactions back off and retry (Firestore, markedly so on its emulator)
   * needs more for the concurrency tests; the answers must be the same.
   */
  requestTimeoutMs?: number;
  close(): Promise<void>;
}

interface TestPeer {
  peerId: string;
  key: PrivateKey;
  addrs: string[];
  /** A fresh record with a sequence number above every earlier one of this peer. */
  record(): Promise<string>;
}

const PEER_POOL = 30;
const TTL_DEADLINE_MS = MIN_TTL_MS + 5000;
const CONCURRENCY_TIMEOUT_MS = 120_000;

async function makePeer(index: number): Promise<TestPeer> {
  const key = await generateKeyPair('Ed25519');
  const addrs = [`/ip4/127.0.0.1/tcp/${20000 + index}`];
  const signer = new RecordSigner(key);
  return { peerId: peerIdFromPrivateKey(key).toString(), key, addrs, record: () => signer.seal(addrs) };
}

interface RawAnswer {
  status: number;
  contentType: string | null;
  json: unknown;
}

interface RawRequest {
  method: string;
  path: string;
  /** Sent as JSON text unless `body` is given. */
  json?: unknown;
  body?: string;
  contentType?: string;
  authorization?: string;
}

function ids(peers: readonly BootstrapPeer[]): string[] {
  return peers.map((p) => p.peerId);
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

export function describeContract(name: string, setup: () => Promise<ContractBackend>): void {
  describe(`bootstrap API contract: ${name}`, () => {
    let backend: ContractBackend;
    let client: BootstrapClient;
    let initialConfig: Config;
    const peers: TestPeer[] = [];

    const peer = (i: number): TestPeer => peers[i] as TestPeer;

    async function raw(request: RawRequest): Promise<RawAnswer> {
      const headers: Record<string, string> = {};
      let body = request.body;
      if (body === undefined && request.json !== undefined) body = JSON.stringify(request.json);
      if (body !== undefined) headers['content-type'] = request.contentType ?? 'application/json';
      if (request.authorization !== undefined) headers.authorization = request.authorization;
      const response = await fetch(backend.baseUrl + request.path, {
        method: request.method, headers, body, signal: AbortSignal.timeout(5000)
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, contentType: response.headers.get('content-type'), json };
    }

    /** Everything a client can observe: the live set (with lease times) and the config. */
    async function observable(): Promise<{ list: ListResponse, config: Config }> {
      return { list: await client.list(), config: await client.getConfig() };
    }

    /** The request must get the contract's error, and change nothing anyone can observe. */
    async function expectRefused(request: RawRequest, code: ErrorCode, message: RegExp): Promise<void> {
      const before = await observable();
      const answer = await raw(request);
      expect(answer.contentType).toMatch(/^application\/json/);
      expect(answer.json).toEqual({ error: { code, message: expect.stringMatching(message) } });
      expect(answer.status).toBe(ERROR_STATUS[code]);
      expect(await observable()).toEqual(before);
    }

    const admin = (): string => `Bearer ${backend.adminToken}`;

    beforeAll(async () => {
      backend = await setup();
      client = new BootstrapClient({
        baseUrl: backend.baseUrl, adminToken: backend.adminToken, retries: 0,
        ...(backend.requestTimeoutMs !== undefined ? { timeoutMs: backend.requestTimeoutMs } : {})
      });
      initialConfig = await client.getConfig();
      peers.push(...await Promise.all(Array.from({ length: PEER_POOL }, (_, i) => makePeer(i))));
    });

    afterAll(async () => {
      await backend?.close();
    });

    beforeEach(async () => {
      await client.reset();
      await client.setConfig(initialConfig);
    });

    describe('endpoints', () => {
      it('ping says which API version and backend answer', async () => {
        const before = Date.now();
        const pong = await client.ping();
        expect(pong.ok).toBe(true);
        expect(pong.version).toBe(API_VERSION);
        expect(pong.backend.length).toBeGreaterThan(0);
        // The server clock, near ours: records are dated by it.
        expect(Math.abs(pong.time - before)).toBeLessThan(RECORD_MAX_SKEW_MS);
      });

      it('list of an empty registry', async () => {
        expect(await client.list()).toEqual({ peers: [], ttlMs: initialConfig.ttlMs });
      });

      it('join admits a peer, answers the set and lists it with its record and lease', async () => {
        const record = await peer(0).record();
        const joined = await client.join(record);
        expect(joined).toMatchObject({ admitted: true, ttlMs: initialConfig.ttlMs, renewAfterMs: renewAfter(initialConfig) });
        expect(ids(joined.peers)).toEqual([peer(0).peerId]);
        const [listed] = (await client.list()).peers;
        expect(listed).toEqual({
          peerId: peer(0).peerId,
          addrs: peer(0).addrs,
          record,
          registeredAt: expect.any(Number),
          expiresAt: (listed as BootstrapPeer).registeredAt + initialConfig.ttlMs
        });
      });

      it('a peer behind a NAT registers its relayed addresses (/p2p/RELAY/p2p-circuit) as they are', async () => {
        const behindNat = peer(1);
        const relayed = [`/ip4/203.0.113.7/tcp/4001/p2p/${peer(2).peerId}/p2p-circuit`, `/ip6/2001:db8::7/tcp/4001/p2p/${peer(3).peerId}/p2p-circuit`];
        const addrs = [...behindNat.addrs, ...relayed];
        const record = await sealRecord(behindNat.key, addrs, Date.now());
        await expect(client.join(record)).resolves.toMatchObject({ admitted: true });
        expect((await client.list()).peers.find((p) => p.peerId === behindNat.peerId)?.addrs).toEqual(addrs);
      });

      it('join again renews the lease and keeps the registration time; the exact same record is a harmless retry', async () => {
        const first = await peer(0).record();
        await client.join(first);
        const [before] = (await client.list()).peers as [BootstrapPeer];
        await expect(client.join(first)).resolves.toMatchObject({ admitted: true });
        const renewal = await client.join(await peer(0).record());
        const [after] = renewal.peers as [BootstrapPeer];
        expect(after.registeredAt).toBe(before.registeredAt);
        expect(after.expiresAt).toBeGreaterThanOrEqual(before.expiresAt);
        expect((await client.list()).peers).toEqual([after]);
      });

      it('lists the oldest registration first', async () => {
        for (const i of [3, 1, 2]) await client.join(await peer(i).record());
        expect(ids((await client.list()).peers)).toEqual([peer(3).peerId, peer(1).peerId, peer(2).peerId]);
      });

      it('a full set answers join with its peers without admitting', async () => {
        await client.setConfig({ maxPeers: 2 });
        await client.join(await peer(0).record());
        await client.join(await peer(1).record());
        const refused = await client.join(await peer(2).record());
        expect(refused.admitted).toBe(false);
        expect(ids(refused.peers)).toEqual([peer(0).peerId, peer(1).peerId]);
        expect(ids((await client.list()).peers)).toEqual([peer(0).peerId, peer(1).peerId]);
      });

      it('refill with room replaces nobody; with a full set it replaces the newest entry', async () => {
        await client.setConfig({ maxPeers: 2 });
        await client.join(await peer(0).record());
        const roomy = await client.refill(await peer(1).record());
        expect(roomy).toMatchObject({ admitted: true, replaced: null });
        const full = await client.refill(await peer(2).record());
        expect(full).toMatchObject({ admitted: true, replaced: peer(1).peerId });
        expect(ids(full.peers)).toEqual([peer(0).peerId, peer(2).peerId]);
        expect(ids((await client.list()).peers)).toEqual([peer(0).peerId, peer(2).peerId]);
      });

      it('leave removes the signer, and only with a newer record', async () => {
        await client.join(await peer(0).record());
        await client.join(await peer(1).record());
        expect(await client.leave(await peer(0).record())).toEqual({ removed: true });
        expect(ids((await client.list()).peers)).toEqual([peer(1).peerId]);
        expect(await client.leave(await peer(0).record())).toEqual({ removed: false });
      });

      it('reset removes every registration and says how many', async () => {
        for (const i of [0, 1, 2]) await client.join(await peer(i).record());
        expect(await client.reset()).toEqual({ removed: 3 });
        expect((await client.list()).peers).toEqual([]);
      });

      it('config reads and changes maxPeers and ttlMs, each on its own', async () => {
        expect(await client.getConfig()).toEqual(initialConfig);
        expect(await client.setConfig({ maxPeers: 5 })).toEqual({ ...initialConfig, maxPeers: 5 });
        expect(await client.setConfig({ ttlMs: 30_000 })).toEqual({ maxPeers: 5, ttlMs: 30_000 });
        expect(await client.getConfig()).toEqual({ maxPeers: 5, ttlMs: 30_000 });
        expect((await client.list()).ttlMs).toBe(30_000);
        const joined = await client.join(await peer(0).record());
        expect(joined).toMatchObject({ ttlMs: 30_000, renewAfterMs: renewAfter({ maxPeers: 5, ttlMs: 30_000 }) });
      });

      it('the client reports a refused request with its code and status', async () => {
        await client.join(await peer(0).record());
        const stale = await sealRecord(peer(0).key, peer(0).addrs, Date.now() - 10_000);
        const err: unknown = await client.join(stale).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BootstrapApiError);
        expect(err).toMatchObject({ status: 409, code: 'STALE_RECORD' });
      });
    });

    describe('bad input gets a JSON error naming the problem and changes nothing', () => {
      const join = routes.join.path;
      let registered: TestPeer;

      beforeEach(async () => {
        registered = peer(0);
        await client.join(await registered.record());
      });

      it('missing, mistyped and extra fields', async () => {
        await expectRefused({ method: 'POST', path: join, json: {} }, 'BAD_REQUEST', /record/);
        await expectRefused({ method: 'POST', path: join, json: { record: 42 } }, 'BAD_REQUEST', /record/);
        await expectRefused({ method: 'POST', path: join, json: { record: null } }, 'BAD_REQUEST', /record/);
        await expectRefused({ method: 'POST', path: join, json: [await peer(1).record()] }, 'BAD_REQUEST', /body/);
        await expectRefused({ method: 'POST', path: join, json: { record: await peer(1).record(), admin: true } }, 'BAD_REQUEST', /admin/);
        await expectRefused({ method: 'POST', path: join }, 'BAD_REQUEST', /body/);
      });

      it('a record that is not base64, or not an envelope', async () => {
        await expectRefused({ method: 'POST', path: join, json: { record: 'not base64!' } }, 'BAD_REQUEST', /record/);
        await expectRefused({ method: 'POST', path: routes.refill.path, json: { record: Buffer.from('just some bytes').toString('base64') } },
          'BAD_RECORD', /record|envelope/);
      });

      it('a body that is not JSON, too large, or of another content type', async () => {
        await expectRefused({ method: 'POST', path: join, body: '{"record": ' }, 'BAD_REQUEST', /JSON/);
        await expectRefused({ method: 'POST', path: join, body: JSON.stringify({ record: 'A'.repeat(BODY_LIMIT_BYTES) }) },
          'BODY_TOO_LARGE', /large|limit|bytes/);
        await expectRefused({ method: 'POST', path: join, body: JSON.stringify({ record: await peer(1).record() }), contentType: 'text/plain' },
          'UNSUPPORTED_MEDIA_TYPE', /json/i);
      });

      it('a bad signature, even on a record of a registered peer', async () => {
        const bytes = Buffer.from(await registered.record(), 'base64');
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x01;
        const tampered = bytes.toString('base64');
        for (const path of [join, routes.refill.path, routes.leave.path]) {
          await expectRefused({ method: 'POST', path, json: { record: tampered } }, 'BAD_SIGNATURE', /signature/);
        }
      });

      it('a record naming a peer ID other than its signer cannot join, refill or evict that peer', async () => {
        const record = new PeerRecord({
          peerId: peerIdFromPrivateKey(registered.key),
          multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/1')],
          seqNumber: BigInt(Date.now() + 1000)
        });
        const forged = Buffer.from((await RecordEnvelope.seal(record, peer(1).key)).marshal()).toString('base64');
        for (const path of [join, routes.refill.path, routes.leave.path]) {
          await expectRefused({ method: 'POST', path, json: { record: forged } }, 'BAD_SIGNATURE', /signer/);
        }
      });

      it('records too old or from the future', async () => {
        const old = await sealRecord(peer(1).key, peer(1).addrs, Date.now() - RECORD_MAX_AGE_MS - 10_000);
        await expectRefused({ method: 'POST', path: join, json: { record: old } }, 'RECORD_EXPIRED', /old/);
        const future = await sealRecord(peer(1).key, peer(1).addrs, Date.now() + RECORD_MAX_SKEW_MS + 10_000);
        await expectRefused({ method: 'POST', path: join, json: { record: future } }, 'RECORD_FROM_FUTURE', /ahead/);
      });

      it('a replayed older record cannot renew, refill or remove a registration', async () => {
        const older = await sealRecord(registered.key, registered.addrs, Date.now() - 20_000);
        await expectRefused({ method: 'POST', path: join, json: { record: older } }, 'STALE_RECORD', /newer/);
        await expectRefused({ method: 'POST', path: routes.refill.path, json: { record: older } }, 'STALE_RECORD', /newer/);
        await expectRefused({ method: 'POST', path: routes.leave.path, json: { record: older } }, 'STALE_RECORD', /newer/);
      });

      it('admin endpoints without the token, with a wrong one, or with a bad config', async () => {
        const { reset, setConfig, getConfig } = routes;
        await expectRefused({ method: reset.method, path: reset.path }, 'UNAUTHORIZED', /Bearer/);
        await expectRefused({ method: reset.method, path: reset.path, authorization: `Bearer ${backend.adminToken}x` }, 'UNAUTHORIZED', /token/);
        await expectRefused({ method: reset.method, path: reset.path, authorization: backend.adminToken }, 'UNAUTHORIZED', /Bearer/);
        await expectRefused({ method: getConfig.method, path: getConfig.path, authorization: 'Bearer ' }, 'UNAUTHORIZED', /token/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: { maxPeers: 1 }, authorization: 'Bearer wrong' },
          'UNAUTHORIZED', /token/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: { maxPeers: 0 }, authorization: admin() }, 'BAD_REQUEST', /maxPeers/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: { maxPeers: '5' }, authorization: admin() }, 'BAD_REQUEST', /maxPeers/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: { ttlMs: MIN_TTL_MS - 1 }, authorization: admin() }, 'BAD_REQUEST', /ttlMs/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: { ttlMs: 2.5e3 + 0.5 }, authorization: admin() }, 'BAD_REQUEST', /ttlMs/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: { maxPeers: 3, size: 3 }, authorization: admin() }, 'BAD_REQUEST', /size/);
        await expectRefused({ method: setConfig.method, path: setConfig.path, json: {}, authorization: admin() }, 'BAD_REQUEST', /body/);
      });

      it('an unknown endpoint', async () => {
        await expectRefused({ method: 'GET', path: '/v1/nothing-here' }, 'NOT_FOUND', /nothing-here/);
        await expectRefused({ method: 'POST', path: '/v0/join', json: { record: await peer(1).record() } }, 'NOT_FOUND', /join/);
      });
    });

    it('a lease that is not renewed disappears after the TTL', async () => {
      await client.setConfig({ ttlMs: MIN_TTL_MS });
      const joined = await client.join(await peer(0).record());
      expect(joined.ttlMs).toBe(MIN_TTL_MS);
      expect(ids((await client.list()).peers)).toEqual([peer(0).peerId]);
      const deadline = Date.now() + TTL_DEADLINE_MS;
      let listed = (await client.list()).peers;
      while (listed.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        listed = (await client.list()).peers;
      }
      expect(listed).toEqual([]);
      // Its place is free again, and it can come back.
      expect(await client.join(await peer(0).record())).toMatchObject({ admitted: true });
    }, TTL_DEADLINE_MS + 5000);

    // A burst of transactions on one set is the slow case of a retrying backend.
    describe('concurrency', { timeout: CONCURRENCY_TIMEOUT_MS }, () => {
      it('20 concurrent joins against maxPeers 5 admit exactly 5', async () => {
        await client.setConfig({ maxPeers: 5 });
        const joiners = peers.slice(0, 20);
        const records = await Promise.all(joiners.map((p) => p.record()));
        const answers = await Promise.all(records.map((r) => client.join(r)));
        const admitted = joiners.filter((_, i) => answers[i]?.admitted).map((p) => p.peerId);
        expect(admitted).toHaveLength(5);
        for (const a of answers) expect(a.peers.length).toBeLessThanOrEqual(5);
        // Each of the other 15 was told the set is full: it was shown all five places taken.
        const full = answers.filter((a) => !a.admitted);
        expect(full).toHaveLength(15);
        for (const a of full) expect(a.peers).toHaveLength(5);
        expect(sorted(ids((await client.list()).peers))).toEqual(sorted(admitted));
      });

      it('concurrent leaves and refills with room lose no update', async () => {
        await client.setConfig({ maxPeers: 20 });
        const leaving = peers.slice(0, 10);
        const arriving = peers.slice(10, 20);
        for (const p of leaving) await client.join(await p.record());
        const leaveRecords = await Promise.all(leaving.map((p) => p.record()));
        const refillRecords = await Promise.all(arriving.map((p) => p.record()));
        const [leaves, refills] = await Promise.all([
          Promise.all(leaveRecords.map((r) => client.leave(r))),
          Promise.all(refillRecords.map((r) => client.refill(r)))
        ]);
        expect(leaves.every((l) => l.removed)).toBe(true);
        expect(refills.every((r) => r.admitted && r.replaced === null)).toBe(true);
        expect(sorted(ids((await client.list()).peers))).toEqual(sorted(arriving.map((p) => p.peerId)));
      });

      it('concurrent refills of a full set replace one entry each and lose no peer', async () => {
        await client.setConfig({ maxPeers: 5 });
        const settled = peers.slice(0, 5);
        const refilling = peers.slice(5, 15);
        for (const p of settled) await client.join(await p.record());
        const records = await Promise.all(refilling.map((p) => p.record()));
        const answers = await Promise.all(records.map((r) => client.refill(r)));
        expect(answers.every((a) => a.admitted)).toBe(true);
        const replaced = answers.map((a) => a.replaced);
        expect(replaced.every((r) => r !== null)).toBe(true);
        expect(new Set(replaced).size).toBe(refilling.length);
        const final = ids((await client.list()).peers);
        expect(final).toHaveLength(5);
        // Every participant is either still listed or was named as replaced, never both, never neither.
        expect(sorted([...final, ...replaced as string[]])).toEqual(sorted([...settled, ...refilling].map((p) => p.peerId)));
      });
    });
  });
}
