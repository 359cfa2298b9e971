/**
 * Keys ordered by when they are next due: a binary min-heap with lazy deletion. Rescheduling or
 * cancelling is O(log n) and finding due work costs what is due, not what is queued, so a tick's
 * work grows with what is due rather than with everything watched.
 */
interface Entry<K> {
  key: K;
  dueAt: number;
  version: number;
}

export class DueQueue<K> {
  private heap: Entry<K>[] = [];
  /** The live version of each key; heap entries with another version are stale. */
  private readonly versions = new Map<K, { version: number; dueAt: number }>();
  private counter = 0;

  get size(): number {
    return this.versions.size;
  }

  has(key: K): boolean {
    return this.versions.has(key);
  }

  dueAt(key: K): number | undefined {
    return this.versions.get(key)?.dueAt;
  }

  /** Schedules `key` at `dueAt`, replacing any earlier schedule of it. */
  schedule(key: K, dueAt: number): void {
    const version = ++this.counter;
    this.versions.set(key, { version, dueAt });
    this.push({ key, dueAt, version });
    // Stale entries are dropped when they surface; compact if they ever dominate the heap.
    if (this.heap.length > 64 && this.heap.length > 4 * this.versions.size) this.compact();
  }

  cancel(key: K): void {
    this.versions.delete(key);
  }

  /** The earliest due time, or undefined when empty. */
  nextDueAt(): number | undefined {
    this.dropStale();
    return this.heap[0]?.dueAt;
  }

  /** Removes and returns up to `max` keys due at or before `now`, earliest first. */
  popDue(now: number, max = Infinity): K[] {
    const out: K[] = [];
    this.popDueEach(now, max, (key) => out.push(key));
    return out;
  }

  /** Like `popDue`, handing each key with the time it was due to `each` (no array on the way). */
  popDueEach(now: number, max: number, each: (key: K, dueAt: number) => void): number {
    let popped = 0;
    while (popped < max) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.dueAt > now) break;
      this.pop();
      this.versions.delete(top.key);
      popped++;
      each(top.key, top.dueAt);
    }
    return popped;
  }

  /** How many keys are due at or before `now`: costs what is due, not what is queued. */
  countDue(now: number): number {
    let count = 0;
    const stack = this.heap.length > 0 ? [0] : [];
    while (stack.length > 0) {
      const i = stack.pop() as number;
      const entry = this.heap[i];
      if (!entry || entry.dueAt > now) continue; // a heap: nothing below is due either
      if (!this.isStale(entry)) count++;
      stack.push(2 * i + 1, 2 * i + 2);
    }
    return count;
  }

  private isStale(entry: Entry<K>): boolean {
    return this.versions.get(entry.key)?.version !== entry.version;
  }

  private dropStale(): void {
    while (this.heap.length > 0 && this.isStale(this.heap[0] as Entry<K>)) this.pop();
  }

  private compact(): void {
    this.heap = this.heap.filter((e) => !this.isStale(e));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private push(entry: Entry<K>): void {
    this.heap.push(entry);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.heap[parent] as Entry<K>).dueAt <= entry.dueAt) break;
      this.heap[i] = this.heap[parent] as Entry<K>;
      i = parent;
    }
    this.heap[i] = entry;
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last === undefined || this.heap.length === 0) return;
    this.heap[0] = last;
    this.down(0);
  }

  private down(start: number): void {
    const heap = this.heap;
    const entry = heap[start] as Entry<K>;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Entry<K>).dueAt < (heap[left] as Entry<K>).dueAt ? right : left;
      if ((heap[child] as Entry<K>).dueAt >= entry.dueAt) break;
      heap[i] = heap[child] as Entry<K>;
      i = child;
    }
    heap[i] = entry;
  }
}
