/**
 * One request budget for every caller in the process: at most `maxConcurrency` requests in flight
 * and at most `requestsPerSecond` started in any sliding second (a sliding window, not a token
 * bucket: a bucket lets a full burst plus its refill into one second, nearly twice the rate).
 * Waiters are served first come, first served.
 *
 * The window holds N = max(1, floor(rate)) grants over W = N / rate seconds: 10/s is 10 per 1000 ms,
 * 2.5/s is 2 per 800 ms, 0.5/s is 1 per 2000 ms.
 *
 * Stuck requests (`stuckAfterMillis`, off unless set; the sidecar sets it): a request still in flight
 * that long is a server not answering (a slow-loris thread, a hung connection), not work the server
 * is doing. It keeps its connection until its own timeout, but stops counting against
 * `maxConcurrency`, so a few hanging answers cannot hold every slot while healthy work waits. At most
 * `maxConcurrency` requests are counted as stuck at once, so never more than twice `maxConcurrency`
 * connections are open; the rate limit applies to every request all the same.
 */
import { AbortedError, MAX_TIMER_MILLIS } from '../util/backoff.js';

export interface RequestBudgetOptions {
  /** @default 8 */
  maxConcurrency?: number;
  /** @default 10 */
  requestsPerSecond?: number;
  /**
   * A request in flight this long no longer counts against `maxConcurrency` (up to `maxConcurrency`
   * such requests). @default undefined: never (every request counts until it ends)
   */
  stuckAfterMillis?: number;
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
  /** The most requests ever in flight at once, stuck ones included: tests check it never passed the limit. */
  peakInFlight: number;
  granted: number;
  /** Requests in flight past `stuckAfterMillis`, no longer counted against `maxConcurrency`. */
  stuck: number;
}

export class RequestBudget {
  readonly maxConcurrency: number;
  readonly requestsPerSecond: number;
  private readonly now: () => number;
  /** Start times of the most recent grants, oldest first, at most `windowSize` of them. */
  private readonly recentGrants: number[] = [];
  private readonly windowSize: number;
  private readonly windowMillis: number;
  /** Start times of the requests in flight (one entry per grant, removed on release). */
  private readonly active = new Set<{ startedAt: number }>();
  private readonly stuckAfterMillis: number | undefined;
  private peakInFlight = 0;
  private granted = 0;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** No grant before this time: the server asked every caller to wait (`Retry-After`). */
  private heldUntil = 0;
  /** Told when a slot frees (a release, a request turning stuck): a scheduler waiting for `spare()`. */
  private readonly spareListeners = new Set<() => void>();

  constructor(options: RequestBudgetOptions = {}) {
    this.maxConcurrency = options.maxConcurrency ?? 8;
    this.requestsPerSecond = options.requestsPerSecond ?? 10;
    if (!(this.maxConcurrency >= 1) || !(this.requestsPerSecond > 0)) {
      throw new RangeError('RequestBudget: maxConcurrency must be ≥ 1 and requestsPerSecond > 0');
    }
    this.now = options.now ?? (() => performance.now());
    this.stuckAfterMillis = options.stuckAfterMillis;
    this.windowSize = Math.max(1, Math.floor(this.requestsPerSecond));
    this.windowMillis = (this.windowSize / this.requestsPerSecond) * 1000;
  }

  stats(): BudgetStats {
    return { inFlight: this.active.size, waiting: this.queue.length, peakInFlight: this.peakInFlight, granted: this.granted, stuck: this.stuckCount(this.now()) };
  }

  /**
   * How many more requests could start without waiting for a slot (the rate window aside): free
   * slots minus the callers already waiting. A scheduler that starts work only while this is
   * positive keeps the queue here short, so the order it picks work in is the order it is served.
   */
  spare(): number {
    return this.maxConcurrency - this.countedInFlight(this.now()) - this.queue.length;
  }

  /** Calls `listener` whenever a slot may have freed; returns the function that stops it. */
  onSpare(listener: () => void): () => void {
    this.spareListeners.add(listener);
    return () => this.spareListeners.delete(listener);
  }

  private notifySpare(): void {
    for (const listener of this.spareListeners) listener();
  }

  /** Requests in flight past `stuckAfterMillis`, at most `maxConcurrency` of them. */
  private stuckCount(now: number): number {
    if (this.stuckAfterMillis === undefined) return 0;
    let stuck = 0;
    for (const grant of this.active) if (now - grant.startedAt >= this.stuckAfterMillis) stuck++;
    return Math.min(stuck, this.maxConcurrency);
  }

  /** Requests counted against `maxConcurrency`: those in flight, minus the stuck ones. */
  private countedInFlight(now: number): number {
    return this.active.size - this.stuckCount(now);
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

  /** True while a `Retry-After` holds every request back. */
  isHeldOff(): boolean {
    return this.now() < this.heldUntil;
  }

  /** Milliseconds until the window has room for one more grant (0 when it has room now). */
  private waitForWindow(now: number): number {
    if (now < this.heldUntil) return this.heldUntil - now;
    if (this.recentGrants.length < this.windowSize) return 0;
    const oldest = this.recentGrants[0] as number;
    return Math.max(0, oldest + this.windowMillis - now);
  }

  /** Milliseconds until the next request in flight turns stuck (undefined: none will). */
  private untilNextStuck(now: number): number | undefined {
    if (this.stuckAfterMillis === undefined || this.stuckCount(now) >= this.maxConcurrency) return undefined;
    let next: number | undefined;
    for (const grant of this.active) {
      const at = grant.startedAt + this.stuckAfterMillis - now;
      if (at > 0 && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.countedInFlight(this.now()) < this.maxConcurrency && this.waitForWindow(this.now()) === 0) {
      const waiter = this.queue.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      const startedAt = this.now();
      this.recentGrants.push(startedAt);
      if (this.recentGrants.length > this.windowSize) this.recentGrants.shift();
      const grant = { startedAt };
      this.active.add(grant);
      this.granted++;
      this.peakInFlight = Math.max(this.peakInFlight, this.active.size);
      waiter.resolve(() => {
        if (!this.active.delete(grant)) return; // released twice
        this.pump();
        this.notifySpare();
      });
    }
    if (this.queue.length === 0 || this.timer !== undefined) return;
    // Work is waiting: come back when the window allows a grant (or the hold ends), or, with every
    // slot taken, when a request in flight turns stuck and frees its slot.
    const now = this.now();
    const wait = this.countedInFlight(now) < this.maxConcurrency ? this.waitForWindow(now) : this.untilNextStuck(now);
    if (wait === undefined) return; // a release pumps
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
      this.notifySpare();
    }, Math.min(MAX_TIMER_MILLIS, Math.max(1, Math.ceil(wait))));
    // Capped: a longer timer would fire at once (Node's limit), and pump() re-arms anyway.
    // A stuck-slot timer must not keep a process alive on its own; the window timer serves a caller who waits.
    if (this.countedInFlight(now) >= this.maxConcurrency) this.timer.unref();
  }
}
