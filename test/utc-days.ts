// Tests that check "today's" daily index must not fail when the run crosses UTC midnight: they
// take the days seen before and after the work, and accept either.
export interface DuringDays<T> {
  result: T;
  /** The UTC day (YYYY-MM-DD) when the work started and, if different, when it ended. */
  days: string[];
}

export async function withUtcDays<T>(work: () => Promise<T> | T): Promise<DuringDays<T>> {
  const before = new Date().toISOString().slice(0, 10);
  const result = await work();
  const after = new Date().toISOString().slice(0, 10);
  return { result, days: before === after ? [before] : [before, after] };
}
