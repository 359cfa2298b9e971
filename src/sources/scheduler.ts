/**
 * When to poll what: keys (a thread's discovery, a run's status) in a due-time queue, dispatched by
 * a timer as they come due. A key's work runs in the background, so one slow request (a long
 * `Retry-After`, a timeout) does not hold up every other key; at most `maxInFlight` keys are worked
 * on at once, and never the same key twice at once.
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
  /** @default 256 */
  maxInFlight?: number;
  /** While paused, check again this often. @default 250 */
  pauseRecheckMillis?: number;
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

  constructor(private readonly options: SchedulerOptions<K>) {
    this.now = options.now ?? Date.now;
    this.maxInFlight = options.maxInFlight ?? 256;
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

  cancel(key: K): void {
    this.queue.cancel(key);
    this.again.delete(key);
  }

  /** Stops dispatching and waits for the work in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.inFlight.values());
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
    const delay = Math.min(MAX_TIMER_MILLIS, delayOverride ?? Math.max(0, (next as number) - this.now()));
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
    const due = this.queue.popDue(this.now(), this.maxInFlight - this.inFlight.size);
    for (const key of due) {
      if (this.inFlight.has(key)) {
        this.again.add(key);
        continue;
      }
      const work = this.options.process(key).finally(() => {
        this.inFlight.delete(key);
        if (this.again.delete(key)) this.queue.schedule(key, this.now());
        this.arm();
      });
      this.inFlight.set(key, work);
    }
    this.arm();
  }
}
