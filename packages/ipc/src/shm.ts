// The shared-memory transport, both sides (libqb ipc_shm.c): three rings (ring.ts) named by
// the setup reply, request, response and event, each a chunk ring with a process-shared
// semaphore counting published chunks; one doorbell byte on the setup socket per request
// chunk (client to server) and per event chunk (server to client).
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { Errno } from '@corosync-ts/types';
import { IpcError } from './errors.js';
import { QB_IPC_SHM, type ConnectionResponse } from './frames.js';
import { DISCONNECT, READABLE, WRITABLE, framePool, native, poolView, type WaiterHandle } from './native.js';
import { Cork, Outbox, QUEUE_OVERHEAD, RetryTimer } from './outbox.js';
import { removeConnectionDir, removeShmPath } from './peerfile.js';
import { Ring, ringDataSize, ringHeaderPath } from './ring.js';
import { peerFileRules, type ClientLink, type ClientTransport, type ServerLink, type ServerTransport } from './transport.js';
import { ShmResponseWait, afterCaller, type ResponseSink } from './wait.js';

/** Chunks taken per native call. */
const BATCH = 1024;
/**
 * Events delivered per pass before the rest of the loop gets a turn. Several batches: a turn
 * between two batches of a backlog of a few thousand cost 0.3-1.2 ms of its delivery (the gap
 * before its 1,025th callback, 2,000 queued cmap notifications, Dec 2026), a fifth to a half of
 * the whole burst, where libcmap's dispatch reads on until the ring is empty.
 */
export const EVENT_PASS = 8 * BATCH;

// Doorbells are read in bulk: a backlog of thousands (one per event) otherwise costs a wake-up
// per 256 bytes after its events were all taken. Their bytes only count, nothing looks at them
// after the read: one scratch for every connection, client and server side, not 4 kB each.
const doorbells = new Uint8Array(4096);
/** Until a connection's first event: most handles never take one (8 kB each otherwise). */
const NO_SLOTS = new Int32Array(0);

// Where a server reads large requests it lends (ServerOptions.borrowRequests): one for every
// connection, as each frame is handed over before the next read. Grown to the largest maximum.
let lendArea = new Uint8Array(0);
function lendFor(max: number): Uint8Array {
  if (lendArea.length < max) lendArea = new Uint8Array(max);
  return lendArea;
}

/** Read what a setup socket holds, `max` bytes at most: the byte count, 0 at EOF, -1 on an error, -EAGAIN when empty. */
function readSetup(fd: number, max = doorbells.length): number {
  const r = native().recvInto(fd, max < doorbells.length ? doorbells.subarray(0, max) : doorbells);
  return r < 0 && r !== -Errno.EAGAIN ? -1 : r;
}

function ringFull(): IpcError {
  return IpcError.tryAgain('the request ring is full; try again');
}

// ------------------------------------------------------------------ client side
export class ShmClientTransport implements ClientTransport, ResponseSink {
  private readonly request: Ring;
  private readonly response: Ring;
  private readonly event: Ring;
  private readonly wait: ShmResponseWait;
  /** Requests published whose response is not delivered yet. */
  private awaiting = 0;
  /**
   * Of those, responses whose token the send took (Ring.writeRung's `replies`), to be read and
   * delivered by deliverAnswered() or, deferred, with the next take().
   */
  private owned = 0;
  /** Requests the request ring had no room for yet: answered ones only (a one-way one is refused). */
  private readonly out = new Outbox(true);
  private readonly retry: RetryTimer;
  private doorbellDebt = 0;
  /** serverClosed() ran: the server's hang-up is handled once (its failure may wait for the waiter thread). */
  private serverGone = false;
  private eventDebt = 0;
  private eventTimer: NodeJS.Timeout | undefined;
  private eventImmediate: NodeJS.Immediate | undefined;
  /** Event tokens taken from the semaphore whose chunks are still to be read. */
  private eventTokens = 0;
  /** The last batch of event chunks read (Ring.readMany): chunk i at eventSlots[2i], eventSlots[2i + 1] bytes of eventSlab. */
  private eventSlots = NO_SLOTS;
  private eventSlab = new Uint8Array(0);
  private eventRead = 0;
  /** The next chunk of the batch to deliver. */
  private eventNext = 0;
  /** Zeros: doorbell bytes only count. */
  private readonly doorbell = new Uint8Array(64);
  /** Its first byte, the doorbell of a lone request: a view made per send was most of one's allocation. */
  private readonly doorbell1 = this.doorbell.subarray(0, 1);
  /** The response ring's semaphore count: responses published and not taken yet. */
  private readonly responseSem: Int32Array;
  /** The event ring's semaphore count: events published and not taken yet. */
  private readonly eventSem: Int32Array;
  readonly responseRoom: number;

