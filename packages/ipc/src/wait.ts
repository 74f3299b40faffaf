// How a client waits for a due response without blocking its event loop. A local daemon
// usually answers within microseconds, and sleeping in epoll or on a futex costs a wake-up, so
// a busy wait in native code (at most 20 µs) saves the round trip much of its latency, and CPU
// too: measured with bench/ipc on this 2-vCPU machine at load 12-19, a spin that catches its
// reply costs less CPU per call than the sleep and wake-up it replaces, and corosync (SCHED_RR
// 99) answers within it even then. Every variant that spun less measured worse (CPU per call,
// socket / shm, fixed spin first): no spin while the load average exceeds the CPU count
// 37.5 / 41.6 µs against 44.2 / 47.5; a budget of 3x the recent wait 37.3 / 30.5 against
// 46.8 / 36.2; skipping 1, 2, 4 ... 64 replies after each miss 33.9 / 34.6 against 41.2 / 52.3.
// So spinning stops only when it clearly does not pay: a run of missed spins (a daemon that
// answers slowly, a starved machine).
import { IpcError } from './errors.js';
import { native, type WaiterHandle } from './native.js';

/** The longest busy wait for a due reply, once per batch of requests (ns). */
const MAX_SPIN_NS = 200000;
/** Missed spins in a row after which the next replies go without spinning. */
const MISSES = 8;
/** Replies waited for without spinning before the next try. */
const PAUSE = 16;
/** How long the shm client polls for a due response from setImmediate before leaving it to the waiter thread (ms). */
const POLL_MS = 0.05;

/**
 * Whether to spin for the next reply: yes, unless the last MISSES spins in a row all missed
 * their replies; then the next PAUSE replies go without, and a spin tries again (one catch
 * ends the pause for good).
 */
export class SpinPolicy {
  private misses = 0;
  private skip = 0;

  /** Spin budget for the reply now due (ns); 0: do not spin. */
  budget(): number {
    if (this.skip > 0) {
      this.skip--;
      return 0;
    }
    return MAX_SPIN_NS;
  }

  /** What a spin did: caught its reply, or not. */
  record(caught: boolean): void {
    if (caught) {
      this.misses = 0;
    } else if (++this.misses >= MISSES) {
      this.misses = MISSES - 1;
      this.skip = PAUSE;
    }
  }
}

/** Spin with `fn` for at most policy.budget() ns; how many replies it brought (0 without spinning). */
export function spinFor(policy: SpinPolicy, fn: (ns: number) => number): number {
  const budget = policy.budget();
  if (budget === 0) return fn(0);
  const got = fn(budget);
  policy.record(got > 0);
  return got;
}

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
 * spins on the semaphore in native code as SpinPolicy allows (the loop is held that long at
 * most, and only while a reply is due), then it keeps polling from setImmediate (the loop
 * turns between polls) until POLL_MS have passed without a response. Then a
 * per-connection thread sleeps in sem_timedwait and reports back through a threadsafe function.
 */
export class ShmResponseWait {
  private waiter: WaiterHandle | undefined;
  private stopping: Promise<void> | undefined;
  private onStopped: (() => void) | undefined;
  private polling = false;
  private pollFirst = false;
  private pollSince = 0;
  private readonly spin = new SpinPolicy();

  constructor(
    private readonly sem: ArrayBuffer,
    private readonly semOffset: number,
    private readonly sink: ResponseSink,
  ) {}

  /** Start the waiter thread if it is not running (before the first request: it may fail). */
  ensureThread(): void {
    if (this.waiter || this.stopping) return;
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
    const got = this.pollFirst ? spinFor(this.spin, (ns) => n.waiterWaitTake(w, this.sink.due, ns)) : n.waiterSpinTake(w, this.sink.due, 0);
    this.pollFirst = false;
    if (!this.sink.take(got) || this.sink.due === 0) {
      this.polling = false;
      return;
    }
    const now = performance.now();
    if (got > 0) this.pollSince = now;
    // Polling goes on whether or not the spin paid: the waiter thread's wake-up and its hop back
    // onto the loop cost more CPU per reply than these polls, busy machine or not (measured with
    // bench/ipc: shm CPU per call 39.5 µs against 34.0, pipelined throughput a quarter).
    if (now - this.pollSince > POLL_MS) {
      // A slow reply: let the thread sleep on the semaphore for everything still due.
      this.polling = false;
      n.waiterWant(w, this.sink.due);
      return;
    }
    setImmediate(this.pollStep);
  };

  /**
   * Stop the thread; resolves once it is gone (it may be inside sem_timedwait on the mapping) and
   * every report it sent before has run. Every call gets that one stop; no thread starts after it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopThread();
    return this.stopping;
  }

  private async stopThread(): Promise<void> {
    if (!this.waiter) return;
    const stopped = new Promise<void>((resolve) => (this.onStopped = resolve));
    native().waiterStop(this.waiter);
    await stopped;
    this.waiter = undefined;
  }
}
