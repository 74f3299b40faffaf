import { EventEmitter } from 'node:events';
import { ConnectionCapture, type CaptureWriter } from './capture.js';
import { constants as fsc, openSync, closeSync, existsSync, fstatSync, unlinkSync } from 'node:fs';
import { IpcError, abortError } from './errors.js';
import { FdWatch } from './fdwatch.js';
import {
  QB_CONNECTION_RESPONSE_SIZE,
  QB_IPC_SHM,
  QB_IPC_SOCKET,
  QB_REQUEST_HEADER_SIZE,
  decodeConnectionResponse,
  encodeConnectionRequest,
  readRequestHeader,
  type ConnectionResponse,
} from './frames.js';
import { DISCONNECT, READABLE, WRITABLE, copyFrame, native, type Mapping, type WaiterHandle } from './native.js';
import { Ring, assertShmPath, removeConnectionDir } from './ring.js';

export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface ConnectOptions {
  /** Largest message we want to exchange; the server may raise it (default 1 MiB, like corosync's libraries). */
  maxMessageSize?: number;
  signal?: AbortSignal;
  /** Handshake timeout in ms (libqb itself waits forever). */
  timeout?: number;
  /** Record every frame of this connection, handshake included (a failed handshake is not recorded). */
  capture?: CaptureWriter;
  /** The service name written to the capture; default `name` (give it when `name` carries a test prefix). */
  captureService?: string;
}

export interface RequestOptions {
  timeout?: number;
  signal?: AbortSignal;
}

/** How long the shm client polls for a due response before leaving it to the waiter thread. */
const SPIN_MS = 0.05;
/** How long its first poll may busy-wait in native code (ns). */
const SPIN_NS = 20000;

/** libqb's floor for max_msg_size: the connection response must fit. */
const MIN_MAX_MSG_SIZE = QB_CONNECTION_RESPONSE_SIZE;
const DEFAULT_MAX_MSG_SIZE = 1048576;

export function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new IpcError('EINVAL', `invalid IPC service name ${JSON.stringify(name)}`);
  }
  return name;
}

/** Connect to a libqb IPC server listening on the abstract socket `name` (e.g. 'cmap'). */
export async function connect(name: string, opts: ConnectOptions = {}): Promise<IpcClient> {
  validateName(name);
  const want = opts.maxMessageSize ?? DEFAULT_MAX_MSG_SIZE;
  if (!Number.isInteger(want) || want <= 0 || want > 0x40000000) {
    throw new IpcError('EINVAL', `invalid maxMessageSize ${want}`);
  }
  if (opts.timeout !== undefined && !(Number.isFinite(opts.timeout) && opts.timeout >= 0)) {
    throw new IpcError('EINVAL', `invalid timeout ${String(opts.timeout)}`);
  }
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const n = native();
  const fd = n.socket(0);
  if (fd < 0) throw IpcError.fromErrno(fd, 'socket(AF_UNIX, SOCK_STREAM)');
  const setup = new FdWatch(fd, () => {});
  try {
    // EAGAIN: the listen backlog is full (a burst of clients); the server is alive, so
    // retry briefly before reporting it (libqb would return it at once).
    let r = n.connect(fd, name);
    for (let attempt = 0; r === -11 && attempt < 40; attempt++) {
      await new Promise((res) => setTimeout(res, Math.min(5 * (attempt + 1), 50)));
      if (opts.signal?.aborted) throw abortError(opts.signal);
      r = n.connect(fd, name);
    }
    if (r < 0) throw IpcError.fromErrno(r, `connect to abstract socket @${name}`);
    // Ask for the server's credentials with the reply (qb_ipcc_auth_get).
    n.setPassCred(fd, 1);
    const connReq = encodeConnectionRequest(Math.max(want, MIN_MAX_MSG_SIZE));
    const tReq = opts.capture?.now() ?? 0;
    const sent = n.send(fd, connReq);
    if (sent !== 24) throw sent < 0 ? IpcError.fromErrno(sent, 'send connection request') : new IpcError('EAGAIN', 'short send of the connection request');
    const { reply, cred } = await readSetupReply(setup, opts);
    const tRes = opts.capture?.now() ?? 0;
    n.setPassCred(fd, 0);
    const res = decodeConnectionResponse(reply);
    if (res.error !== 0) throw IpcError.fromErrno(res.error, `server @${name} refused the connection`);
    let serverCredentials = cred;
    if (!serverCredentials) {
      const pc = n.peerCred(fd);
      if (typeof pc !== 'number') serverCredentials = { pid: pc[0], uid: pc[1], gid: pc[2] };
    }
    if (res.maxMsgSize < MIN_MAX_MSG_SIZE || res.maxMsgSize > 0x40000000) {
      throw new IpcError('EBADMSG', `server offered an implausible max message size ${res.maxMsgSize}`);
    }
    const transport = res.connectionType === QB_IPC_SOCKET ? 'socket' : res.connectionType === QB_IPC_SHM ? 'shm' : undefined;
    if (transport) {
      const client = new IpcClient(name, setup, res, serverCredentials, transport);
      if (opts.capture) {
        client.capture = new ConnectionCapture(opts.capture, opts.captureService ?? name, transport, process.pid);
        client.capture.opened(connReq, tReq, reply, tRes);
      }
      return client;
    }
    throw new IpcError(res.connectionType === 2 || res.connectionType === 3 ? 'ENOTSUP' : 'EINVAL', `unsupported libqb connection type ${res.connectionType}`);
  } catch (e) {
    setup.close();
    throw e;
  }
}

