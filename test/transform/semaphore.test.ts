import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../transform/semaphore.ts';

describe('Semaphore', () => {
  it('never runs more tasks at once than its size, runs them all, and frees a slot when a task fails', async () => {
    const semaphore = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const task = (i: number) => semaphore.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(5 + (i % 3) * 5);
      running--;
      if (i === 3) throw new Error('task 3 failed');
      done.push(i);
      return i;
    });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => task(i)));
    expect(peak).toBe(2);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
