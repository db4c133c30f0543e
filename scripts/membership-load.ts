/**
 * Membership protocol load of real peer processes, for the benchmarks: each peer's counters
 * come from its `/stats` command (one `{"type":"stats",...}` line in --json mode), read at two
 * moments; the rates between them are per member per second. Only the membership protocol's
 * own frames count (length prefix and message), not gossipsub, chat or the transport beneath.
 */
import type { MembershipServiceStats } from '../peer/src/membership/index.ts';
import type { PeerEvent } from '../peer/src/events.ts';
import type { PeerProc } from '../peer/test/support/processes.ts';

/** A member event one peer emitted about another, stamped when the benchmark read it. */
export interface Observation {
  at: number;
  observer: string;
  type: string;
  subject: string;
}

export interface StatsSample {
  /** The peer's Date.now() when it read its counters. */
  ts: number;
  membership: MembershipServiceStats;
}

type StatsEvent = Extract<PeerEvent, { type: 'stats' }>;

/**
 * Asks each peer for its counters at once and resolves with the answers that came within
 * `timeoutMs`, by nick: a peer starved of CPU may not answer in time, and is left out.
 */
export async function readStats(peers: readonly { nick: string, proc: PeerProc }[], timeoutMs: number): Promise<Map<string, StatsSample>> {
  const answers = await Promise.allSettled(peers.map(async ({ nick, proc }) => {
    // The answer is the first stats event that was not there before the question.
    const earlier = new Set(proc.items.filter((e) => e.type === 'stats'));
    proc.write('/stats');
    const event = await proc.waitFor((e) => e.type === 'stats' && !earlier.has(e), `/stats from ${nick}`, timeoutMs) as StatsEvent;
    return [nick, { ts: event.ts, membership: event.membership }] as const;
  }));
  return new Map(answers.flatMap((a) => a.status === 'fulfilled' ? [a.value] : []));
}

export interface MemberLoad {
  nick: string;
  seconds: number;
  sentBytesPerS: number;
  receivedBytesPerS: number;
  sentFramesPerS: number;
  receivedFramesPerS: number;
}

/** Rates between two readings of the same peers; a peer missing from either is left out. */
export function loadBetween(first: Map<string, StatsSample>, second: Map<string, StatsSample>): MemberLoad[] {
  const loads: MemberLoad[] = [];
  for (const [nick, a] of first) {
    const b = second.get(nick);
    if (b === undefined || b.ts <= a.ts) continue;
    const seconds = (b.ts - a.ts) / 1000;
    const rate = (key: 'sentBytes' | 'receivedBytes' | 'sentFrames' | 'receivedFrames'): number =>
      (b.membership[key] - a.membership[key]) / seconds;
    loads.push({
      nick, seconds,
      sentBytesPerS: rate('sentBytes'), receivedBytesPerS: rate('receivedBytes'),
      sentFramesPerS: rate('sentFrames'), receivedFramesPerS: rate('receivedFrames')
    });
  }
  return loads;
}

export interface Spread {
  median: number;
  max: number;
}

export interface LoadSummary {
  members: number;
  /** The shortest of the members' windows, in seconds. */
  windowS: number;
  sentBytesPerS: Spread;
  receivedBytesPerS: Spread;
  sentFramesPerS: Spread;
  receivedFramesPerS: Spread;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length === 0 ? Number.NaN
    : sorted.length % 2 === 1 ? sorted[mid] ?? Number.NaN : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  const round = (v: number): number => Math.round(v * 10) / 10;
  return { median: round(median), max: round(sorted.at(-1) ?? Number.NaN) };
}

export function summariseLoad(loads: readonly MemberLoad[]): LoadSummary {
  return {
    members: loads.length,
    windowS: Math.round(Math.min(...loads.map((l) => l.seconds)) * 10) / 10,
    sentBytesPerS: spread(loads.map((l) => l.sentBytesPerS)),
    receivedBytesPerS: spread(loads.map((l) => l.receivedBytesPerS)),
    sentFramesPerS: spread(loads.map((l) => l.sentFramesPerS)),
    receivedFramesPerS: spread(loads.map((l) => l.receivedFramesPerS))
  };
}

export const LOAD_TABLE_HEADER = [
  '| members | window s | sent B/s per member, median (max) | received B/s, median (max) | sent frames/s, median (max) | received frames/s, median (max) |',
  '|---:|---:|---:|---:|---:|---:|'
];

export function loadRow(s: LoadSummary): string {
  const f = (x: Spread): string => `${x.median} (${x.max})`;
  return `| ${s.members} | ${s.windowS} | ${f(s.sentBytesPerS)} | ${f(s.receivedBytesPerS)} | ${f(s.sentFramesPerS)} | ${f(s.receivedFramesPerS)} |`;
}
