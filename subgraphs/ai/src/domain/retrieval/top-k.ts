/**
 * The k best of a stream of scored items, kept in a min-heap of size k: O(n log k) instead of sorting
 * all n candidates. Ties go to the smaller key, so equal scores come back in the same order every run.
 */
export interface Scored<T> {
  item: T;
  key: string;
  score: number;
}

/** True when `a` ranks below `b`: a lower score, or the same score and a later key. */
const ranksBelow = <T>(a: Scored<T>, b: Scored<T>) => a.score < b.score || (a.score === b.score && a.key > b.key);

export class TopK<T> {
  /** heap[0] is the worst of the kept items, the one a better candidate replaces. */
  private readonly heap: Scored<T>[] = [];

  constructor(private readonly k: number) {}

  offer(candidate: Scored<T>): void {
    if (this.k <= 0) return;
    if (this.heap.length < this.k) {
      this.heap.push(candidate);
      this.siftUp(this.heap.length - 1);
    } else if (ranksBelow(this.heap[0]!, candidate)) {
      this.heap[0] = candidate;
      this.siftDown(0);
    }
  }

  /** The kept items, best first. */
  sorted(): Scored<T>[] {
    return [...this.heap].sort((a, b) => (ranksBelow(a, b) ? 1 : ranksBelow(b, a) ? -1 : 0));
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!ranksBelow(heap[index]!, heap[parent]!)) return;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let worst = index;
      if (left < heap.length && ranksBelow(heap[left]!, heap[worst]!)) worst = left;
      if (right < heap.length && ranksBelow(heap[right]!, heap[worst]!)) worst = right;
      if (worst === index) return;
      [heap[index], heap[worst]] = [heap[worst]!, heap[index]!];
      index = worst;
    }
  }
}
