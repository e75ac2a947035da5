// A counting semaphore: bounds how many `_bulk` requests are in flight across concurrent work, so
// parsing/transforming can run ahead while the engine is kept exactly as busy as configured.
export class Semaphore {
  private readonly waiting: (() => void)[] = [];

  constructor(private available: number) {
    if (!Number.isInteger(available) || available < 1) throw new RangeError(`semaphore size must be a positive integer, got ${available}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.available++;
    }
  }
}
