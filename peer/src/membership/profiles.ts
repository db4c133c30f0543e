/**
 * Every timing and tuning number of the membership protocol, as whole profiles in the
 * manner of memberlist's DefaultLocalConfig / DefaultLANConfig / DefaultWANConfig, and the
 * pure arithmetic derived from them. Times are milliseconds.
 *
 * How the numbers relate (LAN, N = 50, see the simulator figures in the README):
 * - a crashed process whose TCP connections reset is probed at once by the members that
 *   held a connection; their dials are refused, so they suspect it within a few ms with
 *   "unreachable" evidence, and many independent suspicions drive the suspicion timer to
 *   suspicionMinUnreachable (500 ms): failed everywhere about 0.6 s after the crash;
 * - a frozen process gives no signal: someone probes it within about one probeInterval,
 *   the probe fails after probeTimeout + indirectTimeout (480 ms), a few members re-probe
 *   at once on hearing the suspicion and confirm it, so the timer runs its minimum
 *   suspicionMult * log10(N) * probeInterval (2.5 s at N = 50): failed everywhere in 3-4 s;
 * - a suspected member that is alive hears of it within one round trip (buddy system) and
 *   refutes; its refutation spreads by eager gossip in a few hops, far inside the timeout,
 *   even when its message processing is slowed by a second or so;
 * - after a partition heals, the sides find each other by reconnection within about one
 *   reconnectInterval (10 s: a third of Serf's 30 s, as a sync costs a few dozen bytes),
 *   however long the partition lasted up to reconnectTimeout (24 h, Serf's default).
 */

export interface MembershipProfile {
  /** Name shown in logs and the simulator. */
  readonly name: string;

  /**
   * Time between two probes of this member (each probe targets the next member of a
   * shuffled round-robin). Scaled up by local health (awareness) when we are degraded.
   */
  readonly probeInterval: number;
  /** How long a direct ping may take before the probe goes indirect. About p99.9 of RTT. */
  readonly probeTimeout: number;
  /**
   * How long the prober waits, after sending its ping-reqs, for an ack relayed by one of
   * them. Must exceed relayTimeout plus a round trip, so that relays' nacks arrive in time
   * to count (a missing nack is what tells us that we, not the target, are slow).
   * probeTimeout + indirectTimeout must stay below probeInterval.
   */
  readonly indirectTimeout: number;
  /** How long a relay waits for the target's ack before it sends the prober a nack. */
  readonly relayTimeout: number;
  /** Members asked to probe indirectly (SWIM's k). */
  readonly indirectChecks: number;

  /**
   * Lifeguard local health awareness: the largest multiplier applied to probeInterval,
   * probeTimeout and indirectTimeout when this member misses nacks or has to refute.
   */
  readonly awarenessMax: number;

  /**
   * Suspicion timeout with probe-timeout evidence: the minimum is
   * suspicionMult * max(1, log10(N)) * probeInterval (memberlist's formula); a lone
   * suspicion starts at suspicionMaxMult times that and shrinks, as independent members
   * confirm it, to the minimum after suspicionConfirmations confirmations (Lifeguard).
   */
  readonly suspicionMult: number;
  readonly suspicionMaxMult: number;
  readonly suspicionConfirmations: number;
  /**
   * Suspicion timeout when the evidence is a reset connection or a refused dial: the
   * process is gone, not slow (a starved or frozen process still accepts connections), so
   * the suspect only needs time to refute a mistake. Same shrinking rule, its own bounds.
   */
  readonly suspicionMinUnreachable: number;
  readonly suspicionMaxUnreachable: number;
  /**
   * Expected number of members that, on first hearing of a suspicion, probe the suspect
   * themselves at once: each does so with probability suspicionProbes / N. They carry the
   * suspicion to the suspect (so it refutes early) and, if it is really gone, confirm it
   * within one probe instead of waiting for the round-robin to come by.
   */
  readonly suspicionProbes: number;

