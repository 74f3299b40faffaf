/**
 * A first-in first-out queue with O(1) shift. Array.prototype.shift() moves every remaining item
 * once an array is large (V8 left-trims only small ones): draining a backlog of 100,000 events that
 * way took ~7.5 s here, most of it with the event loop blocked.
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) this.clear();
    // Compacted once half is spent: each item is moved at most once on average.
    else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items.length = 0;
    this.#head = 0;
  }
}
