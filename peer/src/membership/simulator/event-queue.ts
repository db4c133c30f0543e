/**
 * The simulator's clock: a min-heap of events ordered by time, then by insertion, so that
 * equal times always resolve the same way and a seed reproduces a run exactly.
 */
import { MinHeap } from '../min-heap.ts';

export interface SimEvent {
  readonly at: number;
  seq: number;
}

export class EventQueue<E extends SimEvent> {
  readonly #heap = new MinHeap<E>(before);
  #seq = 0;

  get size(): number {
    return this.#heap.size;
  }

  push(event: E): void {
    event.seq = this.#seq++;
    this.#heap.push(event);
  }

  peek(): E | undefined {
    return this.#heap.peek();
  }

  pop(): E | undefined {
    return this.#heap.pop();
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
