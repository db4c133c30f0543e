/** The reachability protocol's pure parts: the verdict, the IP rule, the rate limits and the codec. */
import { describe, expect, it } from 'vitest';
import { checkableAddrs, dialBackPlan, observedIp, parseTcpAddr } from '../src/reach/addrs.ts';
import type { TcpAddr } from '../src/reach/addrs.ts';
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from '../src/reach/codec.ts';
import type { AddrResult } from '../src/reach/codec.ts';
import { MAX_DIAL_BACKS, MAX_REQUEST_BYTES, RECHECK_INTERVAL_MS, RETRY_INTERVAL_MS } from '../src/reach/constants.ts';
import { DialBackPolicy } from '../src/reach/policy.ts';
import { ReachVerdict, judge } from '../src/reach/verdict.ts';
import { WireError } from '../src/wire/json-frame.ts';

const PUBLIC_ADDR = '/ip4/10.9.0.1/tcp/4001';
const ok = (addr = PUBLIC_ADDR): AddrResult => ({ addr, result: 'ok', mapped: false });
const failed = (addr = PUBLIC_ADDR): AddrResult => ({ addr, result: 'failed', mapped: false });
const refused = (addr = PUBLIC_ADDR): AddrResult => ({ addr, result: 'refused', mapped: false });
const tcp = (addr: string): TcpAddr => parseTcpAddr(addr) as TcpAddr;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('the verdict', () => {
  it('is public on the first dial-back, without waiting for the other helpers', () => {
    const v = new ReachVerdict();
    v.setAddrs([PUBLIC_ADDR], 0);
    const { round, ask, changed } = v.begin(['a', 'b', 'c', 'd'], 0);
    expect(ask).toEqual(['a', 'b', 'c']);
    expect(changed).toBe('checking');
    expect(v.answer(round, 'a', [failed()], 10)).toBeUndefined();
    expect(v.answer(round, 'b', [ok()], 20)).toBe('public');
    // The round is over: a late answer changes nothing.
    expect(v.answer(round, 'c', [failed()], 30)).toBeUndefined();
    expect(v.reachability).toBe('public');
    expect(v.nextAt).toBe(20 + RECHECK_INTERVAL_MS);
  });

  it('is unreachable once every helper answered and every dial-back failed; refusals and silence count for nothing', () => {
    const v = new ReachVerdict();
    v.setAddrs([PUBLIC_ADDR], 0);
    const { round } = v.begin(['a', 'b', 'c'], 0);
    expect(v.answer(round, 'a', [refused(), failed('/ip4/10.9.0.2/tcp/4001')], 1)).toBeUndefined();
    expect(v.noAnswer(round, 'b', 2)).toBeUndefined();
    expect(v.answer(round, 'c', [refused()], 3)).toBe('unreachable');
  });

  it('is unknown with nobody to ask, or when nobody could tell, and asks again soon', () => {
    const v = new ReachVerdict();
    v.setAddrs([PUBLIC_ADDR], 0);
    expect(v.begin([], 0)).toMatchObject({ ask: [] });
    expect(v.reachability).toBe('unknown');
    expect(v.nextAt).toBe(RETRY_INTERVAL_MS);
    expect(v.due(RETRY_INTERVAL_MS - 1)).toBe(false);
    // A helper connecting makes the check due at once.
    v.helperAppeared(5);
    expect(v.due(5)).toBe(true);
    const { round } = v.begin(['a'], 5);
    expect(v.reachability).toBe('checking');
    expect(v.due(6)).toBe(false);
    expect(v.answer(round, 'a', [refused()], 7)).toBe('unknown');
    expect(v.nextAt).toBe(7 + RETRY_INTERVAL_MS);
  });

  it('keeps a settled verdict while it is checked again, and changes it only on the answers', () => {
    const v = new ReachVerdict();
    v.setAddrs([PUBLIC_ADDR], 0);
    v.answer(v.begin(['a'], 0).round, 'a', [ok()], 1);
    expect(v.due(1 + RECHECK_INTERVAL_MS)).toBe(true);
    const again = v.begin(['a'], 1 + RECHECK_INTERVAL_MS);
    expect(again.changed).toBeUndefined();
    expect(v.reachability).toBe('public');
    // Nobody answers: still public, and asked again soon rather than in ten minutes.
    expect(v.noAnswer(again.round, 'a', 2 + RECHECK_INTERVAL_MS)).toBeUndefined();
    expect(v.reachability).toBe('public');
    const third = v.begin(['a'], 3 + RECHECK_INTERVAL_MS + RETRY_INTERVAL_MS);
    expect(v.answer(third.round, 'a', [failed()], 4 + RECHECK_INTERVAL_MS + RETRY_INTERVAL_MS)).toBe('unreachable');
  });

  it('starts over when the addresses change, and ignores answers about the old ones', () => {
    const v = new ReachVerdict();
    v.setAddrs([PUBLIC_ADDR], 0);
    const old = v.begin(['a'], 0);
    v.setAddrs(['/ip4/10.9.0.1/tcp/4002'], 5);
    expect(v.due(5)).toBe(true);
    expect(v.answer(old.round, 'a', [ok()], 6)).toBeUndefined();
    const { round, changed } = v.begin(['a'], 6);
    expect(changed).toBeUndefined();
    expect(v.reachability).toBe('checking');
    expect(v.answer(round, 'a', [ok('/ip4/10.9.0.1/tcp/4002')], 7)).toBe('public');
    // A settled verdict about other addresses is not kept: the first check after a change reports checking.
    v.setAddrs([PUBLIC_ADDR], 8);
    expect(v.begin(['a'], 8).changed).toBe('checking');
  });

  it('is local for loopback-only addresses and unreachable with no address of its own, asking nobody', () => {
    const v = new ReachVerdict();
    v.setAddrs(['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4001'], 0);
    expect(v.begin(['a'], 0)).toMatchObject({ ask: [], changed: 'local' });
    v.setAddrs([], 1);
    expect(v.begin(['a'], 1)).toMatchObject({ ask: [], changed: 'unreachable' });
    // One host standing for a network: loopback counts as any other address.
    const onOneHost = new ReachVerdict({ isLocal: () => false });
    onOneHost.setAddrs(['/ip4/127.0.0.1/tcp/4001'], 0);
    expect(onOneHost.begin(['a'], 0).ask).toEqual(['a']);
  });

  it('takes no dial-back of a loopback address as evidence: a helper on this host always gets through', () => {
    const v = new ReachVerdict();
    v.setAddrs(['/ip4/127.0.0.1/tcp/4001', PUBLIC_ADDR], 0);
    const { round } = v.begin(['same-host', 'elsewhere'], 0);
    expect(v.answer(round, 'same-host', [ok('/ip4/127.0.0.1/tcp/4001'), refused()], 1)).toBeUndefined();
    expect(v.answer(round, 'elsewhere', [refused('/ip4/127.0.0.1/tcp/4001'), failed()], 2)).toBe('unreachable');
  });

  it('judges by dial-backs alone', () => {
    expect(judge([])).toBeUndefined();
    expect(judge([[refused()]])).toBeUndefined();
    expect(judge([[refused(), failed()]])).toBe('unreachable');
    expect(judge([[failed()], [{ ...ok(), mapped: true }]])).toBe('public');
  });
});

