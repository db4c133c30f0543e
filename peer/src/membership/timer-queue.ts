/**
 * A min-heap of deadlines. The core keeps its own record of each timer's current
 * deadline and ignores entries that no longer match it, so timers are never removed,
 * only superseded: rescheduling is one push.
 */
import { MinHeap } from './min-heap.ts';

export interface TimerEntry {
  readonly at: number;
  readonly kind: number;
  readonly key: number;
}

export class TimerQueue {
  readonly #heap = new MinHeap<TimerEntry>((a, b) => a.at < b.at);

  get size(): number {
    return this.#heap.size;
  }

  push(at: number, kind: number, key: number): void {
    this.#heap.push({ at, kind, key });
  }

  peek(): TimerEntry | undefined {
    return this.#heap.peek();
  }

  pop(): TimerEntry | undefined {
    return this.#heap.pop();
  }

  clear(): void {
    this.#heap.clear();
  }
}
