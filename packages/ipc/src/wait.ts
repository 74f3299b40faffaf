// How a client waits for a due response. libcmap blocks in poll() or sem_wait: asleep it costs
// no CPU, and the daemon's send or sem_post wakes it directly. We do the same on the loop thread,
// bounded: once the caller's synchronous code is done, ppoll on the response socket or
// sem_timedwait on the response semaphore for at most WAIT_NS, and on a timeout the reply is
// left to the asynchronous path (uv_poll, or the shm polls and waiter thread). The loop is held
// at most WAIT_NS per wait: corosync (SCHED_RR 99) answers a GET within tens of µs even at load
// 20 on 2 vCPUs. After a reply caught within 200 µs the bound is 5 ms (WAIT_NS), not the 200 µs
// it was (still RETRY_WAIT_NS: the first wait's, and that after a miss or a slower catch): a sleep
// whose timeout is the CPU's earliest timer makes the kernel program the clock-event device as it
// sleeps and again as it wakes early, which on a virtual machine exits to the hypervisor.
// Measured on the 2-vCPU VM (bench/README.md "CPU per GET: the wait's timer"): a ping-pong over
// a socketpair between two vCPUs cost 15.9-18.4 µs of CPU per round trip waiting in poll(-1),
// 22.3-26.0 in ppoll with a 200 µs or 1 ms timeout, 17.3-17.6 with 4 ms or more; getUint32
// against corosync with the client on the other vCPU (the idle report's shape), 5 interleaved
// rounds at load 0.6: socket 29.5 -> 21.0 µs of CPU per call (libcmap 19.0), shm 23.5 -> 16.7
// (libcmap 15.8), throughput socket 18.7k -> 20.0k (libcmap 20.3k), shm 24.5k -> 24.4k (23.8k).
// The variants below were measured with the 200 µs bound.
// A daemon that stops answering (slow, dead, hostile) costs MISSES waits in a row, then one
// wait per PAUSE + 1 replies.
// The wait runs from a microtask, not setImmediate, while a chain of them has lasted less than
// CHAIN_MS since the loop last turned: no loop turn (epoll_wait, the immediate queue) per call.
// Then one step goes through setImmediate, so timers and I/O wait CHAIN_MS plus one wait at most.
// Measured (bench/client/get-ab.mjs: getUint32 CPU per call after 5,000 warm-up calls, 2 vCPUs
// at load 12-20, medians of 5 interleaved rounds, socket / shm; libcmap 12.5 / 8.6 µs): the
// previous policy, a busy wait of at most 20 µs from setImmediate, 25.1 / 22.6 µs; a sleep of at
// most 200 µs from setImmediate 24.4 / 23.3; the sleep from a chained microtask 24.9 / 16.2; the
// 20 µs spin from a chained microtask 23.0 / 17.0. The sleep is kept: the same CPU as the spin,
// none burnt while a late answer is awaited. Earlier spin variants that measured worse (bench/ipc,
// load 12-19, socket / shm): no spin while the load average exceeds the CPU count 37.5 / 41.6 µs
// against 44.2 / 47.5; a budget of 3x the recent wait 37.3 / 30.5 against 46.8 / 36.2; skipping
// 1, 2, 4 ... 64 replies after each miss 33.9 / 34.6 against 41.2 / 52.3.
import { IpcError } from './errors.js';
import { native, type WaiterHandle } from './native.js';
import { loopTurn } from './turns.js';

/**
 * The longest sleeping wait for a due reply on the loop thread, once per batch of requests, while
 * the last wait caught its reply within RETRY_WAIT_NS (ns; the addon caps waits there too).
 */
export const WAIT_NS = 5000000;
/**
 * The bound of the first wait and of each wait after one that timed out or caught its reply later
 * than this (ns): a server that stopped answering, one that answers in milliseconds, or one that
 * answers only when the loop turns (a mock in this very process) holds the loop this long per
 * wait, as before WAIT_NS was raised. Its timer costs what the header says, but only then.
 */
export const RETRY_WAIT_NS = 200000;
/** Missed waits in a row after which the next replies go without waiting. */
const MISSES = 8;
/** Replies left to the asynchronous path after MISSES missed waits, before the next try. */
const PAUSE = 16;
/** How long the shm client polls for a due response from setImmediate before leaving it to the waiter thread (ms). */
const POLL_MS = 0.05;
/** The longest chain of waits run from microtasks before the loop gets a turn (ms). */
const CHAIN_MS = 1;

/**
 * process.hrtime, read once: `process` has slow properties, and looking the function up on it
 * was ~200 of the ~340 instructions of a clock read (callgrind), paid once per chained call.
 */
const hrtime = process.hrtime;

/**
 * Monotonic milliseconds. Not performance.now(): Node's first read of the `performance` global
 * loads perf_hooks (ten internal modules), and a short script's first call here paid for it.
 */
