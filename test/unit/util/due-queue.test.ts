/**
 * `DueQueue` (src/util/due-queue.ts): keys ordered by when they are next due. Rescheduling replaces
 * a key's earlier schedule, cancelling removes it, `popDue(now, max)` removes and returns up to `max`
 * due keys earliest first, and stale heap entries (left by reschedules and cancels) are compacted
 * once they dominate, so many reschedules of a few keys keep the heap bounded.
 */
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../../../src/util/due-queue.js';

/** A small deterministic PRNG (mulberry32), so a failing random case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The heap's length is private; the compaction contract is about it, so the bound test reads it
 * (and only it). Everything else is observed through the public surface.
 */
function heapLength(queue: DueQueue<unknown>): number {
  return (queue as unknown as { heap: unknown[] }).heap.length;
}

describe('DueQueue: ordering', () => {
  it('is empty to begin with', () => {
    const queue = new DueQueue<string>();
    expect(queue.size).toBe(0);
    expect(queue.nextDueAt()).toBeUndefined();
    expect(queue.popDue(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('pops due keys earliest first, whatever the order they were scheduled in', () => {
    const queue = new DueQueue<string>();
    queue.schedule('c', 30);
    queue.schedule('a', 10);
    queue.schedule('e', 50);
    queue.schedule('b', 20);
    queue.schedule('d', 40);
    expect(queue.size).toBe(5);
    expect(queue.nextDueAt()).toBe(10);
    expect(queue.popDue(100)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(queue.size).toBe(0);
  });

  it('pops only what is due at or before `now`, and keeps the rest', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 10);
    queue.schedule('b', 20);
    queue.schedule('c', 30);
    expect(queue.popDue(9)).toEqual([]);
    expect(queue.popDue(20)).toEqual(['a', 'b']); // `b` is due exactly at now: included
    expect(queue.size).toBe(1);
    expect(queue.has('a')).toBe(false);
    expect(queue.has('c')).toBe(true);
    expect(queue.nextDueAt()).toBe(30);
  });

  it('reports each key\'s due time, and forgets it once popped', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 10);
    expect(queue.dueAt('a')).toBe(10);
    expect(queue.dueAt('zzz')).toBeUndefined();
    queue.popDue(10);
    expect(queue.dueAt('a')).toBeUndefined();
    expect(queue.has('a')).toBe(false);
  });

  it('keeps keys with the same due time apart (all of them are popped)', () => {
    const queue = new DueQueue<string>();
    for (const key of ['x', 'y', 'z']) queue.schedule(key, 5);
    expect(queue.popDue(5).sort()).toEqual(['x', 'y', 'z']);
  });

  it('works with non-string keys (identity, as a Map)', () => {
    const a = { id: 'a' };
    const b = { id: 'b' };
    const queue = new DueQueue<{ id: string }>();
    queue.schedule(b, 2);
    queue.schedule(a, 1);
    expect(queue.popDue(2)).toEqual([a, b]);
  });
});

describe('DueQueue: rescheduling and cancelling', () => {
  it('rescheduling later replaces the earlier schedule (the key is not due at its old time)', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 10);
    queue.schedule('b', 20);
    queue.schedule('a', 30);
    expect(queue.size).toBe(2);
    expect(queue.dueAt('a')).toBe(30);
    expect(queue.nextDueAt()).toBe(20);
    expect(queue.popDue(25)).toEqual(['b']);
    expect(queue.popDue(30)).toEqual(['a']);
    expect(queue.popDue(1_000)).toEqual([]); // popped once, not twice
  });

  it('rescheduling earlier replaces the later schedule', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 100);
    queue.schedule('b', 50);
    queue.schedule('a', 10);
    expect(queue.nextDueAt()).toBe(10);
    expect(queue.popDue(60)).toEqual(['a', 'b']);
    expect(queue.popDue(1_000)).toEqual([]);
  });

  it('rescheduling at the same time leaves one entry', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 10);
    queue.schedule('a', 10);
    expect(queue.size).toBe(1);
    expect(queue.popDue(10)).toEqual(['a']);
    expect(queue.popDue(10)).toEqual([]);
  });

  it('a cancelled key is never popped, and cancelling an unknown key is harmless', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 10);
    queue.schedule('b', 20);
    queue.cancel('a');
    queue.cancel('never-scheduled');
    expect(queue.has('a')).toBe(false);
    expect(queue.size).toBe(1);
    expect(queue.nextDueAt()).toBe(20);
    expect(queue.popDue(100)).toEqual(['b']);
  });

  it('a key cancelled then scheduled again is due at its new time only', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 10);
    queue.cancel('a');
    queue.schedule('a', 40);
    expect(queue.popDue(39)).toEqual([]);
    expect(queue.popDue(40)).toEqual(['a']);
  });

  it('cancelling every key empties the queue', () => {
    const queue = new DueQueue<number>();
    for (let i = 0; i < 100; i++) queue.schedule(i, i);
    for (let i = 0; i < 100; i++) queue.cancel(i);
    expect(queue.size).toBe(0);
    expect(queue.nextDueAt()).toBeUndefined();
    expect(queue.popDue(Infinity)).toEqual([]);
  });
});

