/**
 * A peer process started in a network namespace of a test's topology (nat-topology.ts,
 * netns.ts): JSON events, no bootstrap server of its own, listening on the namespace's
 * address, and mDNS off unless asked, so that no test multicasts outside what it built.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerEvent } from '../../src/events.ts';
import { createNatTopology } from './nat-topology.ts';
import type { NatTopology, NetnsHost } from './nat-topology.ts';
import { Proc, killAll, parseJsonLine } from './processes.ts';
import type { PeerProc } from './processes.ts';

/** Start-up under a loaded 2-core host has taken over 15 s. */
export const NETNS_START_MS = 30_000;

export interface NetnsPeer {
  readonly proc: PeerProc;
  readonly id: string;
  readonly nick: string;
  readonly dir: string;
  readonly ready: Extract<PeerEvent, { type: 'ready' }>;
}

export interface NetnsPeerOptions {
  /** Where new data directories are listed, for the test to remove. */
  readonly dirs: string[];
  readonly extra?: readonly string[];
  /** An existing data directory: a restart of the peer that used it. */
  readonly dir?: string;
  /** Leave mDNS to the flags in `extra` (for a namespace LAN). @default false: --no-mdns */
  readonly mdns?: boolean;
}

export async function startPeerIn(where: NetnsHost, nick: string, bootstrap: string, options: NetnsPeerOptions): Promise<NetnsPeer> {
  let dir = options.dir;
  if (dir === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'cli-chat-netns-'));
    options.dirs.push(dir);
  }
  const proc = new Proc<PeerEvent>([
    'peer/src/main.ts', '--json', ...(options.mdns === true ? [] : ['--no-mdns']), '--no-host-bootstrap',
    '--listen', `/ip4/${where.ip}/tcp/0`, '--bootstrap', bootstrap, '--nick', nick, '--data-dir', dir, ...options.extra ?? []
  ], parseJsonLine, {}, where.launcher);
  const ready = await proc.waitFor((e) => e.type === 'ready', `${nick} ready`, NETNS_START_MS) as Extract<PeerEvent, { type: 'ready' }>;
  return { proc, id: ready.peerId, nick, dir, ready };
}

/** A test file's NAT topology and the peers started in it. */
export interface NatSuite {
  topology(): NatTopology;
  startPeerIn(where: NetnsHost, nick: string, bootstrap: string, extra?: string[], dir?: string): Promise<NetnsPeer>;
  /** Data directories the suite removes at the end; a test adds its own temporary ones. */
  readonly dirs: string[];
}

/**
 * Builds the topology before the file's tests (when `available`) and, after them, kills
 * every process they started, deletes the namespaces and removes the data directories.
 */
export function natSuite(name: string, subnet: string, options: { available: boolean, mdns?: boolean }): NatSuite {
  let net: NatTopology | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    if (options.available) net = await createNatTopology(`${name}${process.pid}`, subnet);
  });
  afterAll(async () => {
    await killAll();
    await net?.destroy();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  return {
    dirs,
    topology: () => {
      if (net === undefined) throw new Error('no topology');
      return net;
    },
    startPeerIn: (where, nick, bootstrap, extra = [], dir) =>
      startPeerIn(where, nick, bootstrap, { dirs, extra, ...(options.mdns === true ? { mdns: true } : {}), ...(dir === undefined ? {} : { dir }) })
  };
}