function nowMs(): number {
  const t = hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

/**
 * Whether to wait for the next reply on the loop thread: yes, unless the last MISSES waits in a
 * row all timed out; then the next PAUSE replies go without, and a wait tries again (one catch
 * ends the pause for good). How long: WAIT_NS after a reply caught within RETRY_WAIT_NS, else
 * RETRY_WAIT_NS.
 */
export class WaitPolicy {
  private misses = 0;
  private skip = 0;
  private quick = false;

  /** Wait budget for the reply now due (ns); 0: do not wait. */
  budget(): number {
    if (this.skip > 0) {
      this.skip--;
      return 0;
    }
    return this.quick ? WAIT_NS : RETRY_WAIT_NS;
  }

  /**
   * What a wait did: caught its reply, or not; `quick`: within RETRY_WAIT_NS. Only a quick catch
   * earns the long bound: a daemon answering in milliseconds (a call it answers after a totem
   * round, a daemon under load) would otherwise hold the loop that long at every call.
   */
  record(caught: boolean, quick = caught): void {
    this.quick = caught && quick;
    if (caught) {
      this.misses = 0;
    } else if (++this.misses >= MISSES) {
      this.misses = MISSES - 1;
      this.skip = PAUSE;
    }
  }
}

/**
 * Wait with `fn` for at most policy.budget() ns; how many replies it brought (fn(0) takes only
 * what is there). `ready`: the transport's counter says a reply is there already, so fn takes it
 * without sleeping; fn gets it too, read once for both.
 */
export function waitFor(policy: WaitPolicy, fn: (ns: number, ready: boolean) => number, ready: boolean): number {
  const budget = policy.budget();
  if (budget === 0) return fn(0, ready);
  // The clock is read around long waits only: a shorter one cannot last longer than quick, and
  // nor can one whose reply is there already (the client on corosync's vCPU, preempted at its
  // send: every call), where the two reads were ~200 of a GET's instructions (callgrind). Its
  // end is read only for a catch: how long a miss took sets nothing.
  const timed = budget === WAIT_NS && !ready;
  const start = timed ? nowMs() : 0;
  const got = fn(budget, ready);
  policy.record(got > 0, got > 0 && (!timed || nowMs() - start < RETRY_WAIT_NS / 1e6));
  return got;
}

/**
 * A step is queued as a reaction to this settled promise, not with queueMicrotask(): Node's
 * queueMicrotask() makes an AsyncResource and a bound function per call (with async_hooks'
 * bookkeeping), twice the young-generation bytes of a reaction. A step never throws (a bug
 * in one would surface as an unhandled rejection, which Node also raises).
 */
const settled = Promise.resolve();

/** When the running chain of microtask steps started (nowMs()), and in which loop turn (loopTurn()). */
let chainStart = 0;
let chainTurn = Number.NaN;

/**
 * Runs `step` once the caller's synchronous code is done: from a microtask while the chain of
 * such steps since the loop last turned is younger than CHAIN_MS, else from setImmediate.
 */
export function afterCaller(step: () => void): void {
  const turn = loopTurn();
  if (turn !== chainTurn) {
    // The first step since the loop turned starts a new chain.
    chainTurn = turn;
    chainStart = nowMs();
  } else if (nowMs() - chainStart >= CHAIN_MS) {
    setImmediate(step);
    return;
  }
  void settled.then(step);
}

/** The shm client transport, as its response wait sees it. */
export interface ResponseSink {
  /** Responses published by the server whose semaphore token nobody has taken yet. */
  readonly due: number;
  /** Whether the semaphore counts a published response now (a wait for it would not sleep). */
  readonly ready: boolean;
  /** `count` tokens are ours: read and deliver that many responses. False once the connection failed. */
  take(count: number): boolean;
  /** The waiter thread found the response ring's header truncated under it (SIGBUS absorbed). */
  broken(): void;
  /** native waiterWaitTake(w, max, ns), reading the first response with its token (Ring.waitTake): take() then delivers them. */
  waitTake(w: WaiterHandle, max: number, ns: number): number;
}

/**
 * Waits on the shm response ring's semaphore. After a request is published, the first step
 * (afterCaller) sleeps on the semaphore on the loop thread as WaitPolicy allows (the loop is held
 * that long at most, and only while a reply is due). What is still due after it is polled for
 * from setImmediate (the loop turns between polls) until POLL_MS have passed without a
 * response. Then a per-connection thread sleeps in sem_timedwait and reports back through a
 * threadsafe function.
 */
export class ShmResponseWait {
  private waiter: WaiterHandle | undefined;
  private stopping: Promise<void> | undefined;
  private onStopped: (() => void) | undefined;
  private polling = false;
  private pollFirst = false;
  /** Whether the first step's wait slept (a budget above 0), set by waitTake. */
  private slept = false;
  private pollSince = 0;
  private readonly policy = new WaitPolicy();

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
    afterCaller(this.pollStep);
  }

  /** Sleeps up to `ns` for the responses due and takes their tokens (the waiter is running: pollStep checked). */
  private readonly waitTake = (ns: number): number => {
    this.slept = ns > 0;
    return this.sink.waitTake(this.waiter!, this.sink.due, ns);
  };

  private readonly pollStep = (): void => {
    const w = this.waiter;
    if (!w || this.sink.due === 0) {
      this.polling = false;
      return;
    }
    const first = this.pollFirst;
    const got = first ? waitFor(this.policy, this.waitTake, this.sink.ready) : this.sink.waitTake(w, this.sink.due, 0);
    this.pollFirst = false;
    if (!this.sink.take(got) || this.sink.due === 0) {
      this.polling = false;
      return;
    }
    // The clock is read only here, once a reply is still due: not on the common path, where
    // the first wait brings it. Polling starts after the first step, unless that step slept
    // its whole budget in vain, which is already longer than polling would last.
    const now = nowMs();
    if (got > 0 || (first && !this.slept)) this.pollSince = now;
    // Polling goes on whether or not the wait paid: the waiter thread's wake-up and its hop back
    // onto the loop cost more CPU per reply than these polls, busy machine or not (measured with
    // bench/ipc: shm CPU per call 39.5 µs against 34.0, pipelined throughput a quarter).
    if ((first && this.slept && got === 0) || now - this.pollSince > POLL_MS) {
      // A slow reply: let the thread sleep on the semaphore for everything still due.
      this.polling = false;
      native().waiterWant(w, this.sink.due);
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