describe('DueQueue: popDue limits', () => {
  it('returns at most `max` keys, earliest first, and leaves the others due', () => {
    const queue = new DueQueue<string>();
    queue.schedule('c', 3);
    queue.schedule('a', 1);
    queue.schedule('d', 4);
    queue.schedule('b', 2);
    expect(queue.popDue(10, 2)).toEqual(['a', 'b']);
    expect(queue.size).toBe(2);
    expect(queue.popDue(10, 1)).toEqual(['c']);
    expect(queue.popDue(10, 5)).toEqual(['d']);
  });

  it('`max` 0 pops nothing', () => {
    const queue = new DueQueue<string>();
    queue.schedule('a', 1);
    expect(queue.popDue(10, 0)).toEqual([]);
    expect(queue.has('a')).toBe(true);
  });

  it('stale entries do not count against `max`', () => {
    const queue = new DueQueue<string>();
    for (let i = 0; i < 10; i++) queue.schedule('a', 9 - i); // nine stale entries of `a` at 1..9, live at 0
    queue.schedule('b', 5);
    queue.schedule('c', 6);
    expect(queue.popDue(100, 2)).toEqual(['a', 'b']);
    expect(queue.popDue(100, 2)).toEqual(['c']);
  });
});

describe('DueQueue: stale-entry compaction', () => {
  it('many reschedules of a few keys keep the heap bounded, and the keys stay right', () => {
    const queue = new DueQueue<string>();
    const keys = ['a', 'b', 'c'];
    let maxHeap = 0;
    for (let round = 0; round < 10_000; round++) {
      for (const [i, key] of keys.entries()) queue.schedule(key, round * 10 + i);
      maxHeap = Math.max(maxHeap, heapLength(queue));
    }
    expect(queue.size).toBe(3);
    // Compaction kicks in past 64 entries once stale ones are more than 4 in 5: a few keys stay small.
    expect(maxHeap).toBeLessThanOrEqual(65);
    expect(queue.nextDueAt()).toBe(99_990);
    expect(queue.popDue(Infinity)).toEqual(['a', 'b', 'c']);
    expect(queue.size).toBe(0);
  });

  it('reschedules to earlier and later times alike stay bounded and ordered', () => {
    const queue = new DueQueue<number>();
    const random = prng(7);
    const due = new Map<number, number>();
    let maxHeap = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = Math.floor(random() * 8);
      const at = Math.floor(random() * 1_000_000);
      queue.schedule(key, at);
      due.set(key, at);
      maxHeap = Math.max(maxHeap, heapLength(queue));
    }
    expect(maxHeap).toBeLessThanOrEqual(65);
    const expected = [...due.entries()].sort((x, y) => x[1] - y[1]).map(([k]) => k);
    expect(queue.popDue(Infinity).map((k) => due.get(k))).toEqual(expected.map((k) => due.get(k)));
  });

  it('compaction keeps every live key (a large queue with a few hot keys)', () => {
    const queue = new DueQueue<string>();
    for (let i = 0; i < 50; i++) queue.schedule(`cold${i}`, 1_000_000 + i);
    for (let round = 0; round < 2_000; round++) queue.schedule(`hot${round % 2}`, round);
    expect(queue.size).toBe(52);
    const popped = queue.popDue(Infinity);
    expect(popped.slice(0, 2).sort()).toEqual(['hot0', 'hot1']);
    expect(popped.slice(2)).toEqual(Array.from({ length: 50 }, (_, i) => `cold${i}`));
  });

  it('time spent is proportional to what is due, not to stale entries (smoke: 200k reschedules finish quickly)', () => {
    const queue = new DueQueue<number>();
    const start = performance.now();
    for (let i = 0; i < 200_000; i++) queue.schedule(i % 4, i);
    expect(queue.popDue(Infinity)).toHaveLength(4);
    expect(performance.now() - start).toBeLessThan(1_000);
  });
});