function readSetupReply(setup: FdWatch, opts: ConnectOptions): Promise<{ reply: Uint8Array; cred?: Credentials }> {
  const n = native();
  const reply = new Uint8Array(QB_CONNECTION_RESPONSE_SIZE);
  let got = 0;
  let cred: Credentials | undefined;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: IpcError) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      setup.watch(0);
      if (err) reject(err);
      else resolve(cred ? { reply, cred } : { reply });
    };
    const onAbort = () => finish(abortError(opts.signal!));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeout !== undefined) {
      timer = setTimeout(() => finish(new IpcError('ETIMEDOUT', `no connection response within ${opts.timeout} ms`)), opts.timeout);
    }
    const onEvents = (status: number, events: number) => {
      if (status < 0) return finish(IpcError.fromErrno(status, 'poll on the setup socket'));
      for (;;) {
        const r = n.recvCred(setup.fd, reply.subarray(got));
        if (typeof r === 'number') {
          if (r === -11) break;
          return finish(IpcError.fromErrno(r, 'receive connection response'));
        }
        const [len, pid, uid, gid] = r;
        if (len === 0) return finish(new IpcError('ECONNRESET', 'server closed the connection during the handshake'));
        if (!cred && pid > 0) cred = { pid, uid: uid >>> 0, gid: gid >>> 0 };
        got += len;
        if (got === reply.length) return finish();
      }
      if (events & DISCONNECT) return finish(new IpcError('ECONNRESET', 'server closed the connection during the handshake'));
    };
    setup.onEvents = onEvents;
    try {
      setup.watch(READABLE | DISCONNECT);
    } catch (e) {
      finish(e as IpcError);
    }
  });
}

interface Pending {
  resolve: (frame: Uint8Array) => void;
  reject: (err: IpcError) => void;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

function settle(p: Pending): void {
  p.settled = true;
  if (p.timer) clearTimeout(p.timer);
  if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
}

/** The part that differs between the socket and shm transports. */
interface Transport {
  /** Throws IpcError for a per-call failure (EAGAIN flow control, EMSGSIZE). */
  send(frame: Uint8Array): void;
  /** Release everything; `serverGone` lets shm clean up files a dead server left. */
  close(serverGone: boolean): Promise<void>;
}

export interface IpcClientEvents {
  event: [frame: Uint8Array];
  disconnect: [err: IpcError];
}

/**
 * One libqb IPC connection. Requests are answered in FIFO order; events arrive
 * through the 'event' event; 'disconnect' fires once if the server goes away.
 */
export class IpcClient extends EventEmitter<IpcClientEvents> {
  readonly transport: 'socket' | 'shm';
  readonly maxMessageSize: number;
  readonly serverCredentials?: Credentials;
  readonly service: string;
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private readonly impl: Transport;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private failure: IpcError | undefined;
  private closePromise: Promise<void> | undefined;
  /** @internal set by connect() when recording */
  capture: ConnectionCapture | undefined;

  /** @internal use connect() */
  constructor(name: string, private readonly setup: FdWatch, res: ConnectionResponse, cred: Credentials | undefined, transport: 'socket' | 'shm') {
    super();
    this.service = name;
    this.transport = transport;
    this.maxMessageSize = res.maxMsgSize;
    if (cred) this.serverCredentials = cred;
    this.impl = transport === 'socket' ? new SocketTransport(this, res) : new ShmTransport(this, res);
  }

