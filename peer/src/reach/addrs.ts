/**
 * Which addresses a reachability check is about, and the rule a helper dials back by.
 * Pure: strings in, strings out.
 *
 * The rule (AutoNAT's): a helper dials back only addresses at the IP it sees the requester
 * connect from, so nobody can use it to dial a third party. A requester behind a NAT lists
 * its private address, which the helper does not see; the helper then tries the IP it does
 * see with the same ports, the case of a router forwarding a port. What an address's range
 * is (10.x, 192.168.x) decides nothing: only a dial-back does (docs/reach.md).
 */
import { multiaddr } from '@multiformats/multiaddr';
import { MAX_DIAL_BACKS, MAX_REQUEST_ADDRS } from './constants.ts';

/** An address a helper may dial back: a plain TCP address, IPv4 or IPv6, with no peer ID. */
export interface TcpAddr {
  readonly ip: string;
  readonly family: 4 | 6;
  readonly port: number;
}

/** `/ip4/A/tcp/P` or `/ip6/A/tcp/P` and nothing else, or undefined. */
export function parseTcpAddr(addr: string): TcpAddr | undefined {
  let components;
  try {
    components = multiaddr(addr).getComponents();
  } catch {
    return undefined;
  }
  const [ip, tcp] = components;
  if (components.length !== 2 || ip === undefined || tcp?.name !== 'tcp' || ip.value === undefined || tcp.value === undefined) return undefined;
  if (ip.name !== 'ip4' && ip.name !== 'ip6') return undefined;
  const port = Number(tcp.value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { ip: ip.value.toLowerCase(), family: ip.name === 'ip4' ? 4 : 6, port };
}

export function formatTcpAddr(addr: TcpAddr): string {
  return `/ip${addr.family}/${addr.ip}/tcp/${addr.port}`;
}

/** 127.0.0.0/8 and ::1: an address only this host can dial. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** The IP a connection comes from, or undefined when it has none of its own (a relayed connection). */
export function observedIp(remoteAddr: string): string | undefined {
  if (remoteAddr.includes('/p2p-circuit')) return undefined;
  const first = /^\/ip([46])\/([^/]+)/.exec(remoteAddr);
  return first?.[2]?.toLowerCase();
}

/**
 * The addresses to ask about, from the node's own: TCP ones (relayed addresses are the
 * relay's, not ours to check), without the peer ID, each once, at most MAX_REQUEST_ADDRS.
 */
export function checkableAddrs(addrs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of addrs) {
    const parsed = parseTcpAddr(a.replace(/\/p2p\/[^/]+$/, ''));
    if (parsed !== undefined) out.add(formatTcpAddr(parsed));
  }
  return [...out].slice(0, MAX_REQUEST_ADDRS);
}

/** What a helper does with one address: dial it, or refuse it under the IP rule. */
export interface PlannedAddr {
  readonly addr: string;
  readonly dial: boolean;
  /** Not asked for: the observed IP with the port of an asked address at another IP. */
  readonly mapped: boolean;
}

/**
 * The helper's plan for a request from `observed` (undefined: a relayed requester, whose
 * IP is unknown, so nothing is dialled). Asked addresses at the observed IP are dialled;
 * the others are refused, and their ports tried at the observed IP instead. At most
 * MAX_DIAL_BACKS dials; the rest are refused.
 */
export function dialBackPlan(observed: string | undefined, asked: readonly TcpAddr[]): PlannedAddr[] {
  const plan: PlannedAddr[] = [];
  const dialled = new Set<string>();
  let dials = 0;
  const add = (addr: string, dial: boolean, mapped: boolean): void => {
    const allowed = dial && dials < MAX_DIAL_BACKS && !dialled.has(addr);
    if (allowed) {
      dials++;
      dialled.add(addr);
    }
    if (mapped && !allowed) return;
    plan.push({ addr, dial: allowed, mapped });
  };
  for (const a of asked) add(formatTcpAddr(a), observed !== undefined && a.ip === observed, false);
  if (observed === undefined) return plan;
  const family = observed.includes(':') ? 6 : 4;
  for (const a of asked) {
    if (a.ip !== observed) add(formatTcpAddr({ ip: observed, family, port: a.port }), true, true);
  }
  return plan;
}
