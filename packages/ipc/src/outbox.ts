// Frames that could not go out at once, kept in order until the peer makes room: datagrams
// a full socket refused (EAGAIN/ENOBUFS), chunks a full ring had no room for.
import { Errno } from '@corosync-ts/types';
import { native } from './native.js';

/** Per queued frame: the ArrayBuffer and array slot beyond the bytes themselves. */
export const QUEUE_OVERHEAD = 64;

export class Outbox {
  private frames: Uint8Array[] = [];
  private head = 0;
  /** Bytes waiting, QUEUE_OVERHEAD counted per frame. */
  bytes = 0;

  get length(): number {
    return this.frames.length - this.head;
  }

  /** Queue a copy: callers may hand us views they reuse (their buffer, codec output in WASM memory). */
  push(frame: Uint8Array): void {
    this.frames.push(frame.slice());
    this.bytes += frame.length + QUEUE_OVERHEAD;
  }

  /** The oldest frame waiting. */
  peek(): Uint8Array | undefined {
    return this.frames[this.head];
  }

  shift(): void {
    const f = this.frames[this.head];
    if (!f) return;
    this.frames[this.head++] = undefined as unknown as Uint8Array;
    this.bytes -= f.length + QUEUE_OVERHEAD;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    }
  }

  /** Hand waiting frames to `write`, oldest first, while it takes them. True when none is left. */
  drain(write: (f: Uint8Array) => boolean): boolean {
    for (let f = this.peek(); f && write(f); f = this.peek()) this.shift();
    return this.length === 0;
  }
}

/** What a datagram send did: the frame went out, or the socket is full (try again on POLLOUT); else a -errno. */
export const SENT = 1;
export const BLOCKED = 0;

/**
 * The send side of a datagram socket: frames go out in order, the ones a full socket refuses
 * wait here. A send that fails for another reason is the end of the connection: its frame is
 * dropped and the -errno returned (-EMSGSIZE for a short send).
 */
export class DatagramOutbox extends Outbox {
  constructor(
    private readonly fd: number,
    /** Called for every frame that went out (the control file's `sent` counter). */
    private readonly onSent: () => void,
  ) {
    super();
  }

  private sendOne(frame: Uint8Array): number {
    const r = native().send(this.fd, frame);
    if (r === frame.length) {
      this.onSent();
      return SENT;
    }
    if (r === -Errno.EAGAIN || r === -Errno.ENOBUFS) return BLOCKED;
    return r < 0 ? r : -Errno.EMSGSIZE;
  }

  /** SENT, BLOCKED (queued: wait for POLLOUT, then flush) or the -errno of a failed send. */
  send(frame: Uint8Array): number {
    if (this.length === 0) {
      const r = this.sendOne(frame);
      if (r !== BLOCKED) return r;
    }
    this.push(frame);
    return BLOCKED;
  }

  /** Send what waits: SENT when all went, BLOCKED when the socket filled again, or a -errno. */
  flush(): number {
    for (let f = this.peek(); f; f = this.peek()) {
      const r = this.sendOne(f);
      if (r === BLOCKED) return BLOCKED;
      this.shift();
      if (r < 0) return r;
    }
    return SENT;
  }
}

/**
 * Rings give no signal when their reader frees space, so a ring outbox polls: on the next turn
 * of the loop while the reader keeps making room (corosync re-queues a loop job the same way),
 * else after a delay that doubles up to `maxDelay` ms.
 */
export class RetryTimer {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private delay = 1;

  constructor(
    /** One pass: write what fits. False when the connection is gone (stop retrying). */
    private readonly attempt: () => boolean,
    /** Frames still waiting. */
    private readonly left: () => number,
    private readonly maxDelay: number,
  ) {}

  private readonly fire = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    const before = this.left();
    if (!this.attempt()) return;
    const left = this.left();
    if (left === 0) {
      this.delay = 1;
    } else if (left < before) {
      this.delay = 1;
      this.immediate = setImmediate(this.fire);
    } else {
      this.timer = setTimeout(this.fire, this.delay);
      this.delay = Math.min(this.delay * 2, this.maxDelay);
    }
  };

  schedule(): void {
    if (this.timer || this.immediate) return;
    this.timer = setTimeout(this.fire, this.delay);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
