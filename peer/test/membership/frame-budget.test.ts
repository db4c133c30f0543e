import { describe, expect, it } from 'vitest';
import { FrameBudgets } from '../../src/membership/frame-budget.ts';
import { LAN_PROFILE, WAN_PROFILE } from '../../src/membership/profiles.ts';
import { INBOUND_FRAME_MARGIN, inboundFrameRate } from '../../src/membership/service-constants.ts';

function takeAll(budgets: FrameBudgets, peer: string, n: number, now: number): number {
  let taken = 0;
  for (let i = 0; i < n; i++) if (budgets.take(peer, now)) taken++;
  return taken;
}

describe('per-peer inbound frame budgets', () => {
  it('lets a burst through, then the rate, per peer', () => {
    const budgets = new FrameBudgets(100, 20);
    expect(takeAll(budgets, 'a', 50, 0)).toBe(20);
    // Another peer has its own bucket.
    expect(takeAll(budgets, 'b', 5, 0)).toBe(5);
    // 100 frames/s: 250 ms later, 25 more, never beyond the burst.
    expect(takeAll(budgets, 'a', 50, 250)).toBe(20);
    expect(takeAll(budgets, 'a', 50, 300)).toBe(5);
  });

  it('forgets peers whose bucket has refilled, and ignores a clock stepping back', () => {
    const budgets = new FrameBudgets(100, 20);
    takeAll(budgets, 'a', 20, 1000);
    takeAll(budgets, 'b', 10, 1000);
    expect(takeAll(budgets, 'a', 1, 500)).toBe(0);
    budgets.prune(1015);
    expect(budgets.size).toBe(2);
    budgets.prune(1200);
    expect(budgets.size).toBe(0);
  });

  it('derives the bound from the profile with a generous margin', () => {
    expect(inboundFrameRate(LAN_PROFILE)).toBe(280);
    expect(inboundFrameRate(WAN_PROFILE)).toBe(48);
    expect(inboundFrameRate(LAN_PROFILE) / INBOUND_FRAME_MARGIN).toBeGreaterThan(1000 / LAN_PROFILE.gossipInterval);
  });
});
