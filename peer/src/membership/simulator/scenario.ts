/**
 * A simulator run with faults and measurements: the cluster forms, faults are injected at
 * seeded random times, and every member's events are checked against the truth (who
 * really crashed, froze, left or joined). The result holds detection time distributions,
 * false positives and traffic per member per second.
 */
import type { MemberEvent } from '../member.ts';
import type { MembershipProfile } from '../profiles.ts';
import { randomInt, seededRandom, shuffle } from '../random.ts';
import type { NetworkOptions } from './network.ts';
import { Simulation } from './simulation.ts';
import type { SimNode } from './simulation.ts';
import { distribution } from './stats.ts';
import type { Distribution } from './stats.ts';

export interface PartitionPlan {
  /** When the network splits, ms after the start. */
  readonly at: number;
  readonly duration: number;
  /** Share of the members cut off from the rest. */
  readonly fraction: number;
}

export interface ScenarioOptions {
  readonly members: number;
  readonly seed: number;
  readonly profile: MembershipProfile;
  readonly network: NetworkOptions;
  /** Virtual duration, ms. */
  readonly duration: number;
  /** Faults start after this, ms. */
  readonly warmup: number;
  /** No fault starts in the last `settle` ms, so that detection can finish. */
  readonly settle: number;
  /** Crashes whose connections reset (SIGKILL). */
  readonly crashes: number;
  /** Crashes that nobody hears of (power loss, a cable pulled). */
  readonly silentCrashes: number;
  /** Freezes (SIGSTOP), each lasting freezeDuration, then resumed (SIGCONT). */
  readonly freezes: number;
  readonly freezeDuration: number;
  readonly leaves: number;
  readonly joins: number;
  /** Members whose inbound processing is delayed all run long, by slowDelay ms on average. */
  readonly slow: number;
  readonly slowDelay: number;
  readonly partition?: PartitionPlan | undefined;
  readonly wire?: boolean;
}

export interface FaultStats {
  readonly faults: number;
  /** Time from the fault to each surviving member's event. */
  readonly perObserver: Distribution;
  /** Time from the fault until every surviving member had the event. */
  readonly allKnown: Distribution;
  /** (fault, survivor) pairs that never saw the event. */
  readonly missed: number;
}

export interface FalsePositive {
  readonly at: number;
  readonly observer: string;
  readonly subject: string;
  readonly subjectKind: 'healthy' | 'slowed' | 'resumed';
}

export interface ScenarioResult {
  readonly members: number;
  readonly seed: number;
  readonly profile: string;
  readonly lifeguard: boolean;
  readonly network: NetworkOptions;
  readonly durationSeconds: number;
  readonly crash: FaultStats;
  readonly silentCrash: FaultStats;
  readonly freeze: FaultStats;
  /** After a freeze ends: time until every member sees the member alive again. */
  readonly rejoinAfterFreeze: FaultStats;
  readonly leave: FaultStats;
  readonly join: FaultStats;
  readonly falsePositives: {
    readonly total: number;
    readonly aboutHealthy: number;
    readonly aboutSlowed: number;
    readonly aboutResumed: number;
    readonly examples: readonly FalsePositive[];
  };
  /** member-suspect events about members that were neither faulty nor partitioned away. */
  readonly needlessSuspicions: number;
  readonly partition?: { readonly convergedAfterHeal: number | undefined };
  readonly load: {
    readonly messagesPerMemberSecond: number;
    readonly bytesPerMemberSecond: number;
  };
  readonly wallSeconds: number;
  readonly events: number;
}

type FaultKind = 'crash' | 'silentCrash' | 'freeze' | 'leave' | 'join';

interface Fault {
  readonly kind: FaultKind;
  readonly subject: SimNode;
  readonly at: number;
  readonly seen: Map<number, number>;
  resumedAt?: number;
  readonly rejoined: Map<number, number>;
}

const EXPECTED_EVENT: Record<FaultKind, MemberEvent['type']> = {
  crash: 'member-failed', silentCrash: 'member-failed', freeze: 'member-failed', leave: 'member-left', join: 'member-joined'
};

/** Each fault needs its own subject, and a few members stay untouched to serve as seeds. */
export function scenarioProblem(options: ScenarioOptions): string | undefined {
  const subjects = options.crashes + options.silentCrashes + options.freezes + options.leaves + options.slow;
  if (subjects + 4 > options.members) {
    return `${subjects} fault subjects and slowed members need at least ${subjects + 4} members (4 stay untouched as seeds)`;
  }
  return undefined;
}

