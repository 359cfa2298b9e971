/**
 * One request budget for every caller in the process: at most `maxConcurrency` requests in flight
 * and at most `requestsPerSecond` started per second (a token bucket holding one second's worth, so
 * short bursts are allowed and the long-run rate is capped). Waiters are served first come, first served.
 */
import { AbortedError } from '../util/backoff.js';

export interface RequestBudgetOptions {
  /** @default 8 */
  maxConcurrency?: number;
  /** @default 10 */
  requestsPerSecond?: number;
  /** For tests: the clock, in milliseconds. */
  now?: () => number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export interface BudgetStats {
  inFlight: number;
  waiting: number;
  /** The most requests ever in flight at once: tests check it never passed the limit. */
  peakInFlight: number;
  granted: number;
}

export class RequestBudget {
  readonly maxConcurrency: number;
  readonly requestsPerSecond: number;
  private readonly now: () => number;
  private tokens: number;
  private lastRefill: number;
  private inFlight = 0;
  private peakInFlight = 0;
  private granted = 0;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(options: RequestBudgetOptions = {}) {
    this.maxConcurrency = options.maxConcurrency ?? 8;
    this.requestsPerSecond = options.requestsPerSecond ?? 10;
    if (!(this.maxConcurrency >= 1) || !(this.requestsPerSecond > 0)) {
      throw new RangeError('RequestBudget: maxConcurrency must be ≥ 1 and requestsPerSecond > 0');
    }
    this.now = options.now ?? (() => performance.now());
    this.tokens = Math.max(1, this.requestsPerSecond);
    this.lastRefill = this.now();
  }

  stats(): BudgetStats {
    return { inFlight: this.inFlight, waiting: this.queue.length, peakInFlight: this.peakInFlight, granted: this.granted };
  }

  /** Waits for a slot; call the returned function exactly once when the request is done. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(new AbortedError());
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  private refill(): void {
    const now = this.now();
    const capacity = Math.max(1, this.requestsPerSecond);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.lastRefill) / 1000) * this.requestsPerSecond);
    this.lastRefill = now;
  }

  private pump(): void {
    this.refill();
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrency && this.tokens >= 1) {
      const waiter = this.queue.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.tokens -= 1;
      this.inFlight++;
      this.granted++;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.pump();
      });
    }
    // Out of tokens with work waiting: come back when the next token is due.
    if (this.queue.length > 0 && this.inFlight < this.maxConcurrency && this.timer === undefined) {
      const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.requestsPerSecond) * 1000));
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
    }
  }
}
