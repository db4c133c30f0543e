import { describe, expect, it } from 'vitest';
import { remainingSuspicionTime, Suspicion, suspicionTimeout } from '../../src/membership/suspicion.ts';
import { LAN_PROFILE, retransmitLimit, suspicionBounds } from '../../src/membership/profiles.ts';

describe('suspicion timer arithmetic', () => {
  it('starts at max and reaches min after k confirmations, on a log scale', () => {
    expect(suspicionTimeout(0, 3, 2000, 30_000)).toBe(30_000);
    // memberlist's test table: k = 3, min 2 s, max 30 s.
    expect(suspicionTimeout(1, 3, 2000, 30_000)).toBe(16_000);
    expect(suspicionTimeout(2, 3, 2000, 30_000)).toBe(7810);
    expect(suspicionTimeout(3, 3, 2000, 30_000)).toBe(2000);
    expect(suspicionTimeout(4, 3, 2000, 30_000)).toBe(2000);
  });

  it('uses the minimum when no confirmations are expected', () => {
    expect(suspicionTimeout(0, 0, 2000, 30_000)).toBe(2000);
  });

  it('subtracts the time already elapsed', () => {
    expect(remainingSuspicionTime(0, 3, 5000, 2000, 30_000)).toBe(25_000);
    expect(remainingSuspicionTime(3, 3, 5000, 2000, 30_000)).toBe(-3000);
  });

  it('counts each independent confirmer once, and never the accuser', () => {
    const s = new Suspicion('a', 1000, { min: 2000, max: 30_000, confirmations: 3 }, false);
    expect(s.deadline()).toBe(31_000);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.deadline()).toBe(17_000);
    expect(s.confirm('c')).toBe(true);
    expect(s.confirm('d')).toBe(true);
    expect(s.confirm('e')).toBe(false);
    expect(s.deadline()).toBe(3000);
  });

  it('switches to the unreachable bounds without losing its start or confirmations', () => {
    const s = new Suspicion('a', 0, suspicionBounds(LAN_PROFILE, 50, false), false);
    s.confirm('b');
    s.upgrade(suspicionBounds(LAN_PROFILE, 50, true));
    expect(s.unreachable).toBe(true);
    expect(s.deadline()).toBeLessThanOrEqual(LAN_PROFILE.suspicionMaxUnreachable);
  });
});

describe('profile arithmetic', () => {
  it('scales the minimum suspicion timeout with log10 N, as memberlist does', () => {
    expect(suspicionBounds(LAN_PROFILE, 10, false).min).toBe(1500);
    expect(suspicionBounds(LAN_PROFILE, 50, false).min).toBe(2548);
    expect(suspicionBounds(LAN_PROFILE, 1000, false).min).toBe(4500);
    expect(suspicionBounds(LAN_PROFILE, 50, false).max).toBe(4 * 2548);
    expect(suspicionBounds(LAN_PROFILE, 50, true)).toEqual({ min: 500, max: 2500, confirmations: 3 });
  });

  it('expects no confirmations in a cluster too small to give them', () => {
    expect(suspicionBounds(LAN_PROFILE, 4, false).confirmations).toBe(0);
    expect(suspicionBounds(LAN_PROFILE, 5, false).confirmations).toBe(3);
  });

  it('has a fixed timeout without Lifeguard', () => {
    const bounds = suspicionBounds({ ...LAN_PROFILE, lifeguard: false }, 50, false);
    expect(bounds.max).toBe(bounds.min);
    expect(bounds.confirmations).toBe(0);
  });

  it('retransmits retransmitMult * ceil(log10(N + 1)) times', () => {
    expect(retransmitLimit(LAN_PROFILE, 1)).toBe(4);
    expect(retransmitLimit(LAN_PROFILE, 50)).toBe(8);
    expect(retransmitLimit(LAN_PROFILE, 1000)).toBe(16);
  });

  it('keeps a probe inside its interval in every profile', async () => {
    const { MEMBERSHIP_PROFILES } = await import('../../src/membership/profiles.ts');
    for (const profile of Object.values(MEMBERSHIP_PROFILES)) {
      expect(profile.probeTimeout + profile.indirectTimeout).toBeLessThan(profile.probeInterval);
      expect(profile.relayTimeout).toBeLessThan(profile.indirectTimeout);
    }
  });
});