  constructor(
    private readonly client: ClientLink,
    res: ConnectionResponse,
  ) {
    const rings: Ring[] = [];
    try {
      const bases = [res.request, res.response, res.event];
      const rules = peerFileRules(client, bases.map(ringHeaderPath), 'ring header');
      for (const base of bases) rings.push(Ring.open(base, res.maxMsgSize, rules));
    } catch (e) {
      for (const r of rings) r.close();
      throw e;
    }
    [this.request, this.response, this.event] = rings as [Ring, Ring, Ring];
    this.responseSem = new Int32Array(this.response.semBuffer, Ring.SEM_OFFSET, 1);
    this.eventSem = new Int32Array(this.event.semBuffer, Ring.SEM_OFFSET, 1);
    this.wait = new ShmResponseWait(this.response.semBuffer, Ring.SEM_OFFSET, this);
    // What a libqb server can write before qb_rb_chunk_write says EAGAIN: the ring less the
    // chunk margin (QB_RB_CHUNK_MARGIN, 3 words) the last write needs beyond its chunk.
    this.responseRoom = (this.response.wordSize - 1) * 4 - 12;
    // The server reclaims request chunks as it processes them; nothing signals us.
    this.retry = new RetryTimer(
      () => {
        if (!this.client.connected) return false;
        this.publishWaiting();
        return true;
      },
      () => this.out.length,
      1,
    );
    const setup = client.setupWatch;
    setup.onEvents = (st, ev) => this.onSetup(st, ev);
    setup.watch(READABLE | DISCONNECT);
  }

  get fd(): number {
    return this.client.setupWatch.fd;
  }

  // A response chunk: its size and magic words, then the data padded to a word. Measured on
  // corosync 3.1.7: 981 1,064-byte responses (1,072 each) fill the 1 MiB + 4 KiB ring.
  responseCost(len: number): number {
    return 8 + ((len + 3) & ~3);
  }

  /**
   * More response tokens than responses due means the server sent one nobody asked for:
   * caught here, before a later request could be matched to it.
   */
  private checkSurplus(): boolean {
    // Plain loads of the semaphore counts, here and in eventsWaiting(), as Ring.refCount: the
    // count as it is now, and nothing else is read in an order against it.
    if (this.responseSem[0]! <= this.awaiting - this.owned) return true;
    this.client.fail(new IpcError('EPROTO', 'the server sent a response nobody asked for'));
    return false;
  }

  get due(): number {
    return this.client.connected ? this.awaiting - this.owned : 0;
  }

  get ready(): boolean {
    return this.responseSem[0]! > 0;
  }

  take(count: number): boolean {
    count += this.owned;
    this.owned = 0;
    for (let i = 0; i < count; i++) this.takeResponse();
    return this.client.connected && this.checkSurplus();
  }

  waitTake(w: WaiterHandle, max: number, ns: number): number {
    return this.response.waitTake(w, max, ns);
  }

  broken(): void {
    this.client.fail(new IpcError('EBADMSG', `ring ${this.response.hdrPath}: a ring file was truncated under us (SIGBUS absorbed)`));
  }

  /**
   * Delivers the response the last send found published (the client calls this once the call
   * is pending): no wait, no microtask. Events the server published before it go first, as
   * takeResponse() hands them over, but not inside the caller's request(): their listeners then
   * run from a microtask, the response after them.
   */
  deliverAnswered(): void {
    if (this.owned === 0) return;
    if (!this.client.answerFirst && this.eventsWaiting() && this.client.listenerCount('event') > 0) {
      afterCaller(this.takeOwned);
      return;
    }
    this.take(0);
  }

  private readonly takeOwned = (): void => {
    this.take(0);
  };

