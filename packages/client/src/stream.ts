import { Fifo } from './fifo.js';

/**
 * An unbounded push queue read as an async iterator: the pull side of a callback registration.
 * Items are never dropped (corosync never drops events either); ending it with an error makes the
 * reader's next() reject once the buffered items are consumed.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer = new Fifo<T>();
  private readonly readers: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private done = false;
  private failure: unknown = undefined;

  constructor(private readonly onReturn?: () => void | Promise<void>) {}

  push(item: T): void {
    if (this.done) return;
    const reader = this.readers.shift();
    if (reader) reader.resolve({ value: item, done: false });
    else this.buffer.push(item);
  }

  /** Ends the stream; with an error, readers get it after the buffered items. */
  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    for (const r of this.readers.splice(0)) {
      if (error !== undefined) r.reject(error);
      else r.resolve({ value: undefined, done: true });
    }
  }

  get ended(): boolean {
    return this.done;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.done) {
      if (this.failure !== undefined) {
        const e = this.failure;
        this.failure = undefined;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  async return(): Promise<IteratorResult<T>> {
    const wasOpen = !this.done;
    this.buffer.clear();
    this.end();
    this.failure = undefined;
    if (wasOpen && this.onReturn) await this.onReturn();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}
