/**
 * Properties of the protocol in the simulator. Sizes are scaled down from the issue's
 * example (1,000 members, 10 minutes) to keep the suite fast on two cores; the full-size
 * runs are in `npm run simulate` and their figures in the README.
 */
import { describe, expect, it } from 'vitest';
import { LAN_PROFILE } from '../../src/membership/profiles.ts';
import { runScenario } from '../../src/membership/simulator/scenario.ts';
import type { ScenarioOptions } from '../../src/membership/simulator/scenario.ts';

const base: ScenarioOptions = {
  members: 200, seed: 11, profile: LAN_PROFILE,
  network: { loss: 0.05, baseDelay: 0.5, jitter: 1, distribution: 'exponential' },
  duration: 150_000, warmup: 10_000, settle: 30_000,
  crashes: 6, silentCrashes: 2, freezes: 3, freezeDuration: 15_000, leaves: 3, joins: 3, slow: 0, slowDelay: 0
};

describe('membership in the simulator', () => {
  it('200 members, 5% loss, 2.5 minutes: no false positive, every fault seen by every member', () => {
    const r = runScenario(base);
    expect(r.falsePositives.total).toBe(0);
    for (const stats of [r.crash, r.silentCrash, r.freeze, r.leave, r.join, r.rejoinAfterFreeze]) expect(stats.missed).toBe(0);
    expect(r.crash.faults).toBe(6);
    // The LAN targets (they are set for N = 50 processes; 200 here, with 5% loss).
    expect(r.crash.allKnown.median!).toBeLessThan(1500);
    expect(r.freeze.allKnown.median!).toBeLessThan(8000);
    expect(r.leave.allKnown.median!).toBeLessThan(500);
    expect(r.join.allKnown.median!).toBeLessThan(500);
  });

  it('is deterministic: the same seed gives the same run', () => {
    const small = { ...base, members: 40, duration: 60_000, settle: 20_000 };
    const a = runScenario(small);
    const b = runScenario(small);
    expect({ ...a, wallSeconds: 0 }).toEqual({ ...b, wallSeconds: 0 });
  });

  it('encodes and decodes every message without a hitch (wire mode)', () => {
    const r = runScenario({ ...base, members: 40, duration: 60_000, settle: 20_000, wire: true });
    expect(r.falsePositives.total).toBe(0);
    expect(r.crash.missed).toBe(0);
  });

  it('heals a partition: both sides see everyone again', () => {
    const r = runScenario({
      ...base, members: 60, duration: 120_000, settle: 20_000, crashes: 0, silentCrashes: 0, freezes: 0, leaves: 0, joins: 0,
      network: { ...base.network, loss: 0.01 }, partition: { at: 20_000, duration: 30_000, fraction: 0.3 }
    });
    expect(r.partition?.convergedAfterHeal).toBeDefined();
    expect(r.partition!.convergedAfterHeal!).toBeLessThan(60_000);
    expect(r.falsePositives.total).toBe(0);
  });

  it('heals a partition that outlasts deadRetention: reconnection remembers the forgotten side', () => {
    const r = runScenario({
      ...base, members: 40, duration: 20_000 + LAN_PROFILE.deadRetention * 1.5 + 60_000, settle: 20_000,
      crashes: 0, silentCrashes: 0, freezes: 0, leaves: 0, joins: 0, network: { ...base.network, loss: 0.01 },
      partition: { at: 20_000, duration: LAN_PROFILE.deadRetention * 1.5, fraction: 0.5 }
    });
    expect(r.partition?.convergedAfterHeal).toBeDefined();
    expect(r.partition!.convergedAfterHeal!).toBeLessThan(4 * LAN_PROFILE.reconnectInterval);
    expect(r.falsePositives.total).toBe(0);
  });

  it('Lifeguard: slowed members make plain SWIM accuse healthy ones, and Lifeguard does not', () => {
    const slow = { ...base, members: 100, duration: 150_000, crashes: 3, silentCrashes: 0, freezes: 0, leaves: 0, joins: 0, slow: 10, slowDelay: 500, network: { ...base.network, loss: 0 } };
    const off = runScenario({ ...slow, profile: { ...LAN_PROFILE, lifeguard: false } });
    const on = runScenario(slow);
    expect(on.falsePositives.aboutHealthy).toBe(0);
    expect(off.falsePositives.aboutHealthy).toBeGreaterThan(0);
    expect(on.needlessSuspicions).toBeLessThan(off.needlessSuspicions);
  });
});