  /** We own one response token: its chunk is published; read and deliver it. */
  private takeResponse(): void {
    this.awaiting--;
    if (!this.client.connected) return;
    let frame: Uint8Array;
    try {
      frame = this.response.readPooled();
    } catch (e) {
      return this.client.fail(e as IpcError);
    }
    // Events the server published before this response are in the event ring already: hand
    // them over first, as the server ordered them (corosync sends the events a request causes
    // before its answer), rather than after, when the doorbell's wake-up comes round. Most
    // answers come with none: the semaphore's count says so without a native call. A request
    // that asked to be answered first (RequestOptions.answerFirst) leaves them for later.
    if (!this.client.answerFirst && this.eventsWaiting() && this.client.listenerCount('event') > 0) this.drainEvents();
    if (!this.client.connected) return;
    this.client.deliverResponse(frame);
  }

  /** Takes the published replies while the one due next asked to go first; whether it took any. */
  private answersFirst(): boolean {
    let any = false;
    while (this.awaiting > 0 && this.client.connected && this.client.answerFirst && this.responseSem[0]! > 0 && this.response.tryTake()) {
      this.takeResponse();
      any = true;
    }
    return any;
  }

  /** Events read and not delivered yet, tokens taken and not read, or tokens not taken. */
  private eventsWaiting(): boolean {
    return this.eventNext < this.eventRead || this.eventTokens > 0 || this.eventSem[0]! !== 0;
  }

  get flowControl(): number {
    return this.request.userData;
  }

  pollEvents(): void {
    // A pass inside a listener would read past a lent chunk still at the ring's read pointer.
    if (this.draining > 0 || !this.client.connected || this.client.listenerCount('event') === 0 || !this.eventsWaiting()) return;
    this.drainEvents();
  }

  send(frame: Uint8Array, reply: boolean, fcMax: number, body?: Uint8Array): void {
    // fc_enable_max is 1 for libqb clients outside cpg: level 2 does not stop them.
    const fc = this.request.userData;
    if (fc > 0 && fc <= fcMax) throw IpcError.tryAgain('the server has turned on flow control; try again');
    if (this.request.refCount !== 2) {
      const err = new IpcError('ECONNRESET', 'the server has released the request ring');
      this.client.fail(err);
      throw err;
    }
    const len = frame.length + (body === undefined ? 0 : body.length);
    if (!this.request.fits(len)) throw new IpcError('EMSGSIZE', `request of ${len} bytes does not fit the request ring`);
    this.wait.ensureThread();
    // One-way requests (cpg MCAST) after the first of a loop turn wait for the turn's end
    // (Cork) and are published together: posts first, then one send for all their doorbells,
    // so corosync wakes once per batch. The posts wait too: a server woken by an earlier
    // doorbell takes as many chunks as the semaphore counts, then blocks its whole loop until
    // their doorbell bytes come. The chunks themselves go into the ring now, unposted (stage):
    // held in the outbox instead, every 64 KiB multicast cost a copy into fresh memory, whose
    // page faults were most of the client's time per message.
    // A one-way request the ring has no room for is refused, as libqb's qb_rb_chunk_alloc
    // refuses it (EAGAIN; libcpg: CS_ERR_TRY_AGAIN): nothing waits for its answer, so queued
    // here a loop of them grew without bound. Behind requests waiting for room, the ring is full.
    if (!reply) {
      if (this.out.length > 0) throw ringFull();
      if (this.cork.hold()) {
        if (this.stage(frame, body)) return;
        throw ringFull();
      }
    }
    this.cork.run();
    // A lone request, nothing queued or owed before it: the chunk, its post and its doorbell byte
    // in one native call. What that leaves (no room, a broken ring) goes the way below, its
    // surplus checked already.
    let checked = false;
    if (this.out.length === 0 && body === undefined && this.unrung === 0 && this.doorbellDebt === 0) {
      if (!this.checkSurplus()) return;
      checked = true;
      // A reply published by the time the doorbell's send returns (corosync preempts us there
      // when it shares our vCPU) comes back in the same crossing, its token ours.
      const rung = this.request.writeRung(frame, this.client.setupWatch.fd, reply ? this.response : undefined);
      if (rung >= 0) {
        if (reply) {
          this.awaiting++;
          if (rung === 2) this.owned++;
          // The token taken may be an earlier call's, its waiter thread's `want` lowered for it:
          // what is still due needs a wait of its own, as after any send.
          if (this.awaiting > this.owned) this.wait.expect();
        }
        if (rung === 0) {
          this.unrung++;
          this.ring();
        }
        return;
      }
    }
    if (this.out.length > 0 || !(checked ? this.publishChecked(frame, reply, body) : this.publish(frame, reply, body))) {
      if (!reply) {
        // No room (a broken ring has failed the connection: the caller gets that instead).
        if (this.client.connected) throw ringFull();
        return;
      }
      this.out.push(frame, body);
      this.retry.schedule();
    }
    this.ring();
  }

