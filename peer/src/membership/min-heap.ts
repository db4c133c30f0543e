/**
 * A binary min-heap under a caller's ordering. The core's timers and the simulator's
 * event queue both stand on it; each decides what "earlier" means.
 */
export class MinHeap<T> {
  #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const heap = this.#items;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  pop(): T | undefined {
    const heap = this.#items;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let first = i;
        if (l < heap.length && this.#less(heap[l]!, heap[first]!)) first = l;
        if (r < heap.length && this.#less(heap[r]!, heap[first]!)) first = r;
        if (first === i) break;
        [heap[first], heap[i]] = [heap[i]!, heap[first]!];
        i = first;
      }
    }
    return top;
  }

  clear(): void {
    this.#items = [];
  }
}
