// Frames that could not go out at once, kept in order until the peer makes room: datagrams
// a full socket refused (EAGAIN/ENOBUFS), chunks a full ring had no room for.
import { Errno } from '@corosync-ts/types';
import { native } from './native.js';
import { loopTurn } from './turns.js';

/**
 * What each queued frame counts for beyond its bytes in `bytes`, the figure the queue limits
 * compare with. Frames are stored back to back, so the real cost is 4 bytes of length; the
 * margin keeps a flood of tiny frames from being nearly free against the limit.
 */
export const QUEUE_OVERHEAD = 64;

const FIRST_CHUNK = 4096;
const MAX_CHUNK = 64 * 1024;
/** The largest chunk a keepFirst outbox keeps for reuse: one 64 KiB frame with its header and length. */
const KEEP_MAX = 2 * MAX_CHUNK;

/**
 * A FIFO of frames packed into a few large chunks, each frame after its 4-byte length. A
 * client that reads nothing can make the mock hold tens of thousands of frames; an
 * ArrayBuffer each cost about a kilobyte apiece in V8 objects and malloc headers.
 * `peek()` returns a view valid until the next `shift()`: every consumer copies it out
 * (into a socket or a ring) before taking the next.
 */
export class Outbox {
  private chunks: Chunk[] = [];
  /** Read position in chunks[0]. */
  protected readAt = 0;
  private count = 0;
  /** Bytes waiting, QUEUE_OVERHEAD counted per frame. */
  bytes = 0;
  /**
   * The largest chunk whose frames all went, for push() to refill: a client behind on 64 KiB cpg
   * deliveries cost a fresh chunk per event (allocation, page faults, GC), more than the copy
   * into it. At most one, dropped with the rest when the outbox empties (kept, if at most
   * KEEP_MAX, by a keepFirst outbox).
   */
  private spare: Chunk | undefined;

  /**
   * `keepFirst`: an empty outbox keeps the chunk it emptied last, and one more whose frames all
   * went (`spare`), each if at most KEEP_MAX. For a client's requests waiting for a full ring or
   * socket, which pass through here in every burst: a fresh chunk cost more than the send
   * (ArrayBuffer allocation, page faults, garbage collection). A turn of 32 1 KiB multicasts grew
   * a fresh 4, 8, 16 and 32 KiB chunk each time when only the first 4 KiB one was kept, and every
   * 64 KiB multicast queued behind a full shm ring (its frame 40 bytes above MAX_CHUNK) took a
   * fresh chunk of its own, 16 pages faulted in.
   */
  constructor(private readonly keepFirst = false) {}

  get length(): number {
    return this.count;
  }

  /**
   * Queue a copy: callers may hand us views they reuse (their buffer, codec output in WASM memory).
   * With `body`, the frame is `frame` then `body` (a gathered request, IpcClient's RequestOptions.body).
   */
  push(frame: Uint8Array, body?: Uint8Array): void {
    const len = frame.length + (body === undefined ? 0 : body.length);
    // Lengths are Int32Array words: each frame starts 4-byte aligned.
    const need = (len + 7) & ~3;
    let last = this.chunks[this.chunks.length - 1];
    if (!last || last.data.length - last.end < need) {
      // Chunks grow from 4 KiB, so one stalled small frame does not cost 64 KiB.
      const size = Math.max(need, last ? Math.min(last.data.length * 2, MAX_CHUNK) : FIRST_CHUNK);
      const spare = this.spare;
      if (spare !== undefined && spare.data.length >= need) {
        this.spare = undefined;
        spare.end = 0;
        last = spare;
      } else {
        const data = new Uint8Array(size);
        last = { data, lens: new Int32Array(data.buffer, 0, size >> 2), end: 0 };
      }
      this.chunks.push(last);
    }
    last.lens[last.end >> 2] = len;
    last.data.set(frame, last.end + 4);
    if (body !== undefined) last.data.set(body, last.end + 4 + frame.length);
    last.end += need;
    this.count++;
    this.bytes += len + QUEUE_OVERHEAD;
  }

  /** The oldest frame waiting, as a view valid until the next shift(). */
  peek(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const c = this.head();
    const at = this.readAt + 4;
    return c.data.subarray(at, at + c.lens[this.readAt >> 2]!);
  }

  shift(): void {
    if (this.count === 0) return;
    const len = this.head().lens[this.readAt >> 2]!;
    this.readAt += (len + 7) & ~3;
    this.bytes -= len + QUEUE_OVERHEAD;
    if (--this.count === 0) {
      // Empty: hand all memory back; an idle connection keeps none (but see keepFirst).
      const last = this.chunks[this.chunks.length - 1];
      if (this.keepFirst && last && last.data.length <= KEEP_MAX) {
        last.end = 0;
        this.chunks = [last];
      } else {
        this.chunks = [];
        this.spare = undefined;
      }
      this.readAt = 0;
    } else {
      // A chunk all sent is ready for the next push at once (head() makes it the spare).
      this.head();
    }
  }

