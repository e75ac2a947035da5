import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../transform/backoff.ts';

describe('backoffDelayMs', () => {
  const policy = { baseMs: 100, maxMs: 5_000 };

  it('doubles the upper bound per retry until the cap', () => {
    const upper = (retry: number) => backoffDelayMs(retry, policy, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(upper)).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });

  it('draws uniformly below the bound (full jitter)', () => {
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(3, policy, () => 0.25)).toBe(100);
    const delays = Array.from({ length: 1_000 }, () => backoffDelayMs(4, policy));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(800);
    expect(new Set(delays).size).toBeGreaterThan(900);
  });
});
