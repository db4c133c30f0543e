/**
 * A small internet in network namespaces, for tests of peers behind NATs:
 *
 *     home1 (10.N.1.2) -- nat1 (10.N.1.1 | 10.N.0.2) --+
 *                                                      +-- br0 in pub (10.N.0.1): the "internet"
 *     home2 (10.N.2.2) -- nat2 (10.N.2.1 | 10.N.0.3) --+
 *
 * `pub` holds the bootstrap server and a publicly reachable peer; each `nat` namespace is a
 * home router doing source NAT (iptables MASQUERADE) and dropping new connections from
 * outside, as a consumer router does; each home namespace reaches the internet only
 * through its router. Nothing is joined to the machine's own interfaces, so no packet (and
 * no multicast: mDNS has no route out either) leaves these namespaces. Needs root,
 * iproute2 and iptables; `natTopologyUnavailable` names what is missing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A namespace a test runs programs in: its name, its address, and the launcher that runs a program in it. */
export interface NetnsHost {
  readonly ns: string;
  readonly ip: string;
  readonly launcher: readonly string[];
}

/** A home router: its LAN and its WAN address (the one the internet sees for everything behind it). */
export interface NatRouter extends NetnsHost {
  readonly publicIp: string;
}

export interface NatTopology {
  readonly pub: NetnsHost;
  readonly nat1: NatRouter;
  readonly nat2: NatRouter;
  readonly home1: NetnsHost;
  readonly home2: NetnsHost;
  /** Deletes every namespace (and with them every link and rule); safe to call twice. */
  destroy(): Promise<void>;
}

/** Why these tests cannot run here, or undefined if they can. */
export async function natTopologyUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const [command, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables']] as const) {
    try {
      await run(command, ['-V']);
    } catch {
      return `the ${command} command is not installed (Debian package ${pkg}; .ci/run installs it)`;
    }
  }
  return undefined;
}

function host(ns: string, ip: string): NetnsHost {
  return { ns, ip, launcher: ['ip', 'netns', 'exec', ns] };
}

/**
 * Creates the namespaces `<tag>-pub`, `<tag>-nat1`, `<tag>-nat2`, `<tag>-home1` and
 * `<tag>-home2` on `<prefix>.0.0/16` addresses (`prefix` is two octets, e.g. `10.214`),
 * which exist only inside them, so they cannot clash with the host's networks. The tag
 * should carry the test's pid so that concurrent runs do not clash with each other.
 */
export async function createNatTopology(tag: string, prefix: string): Promise<NatTopology> {
  const pub = host(`${tag}-pub`, `${prefix}.0.1`);
  const nat1 = { ...host(`${tag}-nat1`, `${prefix}.1.1`), publicIp: `${prefix}.0.2` };
  const nat2 = { ...host(`${tag}-nat2`, `${prefix}.2.1`), publicIp: `${prefix}.0.3` };
  const home1 = host(`${tag}-home1`, `${prefix}.1.2`);
  const home2 = host(`${tag}-home2`, `${prefix}.2.2`);
  // Interface names are at most 15 bytes: a short prefix and the last digits of the tag.
  const suffix = tag.replace(/\D/g, '').slice(-8);
  let created: string[] = [];
  const destroy = async (): Promise<void> => {
    const names = created;
    created = [];
    await Promise.allSettled(names.map((ns) => run('ip', ['netns', 'del', ns])));
  };
  const ip = async (...args: string[]): Promise<void> => { await run('ip', args); };
  const inNs = async (ns: string, ...command: string[]): Promise<void> => { await run('ip', ['netns', 'exec', ns, ...command]); };
  try {
    for (const { ns } of [pub, nat1, nat2, home1, home2]) {
      await ip('netns', 'add', ns);
      created.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // The internet: a bridge in pub, each router's WAN side plugged into it.
    await ip('-n', pub.ns, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', pub.ns, 'addr', 'add', `${pub.ip}/24`, 'dev', 'br0');
    await ip('-n', pub.ns, 'link', 'set', 'br0', 'up');
    for (const [i, router, home] of [[1, nat1, home1], [2, nat2, home2]] as const) {
      const wan = `nw${i}${suffix}`;
      const port = `np${i}${suffix}`;
      const lan = `nl${i}${suffix}`;
      const homeSide = `nh${i}${suffix}`;
      await ip('link', 'add', wan, 'netns', router.ns, 'type', 'veth', 'peer', 'name', port, 'netns', pub.ns);
      await ip('-n', pub.ns, 'link', 'set', port, 'master', 'br0');
      await ip('-n', pub.ns, 'link', 'set', port, 'up');
      await ip('-n', router.ns, 'addr', 'add', `${router.publicIp}/24`, 'dev', wan);
      await ip('-n', router.ns, 'link', 'set', wan, 'up');
      await ip('link', 'add', lan, 'netns', router.ns, 'type', 'veth', 'peer', 'name', homeSide, 'netns', home.ns);
      await ip('-n', router.ns, 'addr', 'add', `${router.ip}/24`, 'dev', lan);
      await ip('-n', router.ns, 'link', 'set', lan, 'up');
      await ip('-n', home.ns, 'addr', 'add', `${home.ip}/24`, 'dev', homeSide);
      await ip('-n', home.ns, 'link', 'set', homeSide, 'up');
      await ip('-n', home.ns, 'route', 'add', 'default', 'via', router.ip);
      await inNs(router.ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      // Source NAT out of the WAN side; from outside, only answers to what went out come in.
      await inNs(router.ns, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE');
      await inNs(router.ns, 'iptables', '-A', 'FORWARD', '-i', wan, '-o', lan, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      await inNs(router.ns, 'iptables', '-A', 'FORWARD', '-i', wan, '-o', lan, '-j', 'DROP');
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { pub, nat1, nat2, home1, home2, destroy };
}