  /** Each update is transmitted retransmitMult * ceil(log10(N + 1)) times by each member. */
  readonly retransmitMult: number;
  /**
   * Pending updates go to gossipNodes random members every gossipInterval; a new update
   * goes out at once (eager push), the interval only paces its retransmissions.
   */
  readonly gossipInterval: number;
  readonly gossipNodes: number;
  /**
   * A member's own news (a refutation, new metadata, its leave) goes at once from it to this
   * many random live members, on top of the gossip; a join goes from each seed that the
   * newcomer joined through (the seed is already connected to the cluster, the newcomer is
   * not). This news is rare, and it is what others must hear soonest: a refutation races
   * suspicion timers, a leaver stops retransmitting within leaveTimeout, and a newcomer is
   * not "known by all" until the last member hears of it. With N <= announceNodes + 1
   * everyone hears it first-hand; in a bigger cluster the announced members' eager push
   * covers the rest in one more hop. The cost is announceNodes messages per such update
   * (joinSeeds times that for a join), against about N * retransmitLimit for the gossip of
   * any update.
   */
  readonly announceNodes: number;
  /** A dead member still receives gossip this long, so that, if alive, it learns and refutes. */
  readonly gossipToTheDead: number;
  /** Bytes of piggybacked updates allowed on a ping, ack or other protocol message. */
  readonly piggybackBytes: number;
  /** Bytes of updates in one gossip message. */
  readonly gossipBytes: number;

  /**
   * Interval between anti-entropy syncs with one random member. A sync compares a 16-ary
   * tree of digests and sends only differing subtrees, so its steady cost is a few dozen
   * bytes whatever N is, and it can run far more often than memberlist's full push-pull.
   */
  readonly pushPullInterval: number;
  /** Dead and left members are forgotten after this long (until then they block stale claims). */
  readonly deadRetention: number;

  /**
   * Serf-style reconnection, how two halves of a healed partition find each other again
   * (SWIM never talks to a member it holds dead): every reconnectInterval each member, with
   * probability failed / live, opens a sync with one random member it saw fail (dead, not
   * left), so the cluster as a whole tries each failed member about once per interval. A
   * failed member stays a target for reconnectTimeout, also after deadRetention forgot it.
   * The interval bounds the heal time after a partition; the cost is one small sync (or
   * one refused dial, for a member that really crashed) per failed member and interval.
   */
  readonly reconnectInterval: number;
  readonly reconnectTimeout: number;

  /** Seeds a join sync goes to at each attempt, picked at random from those known. */
  readonly joinSeeds: number;
  /** While no seed has answered, the join is retried this often. */
  readonly joinRetryInterval: number;
  /** After leave(), how long the leave is gossiped before the core reports it is done. */
  readonly leaveTimeout: number;
  /**
   * If the core is called this much later than the deadline it asked for, the process was
   * paused (SIGSTOP, CPU starvation): pending timers are shifted by the pause instead of
   * all firing at once, so a resumed member does not accuse everyone it could not hear.
   */
  readonly pauseThreshold: number;

  /**
   * Lifeguard on (awareness, nacks, dynamic suspicion, buddy system, suspicion probes,
   * pause detection) or off (plain SWIM with the fixed minimum suspicion timeout). Off
   * exists for the ablation in the simulator; never turn it off in production.
   */
  readonly lifeguard: boolean;
}

/** Single host, loopback: tight timeouts, little redundancy. */
export const LOCAL_PROFILE: MembershipProfile = {
  name: 'local',
  probeInterval: 400,
  probeTimeout: 150,
  indirectTimeout: 200,
  relayTimeout: 120,
  indirectChecks: 2,
  awarenessMax: 8,
  suspicionMult: 3,
  suspicionMaxMult: 4,
  suspicionConfirmations: 3,
  suspicionMinUnreachable: 400,
  suspicionMaxUnreachable: 2000,
  suspicionProbes: 3,
  retransmitMult: 3,
  gossipInterval: 100,
  gossipNodes: 3,
  announceNodes: 32,
  gossipToTheDead: 10_000,
  piggybackBytes: 1400,
  gossipBytes: 8192,
  pushPullInterval: 10_000,
  deadRetention: 300_000,
  reconnectInterval: 5000,
  reconnectTimeout: 3_600_000,
  joinSeeds: 3,
  joinRetryInterval: 500,
  leaveTimeout: 500,
  pauseThreshold: 800,
  lifeguard: true
};

/**
 * The default: a LAN or one host under load. Tuned for the targets of issue 4 (crash with
 * reset < 1.5 s, freeze < 5 s, leave and join < 300 ms at N = 50, no false positives);
 * twice memberlist's probe rate (its LAN probes every second) and suspicion timeouts a
 * third of its, made safe by the buddy system, suspicion probes and eager gossip.
 */
