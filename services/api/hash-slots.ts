import { AppError } from '../core/errors.ts';

/**
 * Bounds the password hashes computed at once. Each scrypt holds one of libuv's few pool threads
 * (4 by default, shared with file and DNS work) and 128·N·r bytes, so a burst of logins must not
 * take them all: `concurrency` run, up to `queue` wait their turn, and beyond that a request is
 * refused at once with 503 and `Retry-After` rather than piling up.
 */
export class HashSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  /** Runs `work` when a slot is free; throws a 503 `busy` AppError when too many already wait. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) {
        throw new AppError('busy', 'too many logins and registrations at once; retry in a moment', {
          status: 503,
          retriable: true,
          headers: { 'Retry-After': '1' },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Hashes running and waiting now (for tests and metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