describe('DueQueue: against a reference model', () => {
  /** The obvious implementation: a map from key to due time, sorted on every pop. */
  class Model {
    readonly due = new Map<number, number>();
    schedule(key: number, at: number): void {
      this.due.set(key, at);
    }
    cancel(key: number): void {
      this.due.delete(key);
    }
    nextDueAt(): number | undefined {
      let min: number | undefined;
      for (const at of this.due.values()) if (min === undefined || at < min) min = at;
      return min;
    }
    /** The due times `popDue` must return, in order (ties between keys may pop in any order). */
    dueTimes(now: number, max: number): number[] {
      return [...this.due.values()].filter((at) => at <= now).sort((a, b) => a - b).slice(0, max);
    }
  }

  it.each([1, 2, 3, 42, 1234, 99999])('random operations agree with the model (seed %i)', (seed) => {
    const random = prng(seed);
    const queue = new DueQueue<number>();
    const model = new Model();
    let now = 0;
    /** The first disagreement, if any (one `expect` at the end keeps 3,000 steps fast). */
    let mismatch: { step: number; what: string; got: unknown; want: unknown } | undefined;
    const check = (step: number, what: string, got: unknown, want: unknown) => {
      if (mismatch === undefined && JSON.stringify(got) !== JSON.stringify(want)) mismatch = { step, what, got, want };
    };
    for (let step = 0; step < 3_000 && mismatch === undefined; step++) {
      const r = random();
      const key = Math.floor(random() * 40);
      if (r < 0.55) {
        const at = now + Math.floor(random() * 200) - 20; // some already overdue
        queue.schedule(key, at);
        model.schedule(key, at);
      } else if (r < 0.7) {
        queue.cancel(key);
        model.cancel(key);
      } else {
        now += Math.floor(random() * 60);
        const max = random() < 0.3 ? Math.floor(random() * 4) : Infinity;
        const expected = model.dueTimes(now, max);
        const popped = queue.popDue(now, max);
        // Same due times in the same order; each popped key was live with that due time.
        check(step, 'popDue due times', popped.map((k) => model.due.get(k)), expected);
        check(step, 'popDue distinct keys', new Set(popped).size, popped.length);
        for (const k of popped) model.cancel(k);
      }
      check(step, 'size', queue.size, model.due.size);
      check(step, 'nextDueAt', queue.nextDueAt(), model.nextDueAt());
      check(step, 'has', queue.has(key), model.due.has(key));
      check(step, 'dueAt', queue.dueAt(key), model.due.get(key));
    }
    expect(mismatch).toBeUndefined();
  });
});

describe('DueQueue: countDue and popDueEach', () => {
  it('countDue counts the live keys due at or before `now`, stale entries aside', () => {
    const queue = new DueQueue<string>();
    for (let i = 0; i < 50; i++) queue.schedule(`k${i}`, i);
    queue.schedule('k3', 100); // k3's entry at 3 is now stale
    queue.cancel('k4');
    expect(queue.countDue(-1)).toBe(0);
    expect(queue.countDue(9)).toBe(8); // 0..9 without k3 and k4
    expect(queue.countDue(1_000)).toBe(49);
  });

  it('popDueEach hands over each key with its due time, earliest first, up to `max`', () => {
    const queue = new DueQueue<string>();
    queue.schedule('b', 20);
    queue.schedule('a', 10);
    queue.schedule('c', 30);
    const got: Array<[string, number]> = [];
    expect(queue.popDueEach(25, 5, (key, at) => got.push([key, at]))).toBe(2);
    expect(got).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
    expect(queue.has('c')).toBe(true);
  });
});