  /** One-way requests wait in `out` for the end of the caller's turn (send()). */
  private readonly cork = new Cork(() => {
    if (!this.client.connected) return;
    this.publishWaiting();
    if (this.out.length > 0) this.retry.schedule();
  });

  /**
   * Writes a held one-way frame into the ring without posting it (the cork's flush posts it):
   * false when the ring has no room for it. Staged chunks are then posted at once, so that the
   * server starts to make room; the frame waits in `out`.
   */
  private stage(frame: Uint8Array, body: Uint8Array | undefined): boolean {
    if (!this.checkSurplus()) return true;
    if (this.request.write(frame, false, body)) return true;
    if (this.request.failure) {
      this.client.fail(this.request.failure);
      return true;
    }
    this.postStaged();
    this.ring();
    return false;
  }

  /** Posts the chunks stage() wrote; their doorbells are due with the next ring(). */
  private postStaged(): void {
    const n = this.request.unposted;
    if (n === 0) return;
    if (this.request.postDue()) this.unrung += n;
    else if (this.request.failure) this.client.fail(this.request.failure);
  }

  /** Publishes what waits in `out` while the ring has room, then rings their doorbells in one send. */
  private publishWaiting(): void {
    this.postStaged();
    if (!this.client.connected) return;
    this.out.drain((f) => this.publish(f, true));
    this.ring();
  }

  private readonly publish = (frame: Uint8Array, reply: boolean, body?: Uint8Array): boolean => !this.checkSurplus() || this.publishChecked(frame, reply, body);

  /** publish() after its surplus check. */
  private publishChecked(frame: Uint8Array, reply: boolean, body?: Uint8Array): boolean {
    if (!this.request.write(frame, true, body)) {
      // A corrupt or truncated request ring ends the connection, not just this call:
      // request() then rejects with the connection's failure, a retry finds it closed.
      if (this.request.failure) this.client.fail(this.request.failure);
      return false;
    }
    if (reply) this.awaiting++;
    this.unrung++;
    if (reply) this.wait.expect();
    return true;
  }

  /** Chunks published whose doorbell byte is not sent yet (ring()). */
  private unrung = 0;

  // One doorbell byte per chunk, after the post: a libqb server reads exactly as many
  // bytes as it processed chunks, blocking its whole loop if one is missing. The bytes of a
  // batch go in one send (the server reads them in one recv after processing the batch).
  private ring(): void {
    let n = this.unrung;
    if (n === 0) return;
    this.unrung = 0;
    if (this.doorbellDebt === 0) {
      const bells = n === 1 ? this.doorbell1 : n <= this.doorbell.length ? this.doorbell.subarray(0, n) : new Uint8Array(n);
      const r = native().send(this.client.setupWatch.fd, bells);
      if (r === n) return;
      if (r < 0 && r !== -Errno.EAGAIN) return this.client.fail(new IpcError('ECONNRESET', 'doorbell send failed: the server is gone'));
      if (r > 0) n -= r;
    }
    this.doorbellDebt += n;
    this.client.setupWatch.watch(READABLE | WRITABLE | DISCONNECT);
  }

