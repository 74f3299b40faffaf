// One program connection's relay in the upstream worker: the program's requests handed to our
// client for the daemon in order, its answers, events, flow control and end sent back (`post`).
import { isIpcError, type IpcClient } from '@corosync-ts/ipc';
import { owned, type FromUpstream } from './protocol.js';

/** cpg requests (corosync's ipc_cpg.h): MCAST is never answered; both are multicasts. */
const CPG_MCAST = 2;
const CPG_PARTIAL_MCAST = 12;

/** One program connection mirrored by our client's to the daemon. */
export class Upstream {
  private client: IpcClient | undefined;
  private closed = false;
  /** The program's requests not handed to our client yet, in order. */
  private readonly queue: Uint8Array[] = [];
  /** queue[0] was refused (flow control) or its refusal is due: wait for the retry. */
  private blocked = false;
  /** The flow-control level the program was given for the daemon's (see refused()). */
  private flowLevel: 0 | 1 | 2 = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  /**
   * Ends the open still under way when the main thread no longer waits for it (it gave up, or
   * the tap stops): the daemon's connections go at once, not when their timeouts run out.
   */
  readonly opening = new AbortController();

  constructor(
    readonly id: number,
    readonly service: string,
    /** Sends a message to the main thread. */
    private readonly post: (m: FromUpstream) => void,
  ) {}

  attach(client: IpcClient): void {
    this.client = client;
    client.on('event', (frame) => this.post({ op: 'evt', id: this.id, frame: owned(frame) }));
    client.on('disconnect', (err) => this.gone('server', err.message));
  }

  request(frame: Uint8Array): void {
    if (this.closed || !this.client) return;
    this.queue.push(frame);
    this.next();
  }

  /**
   * Hand the queue to our client, each frame only while nothing is in flight: the client then
   * sends it at once, and a flow-control refusal (EAGAIN, as a libqb client refuses the send)
   * concerns that frame alone. With a request in flight the client would hold it behind that
   * one (its in-flight bound, answers of unknown size go one at a time anyway) and refuse it
   * only later, after it had taken the frames behind it too: they came back in reverse order.
   * Answers come in the order the requests went out (FIFO). A cpg MCAST has no answer: waiting
   * for one held every later request of the program forever.
   */
  private next(): void {
    const client = this.client!;
    while (!this.closed && !this.blocked && this.queue.length > 0 && client.inFlight === 0 && client.queued === 0) {
      const frame = this.queue[0]!;
      const id = frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24);
      const cpgMcast = this.service === 'cpg' && (id === CPG_MCAST || id === CPG_PARTIAL_MCAST);
      // libcpg's fc_enable_max around a multicast: corosync's level 2 (a full totem queue)
      // refuses it here, where with 1 it went through and corosync dropped it.
      const flowControlMax = cpgMcast ? 2 : 1;
      if (this.service === 'cpg' && id === CPG_MCAST) {
        try {
          client.sendNow(frame, flowControlMax);
        } catch (err) {
          this.blocked = true;
          this.failed(err, frame, flowControlMax);
          return;
        }
        this.sent();
        continue;
      }
      let undecided = false;
      client.request(frame, { flowControlMax }).then(
        (res) => {
          // Answered before request() returned: it went out after all.
          if (undecided && !this.closed) {
            this.blocked = false;
            this.sent();
          }
          // corosync sends the events a request causes (a tracked key's change) before its
          // answer, and a program may look for them the moment it has the answer. Our client
          // can see the answer first (its own socket or ring, read by another watcher), so the
          // answer waits one turn of the loop: a poll phase in which every event already
          // queued by the daemon is read and passed on ahead of it.
          const mine = owned(res);
          setImmediate(() => {
            if (!this.closed) this.post({ op: 'res', id: this.id, frame: mine });
          });
          this.next();
        },
        (err: unknown) => this.failed(err, frame, flowControlMax),
      );
      if (client.inFlight === 0) {
        // Refused, or already answered: over shm, a daemon that preempts this thread at the
        // doorbell (corosync, SCHED_RR 99, on our vCPU) has answered when the send returns, and
        // the client takes that answer in the send. Taking every such call for a refusal left
        // the program's requests blocked here for good. Which one it was, the handler that runs
        // first (a microtask, before anything else is relayed) says.
        undecided = true;
        this.blocked = true;
        return;
      }
      this.sent();
      return;
    }
  }

  /** queue[0] went out. */
  private sent(): void {
    this.queue.shift();
    if (this.flowLevel !== 0) {
      this.flowLevel = 0;
      this.post({ op: 'flow', id: this.id, level: 0 });
    }
  }

  private failed(err: unknown, frame: Uint8Array, flowControlMax: 1 | 2): void {
    if (this.closed) return;
    if (isIpcError(err, 'EAGAIN')) return this.refused(flowControlMax);
    if (isIpcError(err, 'ECONNRESET') || isIpcError(err, 'ENOTCONN')) return this.gone('server', (err as Error).message);
    this.gone('error', `request of ${frame.length} bytes: ${(err as Error).message}`);
  }

  /**
   * The program's own sends now fail with EAGAIN (CS_ERR_TRY_AGAIN), as they would against the
   * daemon directly; the frames it already sent wait here. The level is the refused send's
   * threshold: a refused multicast (2) stops the program's multicasts only, as corosync's level 2
   * does, while its other calls queue here behind it; any other refusal stops every send (1).
   */
  private refused(flowControlMax: 1 | 2): void {
    const level = this.flowLevel === 1 ? 1 : flowControlMax;
    if (level !== this.flowLevel) {
      this.flowLevel = level;
      this.post({ op: 'flow', id: this.id, level });
    }
    // Tried again every millisecond, however long corosync keeps it up: libqb tells a client
    // nothing when the level drops, its program just sends again (fc.c and Pacemaker's
    // cs_repeat at once or after a millisecond). A delay that doubled to 50 ms kept the program
    // refused for up to 50 ms after corosync had let go: 1 MB multicasts under flow control
    // went ~25x slower through the tap (bench/README.md "tap").
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.blocked = false;
      this.next();
    }, 1);
  }

  private gone(by: 'server' | 'error', error: string): void {
    if (this.closed) return;
    void this.close();
    this.post({ op: 'gone', id: this.id, by, error });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.opening.abort();
      this.queue.length = 0;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.closing = this.client?.close() ?? Promise.resolve();
    }
    return this.closing;
  }

  private closing: Promise<void> = Promise.resolve();
}
