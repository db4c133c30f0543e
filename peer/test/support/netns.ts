/**
 * Two network namespaces joined by a veth pair, for tests that cut the network between
 * real processes. Nothing here touches the machine's own interfaces: each namespace has
 * only its loopback and its end of the veth, so traffic (and any multicast) stays inside.
 * Needs root and iproute2; `netnsUnavailable` says why not when they are missing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One side of the pair: its namespace, its address, and the launcher that runs a program in it. */
export interface NetnsSide {
  readonly ns: string;
  readonly ip: string;
  readonly launcher: readonly string[];
}

export interface NetnsPair {
  readonly a: NetnsSide;
  readonly b: NetnsSide;
  /** Sets the veth link down (a partition: packets vanish, nothing is reset) or up. */
  setLink(up: boolean): Promise<void>;
  /** Deletes both namespaces (and with them the veth pair); safe to call twice. */
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** Why these tests cannot run here, or undefined if they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  try {
    await run('ip', ['-V']);
  } catch {
    return 'the ip command (iproute2) is not installed';
  }
  return undefined;
}

/**
 * Creates namespaces `<tag>-a` and `<tag>-b`, joined by a veth pair with
 * `<subnet>.1/24` in a and `<subnet>.2/24` in b, loopback up in both. The subnet exists
 * only inside the two namespaces, so it cannot clash with the host's networks; the tag
 * should carry the test's pid so that concurrent runs do not clash with each other.
 */
export async function createNetnsPair(tag: string, subnet: string): Promise<NetnsPair> {
  const a = { ns: `${tag}-a`, ip: `${subnet}.1`, launcher: ['ip', 'netns', 'exec', `${tag}-a`] };
  const b = { ns: `${tag}-b`, ip: `${subnet}.2`, launcher: ['ip', 'netns', 'exec', `${tag}-b`] };
  // Interface names are at most 15 bytes: a short prefix and the last digits of the tag.
  const suffix = tag.replace(/\D/g, '').slice(-8);
  const vethA = `vpa${suffix}`;
  const vethB = `vpb${suffix}`;
  let created: string[] = [];
  const destroy = async (): Promise<void> => {
    const names = created;
    created = [];
    await Promise.allSettled(names.map((ns) => ip('netns', 'del', ns)));
  };
  try {
    for (const side of [a, b]) {
      await ip('netns', 'add', side.ns);
      created.push(side.ns);
    }
    await ip('link', 'add', vethA, 'netns', a.ns, 'type', 'veth', 'peer', 'name', vethB, 'netns', b.ns);
    for (const [side, veth] of [[a, vethA], [b, vethB]] as const) {
      await ip('-n', side.ns, 'addr', 'add', `${side.ip}/24`, 'dev', veth);
      await ip('-n', side.ns, 'link', 'set', 'lo', 'up');
      await ip('-n', side.ns, 'link', 'set', veth, 'up');
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    a,
    b,
    // Down on one end takes the carrier away from both.
    setLink: (up) => ip('-n', a.ns, 'link', 'set', vethA, up ? 'up' : 'down'),
    destroy
  };
}
