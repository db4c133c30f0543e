/**
 * The simulator's clock: a min-heap of events ordered by time, then by insertion, so that
 * equal times always resolve the same way and a seed reproduces a run exactly.
 */
export interface SimEvent {
  readonly at: number;
  seq: number;
}

export class EventQueue<E extends SimEvent> {
  #heap: E[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(event: E): void {
    event.seq = this.#seq++;
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  peek(): E | undefined {
    return this.#heap[0];
  }

  pop(): E | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let first = i;
        if (l < heap.length && before(heap[l]!, heap[first]!)) first = l;
        if (r < heap.length && before(heap[r]!, heap[first]!)) first = r;
        if (first === i) break;
        [heap[first], heap[i]] = [heap[i]!, heap[first]!];
        i = first;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
