/** A reachability verdict in words, for the console, the event stream and `/show reachability`. */
import type { Reachability } from './verdict.ts';

const WORDS: Record<Reachability, string> = {
  public: 'public: another peer dialled this one back, so others can reach it directly',
  unreachable: 'unreachable: no peer could dial this one back (behind a NAT or a firewall); others reach it through a relay',
  local: 'local: every listen address is loopback, so only this machine can dial it',
  checking: 'checking: asking connected peers to dial this one back',
  unknown: 'unknown: no connected peer to ask yet (it asks again when one connects)'
};

export function describeReachability(reachability: Reachability): string {
  return `reachability ${WORDS[reachability]}`;
}
