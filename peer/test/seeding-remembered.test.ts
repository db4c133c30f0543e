/**
 * The remembered members: the pure merge (seeding/remembered.ts), as properties over
 * random histories, and the members file (seeding/remembered-store.ts) on a real disk,
 * with the files a crash, a disk or a hand can leave behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { remember } from '../src/seeding/remembered.ts';
import type { RememberedMember } from '../src/seeding/remembered.ts';
import { MAX_REMEMBERED_FILE_BYTES, REMEMBERED_VERSION, RememberedStore, decodeRemembered, encodeRemembered } from '../src/seeding/remembered-store.ts';
import type { LiveMember } from '../src/seeding/remembered-store.ts';
import { chooseSeeds, joinMessage } from '../src/seeding/seed-source.ts';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const sighting = fc.record({
  peerId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'self'),
  addrs: fc.array(fc.constantFrom('/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/2'), { maxLength: 2 }),
  lastSeen: fc.integer({ min: NOW - 10 * DAY, max: NOW + DAY })
});
const policy = fc.record({ max: fc.integer({ min: 0, max: 8 }), maxAgeMs: fc.integer({ min: 0, max: 8 * DAY }) });

describe('remembering members (pure)', () => {
  it('is bounded, drops the expired, ourselves and the addressless, keeps one entry per peer, newest first', () => {
    fc.assert(fc.property(fc.array(sighting), fc.array(sighting), policy, (known, seen, p) => {
      const out = remember(known, seen, p, NOW, 'self');
      expect(out.length).toBeLessThanOrEqual(p.max);
      expect(new Set(out.map((m) => m.peerId)).size).toBe(out.length);
      for (const m of out) {
        expect(m.peerId).not.toBe('self');
        expect(m.addrs.length).toBeGreaterThan(0);
        expect(m.lastSeen).toBeLessThanOrEqual(NOW);
        expect(NOW - m.lastSeen).toBeLessThanOrEqual(p.maxAgeMs);
      }
      for (let i = 1; i < out.length; i++) expect(out[i - 1]!.lastSeen).toBeGreaterThanOrEqual(out[i]!.lastSeen);
    }));
  });

  it("keeps each peer's newest sighting, and the newest peers when over the bound", () => {
    fc.assert(fc.property(fc.array(sighting), fc.array(sighting), policy, (known, seen, p) => {
      const out = remember(known, seen, p, NOW, 'self');
      const eligible = [...known, ...seen]
        .map((m) => ({ ...m, lastSeen: Math.min(m.lastSeen, NOW) }))
        .filter((m) => m.peerId !== 'self' && m.addrs.length > 0 && NOW - m.lastSeen <= p.maxAgeMs);
      const newest = new Map<string, number>();
      for (const m of eligible) newest.set(m.peerId, Math.max(newest.get(m.peerId) ?? -Infinity, m.lastSeen));
      for (const m of out) expect(m.lastSeen).toBe(newest.get(m.peerId));
      // Nobody left out is newer than somebody kept.
      const kept = new Set(out.map((m) => m.peerId));
      const oldestKept = Math.min(...out.map((m) => m.lastSeen));
      for (const [peerId, lastSeen] of newest) if (!kept.has(peerId)) expect(lastSeen).toBeLessThanOrEqual(oldestKept);
      expect(out.length).toBe(Math.min(p.max, newest.size));
    }));
  });

  it('takes the addresses of the newest sighting, and counts a time ahead of now as now', () => {
    const known = [{ peerId: 'a', addrs: ['/ip4/10.0.0.1/tcp/1'], lastSeen: NOW - DAY }];
    const seen = [{ peerId: 'a', addrs: ['/ip4/10.0.0.9/tcp/9'], lastSeen: NOW }, { peerId: 'b', addrs: ['/ip4/10.0.0.2/tcp/2'], lastSeen: NOW + 5 * DAY }];
    expect(remember(known, seen, { max: 4, maxAgeMs: 7 * DAY }, NOW, 'self')).toEqual([
      { peerId: 'a', addrs: ['/ip4/10.0.0.9/tcp/9'], lastSeen: NOW },
      { peerId: 'b', addrs: ['/ip4/10.0.0.2/tcp/2'], lastSeen: NOW }
    ]);
  });
});

async function peerIds(n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()));
}

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-remembered-'));
  dirs.push(dir);
  return join(dir, 'members.json');
}

function store(path: string, self: string, live: () => LiveMember[] = () => [], now = (): number => NOW): RememberedStore {
  return new RememberedStore({ path, self, policy: { max: 32, maxAgeMs: 7 * DAY }, live, log: pino({ level: 'silent' }), now });
}

describe('the members file', () => {
  it('survives a restart: what was live is read back, in order, and an old entry expires by the clock', async () => {
    const [self, a, b] = await peerIds(3) as [string, string, string];
    const path = await scratch();
    let live: LiveMember[] = [{ peerId: a, addrs: ['/ip4/10.0.0.1/tcp/4001'] }];
    const first = store(path, self, () => live, () => NOW - 6 * DAY);
    expect(await first.load()).toBeUndefined();
    await first.save();
    live = [{ peerId: b, addrs: ['/ip4/10.0.0.2/tcp/4001', `/ip4/10.0.0.9/tcp/4001/p2p/${a}/p2p-circuit`] }];
    const second = store(path, self, () => live, () => NOW - DAY);
    expect(await second.load()).toBeUndefined();
    await second.stop();
    // No temp file left behind: the write went through a rename.
    expect(await readdir(join(path, '..'))).toEqual(['members.json']);

    const later = store(path, self);
    expect(await later.load()).toBeUndefined();
    expect(later.members()).toEqual([
      { peerId: b, addrs: live[0]!.addrs, lastSeen: NOW - DAY },
      { peerId: a, addrs: ['/ip4/10.0.0.1/tcp/4001'], lastSeen: NOW - 6 * DAY }
    ]);
    const weekOn = store(path, self, () => [], () => NOW + 2 * DAY);
    await weekOn.load();
    expect(weekOn.members().map((m) => m.peerId)).toEqual([b]);
  });

  it('a missing file is no problem and remembers nobody', async () => {
    const [self] = await peerIds(1) as [string];
    const s = store(await scratch(), self);
    expect(await s.load()).toBeUndefined();
    expect(s.members()).toEqual([]);
  });

  it('a corrupt, foreign, other-version, malformed or oversized file is reported and ignored, and the next write replaces it', async () => {
    const [self, other, a] = await peerIds(3) as [string, string, string];
    const good = { peerId: a, addrs: ['/ip4/10.0.0.1/tcp/4001'], lastSeen: NOW };
    const file = (fields: Record<string, unknown>): string => JSON.stringify({ version: REMEMBERED_VERSION, peerId: self, members: [good], ...fields });
    const cases: [string, string | ((path: string) => Promise<void>), RegExp][] = [
      ['cut short', encodeRemembered(self, [good]).slice(0, 40), /not JSON/],
      ['not an object', '[1,2]', /not a JSON object/],
      ['another version', file({ version: 2 }), /version 2.*reads version 1/],
      ["another peer's", file({ peerId: other }), /belongs to another peer/],
      ['a bad peer ID', file({ members: [{ ...good, peerId: 'not-a-peer' }] }), /not a peer ID/],
      ['a bad address', file({ members: [{ ...good, addrs: ['/ip4/999.1.1.1/tcp/1'] }] }), /not a multiaddr/],
      ['a bad time', file({ members: [{ ...good, lastSeen: 'yesterday' }] }), /lastSeen/],
      ['an unknown field', file({ members: [{ ...good, trust: true }] }), /unknown field "trust"/],
      ['a repeated member', file({ members: [good, good] }), /repeats/],
      ['too many addresses', file({ members: [{ ...good, addrs: Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`) }] }), /at most 8/],
      ['oversized', async (path) => { await writeFile(path, ''); await truncate(path, MAX_REMEMBERED_FILE_BYTES + 1); }, /over the \d+ a members file may have/]
    ];
    for (const [what, content, problem] of cases) {
      const path = await scratch();
      if (typeof content === 'string') await writeFile(path, content);
      else await content(path);
      const s = store(path, self, () => [{ peerId: a, addrs: ['/ip4/10.0.0.3/tcp/3'] }]);
      expect(await s.load(), what).toMatch(problem);
      expect(s.members(), what).toEqual([]);
      await s.save();
      expect(decodeRemembered(await readFile(path, 'utf8'), self), what).toEqual([{ peerId: a, addrs: ['/ip4/10.0.0.3/tcp/3'], lastSeen: NOW }]);
    }
  });

  it('bounds what it writes, so a full file always reads back', async () => {
    const [self, ...others] = await peerIds(40);
    const path = await scratch();
    const long = (i: number, j: number): string => `/dns4/${'h'.repeat(200)}${i}x${j}.example/tcp/4001`;
    const s = store(path, self!, () => others.map((peerId, i) => ({ peerId, addrs: Array.from({ length: 12 }, (_, j) => long(i, j)) })));
    await s.stop();
    expect((await stat(path)).size).toBeLessThan(MAX_REMEMBERED_FILE_BYTES);
    const back = store(path, self!);
    expect(await back.load()).toBeUndefined();
    expect(back.members()).toHaveLength(32);
    expect(back.members().every((m: RememberedMember) => m.addrs.length === 8)).toBe(true);
  });
});

describe('choosing the seeds to join through', () => {
  const seed = (peerId: string): { peerId: string, addrs: string[] } => ({ peerId, addrs: [`/ip4/10.0.0.1/tcp/1`] });
  const remembered = [{ peerId: 'r1', addrs: ['/ip4/10.0.0.9/tcp/9'], lastSeen: NOW }];

  it('takes the bootstrap set (ourselves aside) whenever it lists anyone else', () => {
    expect(chooseSeeds('me', [seed('me'), seed('a')], false, remembered)).toEqual({ seeds: [seed('a')], source: 'bootstrap' });
  });

  it('falls back on the remembered members when the set is empty or only us, and nobody is up', () => {
    const expected = { seeds: [{ peerId: 'r1', addrs: ['/ip4/10.0.0.9/tcp/9'] }], source: 'remembered' };
    expect(chooseSeeds('me', [], false, remembered)).toEqual(expected);
    expect(chooseSeeds('me', [seed('me')], false, remembered)).toEqual(expected);
  });

  it('does not while other members are up, nor when nothing is remembered', () => {
    expect(chooseSeeds('me', [], true, remembered)).toEqual({ seeds: [], source: 'bootstrap' });
    expect(chooseSeeds('me', [], false, [])).toEqual({ seeds: [], source: 'bootstrap' });
  });

  it('says where the seeds came from', () => {
    expect(joinMessage(2, 'remembered')).toMatch(/2 seeds remembered from earlier runs/);
    expect(joinMessage(1, 'lan')).toMatch(/1 seed found on the LAN/);
    expect(joinMessage(0, 'bootstrap')).toMatch(/first member/);
  });
});