export function runScenario(options: ScenarioOptions): ScenarioResult {
  const problem = scenarioProblem(options);
  if (problem !== undefined) throw new RangeError(problem);
  const started = performance.now();
  const random = seededRandom(options.seed ^ 0x2545f491);
  const faults = new Map<string, Fault>();
  const faulty = new Set<number>();
  const slowed = new Set<number>();
  const recentlyResumed = new Map<number, number>();
  const falsePositives: FalsePositive[] = [];
  const fpCount = { healthy: 0, slowed: 0, resumed: 0 };
  let needlessSuspicions = 0;
  let partitionGroups: Int32Array | undefined;

  const observe = (at: number, observer: SimNode, event: MemberEvent): void => {
    const subject = sim.nodeById(event.peerId);
    if (!subject) return;
    const fault = faults.get(subject.id);
    const acrossPartition = partitionGroups !== undefined && partitionGroups[observer.index] !== partitionGroups[subject.index];
    if (fault && event.type === EXPECTED_EVENT[fault.kind] && !fault.seen.has(observer.index) && at >= fault.at) {
      fault.seen.set(observer.index, at);
    }
    if (fault?.resumedAt !== undefined && at >= fault.resumedAt && (event.type === 'member-joined' || event.type === 'member-alive') &&
      !fault.rejoined.has(observer.index)) {
      fault.rejoined.set(observer.index, at);
    }
    if (event.type === 'member-suspect' && !faulty.has(subject.index) && !acrossPartition) needlessSuspicions++;
    if (event.type !== 'member-failed' || subject.status !== 'up' || acrossPartition) return;
    // A member just back from a freeze replays the news it slept through, stale but true then.
    const observerResumed = recentlyResumed.get(observer.index);
    if (observerResumed !== undefined && at - observerResumed < 1000) return;
    const resumed = recentlyResumed.get(subject.index);
    const kind = resumed !== undefined && at - resumed < 60_000 ? 'resumed' : slowed.has(subject.index) ? 'slowed' : 'healthy';
    fpCount[kind]++;
    if (falsePositives.length < 20) falsePositives.push({ at, observer: observer.id, subject: subject.id, subjectKind: kind });
  };

  const sim = new Simulation({
    members: options.members, spare: options.joins, seed: options.seed, profile: options.profile,
    network: options.network, wire: options.wire ?? false
  }, observe);

  // Subjects: distinct initial members, none of them slowed; slowed members are others.
  const order = Array.from({ length: options.members }, (_, i) => i);
  shuffle(random, order);
  let next = 0;
  const pick = (): SimNode => sim.nodes[order[next++]!]!;
  const window = Math.max(1, options.duration - options.settle - options.warmup);
  const when = (): number => options.warmup + random() * window;
  const addFault = (kind: FaultKind, subject: SimNode, at: number): Fault => {
    const fault: Fault = { kind, subject, at, seen: new Map(), rejoined: new Map() };
    faults.set(subject.id, fault);
    if (kind !== 'join') faulty.add(subject.index);
    return fault;
  };

  for (let i = 0; i < options.crashes; i++) {
    const subject = pick();
    sim.trackContacts(subject);
    const fault = addFault('crash', subject, when());
    sim.at(fault.at, () => sim.crash(subject, true));
  }
  for (let i = 0; i < options.silentCrashes; i++) {
    const subject = pick();
    const fault = addFault('silentCrash', subject, when());
    sim.at(fault.at, () => sim.crash(subject, false));
  }
  for (let i = 0; i < options.freezes; i++) {
    const subject = pick();
    const fault = addFault('freeze', subject, when());
    sim.at(fault.at, () => sim.freeze(subject));
    sim.at(fault.at + options.freezeDuration, () => {
      fault.resumedAt = sim.now;
      recentlyResumed.set(subject.index, sim.now);
      sim.resume(subject);
    });
  }
  for (let i = 0; i < options.leaves; i++) {
    const subject = pick();
    const fault = addFault('leave', subject, when());
    sim.at(fault.at, () => sim.leave(subject));
  }
  const seeds: SimNode[] = [];
  for (let i = 0; i < options.slow; i++) {
    const node = pick();
    slowed.add(node.index);
    sim.slow(node, options.slowDelay);
  }
  for (let i = 0; i < Math.min(4, options.members); i++) seeds.push(pick());
  for (let i = 0; i < options.joins; i++) {
    const subject = sim.nodes[options.members + i]!;
    const fault = addFault('join', subject, when());
    sim.at(fault.at, () => {
      const up = seeds.filter((s) => s.status === 'up');
      sim.join(subject, up[randomInt(random, up.length)] ?? seeds[0]!);
    });
  }

  let convergedAfterHeal: number | undefined;
  const partition = options.partition;
  if (partition) {
    sim.at(partition.at, () => {
      const cut = seededRandom(options.seed ^ 0x68e31da4);
      partitionGroups = new Int32Array(sim.nodes.length);
      for (const node of sim.nodes) partitionGroups[node.index] = cut() < partition.fraction ? 1 : 0;
      const groups = partitionGroups;
      sim.partition((node) => groups[node.index]!);
    });
    const healAt = partition.at + partition.duration;
    sim.at(healAt, () => {
      sim.heal();
      partitionGroups = undefined;
    });
    const check = (): void => {
      const up = sim.nodes.filter((n) => n.status === 'up');
      if (up.every((n) => n.core!.liveCount === up.length)) {
        convergedAfterHeal = sim.now - healAt;
        return;
      }
      if (sim.now < options.duration) sim.at(sim.now + 250, check);
    };
    sim.at(healAt + 250, check);
  }

  let baseline: { messages: number, bytes: number } | undefined;
  const steady = (): SimNode[] => sim.nodes.filter((n) => n.index < options.members && !faulty.has(n.index));
  sim.at(options.warmup, () => {
    baseline = { messages: 0, bytes: 0 };
    for (const node of steady()) {
      baseline.messages += node.sentMessages;
      baseline.bytes += node.sentBytes;
    }
  });
  sim.runUntil(options.duration);

  let messages = 0;
  let bytes = 0;
  const counted = steady();
  for (const node of counted) {
    messages += node.sentMessages;
    bytes += node.sentBytes;
  }
  const memberSeconds = counted.length * (options.duration - options.warmup) / 1000;
  // Slowed members learn everything late by construction; detection is measured at the others.
  const survivors = sim.nodes.filter((n) => n.status === 'up' && !faulty.has(n.index) && !slowed.has(n.index));

  const stats = (kind: FaultKind, rejoin = false): FaultStats => {
    const perObserver: number[] = [];
    const allKnown: number[] = [];
    let missed = 0;
    let count = 0;
    for (const fault of faults.values()) {
      if (fault.kind !== kind) continue;
      const start = rejoin ? fault.resumedAt : fault.at;
      if (start === undefined) continue;
      count++;
      const seen = rejoin ? fault.rejoined : fault.seen;
      let last = 0;
      let complete = true;
      for (const observer of survivors) {
        if (observer === fault.subject) continue;
        // A member that joined after the fault may never have known the subject.
        if (observer.index >= options.members && (faults.get(observer.id)?.at ?? 0) > fault.at) continue;
        const at = seen.get(observer.index);
        if (at === undefined) {
          missed++;
          complete = false;
          continue;
        }
        perObserver.push(at - start);
        last = Math.max(last, at - start);
      }
      if (complete) allKnown.push(last);
    }
    return { faults: count, perObserver: distribution(perObserver), allKnown: distribution(allKnown), missed };
  };

  return {
    members: options.members,
    seed: options.seed,
    profile: options.profile.name,
    lifeguard: options.profile.lifeguard,
    network: options.network,
    durationSeconds: options.duration / 1000,
    crash: stats('crash'),
    silentCrash: stats('silentCrash'),
    freeze: stats('freeze'),
    rejoinAfterFreeze: stats('freeze', true),
    leave: stats('leave'),
    join: stats('join'),
    falsePositives: {
      total: fpCount.healthy + fpCount.slowed + fpCount.resumed,
      aboutHealthy: fpCount.healthy,
      aboutSlowed: fpCount.slowed,
      aboutResumed: fpCount.resumed,
      examples: falsePositives
    },
    needlessSuspicions,
    ...(partition ? { partition: { convergedAfterHeal } } : {}),
    load: {
      messagesPerMemberSecond: baseline && memberSeconds > 0 ? (messages - baseline.messages) / memberSeconds : 0,
      bytesPerMemberSecond: baseline && memberSeconds > 0 ? (bytes - baseline.bytes) / memberSeconds : 0
    },
    wallSeconds: (performance.now() - started) / 1000,
    events: sim.processed
  };
}