describe('the IP rule', () => {
  it('dials only addresses at the IP the requester connects from, and that IP with the other addresses\' ports', () => {
    const plan = dialBackPlan('10.9.0.2', [tcp('/ip4/10.9.0.2/tcp/4001'), tcp('/ip4/10.1.0.5/tcp/4002'), tcp('/ip4/10.9.0.3/tcp/4003')]);
    expect(plan).toEqual([
      { addr: '/ip4/10.9.0.2/tcp/4001', dial: true, mapped: false },
      { addr: '/ip4/10.1.0.5/tcp/4002', dial: false, mapped: false },
      { addr: '/ip4/10.9.0.3/tcp/4003', dial: false, mapped: false },
      { addr: '/ip4/10.9.0.2/tcp/4002', dial: true, mapped: true },
      { addr: '/ip4/10.9.0.2/tcp/4003', dial: true, mapped: true }
    ]);
  });

  it('dials nothing for a relayed requester, and at most MAX_DIAL_BACKS addresses', () => {
    expect(dialBackPlan(undefined, [tcp('/ip4/10.9.0.2/tcp/4001')])).toEqual([{ addr: '/ip4/10.9.0.2/tcp/4001', dial: false, mapped: false }]);
    const many = Array.from({ length: 8 }, (_, i) => tcp(`/ip4/10.9.0.2/tcp/${4000 + i}`));
    const plan = dialBackPlan('10.9.0.2', many);
    expect(plan.filter((p) => p.dial)).toHaveLength(MAX_DIAL_BACKS);
    expect(plan).toHaveLength(8);
  });

  it('reads the observed IP of direct connections only, and checks plain TCP addresses only', () => {
    expect(observedIp('/ip4/10.9.0.2/tcp/5555/p2p/12D3KooWA')).toBe('10.9.0.2');
    expect(observedIp('/ip6/FE80::1/tcp/5555')).toBe('fe80::1');
    expect(observedIp('/ip4/10.9.0.1/tcp/4001/p2p/12D3KooWR/p2p-circuit/p2p/12D3KooWA')).toBeUndefined();
    expect(checkableAddrs([
      '/ip4/10.9.0.2/tcp/4001/p2p/12D3KooWGzBMuFPpDFRbs9rVuEMu6wDxgAHpGzjNFpCrdkCwrSxF', '/ip4/10.9.0.2/tcp/4001',
      '/ip4/10.9.0.1/tcp/4001/p2p/12D3KooWGzBMuFPpDFRbs9rVuEMu6wDxgAHpGzjNFpCrdkCwrSxF/p2p-circuit', '/ip4/10.9.0.2/udp/4001/quic-v1'
    ])).toEqual(['/ip4/10.9.0.2/tcp/4001']);
    for (const bad of ['/ip4/10.9.0.2/tcp/0', '/ip4/10.9.0.2', '/dns4/example.com/tcp/1', '/ip4/10.9.0.2/tcp/1/ws', 'nonsense']) {
      expect(parseTcpAddr(bad), bad).toBeUndefined();
    }
  });
});

