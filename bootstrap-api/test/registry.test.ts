/**
 * The pure registry policy with an injected clock, and record verification with real
 * Ed25519 keys. No backend, no network: these are the rules every backend inherits.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record';
import { multiaddr } from '@multiformats/multiaddr';
import {
  ApiError, MAX_ADDRS_PER_PEER, RECORD_MAX_AGE_MS, RECORD_MAX_SKEW_MS, decideJoin, decideLeave, decideRefill,
  livePeers, nextExpiry, renewAfter, sealRecord, verifyRecord
} from '../src/index.ts';
import type { Config, Decision, JoinResult, Registration, VerifiedRecord } from '../src/index.ts';

const config: Config = { maxPeers: 3, ttlMs: 10_000 };
const T0 = 1_700_000_000_000;

function candidate(peerId: string, seq: number, record = `rec${peerId}${seq}`): VerifiedRecord {
  return { peerId, addrs: [`/ip4/127.0.0.1/tcp/${seq % 60000}`], seq, record };
}

/** Applies a decision the way a store must: deletions, then writes, keyed by peer ID. */
function apply<R>(entries: readonly Registration[], decision: Decision<R>): Registration[] {
  const byPeer = new Map(entries.map((e) => [e.peerId, e]));
  for (const id of decision.remove) byPeer.delete(id);
  for (const r of decision.put) byPeer.set(r.peerId, r);
  return [...byPeer.values()];
}

/** Joins the peers one millisecond apart, so their ages are distinct. */
function joined(peerIds: string[], at = T0): Registration[] {
  let entries: Registration[] = [];
  peerIds.forEach((id, i) => {
    entries = apply(entries, decideJoin(entries, config, candidate(id, at + i), at + i));
  });
  return entries;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return undefined;
}

