/// <reference types="node" />
import type { Socket } from 'node:net';

/**
 * Exact-length reads over a stream socket, the async counterpart of libsam's sam_safe_read: a
 * read of n bytes completes with all n, or with null when the peer closed first.
 */
export class ByteReader {
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  #wakers = new Set<() => void>();

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
      this.#wake();
    });
    const end = () => {
      this.#ended = true;
      this.#wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    // EPIPE / ECONNRESET from a peer that died: to libsam that is the same as EOF.
    socket.on('error', end);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Would a poll(2) for POLLIN on this end return now: data buffered, or EOF. */
  get readable(): boolean {
    return this.#length > 0 || this.#ended;
  }

  /** Resolves at the next arrival of data or EOF; `cancel` forgets the wait. */
  changed(): { promise: Promise<void>; cancel: () => void } {
    let waker!: () => void;
    const promise = new Promise<void>((resolve) => {
      waker = resolve;
      this.#wakers.add(waker);
    });
    return { promise, cancel: () => this.#wakers.delete(waker) };
  }

  async read(n: number): Promise<Buffer | null> {
    while (this.#length < n && !this.#ended) await this.changed().promise;
    if (this.#length < n) return null;
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return out;
  }

  #wake(): void {
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const w of wakers) w();
  }
}
