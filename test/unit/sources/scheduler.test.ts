/**
 * `Scheduler` (src/sources/scheduler.ts), the poll loop under fake timers: keys are dispatched as
 * they come due; at most `maxInFlight` at once; never the same key twice at once (a key due again
 * while in flight runs again right after); nothing starts while `shouldPause()` (re-checked every
 * `pauseRecheckMillis`, changes reported through `onPausedChange`); `stop()` waits for the work in
 * flight and dispatches nothing after; timers are unref'd.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler, type SchedulerOptions } from '../../../src/sources/scheduler.js';

const T0 = 1_700_000_000_000;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A `process` that records every start and finish. By default work finishes at once; with `hold`
 * each start waits until the test releases it.
 */
function recorder(options: { hold?: boolean } = {}) {
  const started: Array<{ key: string; at: number }> = [];
  const finished: string[] = [];
  const held = new Map<string, Deferred[]>();
  const running = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  let maxSameKey = 0;
  const process = async (key: string): Promise<void> => {
    started.push({ key, at: Date.now() });
    inFlight++;
    running.set(key, (running.get(key) ?? 0) + 1);
    maxInFlight = Math.max(maxInFlight, inFlight);
    maxSameKey = Math.max(maxSameKey, running.get(key) ?? 0);
    try {
      if (options.hold) {
        const d = deferred();
        held.set(key, [...(held.get(key) ?? []), d]);
        await d.promise;
      }
    } finally {
      inFlight--;
      running.set(key, (running.get(key) ?? 1) - 1);
      finished.push(key);
    }
  };
  return {
    process,
    started,
    finished,
    keys: () => started.map((s) => s.key),
    times: (key: string) => started.filter((s) => s.key === key).map((s) => s.at - T0),
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get maxSameKey() {
      return maxSameKey;
    },
    /** Finishes the oldest held work of `key`. */
    release(key: string): void {
      const list = held.get(key);
      const d = list?.shift();
      if (!d) throw new Error(`no held work for ${key}`);
      d.resolve();
    },
    heldKeys: () => [...held.entries()].filter(([, list]) => list.length > 0).map(([key]) => key),
  };
}

function scheduler(process: (key: string) => Promise<void>, options: Partial<SchedulerOptions<string>> = {}): Scheduler<string> {
  return new Scheduler<string>({ process, shouldPause: () => false, ...options });
}

