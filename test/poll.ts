// Every polling loop in the tests has its own bound and says what it waited for when it runs out,
// instead of spinning until the test timeout. Measured on the monotonic clock (a shifted wall clock,
// test/fake-clock.mjs, or a clock step cannot stretch or cut it).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs?: number;
}

/**
 * Calls `attempt` until it returns a value other than undefined ("not yet"), and returns that value.
 * An attempt that throws ends the wait with its error.
 */
export async function pollUntil<T>(what: string, attempt: () => Promise<T | undefined> | T | undefined, options: PollOptions): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) throw new Error(`gave up waiting for ${what} after ${options.timeoutMs / 1000} s`);
    await sleep(options.intervalMs ?? 200);
  }
}
