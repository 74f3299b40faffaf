// The socket transport, both sides (libqb ipc_socket.c). The setup reply names a control file
// (control.ts) and a base name B: requests and responses are datagrams between the client's
// @B-response and the server's @B-request, events go from @B-event-tx to @B-event.
import { readFileSync } from 'node:fs';
import { Errno } from '@corosync-ts/types';
import { ControlFile } from './control.js';
import { IpcError } from './errors.js';
import { FdWatch } from './fdwatch.js';
import { QB_IPC_SOCKET, QB_REQUEST_HEADER_SIZE, type ConnectionResponse } from './frames.js';
import { DGRAM_BATCH, DISCONNECT, POOLED_MAX, READABLE, WRITABLE, copyFrame, native, pinned, recvDatagram } from './native.js';
import { BLOCKED, Cork, DatagramOutbox, QUEUE_OVERHEAD, SENT } from './outbox.js';
import { removeConnectionDir } from './peerfile.js';
import { EVENT_INTO_HEAD, peerFileRules, type ClientLink, type ClientTransport, type ServerLink, type ServerTransport } from './transport.js';
import { WaitPolicy, afterCaller, waitFor } from './wait.js';

const sysctls = new Map<string, number>();
function sysctl(name: string, fallback: number): number {
  let v = sysctls.get(name);
  if (v === undefined) {
    try {
      v = Number.parseInt(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'), 10);
    } catch {}
    if (!(Number.isInteger(v) && v! > 0)) v = fallback;
    sysctls.set(name, v!);
  }
  return v!;
}

/**
 * The SO_SNDBUF of a libqb server's response socket, where undelivered responses wait: libqb's
 * set_sock_size() raises it to the negotiated maximum when it is not above it already, and
 * Linux caps that at net.core.wmem_max and doubles it. Without the sysctls, Linux's defaults.
 */
function serverSendBuffer(maxMsgSize: number): number {
  const initial = 2 * sysctl('wmem_default', 212992);
  return initial <= maxMsgSize ? 2 * Math.min(maxMsgSize, sysctl('wmem_max', 212992)) : initial;
}

/**
 * The largest AF_UNIX datagram anyone can send here: SO_SNDBUF - 32, and SO_SNDBUF is at most
 * 2 × net.core.wmem_max. A socket client may negotiate more (libqb grants it) but never send it.
 */
function maxDatagram(): number {
  return Math.min(2 * sysctl('wmem_max', 4 << 20), 0x40000000);
}

/** A socket of ours, closed with the rest if anything fails before the transport is whole. */
function datagramSocket(socks: FdWatch[], name: string, peer: string | undefined, bufSize: number): number {
  const n = native();
  const fd = n.socket(1);
  if (fd < 0) throw IpcError.fromErrno(fd, 'socket(AF_UNIX, SOCK_DGRAM)');
  socks.push(new FdWatch(fd, () => {}));
  let r = n.bind(fd, name);
  if (r < 0) throw IpcError.fromErrno(r, `bind @${name}`);
  if (peer !== undefined) {
    r = n.connect(fd, peer);
    if (r < 0) throw IpcError.fromErrno(r, `connect @${peer}`);
  }
  n.setBufSize(fd, bufSize);
  return fd;
}

// ------------------------------------------------------------------ client side
/**
 * What may wait in the outbox for one-way frames, held by the cork or refused by a full socket:
 * one sendmmsg's worth of frames (ipc.c sends up to 64 per call), and about what a turn of cpg
 * multicasts carries (32 per turn, a message counting once more per 16 KiB: client/src/cpg.ts).
 */
const HOLD_FRAMES = 64;
const HOLD_BYTES = 512 * 1024;

/**
 * How many batches are being delivered from the shared receive area (dgramArea) right now: a
 * listener may call from inside one, and takeStray must not receive into the area meanwhile.
 */
let delivering = 0;

/**
 * Events in a row that ConnectOptions.eventInto declined (or too small to ask about) after which
 * the event socket stops peeking each datagram before it receives it (FdWatch.into).
 */
const INTO_IDLE = 32;

function socketFull(): IpcError {
  return IpcError.tryAgain("the server's request socket is full; try again");
}

export class SocketClientTransport implements ClientTransport {
  private readonly control: ControlFile;
  private readonly req: FdWatch;
  private readonly evt: FdWatch;
  private readonly out: DatagramOutbox;
  /** Responses due (sent or queued requests not answered yet). */
  private owed = 0;
  /**
   * How many datagrams the native watcher may receive per wake-up: those owed (0: all there
   * are). Stopping there saves the recv that would only report EAGAIN on every round trip. A
   * response nobody asked for that sits behind them is still read before any request can be
   * matched to it: by the check send() makes while nothing is due, or by uv_poll (level-triggered)
   * at the next loop turn, and it fails the connection.
   */
  private readonly pinnedBudget = pinned(4);
  private readonly recvBudget = new Int32Array(this.pinnedBudget.buffer);
  readonly responseRoom: number;

  constructor(
    private readonly client: ClientLink,
    res: ConnectionResponse,
  ) {
    this.control = ControlFile.open(res.request, peerFileRules(client, [res.request], 'control file'));
    const base = res.response;
    const socks: FdWatch[] = [];
    let reqFd: number;
    let evtFd: number;
    try {
      reqFd = datagramSocket(socks, `${base}-response`, `${base}-request`, client.maxMessageSize);
      evtFd = datagramSocket(socks, `${base}-event`, `${base}-event-tx`, client.maxMessageSize);
    } catch (e) {
      for (const s of socks) s.close();
      this.control.close(false);
      throw e;
    }
    this.req = new FdWatch(reqFd, (st, ev, count) => this.onReq(st, ev, count), client.maxMessageSize, this.pinnedBudget);
    // The event counter bounds each batch: the recv that would only say EAGAIN was one of a
    // 64-byte cpg round trip's four syscalls, between the delivery's arrival and its callback.
    // libqb raises it after an event's send returned, so it never counts one not yet there; one
    // there but not counted yet (or a peer that keeps no count: 0) is read at the next wake-up
    // (uv_poll is level-triggered) or by reading to EAGAIN.
    this.evt = new FdWatch(evtFd, (st, _ev, count) => this.onEvt(st, count), client.maxMessageSize, this.control.counterWord('event'));
    this.out = new DatagramOutbox(reqFd, (n) => this.control.sent('request', n), true);
    this.responseRoom = serverSendBuffer(client.maxMessageSize);
    this.req.watch(READABLE);
    this.evt.watch(READABLE);
    const setup = client.setupWatch;
    setup.onEvents = (st, ev) => this.onSetup(st, ev);
    setup.watch(READABLE | DISCONNECT);
  }

  get fd(): number {
    return this.evt.fd;
  }

  // A datagram waiting in a unix socket is charged to the sender's SO_SNDBUF at its skb
  // truesize: the data and skb_shared_info (320 bytes) in a power-of-two kmalloc block, plus
  // the sk_buff (256). Measured on corosync 3.1.7 (README "Requests in flight"): 2,731
  // 56-byte (768 each) and 911 1,064-byte (2,304 each) responses fill its 2 MiB.
  responseCost(len: number): number {
    // The power of two at or above len + 320 (at most 2^31: len is below 2^30), in integer
    // arithmetic: Math.log2 and ** cost a libm pow() per request.
    return 256 + Math.max(512, 2 * (1 << (31 - Math.clz32(len + 319))));
  }

  get flowControl(): number {
    return this.control.flowControl;
  }

  // A reply can only be seen here with a syscall (recv MSG_DONTWAIT): the wait's first ppoll finds it.
  deliverAnswered(): void {}

  pollEvents(): void {
    // Every socket receives into the area a batch being delivered is in (see `delivering`).
    if (delivering > 0 || !this.client.connected || this.client.listenerCount('event') === 0) return;
    this.takeDatagrams(this.evt, this.evt.wait(0), 'event');
  }

  send(frame: Uint8Array, reply: boolean, fcMax: number, body?: Uint8Array): void {
    // fc_enable_max is 1 for libqb clients outside cpg: level 2 does not stop them.
    const fc = this.control.flowControl;
    if (fc > 0 && fc <= fcMax) throw IpcError.tryAgain('the server has turned on flow control; try again');
    const len = frame.length + (body === undefined ? 0 : body.length);
    // A one-way request waits here, held for the end of the caller's turn (Cork) or behind
    // frames a full socket refused, only while what waits stays within HOLD_*; beyond, it is
    // refused, as libqb's qb_ipcc_sendv returns the EAGAIN of a full socket (libcpg:
    // CS_ERR_TRY_AGAIN). Nothing waits for its answer: queued without a bound, a loop of them
    // grew memory without one.
    if (!reply && len <= this.corkMax && (this.out.length > 0 || this.cork.hold())) {
      if (!this.room(len)) {
        // The turn's batch goes now: this frame may start the next one.
        this.cork.run();
        if (!this.room(len)) throw socketFull();
      }
      if (this.out.length > 0 || this.cork.hold()) {
        this.out.push(frame, body);
        return;
      }
    }
    this.cork.run();
    if (!reply && this.out.length > 0) {
      // A large one behind frames the full socket refused: queued only if the socket has taken
      // one its size (else a try must say whether it fits at all).
      if (!this.room(len) || len > this.out.sized) throw socketFull();
      this.out.push(frame, body);
      return;
    }
    const idle = this.out.length === 0 && this.owed === 0;
    // Nothing is due, so anything already waiting on the socket is a response nobody asked for:
    // take it now, or this request would be matched to it. The control file's response counter
    // says whether one is there without a recv: libqb counts a response once its send returned
    // (as it counts events, waitStep), and the recv that only said EAGAIN was one of the four
    // syscalls of every call where libcmap makes three (bench/README.md "GET: syscalls per
    // call"). A peer that does not keep the counter is no longer checked here; what it queues
    // while nothing is due still wakes uv_poll and fails the connection at the next loop turn.
    // A request that gets no answer (cpg MCAST) cannot be matched to a stray, so it skips the
    // check while it goes out at once; the next call makes it.
    if (idle && reply && this.control.queued('response') !== 0 && !this.takeStray()) return;
    const r = this.out.send(frame, body, reply || this.room(len));
    if (r < 0) {
      const err = IpcError.fromErrno(r, 'send request datagram');
      if (err.code === 'EMSGSIZE') throw new IpcError('EMSGSIZE', `request of ${len} bytes does not fit one datagram (SO_SNDBUF / net.core.wmem_max)`);
      // The server's socket is gone (ECONNREFUSED...): the same error as every other pending call.
      const gone = new IpcError('ECONNRESET', `the server has gone (${err.message})`);
      this.client.fail(gone);
      throw gone;
    }
    if (!reply) {
      if (r === SENT) return;
      if (this.out.length === 0) throw socketFull();
      this.req.watch(READABLE | WRITABLE);
      // It keeps the outbox non-empty, so the call after it would skip the check above: made now.
      if (idle) this.takeStray();
      return;
    }
    this.recvBudget[0] = ++this.owed;
    if (r === SENT) {
      if (!this.waiting) {
        this.waiting = true;
        afterCaller(this.waitStep);
      }
    } else {
      // Receiver queue full (net.unix.max_dgram_qlen): the outbox keeps order; wait for POLLOUT.
      this.req.watch(READABLE | WRITABLE);
    }
  }

  /**
   * One-way frames up to this size are held by the cork: never above what the socket's send
   * buffer takes in one datagram (SO_SNDBUF starts at net.core.wmem_default and only grows), so
   * a held frame cannot fail with EMSGSIZE after its call returned.
   */
  private readonly corkMax = Math.min(65536, sysctl('wmem_default', 212992) - 32);
  private readonly cork = new Cork(() => {
    if (!this.client.connected) return;
    const r = this.out.flush();
    if (r < 0) return this.client.fail(new IpcError('ECONNRESET', `the server has gone (${IpcError.fromErrno(r, 'send request datagram').message})`));
    if (r !== SENT) {
      // Receiver queue full: the rest goes on POLLOUT. Meanwhile the outbox is not empty, so
      // the next call would skip its check for a stray response (send()): made here.
      this.req.watch(READABLE | WRITABLE);
      if (this.owed === 0) this.takeStray();
    }
  });

  /** Whether a one-way frame of `len` bytes may wait in the outbox (HOLD_FRAMES, HOLD_BYTES). */
  private room(len: number): boolean {
    return this.out.length < HOLD_FRAMES && this.out.bytes + len + QUEUE_OVERHEAD <= HOLD_BYTES;
  }

  /** Takes responses already waiting while none is due; false if that found the server gone. */
  private takeStray(): boolean {
    if (delivering === 0) {
      this.takeDatagrams(this.req, this.req.wait(0), 'response');
      return this.client.connected;
    }
    // A listener's call while a batch is being delivered from the receive area every socket
    // shares (this connection's or another's): the rest of that batch, and the frame lent to the
    // listener, are still in it. Nothing is due, so the first response there is one nobody asked
    // for, which fails the connection: received apart, with a copy.
    const d = this.responseApart();
    if (d) this.client.deliverResponse(d);
    return this.client.connected;
  }

  /** One response received apart, with a copy; undefined if none is there or it failed the connection. */
  private responseApart(): Uint8Array | undefined {
    const d = recvDatagram(this.req.fd, this.client.maxMessageSize);
    if (typeof d === 'number') {
      if (d !== -Errno.EAGAIN) this.client.fail(new IpcError('ECONNRESET', `response socket: ${IpcError.fromErrno(d, 'recv').message}`));
      return undefined;
    }
    if (d.length < QB_REQUEST_HEADER_SIZE) {
      this.client.fail(new IpcError('ECONNRESET', `a ${d.length}-byte response datagram (libqb treats it as a disconnect)`));
      return undefined;
    }
    this.control.taken('response');
    return d;
  }

  /**
   * Delivers the replies counted as queued while the one due next asked to go first
   * (RequestOptions.answerFirst): received apart, with a copy, as the shared receive area may
   * hold the rest of an event batch. Whether it delivered any.
   */
  private answersFirst(): boolean {
    let any = false;
    while (this.client.connected && this.owed > 0 && this.client.answerFirst && this.control.queued('response') !== 0) {
      const d = this.responseApart();
      if (!d) return any;
      this.recvBudget[0] = --this.owed;
      this.client.deliverResponse(d);
      any = true;
    }
    return any;
  }

  // Once per batch of requests, after the caller's code has run (afterCaller), sleep in ppoll
  // for the reply as long as WaitPolicy allows, so a prompt answer skips the loop turn and
  // uv_poll's callback. Otherwise uv_poll delivers it.
  private waiting = false;
  private readonly policy = new WaitPolicy();
  // The response counter (see send()) says whether the reply is there already (corosync took the
  // CPU at our send and answered): then a recv takes it; else ppoll sleeps first, without the
  // recv that would only say EAGAIN. A wrong count costs that recv or returns from ppoll at once.
  // `ready` is the count waitStep read for waitFor, not read a second time.
  private readonly waitReply = (ns: number, ready: boolean): number => (ns > 0 ? this.req.wait(ns, ready) : 0);
  private readonly waitStep = (): void => {
    this.waiting = false;
    if (!this.client.connected || this.owed <= 0) return;
    const count = waitFor(this.policy, this.waitReply, this.control.queued('response') !== 0);
    // With no event counted when the replies are already received, none was sent before them:
    // they go straight out, without the `held` array and the listener lookup below (on the
    // EventEmitter's dictionary-mode listener table; ~0.5k of a socket GET's instructions).
    if (count === 0 || this.control.queued('event') === 0 || this.client.listenerCount('event') === 0) return this.takeDatagrams(this.req, count, 'response');
    // A reply caught here skips the loop turn whose uv_poll would have read the event socket
    // first. The server writes an event before a reply that follows it, so the events already
    // queued go out before the replies: a tracker sees its notification before set() resolves,
    // and the tap relays them in the daemon's order. The replies are copied out first, because
    // both sockets receive into one shared area.
    // The control file's event counter says whether any are queued without a recv: libqb counts
    // an event once its send has returned, before the reply is sent, so a counted event is
    // visible here. A counter that is not 0 when none is queued (a peer that does not keep it)
    // only costs the recv.
    // Replies to requests that asked to be answered first (RequestOptions.answerFirst) go
    // before those events.
    const held: Uint8Array[] = [];
    this.takeDatagrams(this.req, count, 'response', held);
    let i = 0;
    while (i < held.length && this.client.connected && this.client.answerFirst) this.client.deliverResponse(held[i++]!);
    if (i < held.length && this.client.connected && this.control.queued('event') !== 0) this.takeDatagrams(this.evt, this.evt.wait(0), 'event');
    for (; i < held.length; i++) if (this.client.connected) this.client.deliverResponse(held[i]!);
  };

  private onReq(status: number, events: number, count: number): void {
    if (status < 0) return this.client.fail(IpcError.fromErrno(status, 'poll request socket'));
    if (events & WRITABLE) {
      const r = this.out.flush();
      if (r < 0) return this.client.fail(IpcError.fromErrno(r, 'send queued request datagram'));
      if (r === SENT) this.req.watch(READABLE);
    }
    // The watcher has already received what was queued (ipc.c recv_batch): one loop
    // turn and one crossing per wake-up, however many datagrams it brought.
    this.takeDatagrams(this.req, count, 'response');
  }

  private onEvt(status: number, count: number): void {
    if (status < 0) return this.client.fail(IpcError.fromErrno(status, 'poll event socket'));
    this.takeDatagrams(this.evt, count, 'event');
  }

  /**
   * Whether the event socket peeks each datagram first (FdWatch.into), and how many events in a
   * row eventInto has not taken. An event eventInto takes turns it on (that one was copied out
   * of the receive area, as before); INTO_IDLE others in a row turn it off, so a connection
   * whose events it never wants pays no peek per event.
   */
  private intoOn = false;
  private intoIdle = 0;

  private intoMode(on: boolean): void {
    this.intoIdle = 0;
    if (on !== this.intoOn && this.evt.into(on ? POOLED_MAX : 0, EVENT_INTO_HEAD)) this.intoOn = on;
  }

  /** Delivers what `w` received; responses go to `held` instead when it is given. */
  private takeDatagrams(w: FdWatch, count: number, what: 'response' | 'event', held?: Uint8Array[]): void {
    delivering++;
    try {
      this.deliverDatagrams(w, count, what, held);
    } finally {
      delivering--;
    }
  }

  private deliverDatagrams(w: FdWatch, count: number, what: 'response' | 'event', held?: Uint8Array[]): void {
    const area = w.area!;
    const slots = w.slots!;
    const max = this.client.maxMessageSize;
    // Batches read after a datagram into mode left queued, at most DGRAM_BATCH: as one wake-up
    // reads at most that many, the loop gets its turn while a peer keeps sending.
    let rereads = 0;
    this.takeReceived(slots, count, what);
    for (let i = 0; i < count && this.client.connected; i++) {
      let off = slots[2 * i]!;
      let len = slots[2 * i + 1]!;
      let into: Uint8Array | undefined;
      let more = false;
      const peeked = off < 0;
      // A large event left queued waits for the replies of answerFirst requests already there:
      // the loop's poll can find the event socket ready first without the reply wait having run
      // (a cpg fragment's own 1 MiB delivery held the next fragment back). Level-triggered, the
      // event socket wakes the loop again for it.
      if (peeked && what === 'event' && this.answersFirst()) return;
      if (peeked) {
        // Into mode left this one queued, its head peeked at -1 - off, as the batch's last: it
        // is read into the buffer eventInto gives, or else into the area, from its start (every
        // frame of the batch before it has been delivered, and responses copied out).
        if (len <= max) into = this.askInto(area, -1 - off, len);
        const got = native().recvDgramInto(w.fd, into ?? area);
        // The datagram peeked is the one read (no one else reads this socket): anything else is a broken stream.
        len = got < 0 ? got : got !== len ? -Errno.EBADMSG : got;
        off = 0;
        // What is queued behind it (by the counter, which still counts this one; 0 from a peer
        // that keeps none) is read after its delivery, as a batch of its own.
        more = this.control.queued(what) !== 1 && ++rereads < DGRAM_BATCH;
      }
      if (len > max) len = -Errno.EMSGSIZE; // longer than anything negotiated
      if (len < 0) {
        return this.client.fail(new IpcError('ECONNRESET', `${what} socket: ${IpcError.fromErrno(len, 'recv').message}`));
      }
      if (len < QB_REQUEST_HEADER_SIZE) {
        return this.client.fail(new IpcError('ECONNRESET', what === 'response' ? `a ${len}-byte response datagram (libqb treats it as a disconnect)` : `a ${len}-byte event datagram`));
      }
      if (peeked) this.control.taken(what);
      if (what === 'response') {
        const frame = copyFrame(area, off, len, wordsOf(area));
        if (this.owed > 0) this.recvBudget[0] = --this.owed;
        if (held) held.push(frame);
        else this.client.deliverResponse(frame);
      } else {
        let frame: Uint8Array;
        if (into !== undefined) {
          frame = into;
          this.intoIdle = 0;
        } else if (!peeked && len > POOLED_MAX && this.client.eventInto !== undefined && (into = this.intoCopy(area, off, len)) !== undefined) {
          frame = into;
          this.intoMode(true);
        } else {
          // A lent event stays in the receive area, which nothing refills before the listeners
          // return. Small ones too: their copy into the frame pool was two views and a set() per
          // event (a cpg round trip's delivery: bench/README.md "cpg", issue 14).
          frame = this.client.borrowEvents ? this.lentView(area, i, off, len) : copyFrame(area, off, len);
          if (this.intoOn && ++this.intoIdle >= INTO_IDLE) this.intoMode(false);
        }
        this.client.deliverEvent(frame);
        if (more && this.client.connected) {
          count = w.wait(0);
          i = -1;
          this.takeReceived(slots, count, what);
        }
      }
    }
  }

  /**
   * The views of the receive area lent as events, by their place in a batch, with the offset and
   * length each covers: a burst of messages of one size finds the same datagrams at the same
   * places batch after batch, and reuses the view, where a subarray() per event was a typed
   * array to create and collect (~430 of a 64-byte cpg delivery's instructions on the loop
   * thread, callgrind). A lent frame is valid only while the listeners run, view or bytes.
   */
  private lent: Uint8Array[] = [];
  private readonly lentAt = new Int32Array(2 * DGRAM_BATCH);
  private lentArea: Uint8Array | undefined;

  private lentView(area: Uint8Array, i: number, off: number, len: number): Uint8Array {
    if (area !== this.lentArea) {
      // the shared area grew (dgramArea): views of the old one are of nothing in use
      this.lent = [];
      this.lentArea = area;
    }
    const at = this.lentAt;
    let v = this.lent[i];
    if (v === undefined || at[2 * i] !== off || at[2 * i + 1] !== len) {
      v = area.subarray(off, off + len);
      this.lent[i] = v;
      at[2 * i] = off;
      at[2 * i + 1] = len;
    }
    return v;
  }

  /**
   * Counts off the control file's counter, in one step, the `count` datagrams a wake-up received
   * (a peeked last one is still queued: counted off once read). Nothing the batch's listeners
   * call reads this channel's counter in between: the wait for a reply (waitStep) runs after
   * the caller's code, a stray check and a peeked one's re-read after their own receive.
   */
  private takeReceived(slots: Int32Array, count: number, what: 'response' | 'event'): void {
    const n = count > 0 && slots[2 * count - 2]! < 0 ? count - 1 : count;
    if (n > 0) this.control.taken(what, n);
  }

  /** eventInto's buffer for an event of `len` bytes whose head is at area[at...], or undefined where it declines. */
  private askInto(area: Uint8Array, at: number, len: number): Uint8Array | undefined {
    const into = this.client.eventInto?.(area.subarray(at, at + Math.min(len, EVENT_INTO_HEAD)), len);
    return into !== undefined && into.length === len ? into : undefined;
  }

  /** The event at area[off, off + len) copied where eventInto says, or undefined where it declines. */
  private intoCopy(area: Uint8Array, off: number, len: number): Uint8Array | undefined {
    const into = this.askInto(area, off, len);
    into?.set(area.subarray(off, off + len));
    return into;
  }

  private onSetup(status: number, events: number): void {
    if (status < 0) return this.client.fail(new IpcError('ECONNRESET', 'setup socket error'));
    if (events & READABLE) {
      // A libqb server never writes here after the handshake: EOF is the only news.
      if (setupClosed(this.client.setupWatch.fd)) return this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
    }
    if (events & DISCONNECT) this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
  }

  async close(): Promise<void> {
    this.cork.cancel();
    this.req.close(true);
    this.evt.close(true);
    // Like qb_ipcc_disconnect: the client removes the control file and its directory.
    this.control.close(true);
    removeConnectionDir(this.control.path);
  }
}

// The receive area as int32, for copyFrame's word copy: one area serves every socket (dgramArea),
// replaced only when it grows.
let areaBytes: Uint8Array | undefined;
let areaWords: Int32Array = new Int32Array(0);
function wordsOf(area: Uint8Array): Int32Array {
  if (area !== areaBytes) {
    areaBytes = area;
    areaWords = new Int32Array(area.buffer, area.byteOffset, area.length >> 2);
  }
  return areaWords;
}

/** Read what a readable setup socket holds (nothing is expected): true at EOF or on an error. */
function setupClosed(fd: number): boolean {
  const r = native().recvInto(fd, new Uint8Array(64));
  return r === 0 || (r < 0 && r !== -Errno.EAGAIN);
}

// ------------------------------------------------------------------ server side
export class SocketServerTransport implements ServerTransport {
  private readonly control: ControlFile;
  private readonly base: string;
  /** @B-request (requests in, responses out) and @B-event-tx; `req`/`evt` by these names in tests. */
  private readonly req: FdWatch;
  private readonly evt: FdWatch;
  private readonly responses: DatagramOutbox;
  private readonly events: DatagramOutbox;
  private reqConnected = false;
  private evtConnected = false;
  private evtConnectTries = 0;
  private evtTimer: NodeJS.Timeout | undefined;
  /** Requests are left unread while too many answers wait for the client. */
  private paused = false;
  /** Whether answerRepeats() armed the watcher since onReq() began its pass. */
  private armedInPass = false;

  constructor(
    private readonly conn: ServerLink,
    dir: string,
    svc: string,
  ) {
    this.base = `${dir}/qb-${svc}`;
    // Abstract names stop at 107 bytes: longer ones would be cut to the same name.
    if (Buffer.byteLength(`${this.base}-event-tx`) > 106) {
      throw new IpcError('ENAMETOOLONG', `service name too long for libqb socket names: ${svc}`);
    }
    this.control = ControlFile.create(`${dir}/qb-control-${svc}`, conn.credentials);
    const socks: FdWatch[] = [];
    const bufSize = Math.min(conn.maxMessageSize, maxDatagram());
    try {
      datagramSocket(socks, `${this.base}-request`, undefined, bufSize);
      datagramSocket(socks, `${this.base}-event-tx`, undefined, bufSize);
    } catch (e) {
      for (const s of socks) s.close();
      this.control.close(true);
      throw e;
    }
    this.req = socks[0]!;
    this.evt = socks[1]!;
    this.req.onEvents = (st, ev) => this.onReq(st, ev);
    this.evt.onEvents = (st, ev) => this.onEvt(st, ev);
    this.responses = new DatagramOutbox(this.req.fd, (n) => this.control.sent('response', n));
    this.events = new DatagramOutbox(this.evt.fd, (n) => this.control.sent('event', n));
  }

  get queuedResponseBytes(): number {
    return this.responses.bytes;
  }

  get queuedEventBytes(): number {
    return this.events.bytes;
  }

  reply() {
    return { connectionType: QB_IPC_SOCKET, request: this.control.path, response: this.base, event: '' };
  }

  start(): void {
    this.req.watch(READABLE);
  }

  private onReq(status: number, events: number): void {
    if (status < 0) return this.conn.close();
    if (events & WRITABLE) this.flushResponses();
    if (!(events & READABLE)) return;
    // The control file's request counter (client ++ per send, we -- per read) is
    // libqb's own hint of how many are queued; epoll is level-triggered, so a wrong
    // hint costs a wake-up, never a request.
    // A request whose listener arms the native answer (answerRepeats) ends the pass: what comes
    // next is the watcher's to compare first (read on here, a repeat sent meanwhile would come to
    // JS after all); requests it does not answer come back here, read on as before.
    this.armedInPass = false;
    for (let i = 0; i < 64 && !this.conn.closed && !this.paused && (i === 0 || (!this.armedInPass && this.control.queued('request') > 0)); i++) {
      // Larger than the negotiated maximum (-EMSGSIZE) is a broken client: drop it.
      const d = recvDatagram(this.req.fd, Math.min(this.conn.maxMessageSize, maxDatagram()), this.conn.borrowRequests);
      if (typeof d === 'number') {
        if (d !== -Errno.EAGAIN) this.conn.close();
        return;
      }
      this.control.taken('request');
      // A 0-byte datagram or QB_IPC_MSG_DISCONNECT means the client is leaving.
      this.conn.deliver(d);
    }
  }

  /** While answers wait for the client, stop reading its requests beyond the byte limit. */
  private watchRequests(): void {
    const waiting = this.responses.length > 0;
    if (waiting && this.responses.bytes >= this.conn.limits.responses) this.paused = true;
    if (!waiting) this.paused = false;
    this.req.watch((this.paused ? 0 : READABLE) | (waiting ? WRITABLE : 0));
  }

  respond(frame: Uint8Array): void {
    if (!this.reqConnected) {
      if (native().connect(this.req.fd, `${this.base}-response`) < 0) return this.conn.close();
      this.reqConnected = true;
    }
    const r = this.responses.send(frame);
    if (r < 0) return this.conn.close();
    if (r === BLOCKED) this.watchRequests();
  }

  private flushResponses(): void {
    if (this.responses.flush() < 0) return this.conn.close();
    this.watchRequests();
  }

  carries(len: number): boolean {
    // Linux refuses an AF_UNIX datagram above SO_SNDBUF - 32 with EMSGSIZE.
    return len <= serverSendBuffer(this.conn.maxMessageSize) - 32;
  }

  sendEvent(frame: Uint8Array): void {
    if (this.events.bytes + frame.length + QUEUE_OVERHEAD > this.conn.limits.events) return this.conn.close();
    // Straight to the socket while nothing waits: queueing first copied every event once more
    // (a 1 MiB cpg delivery: a fresh 1 MiB chunk and its page faults per message).
    if (this.evtConnected && this.events.length === 0) {
      const r = this.events.send(frame);
      if (r < 0) return this.conn.close();
      if (r === BLOCKED) this.evt.watch(WRITABLE);
      return;
    }
    this.events.push(frame);
    if (this.events.length === 1) this.flushEvents();
  }

  private flushEvents(): void {
    if (this.conn.closed) return;
    if (!this.evtConnected) {
      const r = native().connect(this.evt.fd, `${this.base}-event`);
      if (r < 0) {
        // The client binds B-event just after our setup reply: retry like libqb (10 × 100 ms).
        if ((r === -Errno.ECONNREFUSED || r === -Errno.ENOENT) && this.evtConnectTries++ < 10) {
          this.evtTimer ??= setTimeout(() => {
            this.evtTimer = undefined;
            this.flushEvents();
          }, 100);
          return;
        }
        return this.conn.close();
      }
      this.evtConnected = true;
    }
    const r = this.events.flush();
    if (r < 0) return this.conn.close();
    this.evt.watch(r === BLOCKED ? WRITABLE : 0);
  }

  private onEvt(status: number, events: number): void {
    if (status < 0) return this.conn.close();
    if (events & WRITABLE) this.flushEvents();
  }

  setFlowControl(level: number): void {
    this.control.flowControl = level;
  }

  answerRepeats(request: Uint8Array, response: Uint8Array): boolean {
    if (!this.reqConnected || this.paused || this.responses.length > 0) return false;
    this.armedInPass = this.req.answer(request, response, [this.control.mapping]);
    return this.armedInPass;
  }

  stopAnswering(): void {
    this.req.answer();
  }

  answered(): number {
    return this.req.answered();
  }

  onSetupReadable(_bells: number): void {
    // libqb clients never write on the setup socket in socket mode: only EOF matters.
    if (setupClosed(this.conn.setup.fd)) this.conn.close();
  }

  destroy(): void {
    if (this.evtTimer) clearTimeout(this.evtTimer);
    this.req.close();
    this.evt.close();
    this.control.close(true);
  }
}