  private onSetup(status: number, events: number): void {
    if (status < 0) return this.client.fail(new IpcError('ECONNRESET', 'setup socket error'));
    const setup = this.client.setupWatch;
    if (events & WRITABLE) {
      for (let r = 1; this.doorbellDebt > 0 && r > 0; ) {
        r = native().send(setup.fd, this.doorbell.subarray(0, Math.min(this.doorbellDebt, this.doorbell.length)));
        if (r > 0) this.doorbellDebt -= r;
      }
      if (this.doorbellDebt === 0) setup.watch(READABLE | DISCONNECT);
    }
    if (events & READABLE) {
      // Replies to answerFirst requests already published go before the events this doorbell
      // brings, which wait for the next turn (the byte stays unread: level-triggered): a cpg
      // fragment's answer and its own 1 MiB delivery meet here in a quarter of 1 MiB round trips,
      // and the next fragment then waited for the megabyte's copy (bench/README.md "cpg").
      if (this.answersFirst()) return;
      this.drainEvents();
      if (!this.client.connected) return;
      const r = readSetup(setup.fd);
      if (r === 0 || r === -1) return this.serverClosed();
      if (r > 0) {
        this.eventDebt += r;
        if (this.eventDebt > 0) this.drainEvents();
      }
    } else if (events & DISCONNECT) {
      this.serverClosed();
    }
  }

  // A server that answers and then exits (corosync after an agreed cfg try_shutdown) can close
  // the setup socket before its last answers' tokens reach us: those answers are in the ring and
  // belong to their calls, which must not fail with ECONNRESET.
  // The waiter thread may also hold the token of such an answer, its report still on the way to
  // the loop (the socket's EOF and the thread's wake-up land in one loop turn, in either order):
  // the failure waits until the thread is stopped, which comes after its reports (at most its
  // 100 ms wait), and what it left in the ring is taken then.
  private serverClosed(): void {
    if (this.serverGone) return;
    this.serverGone = true;
    const takePublished = () => {
      this.take(0);
      while (this.awaiting > 0 && this.client.connected && this.response.tryTake()) this.takeResponse();
    };
    takePublished();
    if (!this.client.connected) return;
    const fail = () => this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
    if (this.awaiting === 0) return fail();
    this.client.setupWatch.watch(0);
    void this.wait.stop().then(() => {
      takePublished();
      fail();
    });
  }

  // Token-driven like libqb's qb_ipcc_event_recv: take every published event, and
  // settle the doorbell bytes separately (eventDebt = bytes read - events taken). A
  // server whose doorbells back up in the socket (1-byte sends fill a unix socket's
  // buffer after a few hundred) must not throttle how fast we drain its ring.
  /** drainEvents() passes under way: a listener calling pollEvents() is inside one. */
  private draining = 0;

  private drainEvents(): void {
    this.draining++;
    try {
      this.drainPass();
    } finally {
      this.draining--;
    }
  }

  private drainPass(): void {
    let taken = 0;
    while (this.client.connected) {
      // What the last batch read is delivered first, in ring order: a throwing 'event'
      // listener leaves the rest of it here for the next pass, nothing is lost.
      if (this.eventNext < this.eventRead) {
        const i = 2 * this.eventNext++;
        // poolView, not subarray(): the view per event is most of this loop's own cost.
        this.client.deliverEvent(poolView(this.eventSlab, this.eventSlots[i]!, this.eventSlots[i + 1]!));
        continue;
      }
      if (taken >= EVENT_PASS) break;
      // Tokens are taken in batches (one crossing for a backlog); one whose chunk is not
      // read yet stays counted in eventTokens.
      if (this.eventTokens === 0) {
        // The semaphore's count read in place first (as eventsWaiting()): a native call that
        // takes nothing was the third of a cpg round trip's delivery. One posted after this
        // read comes with its doorbell, which wakes the loop again.
        if (this.eventSem[0]! === 0) break;
        let got: number;
        try {
          got = this.event.takeMany(Math.min(BATCH, EVENT_PASS - taken));
        } catch (e) {
          return this.client.fail(e as IpcError);
        }
        if (got === 0) break;
        this.eventTokens = got;
      }
      // Their chunks in one native call, straight into the frame pool.
      const slab = framePool.slab;
      if (this.eventSlots === NO_SLOTS) this.eventSlots = new Int32Array(2 * BATCH + 2);
      let n: number;
      try {
        n = this.event.readMany(this.eventSlots, this.eventTokens);
      } catch (e) {
        return this.client.fail(e as IpcError);
      }
      if (n === 0) {
        // The next chunk wants a fresh slab, is above the pool's size, or fails a check: read()
        // or borrow() takes it or says why.
        let frame: Uint8Array;
        const borrow = this.client.borrowEvents;
        try {
          frame = borrow ? this.event.borrow(this.client.eventInto) : this.event.read(undefined, this.client.eventInto);
        } catch (e) {
          return this.client.fail(e as IpcError);
        }
        this.eventRead = this.eventNext = 0;
        this.eventTokens--;
        taken++;
        this.eventDebt--;
        if (!borrow) {
          this.client.deliverEvent(frame);
          continue;
        }
        // The chunk stays at the ring's read pointer until the listeners return. No other pass
        // over the ring can start inside them: each starts from the loop (a doorbell, a
        // response's token from the waiter or a microtask, a timer), never from a call.
        try {
          this.client.deliverEvent(frame);
        } finally {
          try {
            this.event.giveBack();
          } catch (e) {
            this.client.fail(e as IpcError);
          }
        }
        continue;
      }
      this.eventSlab = slab;
      this.eventRead = n;
      this.eventNext = 0;
      this.eventTokens -= n;
      taken += n;
      this.eventDebt -= n;
    }
    if (!this.client.connected || this.eventTimer || this.eventImmediate) return;
    if (taken >= EVENT_PASS) {
      // A long backlog: give the rest of the loop a turn, then carry on.
      this.eventImmediate = setImmediate(() => {
        this.eventImmediate = undefined;
        this.drainEvents();
      });
    } else if (this.eventDebt > 0) {
      // A doorbell without an event yet: retry briefly, then forget it (a libqb
      // client would leave the byte unread and spin on POLLIN).
      let tries = 0;
      const retry = () => {
        this.eventTimer = undefined;
        this.drainEvents();
        if (this.eventDebt > 0 && !this.eventTimer && !this.eventImmediate && this.client.connected) {
          if (++tries > 10) this.eventDebt = 0;
          else this.eventTimer = setTimeout(retry, 1);
        }
      };
      this.eventTimer = setTimeout(retry, 1);
    }
  }

