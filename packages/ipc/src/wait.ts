// How a client waits for a due response without blocking its event loop. A local daemon
// usually answers within microseconds, and sleeping in epoll or on a futex costs a wake-up, so
// a short busy wait in native code can save the round trip most of its latency. It only pays
// while replies do come within it and the CPU it burns is idle otherwise: on a loaded machine
// the spinning competes with the daemon and everyone else, and a sleeper is woken promptly
// anyway (the scheduler favours tasks that slept). SpinPolicy decides, per connection.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { IpcError } from './errors.js';
import { native, type WaiterHandle } from './native.js';

/** The longest busy wait for a due reply, once per batch of requests (ns). */
const MAX_SPIN_NS = 20000;
const MIN_SPIN_NS = 2000;
/** After a spin that missed its reply, replies waited for without spinning before the next try, at most. */
const MAX_BACKOFF = 64;
/** How long the shm client polls for a due response from setImmediate before leaving it to the waiter thread (ms). */
const POLL_MS = 0.05;

/** Whether the machine has no CPU to spare: sampled at most once a second, for every connection. */
const machine = { busy: false, nextSample: 0, total: 0, steal: 0 };
function machineBusy(now: number): boolean {
  if (now < machine.nextSample) return machine.busy;
  machine.nextSample = now + 1000;
  // More runnable tasks than CPUs over the last minute (a spinning client counts as one) ...
  let busy = loadavg()[0]! > availableParallelism();
  try {
    // ... or the hypervisor took more than a tenth of the CPU time since the last sample.
    const cpu = readFileSync('/proc/stat', 'latin1');
    const f = cpu.slice(0, cpu.indexOf('\n')).split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const steal = f[7] ?? 0;
    if (machine.total > 0 && total > machine.total && (steal - machine.steal) / (total - machine.total) > 0.1) busy = true;
    machine.total = total;
    machine.steal = steal;
  } catch {}
  machine.busy = busy;
  return busy;
}

/**
 * How long to spin for the next reply. A spin that catches its reply keeps spinning on, its
 * budget three times the recent wait (so a prompt daemon costs little CPU); one that misses
 * makes the next replies go without, for twice as many each time (up to MAX_BACKOFF), then
 * tries again. No spinning at all while the machine is busy.
 */
export class SpinPolicy {
  private skip = 0;
  private backoff = 0;
  /** Recent wait for a reply that came within the spin (ns, moving average). */
  private wait = MAX_SPIN_NS / 4;
  private busy = false;

  constructor(private readonly machineIsBusy: (now: number) => boolean = machineBusy) {}

  /** Spin budget for the reply now due (ns); 0: do not spin. */
  budget(now = performance.now()): number {
    this.busy = this.machineIsBusy(now);
    if (this.busy) return 0;
    if (this.skip > 0) {
      this.skip--;
      return 0;
    }
    return Math.min(MAX_SPIN_NS, Math.max(MIN_SPIN_NS, Math.round(3 * this.wait)));
  }

  /** What a spin of `budget` ns did: caught its reply after `spentNs`, or not. */
  record(caught: boolean, spentNs: number, budget: number): void {
    if (caught) {
      this.backoff = 0;
      this.wait += (spentNs - this.wait) / 8;
    } else {
      // The reply takes longer than the budget: aim higher next time, and wait a while.
      this.wait += (2 * budget - this.wait) / 8;
      this.backoff = Math.min(this.backoff ? 2 * this.backoff : 1, MAX_BACKOFF);
      this.skip = this.backoff;
    }
  }

  /** Whether spinning pays at the moment (the shm client then also polls from setImmediate). */
  get paying(): boolean {
    return this.skip === 0 && this.backoff === 0 && !this.busy;
  }
}

/** Spin with `fn` for at most policy.budget() ns; how many replies it brought (0 without spinning). */
export function spinFor(policy: SpinPolicy, fn: (ns: number) => number): number {
  const t0 = performance.now();
  const budget = policy.budget(t0);
  if (budget === 0) return fn(0);
  const got = fn(budget);
  policy.record(got > 0, (performance.now() - t0) * 1e6, budget);
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
 * most, and only while a reply is due); while spinning pays it keeps polling from setImmediate
 * (the loop turns between polls) until POLL_MS have passed without a response. Then a
 * per-connection thread sleeps in sem_timedwait and reports back through a threadsafe function.
 */
export class ShmResponseWait {
  private waiter: WaiterHandle | undefined;
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
    const got = this.pollFirst ? spinFor(this.spin, (ns) => n.waiterSpinTake(w, this.sink.due, ns)) : n.waiterSpinTake(w, this.sink.due, 0);
    this.pollFirst = false;
    if (!this.sink.take(got) || this.sink.due === 0) {
      this.polling = false;
      return;
    }
    const now = performance.now();
    if (got > 0) this.pollSince = now;
    if (!this.spin.paying || now - this.pollSince > POLL_MS) {
      // A slow reply, or a busy machine: let the thread sleep on the semaphore for everything still due.
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
