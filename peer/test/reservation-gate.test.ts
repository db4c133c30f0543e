/**
 * When a peer that reserves relay slots may skip the wait for its reservation: only when
 * its network lives on this host. The wait itself runs in nat.test.ts, in namespaces.
 */
import { describe, expect, it } from 'vitest';
import { loopbackOnly } from '../src/node/reservation-gate.ts';

const seed = (...addrs: string[]): { peerId: string, addrs: string[] } => ({ peerId: '12D3KooWseed', addrs });

describe('loopbackOnly', () => {
  it('holds for seeds on 127/8 and ::1, relayed through a loopback relay included', () => {
    expect(loopbackOnly([seed('/ip4/127.0.0.1/tcp/4001'), seed('/ip4/127.0.0.2/tcp/1/p2p/12D3KooWrelay/p2p-circuit', '/ip6/::1/tcp/2')])).toBe(true);
  });

  it('fails for any seed with an address elsewhere, or with none', () => {
    expect(loopbackOnly([seed('/ip4/127.0.0.1/tcp/4001'), seed('/ip4/127.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/1')])).toBe(false);
    expect(loopbackOnly([seed('/ip4/203.0.113.5/tcp/1/p2p/12D3KooWrelay/p2p-circuit')])).toBe(false);
    expect(loopbackOnly([seed()])).toBe(false);
  });
});
