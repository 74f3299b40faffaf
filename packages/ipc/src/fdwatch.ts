import { IpcError } from './errors.js';
import { native, type PollHandle } from './native.js';

/** An fd owned by us, watched on Node's event loop through uv_poll. */
export class FdWatch {
  private poller: PollHandle | undefined;
  private events = 0;
  private fdOpen = true;

  constructor(
    readonly fd: number,
    /** Replaceable: the owner changes hands after the handshake. */
    public onEvents: (status: number, events: number) => void,
  ) {}

  /** Watch for the given uv events (READABLE | WRITABLE | DISCONNECT); 0 stops. */
  watch(events: number): void {
    if (!this.fdOpen || events === this.events) return;
    const n = native();
    if (!this.poller) {
      if (events === 0) return;
      const p = n.poll(this.fd, (status, ev) => this.onEvents(status, ev));
      if (typeof p === 'number') throw IpcError.fromErrno(p, 'uv_poll_init');
      this.poller = p;
    }
    const r = n.pollStart(this.poller, events);
    if (r < 0) throw IpcError.fromErrno(r, 'uv_poll_start');
    this.events = events;
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
