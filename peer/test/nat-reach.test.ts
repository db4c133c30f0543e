/**
 * Reachability in the namespace topology (support/nat-topology.ts), with real processes
 * and every peer on its defaults (`--relay auto`): the public peer is dialled back, finds
 * itself public and serves as a relay; the home peers behind their NATs find themselves
 * unreachable and reserve on it, and reach each other through it. No packet leaves the
 * namespaces; mDNS is off.
 */
import { describe, expect, it } from 'vitest';
import type { PeerEvent } from '../src/events.ts';
import { natTopologyUnavailable } from './support/nat-topology.ts';
import { startBootstrapServer } from './support/processes.ts';
import { natSuite } from './support/netns-peer.ts';
import type { NetnsPeer as Started } from './support/netns-peer.ts';

const unavailable = await natTopologyUnavailable();
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`;

// Generous for a busy 2-core machine: a home peer's verdict waits for a dial-back to time out at its router.
const VERDICT_MS = 25_000;

const { topology, startPeerIn } = natSuite('clireach', '10.213', { available: unavailable === undefined });

function verdict(peer: Started, reachability: string, what: string): Promise<PeerEvent> {
  return peer.proc.waitFor((e) => e.type === 'reachability' && e.reachability === reachability, what, VERDICT_MS);
}

/** The answer to one console command. */
async function command(peer: Started, line: string): Promise<string> {
  const from = peer.proc.items.length;
  peer.proc.write(line);
  const answer = await peer.proc.waitFor((e) => peer.proc.items.indexOf(e) >= from && e.type === 'info', line);
  return (answer as Extract<PeerEvent, { type: 'info' }>).message;
}

describe.skipIf(unavailable !== undefined)('reachability behind NATs', () => {
  it(`the public peer is found public and relays; the home peers are found unreachable and reserve on it${skipped}`, async () => {
    const { pub, home1, home2 } = topology();
    const { url } = await startBootstrapServer(['--no-data-file'], pub.ip, pub.launcher);
    const relay = await startPeerIn(pub, 'pub', url);
    // Alone, it has nobody to ask, and serves nobody.
    expect(relay.ready.reachability).toBe('unknown');
    const [h1, h2] = await Promise.all([startPeerIn(home1, 'home1', url), startPeerIn(home2, 'home2', url)]);
    await Promise.all([
      verdict(relay, 'public', 'pub found public'),
      verdict(h1, 'unreachable', 'home1 found unreachable'),
      verdict(h2, 'unreachable', 'home2 found unreachable')
    ]);
    expect(await command(relay, '/show reachability')).toMatch(/verdict\s+public/);
    // home1's own address is private: the helper refused it and tried its router's IP with that port, which dropped it.
    const seen = await command(h1, '/show reachability');
    expect(seen).toMatch(/refused/);
    expect(seen).toMatch(/failed \(its IP, our port\)/);

    // Found public, pub serves as a relay: each home peer reserves on it and the two meet through it.
    const circuit = `/p2p/${relay.id}/p2p-circuit`;
    await h1.proc.waitFor((e) => e.type === 'member-joined' && e.peerId === h2.id, 'home1: home2 joined', VERDICT_MS);
    await h1.proc.waitFor((e) => e.type === 'peer-connected' && e.peerId === h2.id, 'home1 connected to home2', VERDICT_MS);
    expect(await command(relay, '/show processes')).toMatch(/relay\s+serving\s+[12] of 16 reservations taken/);
    const peers = (await command(h1, '/show peers')).split('\n').filter((l) => l.includes(h2.id.slice(-8)));
    expect(peers.length).toBeGreaterThan(0);
    expect(peers.every((l) => l.includes(circuit)), peers.join('\n')).toBe(true);
    // A public peer holds no reservation; the home peers do.
    expect(await command(relay, '/show processes')).toMatch(/0 of 2 reservations held on relays \(none sought/);
    // home1 may have met home2 at home2's relayed address before its own reservation landed.
    await expect.poll(() => command(h1, '/show processes'), { timeout: VERDICT_MS, interval: 200 }).toMatch(/1 of 2 reservations held on relays/);
  }, 60_000);
});