  /** The fd qb_ipcc_fd_get() would return: the event socket (socket) or the setup socket (shm). */
  get fd(): number {
    return this.impl instanceof SocketTransport ? this.impl.eventFd : this.setup.fd;
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  /** @internal */
  get setupWatch(): FdWatch {
    return this.setup;
  }

  /** Send one request frame (header included) and resolve with its response frame. */
  request(frame: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    if (this.state !== 'open') return Promise.reject(new IpcError('ENOTCONN', 'the IPC connection is closed'));
    if (!(frame instanceof Uint8Array)) return Promise.reject(new IpcError('EINVAL', 'a request frame must be a Uint8Array'));
    if (frame.length > this.maxMessageSize) {
      return Promise.reject(new IpcError('EMSGSIZE', `request of ${frame.length} bytes exceeds the negotiated maximum ${this.maxMessageSize}`));
    }
    let hdr: { id: number; size: number };
    try {
      hdr = readRequestHeader(frame);
    } catch (e) {
      return Promise.reject(new IpcError('EINVAL', (e as Error).message));
    }
    if (hdr.size !== frame.length) {
      return Promise.reject(new IpcError('EINVAL', `request header size ${hdr.size} does not match the frame length ${frame.length}`));
    }
    if (opts.timeout !== undefined && !(Number.isFinite(opts.timeout) && opts.timeout >= 0)) {
      return Promise.reject(new IpcError('EINVAL', `invalid timeout ${String(opts.timeout)}`));
    }
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    try {
      this.impl.send(frame);
    } catch (e) {
      return Promise.reject(e);
    }
    this.capture?.frame('req', frame);
    // Sending can itself reveal that the server is gone (a doorbell to a closed socket).
    if (this.state !== 'open') return Promise.reject(this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed'));
    return new Promise<Uint8Array>((resolve, reject) => {
      const p: Pending = { resolve, reject, settled: false, timer: undefined, signal: undefined, onAbort: undefined };
      // A timed-out or aborted call keeps its FIFO slot: its late response must be
      // consumed and dropped, not handed to the next caller.
      if (opts.timeout !== undefined) {
        p.timer = setTimeout(() => {
          settle(p);
          reject(new IpcError('ETIMEDOUT', `no response within ${opts.timeout} ms`));
        }, opts.timeout);
      }
      if (opts.signal) {
        const signal = opts.signal;
        p.signal = signal;
        p.onAbort = () => {
          settle(p);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.push(p);
    });
  }

  /** @internal a response frame arrived */
  deliverResponse(frame: Uint8Array): void {
    this.capture?.frame('res', frame);
    if (this.pendingHead >= this.pending.length) {
      this.fail(new IpcError('EBADMSG', 'the server sent a response nobody asked for'));
      return;
    }
    const p = this.pending[this.pendingHead]!;
    this.pending[this.pendingHead++] = undefined as unknown as Pending;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    if (p.settled) return;
    settle(p);
    p.resolve(frame);
  }

  /** @internal */
  deliverEvent(frame: Uint8Array): void {
    this.capture?.frame('evt', frame);
    if (this.state === 'open') this.emit('event', frame);
  }

  /** @internal the transport found the server gone (or the stream corrupt) */
  fail(cause: IpcError): void {
    if (this.state !== 'open') return;
    // Whatever tore the connection down, callers see one disconnect error (the client
    // layer maps it to CS_ERR_LIBRARY); the specific reason stays in `cause`.
    const err = cause.code === 'ECONNRESET' ? cause : new IpcError('ECONNRESET', `connection lost: ${cause.message}`, { cause });
    this.state = 'closing';
    this.failure = err;
    this.capture?.closed(/closed the connection/.test(cause.message) ? 'server' : 'error', cause.message);
    this.rejectAll(err);
    this.closePromise = this.release(true);
    this.emit('disconnect', err);
  }

  private rejectAll(err: IpcError): void {
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (!p.settled) {
        settle(p);
        p.reject(err);
      }
    }
    this.pending.length = 0;
    this.pendingHead = 0;
  }

  private async release(serverGone: boolean): Promise<void> {
    try {
      await this.impl.close(serverGone);
    } finally {
      this.setup.close(true);
      this.state = 'closed';
    }
  }

  /** Close the connection; pending requests reject with ENOTCONN. Idempotent. */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.capture?.closed('client');
    this.state = 'closing';
    this.rejectAll(new IpcError('ENOTCONN', 'the IPC connection was closed'));
    this.closePromise = this.release(false);
    return this.closePromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function errnoOfFs(e: unknown): number {
  return -(((e as NodeJS.ErrnoException).errno !== undefined ? Math.abs((e as NodeJS.ErrnoException).errno!) : 5));
}

// ------------------------------------------------------------------ socket transport
class SocketTransport implements Transport {
  private readonly control: Mapping;
  private readonly ctl: Int32Array;
  private readonly req: FdWatch;
  private readonly evt: FdWatch;
  private readonly queue: Uint8Array[] = [];
  private readonly controlPath: string;
  /**
   * Responses due (sent or queued requests not answered yet), read by the native
   * watcher: it stops receiving once they are in, saving the recv that would only
   * report EAGAIN on every sequential round trip.
   */
  private readonly owed = new Int32Array(1);

  constructor(private readonly client: IpcClient, res: ConnectionResponse) {
    const n = native();
    this.controlPath = assertShmPath(res.request, 'control file');
    let cfd: number;
    try {
      cfd = openSync(res.request, fsc.O_RDWR);
    } catch (e) {
      throw IpcError.fromErrno(errnoOfFs(e), `open control file ${res.request}`);
    }
    try {
      if (fstatSync(cfd).size < 24) throw new IpcError('EBADMSG', `control file ${res.request} is shorter than 24 bytes`);
      const m = n.mmap(cfd, 24, false);
      if (typeof m === 'number') throw IpcError.fromErrno(m, `mmap ${res.request}`);
      this.control = m;
    } finally {
      closeSync(cfd);
    }
    this.ctl = new Int32Array(this.control.buffer, 0, 6);
    const base = res.response;
    const socks: FdWatch[] = [];
    try {
      for (const [mine, theirs] of [['-response', '-request'], ['-event', '-event-tx']] as const) {
        const fd = n.socket(1);
        if (fd < 0) throw IpcError.fromErrno(fd, 'socket(AF_UNIX, SOCK_DGRAM)');
        const w = new FdWatch(fd, () => {});
        socks.push(w);
        let r = n.bind(fd, base + mine);
        if (r < 0) throw IpcError.fromErrno(r, `bind @${base}${mine}`);
        r = n.connect(fd, base + theirs);
        if (r < 0) throw IpcError.fromErrno(r, `connect @${base}${theirs}`);
        n.setBufSize(fd, client.maxMessageSize);
      }
    } catch (e) {
      for (const s of socks) s.close();
      n.munmap(this.control);
      throw e;
    }
    this.req = new FdWatch(socks[0]!.fd, (st, ev, count) => this.onReq(st, ev, count), client.maxMessageSize, this.owed);
    this.evt = new FdWatch(socks[1]!.fd, (st, ev, count) => this.onEvt(st, count), client.maxMessageSize);
    this.req.watch(READABLE);
    this.evt.watch(READABLE);
    const setup = client.setupWatch;
    setup.onEvents = (st, ev) => this.onSetup(st, ev);
    setup.watch(READABLE | DISCONNECT);
  }

  get eventFd(): number {
    return this.evt.fd;
  }

  send(frame: Uint8Array): void {
    const fc = Atomics.load(this.ctl, 1);
    // fc_enable_max is 1 for libqb clients outside cpg: level 2 does not stop them.
    if (fc === 1) throw new IpcError('EAGAIN', 'the server has turned on flow control; try again');
    if (this.queue.length > 0) {
      this.queue.push(frame.slice());
      this.owed[0]!++;
      return;
    }
    const r = native().send(this.req.fd, frame);
    if (r === frame.length) {
      Atomics.add(this.ctl, 0, 1);
      this.owed[0]!++;
      if (!this.spinning) {
        this.spinning = true;
        setImmediate(this.spinStep);
      }
      return;
    }
    if (r === -11 || r === -105) {
      // Receiver queue full (net.unix.max_dgram_qlen): keep order, wait for POLLOUT.
      // Copied: the caller may reuse its buffer once request() returns.
      this.queue.push(frame.slice());
      this.owed[0]!++;
      this.req.watch(READABLE | WRITABLE);
      return;
    }
    const err = IpcError.fromErrno(r < 0 ? r : -90, 'send request datagram');
    if (err.code === 'EMSGSIZE') throw new IpcError('EMSGSIZE', `request of ${frame.length} bytes does not fit one datagram (SO_SNDBUF / net.core.wmem_max)`);
    // The server's socket is gone (ECONNREFUSED...): the same error as every other pending call.
    const gone = new IpcError('ECONNRESET', `the server has gone (${err.message})`);
    this.client.fail(gone);
    throw gone;
  }

  private flush(): void {
    const n = native();
    while (this.queue.length > 0) {
      const f = this.queue[0]!;
      const r = n.send(this.req.fd, f);
      if (r === -11 || r === -105) return;
      this.queue.shift();
      if (r !== f.length) {
        this.client.fail(IpcError.fromErrno(r < 0 ? r : -90, 'send queued request datagram'));
        return;
      }
      Atomics.add(this.ctl, 0, 1);
    }
    this.req.watch(READABLE);
  }

  // Like the shm client: once per batch of requests, after the caller's code has run
  // (setImmediate), wait for the reply busy for at most SPIN_NS in native code, so a
  // prompt answer skips the sleep in epoll and its wake-up. Otherwise uv_poll delivers it.
  private spinning = false;
  private readonly spinStep = (): void => {
    this.spinning = false;
    if (!this.client.connected || this.owed[0]! <= 0) return;
    this.takeDatagrams(this.req, this.req.spin(SPIN_NS), 2, 'response');
  };

  private onReq(status: number, events: number, count: number): void {
    if (status < 0) return this.client.fail(IpcError.fromErrno(status, 'poll request socket'));
    if (events & WRITABLE) this.flush();
    // The watcher has already received what was queued (ipc.c recv_batch): one loop
    // turn and one crossing per wake-up, however many datagrams it brought.
    this.takeDatagrams(this.req, count, 2, 'response');
  }

  private onEvt(status: number, count: number): void {
    if (status < 0) return this.client.fail(IpcError.fromErrno(status, 'poll event socket'));
    this.takeDatagrams(this.evt, count, 4, 'event');
  }

  private takeDatagrams(w: FdWatch, count: number, sentIdx: number, what: 'response' | 'event'): void {
    const area = w.area!;
    const slots = w.slots!;
    const max = this.client.maxMessageSize;
    for (let i = 0; i < count && this.client.connected; i++) {
      const off = slots[2 * i]!;
      let len = slots[2 * i + 1]!;
      if (len > max) len = -90; // EMSGSIZE: longer than anything negotiated
      if (len < 0) {
        return this.client.fail(new IpcError('ECONNRESET', `${what} socket: ${IpcError.fromErrno(len, 'recv').message}`));
      }
      if (len < QB_REQUEST_HEADER_SIZE) {
        return this.client.fail(new IpcError('ECONNRESET', what === 'response' ? `a ${len}-byte response datagram (libqb treats it as a disconnect)` : `a ${len}-byte event datagram`));
      }
      const frame = copyFrame(area, off, len);
      Atomics.sub(this.ctl, sentIdx, 1);
      if (what === 'response') {
        this.owed[0]!--;
        this.client.deliverResponse(frame);
      } else {
        this.client.deliverEvent(frame);
      }
    }
  }

  private onSetup(status: number, events: number): void {
    if (status < 0) return this.client.fail(new IpcError('ECONNRESET', 'setup socket error'));
    if (events & READABLE) {
      // A libqb server never writes here after the handshake: EOF is the only news.
      const buf = new Uint8Array(64);
      const r = native().recvInto(this.client.setupWatch.fd, buf);
      if (r === 0 || (r < 0 && r !== -11)) return this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
    }
    if (events & DISCONNECT) this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
  }

  async close(): Promise<void> {
    this.req.close(true);
    this.evt.close(true);
    native().munmap(this.control);
    // Like qb_ipcc_disconnect: the client removes the control file and its directory.
    try {
      unlinkSync(this.controlPath);
    } catch {}
    removeConnectionDir(this.controlPath);
  }
}

// ------------------------------------------------------------------ shm transport
class ShmTransport implements Transport {
  private readonly request: Ring;
  private readonly response: Ring;
  private readonly event: Ring;
  private waiter: WaiterHandle | undefined;
  private waiterStopped: (() => void) | undefined;
  /** Requests published whose response token nobody has taken yet. */
  private awaiting = 0;
  private readonly queue: Uint8Array[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private doorbellDebt = 0;
  private eventDebt = 0;
  private eventTimer: NodeJS.Timeout | undefined;
  private eventImmediate: NodeJS.Immediate | undefined;
  /** Event tokens taken from the semaphore whose chunks are still to be read. */
  private eventTokens = 0;
  private readonly doorbell = new Uint8Array(1);
  private readonly scratch = new Uint8Array(256);

  constructor(private readonly client: IpcClient, res: ConnectionResponse) {
    const rings: Ring[] = [];
    try {
      for (const base of [res.request, res.response, res.event]) rings.push(Ring.open(base));
    } catch (e) {
      for (const r of rings) r.close();
      throw e;
    }
    [this.request, this.response, this.event] = rings as [Ring, Ring, Ring];
    const setup = client.setupWatch;
    setup.onEvents = (st, ev) => this.onSetup(st, ev);
    setup.watch(READABLE | DISCONNECT);
  }

  private ensureWaiter(): WaiterHandle {
    if (this.waiter) return this.waiter;
    const w = native().semWaiter(this.response.semBuffer, Ring.SEM_OFFSET, (count) => this.onResponses(count));
    if (typeof w === 'number') throw IpcError.fromErrno(w, 'start the response waiter thread');
    this.waiter = w;
    return w;
  }

  private onResponses(count: number): void {
    if (count < 0) {
      this.waiterStopped?.();
      return;
    }
    for (let i = 0; i < count; i++) this.takeResponse();
  }

  /** We own one response token: its chunk is published; read and deliver it. */
  private takeResponse(): void {
    this.awaiting--;
    if (!this.client.connected) return;
    let frame: Uint8Array;
    try {
      frame = this.response.read();
    } catch (e) {
      return this.client.fail(e as IpcError);
    }
    this.client.deliverResponse(frame);
  }

  // A response usually lands within microseconds. Rather than pay for the waiter
  // thread's wake-up and its hop back onto the loop, the first step spins on the
  // semaphore in native code for at most SPIN_NS (bounded: the loop is held for that
  // long at most, and only while a reply is due), then keeps polling from setImmediate
  // (the loop turns between polls) until SPIN_MS have passed. The thread remains the
  // fallback for slow replies.
  private polling = false;
  private pollFirst = false;
  private readonly pollStep = (): void => {
    const w = this.waiter;
    if (!w || !this.client.connected || this.awaiting === 0) {
      this.polling = false;
      return;
    }
    const n = native();
    const got = n.waiterSpinTake(w, this.awaiting, this.pollFirst ? SPIN_NS : 0);
    this.pollFirst = false;
    for (let i = 0; i < got; i++) this.takeResponse();
    const now = performance.now();
    if (got > 0) this.pollSince = now;
    if (this.awaiting === 0 || !this.client.connected) {
      this.polling = false;
      return;
    }
    if (now - this.pollSince > SPIN_MS) {
      // Slow reply: let the thread sleep on the semaphore for everything still due.
      this.polling = false;
      n.waiterWant(w, this.awaiting);
      return;
    }
    setImmediate(this.pollStep);
  };
  private pollSince = 0;

  private startPolling(): void {
    if (this.polling) return;
    this.polling = true;
    this.pollFirst = true;
    this.pollSince = performance.now();
    setImmediate(this.pollStep);
  }

  send(frame: Uint8Array): void {
    // fc_enable_max is 1 for libqb clients outside cpg: level 2 does not stop them.
    if (this.request.userData === 1) throw new IpcError('EAGAIN', 'the server has turned on flow control; try again');
    if (this.request.refCount !== 2) {
      const err = new IpcError('ECONNRESET', 'the server has released the request ring');
      this.client.fail(err);
      throw err;
    }
    if (!this.request.fits(frame.length)) throw new IpcError('EMSGSIZE', `request of ${frame.length} bytes does not fit the request ring`);
    this.ensureWaiter();
    if (this.queue.length > 0 || !this.publish(frame)) {
      // Copied: the caller may reuse its buffer once request() returns.
      this.queue.push(frame.slice());
      this.scheduleRetry();
    }
  }

  private publish(frame: Uint8Array): boolean {
    if (!this.request.write(frame)) return false;
    this.awaiting++;
    this.ring(frame.length & 0xff);
    this.startPolling();
    return true;
  }

  // One doorbell byte per chunk, after the post: a libqb server reads exactly as many
  // bytes as it processed chunks, blocking its whole loop if one is missing.
  private ring(byte: number): void {
    if (this.doorbellDebt === 0) {
      this.doorbell[0] = byte;
      const r = native().send(this.client.setupWatch.fd, this.doorbell);
      if (r === 1) return;
      if (r !== -11) return this.client.fail(new IpcError('ECONNRESET', 'doorbell send failed: the server is gone'));
    }
    this.doorbellDebt++;
    this.client.setupWatch.watch(READABLE | WRITABLE | DISCONNECT);
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    // The server reclaims request chunks as it processes them; nothing signals us.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.client.connected) return;
      while (this.queue.length > 0 && this.publish(this.queue[0]!)) this.queue.shift();
      if (this.queue.length > 0) this.scheduleRetry();
    }, 1);
  }

  private onSetup(status: number, events: number): void {
    if (status < 0) return this.client.fail(new IpcError('ECONNRESET', 'setup socket error'));
    const n = native();
    const fd = this.client.setupWatch.fd;
    if (events & WRITABLE) {
      this.doorbell[0] = 0;
      while (this.doorbellDebt > 0 && n.send(fd, this.doorbell) === 1) this.doorbellDebt--;
      if (this.doorbellDebt === 0) this.client.setupWatch.watch(READABLE | DISCONNECT);
    }
    if (events & READABLE) {
      this.drainEvents();
      if (!this.client.connected) return;
      const r = n.recvInto(fd, this.scratch);
      if (r === 0 || (r < 0 && r !== -11)) return this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
      if (r > 0) {
        this.eventDebt += r;
        if (this.eventDebt > 0) this.drainEvents();
      }
    } else if (events & DISCONNECT) {
      this.client.fail(new IpcError('ECONNRESET', 'the server closed the connection'));
    }
  }

  // Token-driven like libqb's qb_ipcc_event_recv: take every published event, and
  // settle the doorbell bytes separately (eventDebt = bytes read - events taken). A
  // server whose doorbells back up in the socket (1-byte sends fill a unix socket's
  // buffer after a few hundred) must not throttle how fast we drain its ring.
  private drainEvents(): void {
    let taken = 0;
    while (this.client.connected && taken < 1024) {
      // Tokens are taken in batches (one crossing for a backlog); one whose chunk is not
      // read yet stays counted in eventTokens, so a throwing 'event' listener loses nothing.
      if (this.eventTokens === 0) {
        let got: number;
        try {
          got = this.event.takeMany(1024 - taken);
        } catch (e) {
          return this.client.fail(e as IpcError);
        }
        if (got === 0) break;
        this.eventTokens = got;
      }
      this.eventTokens--;
      taken++;
      this.eventDebt--;
      let frame: Uint8Array;
      try {
        frame = this.event.read();
      } catch (e) {
        return this.client.fail(e as IpcError);
      }
      this.client.deliverEvent(frame);
    }
    if (!this.client.connected || this.eventTimer || this.eventImmediate) return;
    if (taken === 1024) {
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

  async close(serverGone: boolean): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.eventTimer) clearTimeout(this.eventTimer);
    if (this.eventImmediate) clearImmediate(this.eventImmediate);
    if (this.waiter) {
      const stopped = new Promise<void>((resolve) => (this.waiterStopped = resolve));
      native().waiterStop(this.waiter);
      // The thread may be inside sem_timedwait on the mapping: unmap only once it is gone.
      await stopped;
      this.waiter = undefined;
    }
    const rings = [this.request, this.response, this.event];
    for (const r of rings) r.close(false);
    if (serverGone) await this.reapOrphanedFiles(rings);
  }

  // libqb 2.0.3+: a client that finds its server dead removes the server's files. A
  // server that merely dropped us removes them itself; one that was just killed may
  // still be dying (or a zombie) when we notice, so give it a moment either way.
  private async reapOrphanedFiles(rings: Ring[]): Promise<void> {
    const pid = this.client.serverCredentials?.pid;
    const files = rings.flatMap((r) => [r.hdrPath, r.dataPath]);
    const deadline = Date.now() + 2000;
    for (;;) {
      if (!files.some((f) => existsSync(f))) return;
      if (!processAlive(pid)) break;
      if (Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const f of files) {
      try {
        unlinkSync(f);
      } catch {}
    }
    removeConnectionDir(this.request.hdrPath);
  }
}

function processAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