describe('registry policy', () => {
  it('admits peers while the set has room, then answers with the set without admitting', () => {
    const entries = joined(['a', 'b', 'c']);
    expect(livePeers(entries, T0 + 10).map((p) => p.peerId)).toEqual(['a', 'b', 'c']);
    const full = decideJoin(entries, config, candidate('d', T0 + 10), T0 + 10);
    expect(full.result.admitted).toBe(false);
    expect(full.put).toEqual([]);
    expect(full.result.peers.map((p) => p.peerId)).toEqual(['a', 'b', 'c']);
    expect(full.result.ttlMs).toBe(config.ttlMs);
    expect(full.result.renewAfterMs).toBe(renewAfter(config));
  });

  it('renews a lease with a newer record, keeping registeredAt and extending expiresAt', () => {
    const entries = joined(['a', 'b', 'c']);
    const renewal = decideJoin(entries, config, candidate('a', T0 + 5000), T0 + 5000);
    expect(renewal.result.admitted).toBe(true);
    const a = apply(entries, renewal).find((e) => e.peerId === 'a');
    expect(a?.registeredAt).toBe(T0);
    expect(a?.expiresAt).toBe(T0 + 5000 + config.ttlMs);
    expect(a?.seq).toBe(T0 + 5000);
  });

  it('accepts the exact record again, so a retried join is harmless', () => {
    const entries = joined(['a']);
    const again = decideJoin(entries, config, candidate('a', T0), T0 + 100);
    expect(again.result.admitted).toBe(true);
  });

  it('refuses an older record, or another record with the same sequence, as STALE_RECORD', () => {
    const entries = apply(joined(['a']), decideJoin(joined(['a']), config, candidate('a', T0 + 50), T0 + 50));
    expect(codeOf(() => decideJoin(entries, config, candidate('a', T0 + 10), T0 + 60))).toBe('STALE_RECORD');
    expect(codeOf(() => decideJoin(entries, config, candidate('a', T0 + 50, 'other'), T0 + 60))).toBe('STALE_RECORD');
    expect(codeOf(() => decideRefill(entries, config, candidate('a', T0 + 10), T0 + 60))).toBe('STALE_RECORD');
  });

  it('refill takes the place of the newest entry when the set is full', () => {
    const entries = joined(['a', 'b', 'c']);
    const refill = decideRefill(entries, config, candidate('d', T0 + 10), T0 + 10);
    expect(refill.result.admitted).toBe(true);
    expect(refill.result.replaced).toBe('c');
    expect(refill.remove).toContain('c');
    expect(livePeers(apply(entries, refill), T0 + 10).map((p) => p.peerId)).toEqual(['a', 'b', 'd']);
  });

  it('refill with room left replaces nobody', () => {
    const entries = joined(['a']);
    const refill = decideRefill(entries, config, candidate('b', T0 + 10), T0 + 10);
    expect(refill.result.replaced).toBeNull();
    expect(refill.result.peers.map((p) => p.peerId)).toEqual(['a', 'b']);
  });

  it('never returns an expired lease, deletes it on the next write and frees its place', () => {
    const entries = joined(['a', 'b', 'c']);
    const afterA = T0 + config.ttlMs;
    expect(livePeers(entries, afterA).map((p) => p.peerId)).toEqual(['b', 'c']);
    const join = decideJoin(entries, config, candidate('d', afterA), afterA);
    expect(join.remove).toEqual(['a']);
    expect(join.result.admitted).toBe(true);
    expect(join.result.peers.map((p) => p.peerId)).toEqual(['b', 'c', 'd']);
  });

  it('an expired peer may come back with any fresh record', () => {
    const entries = joined(['a']);
    const later = T0 + config.ttlMs + 1;
    const back = decideJoin(entries, config, candidate('a', T0 - 5), later);
    expect(back.result.admitted).toBe(true);
    expect(apply(entries, back)[0]?.registeredAt).toBe(later);
  });

  it('leave needs a record newer than the registered one', () => {
    const entries = joined(['a', 'b']);
    expect(codeOf(() => decideLeave(entries, candidate('a', T0), T0 + 10))).toBe('STALE_RECORD');
    const leave = decideLeave(entries, candidate('a', T0 + 10), T0 + 10);
    expect(leave.result.removed).toBe(true);
    expect(livePeers(apply(entries, leave), T0 + 10).map((p) => p.peerId)).toEqual(['b']);
    expect(decideLeave(entries, candidate('z', T0 + 10), T0 + 10).result.removed).toBe(false);
  });

  it('nextExpiry is the earliest live lease, infinite for an empty set', () => {
    const entries = joined(['a', 'b']);
    expect(nextExpiry(entries, T0)).toBe(T0 + config.ttlMs);
    expect(nextExpiry(entries, T0 + config.ttlMs)).toBe(T0 + 1 + config.ttlMs);
    expect(nextExpiry([], T0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('no sequence of joins, refills, leaves and time never overfills the set or shows an expired lease', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('join', 'refill', 'leave'), peer: fc.integer({ min: 0, max: 7 }), replay: fc.boolean() }),
      fc.record({ kind: fc.constant('advance'), ms: fc.integer({ min: 0, max: 2 * config.ttlMs }) })
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      let now = T0;
      let entries: Registration[] = [];
      const lastSeq = new Map<string, number>();
      for (const o of ops) {
        if (o.kind === 'advance') {
          now += o.ms;
        } else {
          const peerId = `p${o.peer}`;
          // A replay reuses the peer's last sequence with another body: it must be refused or harmless.
          const seq = o.replay && lastSeq.has(peerId) ? lastSeq.get(peerId) as number : Math.max(now, (lastSeq.get(peerId) ?? 0) + 1);
          lastSeq.set(peerId, seq);
          const c = candidate(peerId, seq, `r${seq}${o.replay ? 'x' : ''}`);
          try {
            const decision: Decision<object> = o.kind === 'join' ? decideJoin(entries, config, c, now)
              : o.kind === 'refill' ? decideRefill(entries, config, c, now) : decideLeave(entries, c, now);
            if ('peers' in decision.result) {
              const answered = (decision.result as JoinResult).peers;
              expect(answered.length).toBeLessThanOrEqual(config.maxPeers);
              for (const p of answered) expect(p.expiresAt).toBeGreaterThan(now);
            }
            entries = apply(entries, decision);
          } catch (err) {
            expect(err).toBeInstanceOf(ApiError);
            expect((err as ApiError).code).toBe('STALE_RECORD');
          }
        }
        const live = livePeers(entries, now);
        expect(live.length).toBeLessThanOrEqual(config.maxPeers);
        for (const p of live) expect(p.expiresAt).toBeGreaterThan(now);
        expect(new Set(live.map((p) => p.peerId)).size).toBe(live.length);
      }
    }), { numRuns: 300 });
  });
});