  /** The chunk holding the oldest frame, dropping the one before it once all its frames went. */
  protected head(): Chunk {
    const c = this.chunks[0]!;
    if (this.readAt < c.end) return c;
    this.chunks.shift();
    if ((!this.keepFirst || c.data.length <= KEEP_MAX) && (this.spare === undefined || c.data.length > this.spare.data.length)) this.spare = c;
    this.readAt = 0;
    return this.chunks[0]!;
  }

  /** Hand waiting frames to `write`, oldest first, while it takes them. True when none is left. */
  drain(write: (f: Uint8Array) => boolean): boolean {
    for (let f = this.peek(); f && write(f); f = this.peek()) this.shift();
    return this.length === 0;
  }
}

export interface Chunk {
  data: Uint8Array;
  /** The same bytes as words, for the length before each frame. */
  lens: Int32Array;
  /** Where the next frame goes. */
  end: number;
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
    /** Called with how many frames went out, once per send or sendmmsg (the control file's `sent` counter). */
    private readonly onSent: (n: number) => void,
    keepFirst = false,
  ) {
    super(keepFirst);
  }

  /**
   * The largest frame the socket took or refused only for want of room: no larger than its send
   * buffer allows (SO_SNDBUF - 32, which only grows), so one that size queued untried cannot
   * fail with EMSGSIZE later.
   */
  sized = 0;

  private sendOne(frame: Uint8Array, body: Uint8Array | undefined): number {
    const len = frame.length + (body === undefined ? 0 : body.length);
    const r = body === undefined ? native().send(this.fd, frame) : native().sendv(this.fd, frame, body);
    if (r === len) {
      this.onSent(1);
      if (len > this.sized) this.sized = len;
      return SENT;
    }
    if (r === -Errno.EAGAIN || r === -Errno.ENOBUFS) {
      if (len > this.sized) this.sized = len;
      return BLOCKED;
    }
    return r < 0 ? r : -Errno.EMSGSIZE;
  }

  /**
   * SENT, BLOCKED (queued: wait for POLLOUT, then flush) or the -errno of a failed send. With
   * `body`, one datagram of `frame` then `body`, gathered by the kernel (a copy of both only
   * when it must wait here). `queue` false: a frame that cannot go now (the socket is full, or
   * frames wait here) is not kept either, and BLOCKED says so.
   */
  send(frame: Uint8Array, body?: Uint8Array, queue = true): number {
    if (this.length === 0) {
      const r = this.sendOne(frame, body);
      if (r !== BLOCKED || !queue) return r;
    } else if (!queue) {
      return BLOCKED;
    }
    this.push(frame, body);
    return BLOCKED;
  }

  /** Send what waits: SENT when all went, BLOCKED when the socket filled again, or a -errno. */
  flush(): number {
    const n = native();
    while (this.length > 0) {
      // The frames of the oldest chunk as they lie, in one sendmmsg (up to 64 per call).
      const c = this.head();
      const r = n.sendBatch(this.fd, c.data, this.readAt, c.end);
      if (r > 0) {
        for (let i = 0; i < r; i++) this.shift();
        this.onSent(r);
        continue;
      }
      if (r === -Errno.EAGAIN || r === -Errno.ENOBUFS) return BLOCKED;
      this.shift();
      return r < 0 ? r : -Errno.EMSGSIZE;
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

/** Corks armed and not run yet: process.exit() runs them (a turn's multicasts are not lost). */
const armed = new Set<Cork>();
let exitHook = false;
const runArmed = (): void => {
  for (const c of armed) c.run();
};

/**
 * One-way requests (cpg MCAST) held until the caller's turn ends, then sent together: one
 * sendmmsg, or one doorbell send, and one wake-up of the daemon per batch instead of per
 * message (bench/README.md, "Why a slow sender costs corosync"). The first of a loop turn goes
 * at once (hold()). The flush runs from process.nextTick: armed from a microtask, after every
 * microtask queued meanwhile, so a loop of `await mcastJoined()` fills one batch until it yields
 * to the event loop; and before the process exits, as libcpg's messages are in the socket once
 * cpg_mcast_joined() returns.
 */
export class Cork {
  private pending = false;

  constructor(private readonly flush: () => void) {}

  /** loopTurn() when a frame last went out at once: a later one of the same turn is held. */
  private turn = Number.NaN;

  /**
   * Whether the next one-way frame waits for the turn's end (armed then): all but the first
   * of a loop turn. A lone message, a round trip's, goes at once: holding it too made the
   * round trip of bench/cpg 1.3-2x slower.
   */
  hold(): boolean {
    if (this.pending) return true;
    const turn = loopTurn();
    if (turn !== this.turn) {
      this.turn = turn;
      return false;
    }
    this.arm();
    return true;
  }

  private arm(): void {
    if (this.pending) return;
    this.pending = true;
    armed.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', runArmed);
    }
    process.nextTick(this.run);
  }

  /** Flush now if armed (another request must go after the held ones). */
  readonly run = (): void => {
    if (!this.pending) return;
    this.pending = false;
    armed.delete(this);
    this.flush();
  };

  /** Forget what was held (the connection is closing). */
  cancel(): void {
    this.pending = false;
    armed.delete(this);
  }
}