  async close(failed: boolean): Promise<void> {
    this.cork.cancel();
    this.retry.cancel();
    if (this.eventTimer) clearTimeout(this.eventTimer);
    if (this.eventImmediate) clearImmediate(this.eventImmediate);
    // The thread may be inside sem_timedwait on the mapping: unmap only once it is gone.
    await this.wait.stop();
    const rings = [this.request, this.response, this.event];
    for (const r of rings) r.close(false);
    if (failed) this.reapOrphanedFiles(rings);
  }

  // The ring files are the server's (it made them): a live server removes them once it sees
  // our setup socket close, which comes after this (IpcClient.release), as libqb's
  // qb_ipcc_shm_disconnect only unmaps them (qb_rb_close) while the server lives; one that hung
  // up first removes them as it drops the connection (a libqb server closes our socket, then its
  // rings once its last reference goes), or never. A dead server's are ours to remove, as libqb
  // 2.0.3+'s client does (qb_rb_force_close). libqb tells the two apart after a hang-up by
  // polling kill(pid, 0) up to 40 ms; we polled up to 2 s: all of it for a live server that keeps
  // its files, not enough for a killed one whose zombie its parent does not reap. Neither needs a
  // wait: a killed or crashed server hangs up as it exits, the kernel closing its sockets after
  // marking the task exiting, which /proc/<pid>/stat says from then on (a zombie too). So by now
  // the server is gone or exiting (its files are reaped), alive (they are its own), or unknown
  // (no pid from the handshake, a /proc that hides it): left, as libqb leaves them after 40 ms.
  private reapOrphanedFiles(rings: Ring[]): void {
    const files = rings.flatMap((r) => [r.hdrPath, r.dataPath]);
    if (!files.some((f) => existsSync(f)) || !serverExited(this.client.serverCredentials?.pid)) return;
    for (const f of files) removeShmPath(f);
    removeConnectionDir(this.request.hdrPath);
  }
}

/** linux/sched.h: the task is being torn down (do_exit sets it first; a zombie keeps it). */
const PF_EXITING = 0x4;

/**
 * Whether process `pid` is gone or past the point where it runs any code of its own (exiting,
 * or a zombie nobody reaped yet); false for a live one and for one we cannot tell about.
 */
function serverExited(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  let stat: string;
  try {
    // /proc as this process's PID namespace sees it, or its pids are not ours.
    if (readlinkSync('/proc/self') !== String(process.pid)) return false;
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold anything.
  const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 7)[6]);
  return (flags & PF_EXITING) !== 0;
}

