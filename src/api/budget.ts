/**
 * One request budget for every caller in the process: at most `maxConcurrency` requests in flight
 * and at most `requestsPerSecond` started in any sliding second (a sliding window, not a token
 * bucket: a bucket lets a full burst plus its refill into one second, nearly twice the rate).
 * Waiters are served first come, first served.
 *
 * The window holds N = max(1, floor(rate)) grants over W = N / rate seconds: 10/s is 10 per 1000 ms,
 * 2.5/s is 2 per 800 ms, 0.5/s is 1 per 2000 ms.
 */
import { AbortedError, MAX_TIMER_MILLIS } from '../util/backoff.js';

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
  /** Start times of the most recent grants, oldest first, at most `windowSize` of them. */
  private readonly recentGrants: number[] = [];
  private readonly windowSize: number;
  private readonly windowMillis: number;
  private inFlight = 0;
  private peakInFlight = 0;
  private granted = 0;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** No grant before this time: the server asked every caller to wait (`Retry-After`). */
  private heldUntil = 0;

  constructor(options: RequestBudgetOptions = {}) {
    this.maxConcurrency = options.maxConcurrency ?? 8;
    this.requestsPerSecond = options.requestsPerSecond ?? 10;
    if (!(this.maxConcurrency >= 1) || !(this.requestsPerSecond > 0)) {
      throw new RangeError('RequestBudget: maxConcurrency must be ≥ 1 and requestsPerSecond > 0');
    }
    this.now = options.now ?? (() => performance.now());
    this.windowSize = Math.max(1, Math.floor(this.requestsPerSecond));
    this.windowMillis = (this.windowSize / this.requestsPerSecond) * 1000;
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

  /**
   * The server said to wait (a 429 or 503 with `Retry-After`): a rate limit applies to every caller
   * of the process, so no request starts before then, whichever caller it is for.
   */
  holdOff(millis: number): void {
    if (!(millis > 0)) return;
    this.heldUntil = Math.max(this.heldUntil, this.now() + millis);
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump();
  }

  /** Milliseconds until the window has room for one more grant (0 when it has room now). */
  private waitForWindow(now: number): number {
    if (now < this.heldUntil) return this.heldUntil - now;
    if (this.recentGrants.length < this.windowSize) return 0;
    const oldest = this.recentGrants[0] as number;
    return Math.max(0, oldest + this.windowMillis - now);
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrency && this.waitForWindow(this.now()) === 0) {
      const waiter = this.queue.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.recentGrants.push(this.now());
      if (this.recentGrants.length > this.windowSize) this.recentGrants.shift();
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
    // The window is full (or held off) with work waiting: come back when a grant is allowed.
    if (this.queue.length > 0 && this.inFlight < this.maxConcurrency && this.timer === undefined) {
      // Capped: a longer timer would fire at once (Node's limit), and pump() re-arms anyway.
      const wait = Math.min(MAX_TIMER_MILLIS, Math.max(1, Math.ceil(this.waitForWindow(this.now()))));
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
    }
  }
}
