import { describe, expect, it } from 'vitest';
import { Awareness } from '../../src/membership/awareness.ts';

describe('awareness (local health)', () => {
  it('scales timeouts by score + 1 and stays within [0, max - 1]', () => {
    const a = new Awareness(8);
    expect(a.scale(500)).toBe(500);
    a.apply(3);
    expect(a.multiplier).toBe(4);
    expect(a.scale(500)).toBe(2000);
    a.apply(100);
    expect(a.score).toBe(7);
    a.apply(-100);
    expect(a.score).toBe(0);
    a.apply(-1);
    expect(a.score).toBe(0);
  });

  it('never scales when the maximum is 1 (Lifeguard off)', () => {
    const a = new Awareness(1);
    a.apply(5);
    expect(a.scale(500)).toBe(500);
  });
});