/** Lets promise callbacks (work finishing, `.finally` re-arming) run, with no timer advance. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Scheduler: dispatch when due', () => {
  it('runs a key at its due time, not before', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('a', T0 + 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(work.started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(work.started).toEqual([{ key: 'a', at: T0 + 1_000 }]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(work.started).toHaveLength(1); // popped once, not repeated
    await s.stop();
  });

  it('without a time, a key is due now', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('a');
    expect(work.started).toEqual([]); // dispatched by the timer, never inside schedule()
    await settle();
    expect(work.keys()).toEqual(['a']);
    await s.stop();
  });

  it('a key in the past runs at once', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('a', T0 - 5_000);
    await settle();
    expect(work.keys()).toEqual(['a']);
    await s.stop();
  });

  it('runs keys in due order, each at its time', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('c', T0 + 300);
    s.schedule('a', T0 + 100);
    s.schedule('b', T0 + 200);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.started).toEqual([
      { key: 'a', at: T0 + 100 },
      { key: 'b', at: T0 + 200 },
      { key: 'c', at: T0 + 300 },
    ]);
    await s.stop();
  });

  it('rescheduling replaces the earlier time; cancelling removes the key', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('a', T0 + 100);
    s.schedule('a', T0 + 500);
    s.schedule('b', T0 + 200);
    s.cancel('b');
    expect(s.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.started).toEqual([{ key: 'a', at: T0 + 500 }]);
    await s.stop();
  });

  it('a key scheduled earlier than the armed timer runs at its own time', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('late', T0 + 10_000);
    await vi.advanceTimersByTimeAsync(100);
    s.schedule('early', T0 + 500);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(work.started).toEqual([
      { key: 'early', at: T0 + 500 },
      { key: 'late', at: T0 + 10_000 },
    ]);
    await s.stop();
  });

  it('work that reschedules its own key runs periodically', async () => {
    const times: number[] = [];
    const s: Scheduler<string> = scheduler(async (key) => {
      times.push(Date.now() - T0);
      s.schedule(key, Date.now() + 1_000);
    });
    s.schedule('tick');
    await vi.advanceTimersByTimeAsync(3_500);
    expect(times).toEqual([0, 1_000, 2_000, 3_000]);
    await s.stop();
  });

  it('uses the injected clock to decide what is due', async () => {
    let clock = 0;
    const work = recorder();
    const s = scheduler(work.process, { now: () => clock });
    s.schedule('a', 1_000); // 1 s after the injected clock's zero
    await vi.advanceTimersByTimeAsync(999);
    expect(work.started).toEqual([]);
    clock = 1_000;
    await vi.advanceTimersByTimeAsync(1);
    expect(work.keys()).toEqual(['a']);
    await s.stop();
  });

  it('one slow key does not hold up the others', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('slow', T0);
    s.schedule('fast', T0 + 100);
    await vi.advanceTimersByTimeAsync(100);
    expect(work.keys()).toEqual(['slow', 'fast']);
    work.release('fast');
    work.release('slow');
    await s.stop();
  });

  it('size counts queued and in-flight keys', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('a');
    s.schedule('b', T0 + 1_000);
    expect(s.size).toBe(2);
    await settle();
    expect(work.keys()).toEqual(['a']);
    expect(s.size).toBe(2); // a in flight, b queued
    work.release('a');
    await settle();
    expect(s.size).toBe(1);
    await s.stop();
  });
});

describe('Scheduler: at most maxInFlight at once', () => {
  it('starts no more than maxInFlight keys, and the next one as soon as one finishes', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { maxInFlight: 2 });
    // Distinct times: the order of keys due at the same moment is not part of the contract.
    for (const [i, key] of ['a', 'b', 'c', 'd', 'e'].entries()) s.schedule(key, T0 + i);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(work.keys()).toEqual(['a', 'b']);
    work.release('a');
    await settle();
    expect(work.keys()).toEqual(['a', 'b', 'c']);
    work.release('b');
    work.release('c');
    await settle();
    expect(work.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
    work.release('d');
    work.release('e');
    await settle();
    expect(work.maxInFlight).toBe(2);
    expect(work.inFlight).toBe(0);
    await s.stop();
  });

  it('keys still wait for their time when a slot frees', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { maxInFlight: 1 });
    s.schedule('a', T0);
    s.schedule('b', T0 + 5_000);
    await settle();
    work.release('a');
    await vi.advanceTimersByTimeAsync(4_999);
    expect(work.keys()).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(work.started[1]).toEqual({ key: 'b', at: T0 + 5_000 });
    work.release('b');
    await s.stop();
  });

  it('keys that came due while every slot was busy run when slots free, earliest first', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { maxInFlight: 1 });
    s.schedule('a', T0);
    s.schedule('c', T0 + 300);
    s.schedule('b', T0 + 200);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.keys()).toEqual(['a']);
    work.release('a');
    await settle();
    expect(work.keys()).toEqual(['a', 'b']);
    work.release('b');
    await settle();
    expect(work.keys()).toEqual(['a', 'b', 'c']);
    work.release('c');
    await s.stop();
  });

  it('many keys with a small limit: all run, the limit is never passed', async () => {
    let active = 0;
    let peak = 0;
    let done = 0;
    const s = scheduler(
      async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 50));
        active--;
        done++;
      },
      { maxInFlight: 3 },
    );
    for (let i = 0; i < 30; i++) s.schedule(`k${i}`, T0 + (i % 7) * 10);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(done).toBe(30);
    expect(peak).toBe(3);
    await s.stop();
  });
});

describe('Scheduler: never the same key twice at once', () => {
  it('a key due again while in flight waits, then runs again right after', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('a', T0);
    await settle();
    expect(work.keys()).toEqual(['a']);
    s.schedule('a', T0 + 100);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(work.keys()).toEqual(['a']); // not twice at once
    expect(s.size).toBe(1);
    work.release('a');
    await settle();
    expect(work.keys()).toEqual(['a', 'a']);
    expect(work.started[1]?.at).toBe(T0 + 5_000); // right after the first finished
    work.release('a');
    await settle();
    expect(work.maxSameKey).toBe(1);
    await s.stop();
  });

  it('a key scheduled while in flight for later than its end runs at that later time', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('a', T0);
    await settle();
    s.schedule('a', T0 + 10_000);
    await vi.advanceTimersByTimeAsync(1_000);
    work.release('a');
    await vi.advanceTimersByTimeAsync(8_999);
    expect(work.keys()).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(work.times('a')).toEqual([0, 10_000]);
    work.release('a');
    await s.stop();
  });

  it('a key due again while in flight, then cancelled, does not run again', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('a', T0);
    await settle();
    s.schedule('a', T0 + 10);
    await vi.advanceTimersByTimeAsync(100); // came due while in flight
    s.cancel('a');
    work.release('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(work.keys()).toEqual(['a']);
    await s.stop();
  });

  it('with a slot limit, the second run of a key still happens', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { maxInFlight: 2 });
    s.schedule('a', T0);
    s.schedule('b', T0 + 1);
    await vi.advanceTimersByTimeAsync(1);
    s.schedule('a', T0 + 10);
    await vi.advanceTimersByTimeAsync(100);
    work.release('b');
    work.release('a');
    await settle();
    expect(work.keys()).toEqual(['a', 'b', 'a']);
    work.release('a');
    await settle();
    expect(work.maxSameKey).toBe(1);
    await s.stop();
  });
});

describe('Scheduler: pause while shouldPause()', () => {
  it('starts nothing while paused, re-checks every pauseRecheckMillis, and resumes', async () => {
    let behind = true;
    const shouldPause = vi.fn(() => behind);
    const changes: boolean[] = [];
    const work = recorder();
    const s = scheduler(work.process, { shouldPause, onPausedChange: (p) => changes.push(p), pauseRecheckMillis: 100 });
    s.schedule('a', T0);
    await settle();
    expect(work.started).toEqual([]);
    expect(s.isPaused()).toBe(true);
    expect(changes).toEqual([true]);
    const checks = shouldPause.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.started).toEqual([]);
    expect(shouldPause.mock.calls.length - checks).toBe(10); // once per 100 ms, no busy loop
    expect(changes).toEqual([true]); // reported once, not on every re-check
    behind = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(work.started).toEqual([{ key: 'a', at: T0 + 1_100 }]);
    expect(s.isPaused()).toBe(false);
    expect(changes).toEqual([true, false]);
    await s.stop();
  });

  it('re-checks every 250 ms by default', async () => {
    let behind = true;
    const work = recorder();
    const s = scheduler(work.process, { shouldPause: () => behind });
    s.schedule('a', T0);
    await settle();
    behind = false;
    await vi.advanceTimersByTimeAsync(249);
    expect(work.started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(work.started).toEqual([{ key: 'a', at: T0 + 250 }]);
    await s.stop();
  });

  it('is not paused, and reports nothing, while shouldPause() is false', async () => {
    const changes: boolean[] = [];
    const work = recorder();
    const s = scheduler(work.process, { onPausedChange: (p) => changes.push(p) });
    s.schedule('a');
    await settle();
    expect(s.isPaused()).toBe(false);
    expect(changes).toEqual([]);
    await s.stop();
  });

  it('lets work in flight finish while paused, and starts nothing new', async () => {
    let behind = false;
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { shouldPause: () => behind, pauseRecheckMillis: 100 });
    s.schedule('a', T0);
    await settle();
    behind = true;
    s.schedule('b', T0 + 10);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.keys()).toEqual(['a']);
    work.release('a');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.finished).toEqual(['a']);
    expect(work.keys()).toEqual(['a']);
    behind = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(work.keys()).toEqual(['a', 'b']);
    work.release('b');
    await s.stop();
  });

  it('keeps re-checking every pauseRecheckMillis after work in flight finishes while paused', async () => {
    // `isPaused()` feeds the `polling_paused` gauge: it must turn false within one re-check of
    // delivery catching up, even if the only queued key is far in the future.
    let behind = false;
    const changes: boolean[] = [];
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { shouldPause: () => behind, onPausedChange: (p) => changes.push(p), pauseRecheckMillis: 100 });
    s.schedule('a', T0);
    s.schedule('b', T0 + 50);
    await settle();
    behind = true;
    await vi.advanceTimersByTimeAsync(60); // b comes due: paused
    expect(changes).toEqual([true]);
    s.schedule('b', T0 + 60_000); // b is rescheduled far ahead (as a poll would be)
    work.release('a'); // the work in flight finishes while paused
    await settle();
    behind = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(changes).toEqual([true, false]);
    expect(s.isPaused()).toBe(false);
    await s.stop();
  });
});

describe('Scheduler: stop()', () => {
  it('waits for the work in flight, then dispatches nothing more', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('a', T0);
    s.schedule('b', T0 + 1_000);
    await settle();
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false); // `a` is still in flight
    work.release('a');
    await stopping;
    expect(stopped).toBe(true);
    expect(work.finished).toEqual(['a']);
    s.schedule('c', T0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(work.keys()).toEqual(['a']); // neither the queued `b` nor the new `c`
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a key due again while in flight does not run after stop()', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process);
    s.schedule('a', T0);
    await settle();
    s.schedule('a', T0 + 10);
    await vi.advanceTimersByTimeAsync(100);
    const stopping = s.stop();
    work.release('a');
    await stopping;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(work.keys()).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is idempotent, and leaves no timer behind (also while paused)', async () => {
    const work = recorder();
    const s = scheduler(work.process, { shouldPause: () => true });
    s.schedule('a', T0);
    await settle();
    expect(vi.getTimerCount()).toBe(1); // the pause re-check
    await s.stop();
    await s.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(work.started).toEqual([]);
  });

  it('resolves at once when nothing is in flight', async () => {
    const s = scheduler(recorder().process);
    s.schedule('a', T0 + 10_000);
    await expect(s.stop()).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Scheduler: timers', () => {
  it('arms one timer at a time, for the earliest key', async () => {
    const s = scheduler(recorder().process);
    for (let i = 1; i <= 50; i++) s.schedule(`k${i}`, T0 + i * 1_000);
    expect(vi.getTimerCount()).toBe(1);
    await s.stop();
  });

  it('arms no timer when nothing is queued', async () => {
    const s = scheduler(recorder().process);
    expect(vi.getTimerCount()).toBe(0);
    s.schedule('a', T0 + 1_000);
    s.cancel('a');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(vi.getTimerCount()).toBe(0);
    await s.stop();
  });

  it('never keeps the process alive: its timers are unref\'d', async () => {
    vi.useRealTimers();
    const created: NodeJS.Timeout[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = real(fn, ms);
      created.push(timer);
      return timer;
    }) as typeof setTimeout);
    try {
      let behind = false;
      const s = scheduler(async () => {}, { shouldPause: () => behind, pauseRecheckMillis: 1 });
      s.schedule('far', Date.now() + 3_600_000);
      expect(created).toHaveLength(1);
      expect(created[0]?.hasRef()).toBe(false);
      // The pause re-check timer too.
      behind = true;
      s.schedule('now', Date.now());
      await new Promise((r) => real(r, 5));
      expect(created.length).toBeGreaterThan(2);
      expect(created.every((t) => !t.hasRef())).toBe(true);
      await s.stop();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('Scheduler: capacity (the request budget\'s spare slots)', () => {
  it('starts keys only while there is capacity, earliest due first, and says how late each started', async () => {
    const work = recorder({ hold: true });
    // A budget of `slots`, each key in flight holding one.
    let slots = 1;
    const late: Array<[string, number]> = [];
    const s = scheduler(work.process, { capacity: { spare: () => slots - work.inFlight }, onDispatch: (key, ms) => late.push([key, ms]) });
    s.schedule('b', T0 + 20);
    s.schedule('a', T0 + 10);
    s.schedule('c', T0 + 30);
    await vi.advanceTimersByTimeAsync(40);
    expect(work.keys()).toEqual(['a']);
    expect(s.dueCount()).toBe(2);
    expect(s.overdueMillis()).toBe(20); // b, due at 20, waiting at 40
    slots = 0;
    work.release('a');
    await vi.advanceTimersByTimeAsync(100);
    expect(work.keys()).toEqual(['a']); // a slot of ours freed, but the budget has none
    slots = 2;
    await vi.advanceTimersByTimeAsync(20); // the capacity re-check
    expect(work.keys()).toEqual(['a', 'b', 'c']);
    expect(late.map(([key]) => key)).toEqual(['a', 'b', 'c']);
    expect(late[0]?.[1]).toBe(0);
    expect(late[1]?.[1]).toBeGreaterThanOrEqual(100);
    expect(s.dueCount()).toBe(0);
    expect(s.overdueMillis()).toBe(0);
    work.release('b');
    work.release('c');
    await s.stop();
  });

  it('no more keys start than the capacity allows, however long they wait', async () => {
    const work = recorder({ hold: true });
    const s = scheduler(work.process, { capacity: { spare: () => 3 - work.inFlight } });
    ['a', 'b', 'c', 'd', 'e'].forEach((key, i) => s.schedule(key, T0 - 10 + i));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(work.keys()).toEqual(['a', 'b', 'c']);
    expect(s.dueCount()).toBe(2);
    for (const key of ['a', 'b', 'c']) work.release(key);
    await s.stop();
  });

  it('a freed slot (onSpare) dispatches at once, without waiting for the re-check', async () => {
    const work = recorder();
    let spare = 0;
    let listener: (() => void) | undefined;
    const s = scheduler(work.process, {
      capacity: { spare: () => spare, onSpare: (l) => ((listener = l), () => (listener = undefined)) },
      capacityRecheckMillis: 60_000,
    });
    s.schedule('a', T0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(work.keys()).toEqual([]);
    spare = 1;
    listener?.();
    await settle();
    expect(work.keys()).toEqual(['a']);
    await s.stop();
    expect(listener).toBeUndefined(); // stop() unsubscribes
  });

  it('scheduleNoLaterThan moves a key earlier, never later', async () => {
    const work = recorder();
    const s = scheduler(work.process);
    s.schedule('a', T0 + 1_000);
    s.scheduleNoLaterThan('a', T0 + 5_000);
    s.scheduleNoLaterThan('b', T0 + 2_000);
    s.scheduleNoLaterThan('a', T0 + 500);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(work.times('a')).toEqual([500]);
    expect(work.times('b')).toEqual([2_000]);
    await s.stop();
  });
});
