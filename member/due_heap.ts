/**
 * Items each due at a time, the earliest first (a binary min-heap): what the lessor uses to look
 * only at the leases whose expiry or checkpoint has come, not at every lease on every scan. An
 * item may be pushed again with a new time; the caller tells a stale entry from its current one.
 *
 * Owns: the ordering. Never: reads a clock, or knows what the items are.
 */
export class DueHeap<T> {
  readonly #at: number[] = [];
  readonly #items: T[] = [];

  get size(): number {
    return this.#at.length;
  }

  push(at: number, item: T): void {
    this.#at.push(at);
    this.#items.push(item);
    let i = this.#at.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at[parent] <= at) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The earliest item if it is due at `now` (its time at or before it), taken off the heap. */
  popDue(now: number): T | undefined {
    if (this.#at.length === 0 || this.#at[0] > now) return undefined;
    const item = this.#items[0];
    const lastAt = this.#at.pop()!;
    const lastItem = this.#items.pop()!;
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#items[0] = lastItem;
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let least = i;
        if (l < this.#at.length && this.#at[l] < this.#at[least]) least = l;
        if (r < this.#at.length && this.#at[r] < this.#at[least]) least = r;
        if (least === i) break;
        this.#swap(i, least);
        i = least;
      }
    }
    return item;
  }

  clear(): void {
    this.#at.length = 0;
    this.#items.length = 0;
  }

  #swap(a: number, b: number): void {
    [this.#at[a], this.#at[b]] = [this.#at[b], this.#at[a]];
    [this.#items[a], this.#items[b]] = [this.#items[b], this.#items[a]];
  }
}
