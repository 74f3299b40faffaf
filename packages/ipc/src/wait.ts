// How a client waits for a due response without blocking its event loop. A local daemon
// usually answers within microseconds; sleeping in epoll or on a futex costs a wake-up that is
// slow on a loaded or virtual machine, so a short busy wait in native code comes first.
import { IpcError } from './errors.js';
import { native, type WaiterHandle } from './native.js';

/**
 * How long a client waits busy in native code for a due reply, once per batch of requests,
 * before it lets the event loop sleep (ns).
 */
export const REPLY_SPIN_NS = 20000;

/** How long the shm client polls for a due response from setImmediate before leaving it to the waiter thread (ms). */
const POLL_MS = 0.05;

/** The shm client transport, as its response wait sees it. */
export interface ResponseSink {
  /** Responses published by the server whose semaphore token nobody has taken yet. */
  readonly due: number;
  /** `count` tokens are ours: read and deliver that many responses. False once the connection failed. */
  take(count: number): boolean;
  /** The waiter thread found the response ring's header truncated under it (SIGBUS absorbed). */
  broken(): void;
}

/**
 * Waits on the shm response ring's semaphore. After a request is published, the first step
 * spins on the semaphore in native code for at most REPLY_SPIN_NS (bounded: the loop is held
 * for that long at most, and only while a reply is due), then keeps polling from setImmediate
 * (the loop turns between polls) until POLL_MS have passed without a response. Then a
 * per-connection thread sleeps in sem_timedwait and reports back through a threadsafe function.
 */
export class ShmResponseWait {
  private waiter: WaiterHandle | undefined;
  private onStopped: (() => void) | undefined;
  private polling = false;
  private pollFirst = false;
  private pollSince = 0;

  constructor(
    private readonly sem: ArrayBuffer,
    private readonly semOffset: number,
    private readonly sink: ResponseSink,
  ) {}

  /** Start the waiter thread if it is not running (before the first request: it may fail). */
  ensureThread(): void {
    if (this.waiter) return;
    const w = native().semWaiter(this.sem, this.semOffset, (count) => this.onThread(count));
    if (typeof w === 'number') throw IpcError.fromErrno(w, 'start the response waiter thread');
    this.waiter = w;
  }

  private onThread(count: number): void {
    if (count === -2) return this.sink.broken();
    if (count < 0) {
      this.onStopped?.();
      return;
    }
    this.sink.take(count);
  }

  /** A request was published: its response is due. */
  expect(): void {
    if (this.polling) return;
    this.polling = true;
    this.pollFirst = true;
    this.pollSince = performance.now();
    setImmediate(this.pollStep);
  }

  private readonly pollStep = (): void => {
    const w = this.waiter;
    if (!w || this.sink.due === 0) {
      this.polling = false;
      return;
    }
    const n = native();
    const got = n.waiterSpinTake(w, this.sink.due, this.pollFirst ? REPLY_SPIN_NS : 0);
    this.pollFirst = false;
    if (!this.sink.take(got) || this.sink.due === 0) {
      this.polling = false;
      return;
    }
    const now = performance.now();
    if (got > 0) this.pollSince = now;
    if (now - this.pollSince > POLL_MS) {
      // Slow reply: let the thread sleep on the semaphore for everything still due.
      this.polling = false;
      n.waiterWant(w, this.sink.due);
      return;
    }
    setImmediate(this.pollStep);
  };

  /** Stop the thread; resolves once it is gone (it may be inside sem_timedwait on the mapping). */
  async stop(): Promise<void> {
    if (!this.waiter) return;
    const stopped = new Promise<void>((resolve) => (this.onStopped = resolve));
    native().waiterStop(this.waiter);
    await stopped;
    this.waiter = undefined;
  }
}