describe('the helper\'s limits', () => {
  it('takes two requests from one requester, then one every 30 s', () => {
    const p = new DialBackPolicy();
    const take = (who: string, now: number): boolean => {
      const a = p.admit(who, now);
      if (a.admitted) p.done();
      return a.admitted;
    };
    expect([take('a', 0), take('a', 1), take('a', 2)]).toEqual([true, true, false]);
    expect(p.admit('a', 3)).toEqual({ admitted: false, refused: 'rate-limited' });
    expect(take('b', 3)).toBe(true);
    expect(take('a', 30_002)).toBe(true);
    expect(take('a', 30_003)).toBe(false);
  });

  it('bounds all requesters together, and the requests in flight', () => {
    const p = new DialBackPolicy({ global: { rate: 1, burst: 3 }, maxConcurrent: 2 });
    expect(p.admit('a', 0).admitted).toBe(true);
    expect(p.admit('b', 0).admitted).toBe(true);
    expect(p.admit('c', 0)).toEqual({ admitted: false, refused: 'busy' });
    p.done();
    p.done();
    expect(p.admit('c', 0).admitted).toBe(true);
    p.done();
    expect(p.admit('d', 0)).toEqual({ admitted: false, refused: 'busy' });
    expect(p.admit('d', 1_000).admitted).toBe(true);
  });
});

describe('the codec', () => {
  it('round-trips a request and both kinds of answer', () => {
    expect(decodeRequest(encodeRequest([PUBLIC_ADDR, '/ip6/::1/tcp/9']))).toEqual([tcp(PUBLIC_ADDR), tcp('/ip6/::1/tcp/9')]);
    const results = { v: 1 as const, results: [ok(), { addr: '/ip4/10.9.0.2/tcp/1', result: 'failed' as const, mapped: true }] };
    expect(decodeAnswer(encodeAnswer(results))).toEqual(results);
    const refusal = { v: 1 as const, refused: 'rate-limited' as const, message: 'later' };
    expect(decodeAnswer(encodeAnswer(refusal))).toEqual(refusal);
  });

  it('rejects bad requests with a WireError naming the problem', () => {
    const cases: [string | Uint8Array, string][] = [
      ['{"v":1,"addrs":[]}', 'bad-shape'],
      ['{"v":1,"addrs":["/ip4/10.0.0.1/tcp/1"],"extra":1}', 'bad-shape'],
      ['{"v":2,"addrs":["/ip4/10.0.0.1/tcp/1"]}', 'unsupported-version'],
      ['{"v":1,"addrs":["/dns4/example.com/tcp/1"]}', 'bad-shape'],
      ['{"v":1,"addrs":["/ip4/10.0.0.1/tcp/1/p2p/12D3KooWGzBMuFPpDFRbs9rVuEMu6wDxgAHpGzjNFpCrdkCwrSxF"]}', 'bad-shape'],
      [`{"v":1,"addrs":${JSON.stringify(Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.1/tcp/${i + 1}`))}}`, 'bad-shape'],
      [`{"v":1,"addrs":["${'/ip4/10.0.0.1/tcp/1'.padEnd(300, '1')}"]}`, 'bad-shape'],
      ['[1,2', 'not-json'],
      [new Uint8Array([0xff, 0xfe]), 'not-utf8'],
      [new Uint8Array(MAX_REQUEST_BYTES + 1).fill(0x20), 'too-large']
    ];
    for (const [input, reason] of cases) {
      const raw = typeof input === 'string' ? bytes(input) : input;
      expect(() => decodeRequest(raw), String(input).slice(0, 80)).toThrow(WireError);
      try {
        decodeRequest(raw);
      } catch (err) {
        expect((err as WireError).reason, String(input).slice(0, 80)).toBe(reason);
      }
    }
  });

  it('rejects answers with unknown results or fields', () => {
    expect(() => decodeAnswer(bytes('{"v":1,"results":[{"addr":"/ip4/1.2.3.4/tcp/1","result":"maybe","mapped":false}]}'))).toThrow(WireError);
    expect(() => decodeAnswer(bytes('{"v":1,"refused":"nope","message":""}'))).toThrow(WireError);
    expect(() => decodeAnswer(bytes('{"v":1,"results":[],"refused":"busy","message":""}'))).toThrow(WireError);
  });
});
