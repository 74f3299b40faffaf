import { IpcError } from './errors.js';
import { dgramArea, native, type DgramArea, type Mapping, type Pinned, type PollHandle } from './native.js';

/** An int32 in shared memory the peer keeps: how many datagrams are queued (a control file's counter). */
export interface BudgetWord {
  readonly mapping: Mapping;
  readonly offset: number;
}

/** An fd owned by us, watched on Node's event loop through uv_poll. */
export class FdWatch {
  private poller: PollHandle | undefined;
  private events = 0;
  private fdOpen = true;

  /** Datagram mode: what the native watcher received this wake-up (see `slots`). */
  readonly area: Uint8Array | undefined;
  readonly slots: Int32Array | undefined;
  private readonly pinnedArea: DgramArea | undefined;

  constructor(
    readonly fd: number,
    /** Replaceable: the owner changes hands after the handshake. */
    public onEvents: (status: number, events: number, count: number) => void,
    /**
     * Datagram sockets: receive datagrams of up to this many bytes natively on each
     * wake-up; the callback's `count` says how many (offset, length) pairs `slots` holds.
     */
    private readonly dgramMax?: number,
    /**
     * Datagram mode: an int32 whose value > 0 is how many datagrams are due (no recv past them),
     * ours (Pinned) or the peer's (BudgetWord).
     */
    private readonly budget?: Pinned | BudgetWord,
  ) {
    if (dgramMax !== undefined) {
      const a = dgramArea(dgramMax);
      this.pinnedArea = a;
      this.area = a.bytes;
      this.slots = a.slots;
    }
  }

  /** Watch for the given uv events (READABLE | WRITABLE | DISCONNECT); 0 stops. */
  watch(events: number): void {
    if (!this.fdOpen || events === this.events) return;
    const n = native();
    if (!this.poller) {
      if (events === 0) return;
      const b = this.budget;
      const word = b !== undefined && 'mapping' in b ? b : undefined;
      const p =
        this.dgramMax === undefined
          ? n.poll(this.fd, (status, ev, count) => this.onEvents(status, ev, count))
          : n.pollDgram(this.fd, (status, ev, count) => this.onEvents(status, ev, count), this.pinnedArea!.pinnedBytes, this.pinnedArea!.pinnedSlots, this.dgramMax, word ? undefined : (b as Pinned | undefined), word?.mapping, word?.offset);
      if (typeof p === 'number') throw IpcError.fromErrno(p, 'uv_poll_init');
      this.poller = p;
    }
    const r = n.pollStart(this.poller, events);
    if (r < 0) throw IpcError.fromErrno(r, 'uv_poll_start');
    this.events = events;
  }

  /**
   * Datagram mode: receive what is queued, or else sleep in ppoll for at most timeoutNs for
   * something to come; how many datagrams `slots` now describes (0: none, or the watch is closed).
   * `queued` false: the caller knows nothing is queued yet, so the first recv (EAGAIN) is skipped.
   */
  wait(timeoutNs: number, queued = true): number {
    if (!this.poller || this.dgramMax === undefined) return 0;
    return native().pollWait(this.poller, timeoutNs, queued);
  }

  /** Datagram mode: native pollInto (min 0: off); false if the watcher does not exist (closed, or never watched). */
  into(min: number, head: number): boolean {
    if (!this.poller || this.dgramMax === undefined) return false;
    return native().pollInto(this.poller, min, head) === 0;
  }

  /**
   * Arm (or, without `request`, disarm) the native answer of a repeated request (native
   * pollAnswer); false when it was not armed.
   */
  answer(request?: Uint8Array, response?: Uint8Array, mappings?: Mapping[], semOffset?: number): boolean {
    if (!this.poller) return false;
    return native().pollAnswer(this.poller, request, response, mappings, semOffset) === 0 && request !== undefined;
  }

  /** Requests answered natively since the last call. */
  answered(): number {
    return this.poller ? native().pollAnswered(this.poller) : 0;
  }

  get watching(): number {
    return this.events;
  }

  /** Stop watching and close the fd. Idempotent. */
  close(shutdownFirst = false): void {
    if (!this.fdOpen) return;
    this.fdOpen = false;
    const n = native();
    // uv_close unregisters from epoll synchronously, so closing the fd next is safe.
    if (this.poller) n.pollClose(this.poller);
    this.poller = undefined;
    if (shutdownFirst) n.shutdown(this.fd);
    n.close(this.fd);
  }
}
