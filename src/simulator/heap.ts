/** One scheduled wake-up of a run. `version` lets a reschedule make older entries stale instead of searching the heap. */
export interface WakeUp {
  readonly time: number;
  /** Tie-break between runs due in the same instant: the run's creation sequence, so order is deterministic. */
  readonly tie: number;
  readonly runId: string;
  readonly version: number;
}

function before(a: WakeUp, b: WakeUp): boolean {
  return a.time < b.time || (a.time === b.time && a.tie < b.tie);
}

/** A binary min-heap: the scheduler handles tens of thousands of runs (benchmarks) without scanning them all. */
export class WakeUpHeap {
  private readonly items: WakeUp[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): WakeUp | undefined {
    return this.items[0];
  }

  /** Every entry, in no particular order (for "is anything left that drives itself?" scans). */
  entries(): readonly WakeUp[] {
    return this.items;
  }

  push(item: WakeUp): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as WakeUp;
      if (!before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): WakeUp | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      let smallestItem = last;
      const l = items[left];
      if (l !== undefined && before(l, smallestItem)) {
        smallest = left;
        smallestItem = l;
      }
      const r = items[right];
      if (r !== undefined && before(r, smallestItem)) {
        smallest = right;
        smallestItem = r;
      }
      if (smallest === i) break;
      items[i] = smallestItem;
      i = smallest;
    }
    items[i] = last;
    return top;
  }
}