// ------------------------------------------------------------------ server side
export class ShmServerTransport implements ServerTransport {
  private readonly request: Ring;
  private readonly response: Ring;
  private readonly event: Ring;
  private readonly zero = new Uint8Array(1);
  private doorbellDebt = 0;
  private requestDebt = 0;
  private requestTimer: NodeJS.Timeout | undefined;
  /** Responses and events the client's rings had no room for yet. */
  private readonly responses = new Outbox();
  private readonly events = new Outbox();
  private readonly retry: RetryTimer;
  private readonly names: string[];
  /** Requests are left in the ring while too many answers wait for the client. */
  private paused = false;
  /** The setup socket's watcher answers repeats (answerRepeats). */
  private answering = false;
  /** Whether answerRepeats() armed the watcher since onSetupReadable() began its pass. */
  private armedInPass = false;

  constructor(
    private readonly conn: ServerLink,
    dir: string,
    svc: string,
  ) {
    this.names = ['request', 'response', 'event'].map((k) => `${dir}/qb-${k}-${svc}`);
    const owner = { uid: conn.credentials.uid, gid: conn.credentials.gid };
    const rings: Ring[] = [];
    try {
      for (const base of this.names) rings.push(Ring.create(base, conn.maxMessageSize, owner));
    } catch (e) {
      for (const r of rings) r.destroy();
      throw e;
    }
    [this.request, this.response, this.event] = rings as [Ring, Ring, Ring];
    if (this.request.wordSize * 4 !== ringDataSize(conn.maxMessageSize)) throw new IpcError('EINVAL', 'ring size mismatch');
    this.retry = new RetryTimer(() => this.retryPass(), () => this.responses.length + this.events.length, 50);
  }

  get queuedResponseBytes(): number {
    return this.responses.bytes;
  }

  get queuedEventBytes(): number {
    return this.events.bytes;
  }

  reply() {
    return { connectionType: QB_IPC_SHM, request: this.names[0]!, response: this.names[1]!, event: this.names[2]! };
  }

  start(): void {}

  // Every request chunk comes with one doorbell byte on the setup socket, sent after
  // the post. Published chunks are taken first and the bytes read afterwards, as libqb
  // does, so the answers go out before we spend a syscall on the doorbells.
  // requestDebt = doorbell bytes read - chunks taken (negative while bytes lag behind).
  onSetupReadable(bells: number): void {
    this.requestDebt += bells;
    if (this.doorbellDebt > 0) this.flushDoorbells();
    this.armedInPass = false;
    if (!this.paused && !this.drainRequests()) return;
    // A pass in which a listener armed the answer reads only the doorbells of the chunks it took:
    // a later byte is the watcher's, to wake it for the chunk behind it (read here, that chunk
    // would be taken here too, a repeat come to JS after all).
    const owed = this.armedInPass ? -this.requestDebt : doorbells.length;
    if (owed <= 0) return;
    // Doorbells are read even while paused: a libqb client retries a doorbell that does not
    // fit the socket forever, while a full request ring makes it fail with EAGAIN.
    const r = readSetup(this.conn.setup.fd, owed);
    if (r === 0 || r === -1) return this.conn.close();
    if (r > 0) {
      this.requestDebt += r;
      if (this.requestDebt > 0 && !this.paused) this.drainRequests();
    }
  }

  /** Take up to a batch of published requests; false when the connection closed meanwhile. */
  private drainRequests(): boolean {
    if (!this.takeBatch()) return false;
    if (this.requestDebt > 0 && !this.requestTimer) {
      // More doorbells than chunks: either a batch cut short (continue on the next
      // turn) or a doorbell without a chunk, which libqb logs ("Nothing in q but got
      // POLLIN") and drops; give a racing writer a moment, then do the same.
      let idle = 0;
      const retry = () => {
        this.requestTimer = undefined;
        const before = this.requestDebt;
        // paused: resume() drains again
        if (this.paused || !this.takeBatch() || this.requestDebt <= 0) return;
        idle = this.requestDebt === before ? idle + 1 : 0;
        if (idle > 10) this.requestDebt = 0;
        else this.requestTimer = setTimeout(retry, idle ? 1 : 0);
      };
      this.requestTimer = setTimeout(retry, 0);
    }
    return true;
  }

