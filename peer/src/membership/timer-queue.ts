/**
 * A min-heap of deadlines. The core keeps its own record of each timer's current
 * deadline and ignores entries that no longer match it, so timers are never removed,
 * only superseded: rescheduling is one push.
 */
export interface TimerEntry {
  readonly at: number;
  readonly kind: number;
  readonly key: number;
}

export class TimerQueue {
  #heap: TimerEntry[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(at: number, kind: number, key: number): void {
    const heap = this.#heap;
    heap.push({ at, kind, key });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= heap[i]!.at) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  peek(): TimerEntry | undefined {
    return this.#heap[0];
  }

  pop(): TimerEntry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && heap[l]!.at < heap[smallest]!.at) smallest = l;
        if (r < heap.length && heap[r]!.at < heap[smallest]!.at) smallest = r;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
        i = smallest;
      }
    }
    return top;
  }

  clear(): void {
    this.#heap = [];
  }
}
