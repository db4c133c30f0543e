/**
 * Peers behind NATs, with real processes in network namespaces (support/nat-topology.ts):
 * a public namespace with the bootstrap server and a publicly reachable peer, and two home
 * namespaces, each behind its own router doing source NAT. mDNS is off, and no packet
 * leaves the namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatTopology, natTopologyUnavailable } from './support/nat-topology.ts';
import type { NatTopology, NetnsHost } from './support/nat-topology.ts';
import { Proc, killAll } from './support/processes.ts';

const unavailable = await natTopologyUnavailable();
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`;

let net: NatTopology | undefined;

beforeAll(async () => {
  if (unavailable === undefined) net = await createNatTopology(`clinat${process.pid}`, '10.214');
});

afterAll(async () => {
  await killAll();
  await net?.destroy();
});

function topology(): NatTopology {
  if (net === undefined) throw new Error('no topology');
  return net;
}

type ProbeLine = { type: 'listening', port: number } | { type: 'accepted', from: string } | { type: 'connected' } | { type: 'failed', code: string };

function probe(where: NetnsHost, args: string[]): Proc<ProbeLine> {
  return new Proc<ProbeLine>(['peer/test/support/tcp-probe.ts', ...args], (line) => JSON.parse(line) as ProbeLine, {}, where.launcher);
}

async function listen(where: NetnsHost): Promise<{ proc: Proc<ProbeLine>, port: number }> {
  const proc = probe(where, ['listen', where.ip]);
  const line = await proc.waitFor((l) => l.type === 'listening', `a listener in ${where.ns}`);
  return { proc, port: (line as Extract<ProbeLine, { type: 'listening' }>).port };
}

/** 'connected', or the error code of a failed connect. */
async function tryConnect(from: NetnsHost, host: string, port: number): Promise<string> {
  const line = await probe(from, ['connect', host, String(port)]).waitFor((l) => l.type === 'connected' || l.type === 'failed', `a connect from ${from.ns}`);
  return line.type === 'failed' ? line.code : line.type;
}

describe.skipIf(unavailable !== undefined)('peers behind NATs', () => {
  it(`the topology: home namespaces reach the public one through their NAT, and cannot reach each other${skipped}`, async () => {
    const { pub, nat1, nat2, home1, home2 } = topology();
    const inPub = await listen(pub);
    const inHome2 = await listen(home2);
    expect(await tryConnect(home1, pub.ip, inPub.port)).toBe('connected');
    // The public side sees the router's address, not the home one: source NAT.
    const accepted = await inPub.proc.waitFor((l) => l.type === 'accepted', 'the public listener to accept');
    expect(accepted).toEqual({ type: 'accepted', from: nat1.publicIp });
    expect(await tryConnect(home2, pub.ip, inPub.port)).toBe('connected');
    // Neither the private address behind the other NAT, nor its router's public one, lets a connection in.
    expect(await tryConnect(home1, home2.ip, inHome2.port)).not.toBe('connected');
    expect(await tryConnect(home1, nat2.publicIp, inHome2.port)).not.toBe('connected');
    expect(await tryConnect(pub, home2.ip, inHome2.port)).not.toBe('connected');
  });
});