  private takeBatch(): boolean {
    for (let i = 0; i < 64; i++) {
      if (this.conn.closed) return false;
      // While the watcher answers repeats, a chunk whose doorbell is still unread is left to it:
      // taken here, its doorbell would wake the watcher to a ring with nothing for it, and the
      // next chunk would be taken here again, and so on
      if (this.answering && this.requestDebt <= 0) break;
      if (this.paused || !this.request.tryTake()) break;
      this.requestDebt--;
      let frame: Uint8Array;
      try {
        frame = this.request.read(this.conn.borrowRequests ? lendFor(this.conn.maxMessageSize) : undefined);
      } catch {
        this.conn.close();
        return false;
      }
      this.conn.deliver(frame);
    }
    return !this.conn.closed;
  }

  respond(frame: Uint8Array): void {
    // The chunk, its commit and its post in one native call (ringWrite, no doorbell: libqb
    // clients wait on the response ring's semaphore), as the client publishes a lone request.
    // What it leaves (no room, a broken ring) write() does again and says why.
    if (this.responses.length === 0 && (this.response.writeRung(frame, -1) === 0 || this.response.write(frame))) return;
    if (!this.response.fits(frame.length)) return this.conn.close();
    this.responses.push(frame);
    if (this.responses.bytes >= this.conn.limits.responses) this.paused = true;
    this.retry.schedule();
  }

  carries(len: number): boolean {
    return this.response.fits(len) && this.event.fits(len);
  }

  sendEvent(frame: Uint8Array): void {
    if (!this.event.fits(frame.length)) throw new IpcError('EMSGSIZE', `event of ${frame.length} bytes cannot fit the event ring`);
    if (this.events.length === 0 && this.publishEvent(frame)) return;
    if (this.events.bytes + frame.length + QUEUE_OVERHEAD > this.conn.limits.events) return this.conn.close();
    this.events.push(frame);
    this.retry.schedule();
  }

  private retryPass(): boolean {
    if (this.conn.closed) return false;
    // A client that corrupted or truncated a ring it reads (ring.ts) is dropped, not retried forever.
    if (this.response.failure || this.event.failure) {
      this.conn.close();
      return false;
    }
    this.responses.drain((f) => this.response.write(f));
    this.resume();
    this.events.drain(this.publishEvent);
    return !this.conn.closed;
  }

  private resume(): void {
    if (!this.paused || this.responses.length > 0) return;
    this.paused = false;
    // The doorbells of chunks left in the ring were read meanwhile: nothing else will wake
    // us for them, so look now, outside the retry pass that called us.
    setImmediate(() => {
      if (!this.conn.closed && !this.paused) this.drainRequests();
    });
  }

  private readonly publishEvent = (frame: Uint8Array): boolean => {
    if (!this.event.write(frame)) return false;
    this.doorbellDebt++;
    this.flushDoorbells();
    return true;
  };

  private flushDoorbells(): void {
    const n = native();
    const setup = this.conn.setup;
    while (this.doorbellDebt > 0) {
      const r = n.send(setup.fd, this.zero);
      if (r === -Errno.EAGAIN) {
        setup.watch(READABLE | WRITABLE | DISCONNECT);
        return;
      }
      if (r !== 1) return this.conn.close();
      this.doorbellDebt--;
    }
    if (setup.watching & WRITABLE) setup.watch(READABLE | DISCONNECT);
  }

  setFlowControl(level: number): void {
    this.request.userData = level;
  }

  // The setup socket's watcher answers: a doorbell byte, then the request's chunk, so what it
  // takes comes in pairs and requestDebt stays what it was.
  answerRepeats(request: Uint8Array, response: Uint8Array): boolean {
    if (this.paused || this.responses.length > 0) return false;
    this.answering = this.conn.setup.answer(request, response, [...this.request.mappings, ...this.response.mappings], Ring.semOffset);
    this.armedInPass = this.answering;
    return this.answering;
  }

  stopAnswering(): void {
    this.answering = false;
    this.conn.setup.answer();
  }

  answered(): number {
    return this.conn.setup.answered();
  }

  destroy(): void {
    this.retry.cancel();
    if (this.requestTimer) clearTimeout(this.requestTimer);
    for (const r of [this.request, this.response, this.event]) r.destroy();
  }
}
