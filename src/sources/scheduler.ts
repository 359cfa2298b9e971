/**
 * When to poll what: keys (a thread's listing, a lone run's status) in a due-time queue, dispatched
 * by a timer as they come due, earliest due first. A key's work runs in the background, so one slow
 * request does not hold up every other key; never the same key twice at once (per-key concurrency
 * of one: a thread's work is one request after another, whatever else is going on).
 *
 * Fair under a budget that cannot serve everything: with `capacity` (the request budget's spare
 * slots), a key starts only when a request could start at once, so work waits here, in due order,
 * rather than in the budget's queue in arrival order. When every key cannot be served in its
 * interval, every key is then late by about the same time (oldest due first) instead of some
 * starving, and `overdueMillis()` says how late.
 *
 * Timers are `unref()`'d: the scheduler never keeps a process alive on its own.
 */
import { MAX_TIMER_MILLIS } from '../util/backoff.js';
import { DueQueue } from '../util/due-queue.js';

export interface SchedulerOptions<K> {
  /** The work for a key. Must not reject (failures are the caller's to handle and reschedule). */
  process: (key: K) => Promise<void>;
  /** True while no new work should start (delivery is behind). */
  shouldPause: () => boolean;
  onPausedChange?: (paused: boolean) => void;
  /**
   * How many more keys may start now (the request budget's spare slots), and a way to hear when
   * that may have grown. @default unlimited (up to maxInFlight)
   */
  capacity?: { spare: () => number; onSpare?: (listener: () => void) => () => void };
  /** Called as each key starts, with how late it starts (ms after it was due). */
  onDispatch?: (key: K, lateMillis: number) => void;
  /** @default 256 */
  maxInFlight?: number;
  /** While paused, check again this often. @default 250 */
  pauseRecheckMillis?: number;
  /** While due keys wait for capacity, check again this often (a completion or `onSpare` also re-checks). @default 1000 with `onSpare`, else 20 */
  capacityRecheckMillis?: number;
  now?: () => number;
}

export class Scheduler<K> {
  private readonly queue = new DueQueue<K>();
  private readonly inFlight = new Map<K, Promise<void>>();
  /** Keys that came due while already being worked on: run again when that finishes. */
  private readonly again = new Set<K>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private paused = false;
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private readonly unsubscribe: (() => void) | undefined;
  /** Due keys are waiting for capacity: a freed slot should dispatch. */
  private waitingForCapacity = false;

  constructor(private readonly options: SchedulerOptions<K>) {
    this.now = options.now ?? Date.now;
    this.maxInFlight = options.maxInFlight ?? 256;
    this.unsubscribe = options.capacity?.onSpare?.(() => {
      if (this.waitingForCapacity && !this.paused) this.arm(0);
    });
  }

  get size(): number {
    return this.queue.size + this.inFlight.size;
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Schedules `key` at `at` (epoch ms), replacing any earlier schedule of it. */
  schedule(key: K, at: number = this.now()): void {
    this.queue.schedule(key, at);
    this.arm();
  }

  /** Schedules `key` at `at` unless it is already due sooner. */
  scheduleNoLaterThan(key: K, at: number): void {
    const current = this.queue.dueAt(key);
    if (current !== undefined && current <= at) return;
    this.schedule(key, at);
  }

  cancel(key: K): void {
    this.queue.cancel(key);
    this.again.delete(key);
  }

  /** How long the earliest due key has been waiting to start (0 when nothing is due). */
  overdueMillis(): number {
    const next = this.queue.nextDueAt();
    return next === undefined ? 0 : Math.max(0, this.now() - next);
  }

  /** Keys due now and not started yet (waiting for capacity, or paused). */
  dueCount(): number {
    return this.queue.countDue(this.now());
  }

  /** Stops dispatching and waits for the work in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.inFlight.values());
  }

  private capacityNow(): number {
    const slots = this.maxInFlight - this.inFlight.size;
    return this.options.capacity ? Math.min(slots, this.options.capacity.spare()) : slots;
  }

  private arm(delayOverride?: number): void {
    if (this.stopped) return;
    // While paused, keep re-checking at the pause pace, whatever finished or came due meanwhile.
    if (this.paused && delayOverride === undefined) delayOverride = this.options.pauseRecheckMillis ?? 250;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (delayOverride === undefined && this.inFlight.size >= this.maxInFlight) return; // a completion re-arms
    const next = this.queue.nextDueAt();
    if (next === undefined && delayOverride === undefined) return;
    // Capped at Node's timer limit (a longer delay fires at once); waking early only re-arms.
    let delay = Math.min(MAX_TIMER_MILLIS, delayOverride ?? Math.max(0, (next as number) - this.now()));
    // Due now but no capacity: look again when a slot frees (`onSpare`, a completion), or after a while.
    this.waitingForCapacity = delayOverride === undefined && delay === 0 && this.options.capacity !== undefined && this.capacityNow() <= 0;
    if (this.waitingForCapacity) delay = this.options.capacityRecheckMillis ?? (this.options.capacity?.onSpare ? 1000 : 20);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, delay);
    this.timer.unref();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.options.onPausedChange?.(paused);
  }

  private dispatch(): void {
    if (this.stopped) return;
    if (this.options.shouldPause()) {
      this.setPaused(true);
      this.arm(this.options.pauseRecheckMillis ?? 250);
      return;
    }
    this.setPaused(false);
    const now = this.now();
    // As many as there is capacity for now: a key started here may reach the budget only after an
    // await, so the capacity is read once per dispatch, not after each start.
    this.queue.popDueEach(now, Math.max(0, this.capacityNow()), (key, dueAt) => this.start(key, now - dueAt));
    this.arm();
  }

  private start(key: K, lateMillis: number): void {
    if (this.inFlight.has(key)) {
      this.again.add(key);
      return;
    }
    this.options.onDispatch?.(key, Math.max(0, lateMillis));
    const work = this.options.process(key).finally(() => {
      this.inFlight.delete(key);
      if (this.again.delete(key)) this.queue.schedule(key, this.now());
      this.arm();
    });
    this.inFlight.set(key, work);
  }
}