export const LAN_PROFILE: MembershipProfile = {
  name: 'lan',
  probeInterval: 500,
  probeTimeout: 200,
  indirectTimeout: 280,
  relayTimeout: 200,
  indirectChecks: 3,
  awarenessMax: 8,
  suspicionMult: 3,
  suspicionMaxMult: 4,
  suspicionConfirmations: 3,
  suspicionMinUnreachable: 500,
  suspicionMaxUnreachable: 2500,
  suspicionProbes: 3,
  retransmitMult: 4,
  gossipInterval: 100,
  gossipNodes: 3,
  announceNodes: 32,
  gossipToTheDead: 10_000,
  piggybackBytes: 1400,
  gossipBytes: 8192,
  pushPullInterval: 10_000,
  deadRetention: 300_000,
  reconnectInterval: 10_000,
  reconnectTimeout: 86_400_000,
  joinSeeds: 3,
  joinRetryInterval: 1000,
  leaveTimeout: 1000,
  pauseThreshold: 1000,
  lifeguard: true
};

/** Across the internet: RTTs of hundreds of ms and more loss; memberlist's WAN ratios. */
export const WAN_PROFILE: MembershipProfile = {
  name: 'wan',
  probeInterval: 5000,
  probeTimeout: 1500,
  indirectTimeout: 3000,
  relayTimeout: 2000,
  indirectChecks: 3,
  awarenessMax: 8,
  suspicionMult: 6,
  suspicionMaxMult: 6,
  suspicionConfirmations: 4,
  suspicionMinUnreachable: 3000,
  suspicionMaxUnreachable: 15_000,
  suspicionProbes: 3,
  retransmitMult: 4,
  gossipInterval: 500,
  gossipNodes: 4,
  announceNodes: 32,
  gossipToTheDead: 60_000,
  piggybackBytes: 1400,
  gossipBytes: 8192,
  pushPullInterval: 30_000,
  deadRetention: 600_000,
  reconnectInterval: 30_000,
  reconnectTimeout: 86_400_000,
  joinSeeds: 3,
  joinRetryInterval: 3000,
  leaveTimeout: 3000,
  pauseThreshold: 5000,
  lifeguard: true
};

export const MEMBERSHIP_PROFILES: Readonly<Record<string, MembershipProfile>> = {
  local: LOCAL_PROFILE,
  lan: LAN_PROFILE,
  wan: WAN_PROFILE
};

export const DEFAULT_PROFILE_NAME = 'lan';

/** Looks a profile up by name (`--membership-profile`); throws on an unknown name. */
export function profileByName(name: string): MembershipProfile {
  const profile = MEMBERSHIP_PROFILES[name];
  if (!profile) throw new Error(`unknown membership profile "${name}"; use one of ${Object.keys(MEMBERSHIP_PROFILES).join(', ')}`);
  return profile;
}

/** log10(N) with a floor of 1, the cluster-size scale of memberlist's timeouts. */
function sizeScale(members: number): number {
  return Math.max(1, Math.log10(Math.max(1, members)));
}

/** How many times each member transmits one update: retransmitMult * ceil(log10(N + 1)). */
export function retransmitLimit(profile: MembershipProfile, members: number): number {
  return profile.retransmitMult * Math.max(1, Math.ceil(Math.log10(members + 1)));
}

export interface SuspicionBounds {
  /** Timeout once enough independent members have confirmed. */
  readonly min: number;
  /** Timeout of a suspicion nobody else confirms. */
  readonly max: number;
  /** Confirmations that take the timeout from max down to min (0: always min). */
  readonly confirmations: number;
}

/**
 * The suspicion timer's bounds for a cluster of `members` (ourselves included), given the
 * kind of evidence. Without Lifeguard the timeout is the fixed minimum (plain SWIM).
 */
export function suspicionBounds(profile: MembershipProfile, members: number, unreachable: boolean): SuspicionBounds {
  const min = unreachable
    ? profile.suspicionMinUnreachable
    : Math.floor(profile.suspicionMult * sizeScale(members) * profile.probeInterval);
  if (!profile.lifeguard) return { min, max: min, confirmations: 0 };
  const max = unreachable ? profile.suspicionMaxUnreachable : profile.suspicionMaxMult * min;
  // Ourselves and the suspect cannot confirm; in a tiny cluster nobody can, so use the minimum.
  const confirmations = members - 2 < profile.suspicionConfirmations ? 0 : profile.suspicionConfirmations;
  return { min, max: Math.max(min, max), confirmations };
}