describe('verifyRecord', () => {
  const now = T0;
  const addrs = ['/ip4/127.0.0.1/tcp/4001'];

  it('accepts a record signed by the key of the peer it names', async () => {
    const key = await generateKeyPair('Ed25519');
    const record = await sealRecord(key, addrs, now);
    const verified = await verifyRecord(record, { now });
    expect(verified).toEqual({ peerId: peerIdFromPrivateKey(key).toString(), addrs, seq: now, record });
  });

  it('refuses a tampered signature', async () => {
    const key = await generateKeyPair('Ed25519');
    const bytes = Buffer.from(await sealRecord(key, addrs, now), 'base64');
    // The signature is the envelope's last field.
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    await expect(verifyRecord(bytes.toString('base64'), { now })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
  });

  it('refuses a record that names a peer other than its signer', async () => {
    const keyA = await generateKeyPair('Ed25519');
    const keyB = await generateKeyPair('Ed25519');
    const record = new PeerRecord({ peerId: peerIdFromPrivateKey(keyB), multiaddrs: addrs.map((a) => multiaddr(a)), seqNumber: BigInt(now) });
    const envelope = await RecordEnvelope.seal(record, keyA);
    const base64 = Buffer.from(envelope.marshal()).toString('base64');
    await expect(verifyRecord(base64, { now })).rejects.toMatchObject({ code: 'BAD_SIGNATURE', message: expect.stringMatching(/other than its signer/) });
  });

  it('refuses records too old or dated in the future, with the margins of the contract', async () => {
    const key = await generateKeyPair('Ed25519');
    const old = await sealRecord(key, addrs, now - RECORD_MAX_AGE_MS - 1);
    await expect(verifyRecord(old, { now })).rejects.toMatchObject({ code: 'RECORD_EXPIRED' });
    const future = await sealRecord(key, addrs, now + RECORD_MAX_SKEW_MS + 1);
    await expect(verifyRecord(future, { now })).rejects.toMatchObject({ code: 'RECORD_FROM_FUTURE' });
    await expect(verifyRecord(await sealRecord(key, addrs, now - RECORD_MAX_AGE_MS), { now })).resolves.toBeDefined();
    await expect(verifyRecord(await sealRecord(key, addrs, now + RECORD_MAX_SKEW_MS), { now })).resolves.toBeDefined();
  });

  it('refuses more addresses than a registration may carry', async () => {
    const key = await generateKeyPair('Ed25519');
    const many = Array.from({ length: MAX_ADDRS_PER_PEER + 1 }, (_, i) => `/ip4/127.0.0.1/tcp/${4000 + i}`);
    await expect(verifyRecord(await sealRecord(key, many, now), { now })).rejects.toMatchObject({ code: 'BAD_RECORD' });
    await expect(verifyRecord(await sealRecord(key, many.slice(1), now), { now })).resolves.toBeDefined();
  });

  it('refuses a validly signed envelope that holds something other than a peer record', async () => {
    const key = await generateKeyPair('Ed25519');
    const other = {
      domain: PeerRecord.DOMAIN,
      codec: new Uint8Array([0x03, 0x02]),
      marshal: () => new Uint8Array([1, 2, 3]),
      equals: () => false
    };
    const envelope = await RecordEnvelope.seal(other, key);
    const base64 = Buffer.from(envelope.marshal()).toString('base64');
    await expect(verifyRecord(base64, { now })).rejects.toMatchObject({ code: 'BAD_RECORD', message: expect.stringMatching(/peer record/) });
  });

  it('refuses bytes that are no envelope at all', async () => {
    await expect(verifyRecord(Buffer.from('not an envelope').toString('base64'), { now })).rejects.toMatchObject({ code: 'BAD_RECORD' });
  });
});
