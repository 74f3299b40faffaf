import { EventEmitter } from 'node:events';
import { chmodSync, chownSync, closeSync, constants as fsc, fchownSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { ConnectionCapture, type CaptureWriter } from './capture.js';
import { validateName, type Credentials } from './client.js';
import { IpcError, errnoOf } from './errors.js';
import { FdWatch } from './fdwatch.js';
import {
  QB_CONNECTION_REQUEST_SIZE,
  QB_CONNECTION_RESPONSE_SIZE,
  QB_IPC_MSG_AUTHENTICATE,
  QB_IPC_MSG_DISCONNECT,
  QB_IPC_SHM,
  QB_IPC_SOCKET,
  QB_REQUEST_HEADER_SIZE,
  decodeConnectionRequest,
  encodeConnectionResponse,
  readRequestHeader,
} from './frames.js';
import { DISCONNECT, READABLE, WRITABLE, native, recvDatagram, type Mapping } from './native.js';
import { Ring, ringDataSize } from './ring.js';

export interface ServerOptions {
  /** Transport offered to every client (the server decides; default 'shm', like corosync). */
  transport?: 'socket' | 'shm';
  /** Minimum max message size; a client asking for more gets more (libqb can only raise it). */
  maxMessageSize?: number;
  /** 0 accepts; a negative errno (-EACCES, -EAGAIN...) is sent in the setup reply. Default: accept all. */
  authorize?: (cred: Credentials) => number;
  /** A client that does not complete the handshake within this many ms is dropped (default 10 000). */
  handshakeTimeout?: number;
  /** Record every frame of every client that completes the handshake. */
  capture?: CaptureWriter;
  /** The service name written to the capture; default the server's name. */
  captureService?: string;
  /**
   * The largest max_msg_size a shm client is granted (default 16 MiB). Its three rings take
   * 3 × that in /dev/shm, so a larger ask is refused with -ENOSPC in the setup reply: what libqb
   * answers when /dev/shm cannot hold them. The socket transport allocates nothing per size and
   * grants any size, as libqb does.
   */
  maxShmMessageSize?: number;
  /**
   * Bytes of responses a client has not taken yet that the server holds for it (default 1 MiB).
   * Beyond, the server stops reading that client's requests until it catches up, so a client
   * that never reads its answers costs bounded memory and loses nothing.
   */
  maxQueuedResponseBytes?: number;
  /**
   * Bytes of events a client has not taken yet that the server holds for it (default 16 MiB,
   * each event counted with 64 bytes of overhead). Beyond, the client is disconnected, which a
   * corosync that queues events without limit does once its memory runs out.
   */
  maxQueuedEventBytes?: number;
}

const MIN_MAX_MSG_SIZE = QB_CONNECTION_RESPONSE_SIZE;
const EAGAIN = -11;
const EMFILE = -24;
const ENFILE = -23;
const ENOSPC = 28;
/** Per queued frame: the ArrayBuffer and array slot beyond the bytes themselves. */
const QUEUE_OVERHEAD = 64;

/**
 * The largest AF_UNIX datagram anyone can send here: SO_SNDBUF - 32, and SO_SNDBUF is at most
 * 2 × net.core.wmem_max. A socket client may negotiate more (libqb grants it) but never send it.
 */
let dgramLimit: number | undefined;
function maxDatagram(): number {
  if (dgramLimit === undefined) {
    let wmem = 4 << 20;
    try {
      const v = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8').trim());
      if (Number.isInteger(v) && v > 0) wmem = v;
    } catch {}
    dgramLimit = Math.min(2 * wmem, 0x40000000);
  }
  return dgramLimit;
}

function positiveOption(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new IpcError('EINVAL', `invalid ${name} ${v}`);
  return v;
}

function fsErrno(e: unknown): number {
  const n = (e as NodeJS.ErrnoException).errno;
  return typeof n === 'number' ? -Math.abs(n) : -5;
}

export function createServer(name: string, opts: ServerOptions = {}): IpcServer {
  return new IpcServer(name, opts);
}

export interface IpcServerEvents {
  connection: [conn: IpcServerConnection];
  error: [err: IpcError];
}

/** A libqb IPC server on the abstract socket `name`, reachable by unmodified libqb clients. */
export class IpcServer extends EventEmitter<IpcServerEvents> {
  readonly name: string;
  readonly transport: 'socket' | 'shm';
  private readonly opts: ServerOptions;
  private listener: FdWatch | undefined;
  private readonly conns = new Set<IpcServerConnection>();
  private readonly handshakes = new Set<Handshake>();
  private closing = false;
  private acceptPause: NodeJS.Timeout | undefined;
  /** @internal */ readonly maxShmMessageSize: number;
  /** @internal */ readonly maxQueuedResponseBytes: number;
  /** @internal */ readonly maxQueuedEventBytes: number;

  constructor(name: string, opts: ServerOptions = {}) {
    super();
    this.name = validateName(name);
    this.transport = opts.transport ?? 'shm';
    if (this.transport !== 'socket' && this.transport !== 'shm') throw new IpcError('EINVAL', `unknown transport ${String(opts.transport)}`);
    const max = opts.maxMessageSize ?? MIN_MAX_MSG_SIZE;
    if (!Number.isInteger(max) || max <= 0 || max > 0x40000000) throw new IpcError('EINVAL', `invalid maxMessageSize ${max}`);
    this.maxShmMessageSize = positiveOption('maxShmMessageSize', opts.maxShmMessageSize, 16 << 20);
    if (this.maxShmMessageSize > 0x40000000) throw new IpcError('EINVAL', `invalid maxShmMessageSize ${this.maxShmMessageSize}`);
    this.maxQueuedResponseBytes = positiveOption('maxQueuedResponseBytes', opts.maxQueuedResponseBytes, 1 << 20);
    this.maxQueuedEventBytes = positiveOption('maxQueuedEventBytes', opts.maxQueuedEventBytes, 16 << 20);
    this.opts = opts;
  }

  get connections(): ReadonlySet<IpcServerConnection> {
    return this.conns;
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Bind @name (110-byte abstract address, like libqb) and start accepting. */
  async listen(): Promise<void> {
    if (this.listener || this.closing) throw new IpcError('EINVAL', 'server already listening or closed');
    const n = native();
    const fd = n.socket(0);
    if (fd < 0) throw IpcError.fromErrno(fd, 'socket');
    const w = new FdWatch(fd, (st) => this.onAccept(st));
    let r = n.bind(fd, this.name);
    if (r === 0) r = n.setPassCred(fd, 1);
    if (r === 0) r = n.listen(fd, 128);
    if (r < 0) {
      w.close();
      throw IpcError.fromErrno(r, `listen on abstract socket @${this.name}`);
    }
    w.watch(READABLE);
    this.listener = w;
  }

  private onAccept(status: number): void {
    if (status < 0 || !this.listener) return;
    const n = native();
    for (let i = 0; i < 256; i++) {
      const fd = n.accept(this.listener.fd);
      if (fd < 0) {
        if (fd !== EAGAIN && fd !== -103 /* ECONNABORTED */) {
          this.report(IpcError.fromErrno(fd, 'accept'));
        }
        // Out of fds, the pending client stays queued and the listener stays readable: stop
        // polling it for a moment instead of spinning on accept() until an fd frees up.
        if ((fd === EMFILE || fd === ENFILE) && !this.acceptPause) {
          this.listener.watch(0);
          this.acceptPause = setTimeout(() => {
            this.acceptPause = undefined;
            this.listener?.watch(READABLE);
          }, 100);
        }
        return;
      }
      try {
        this.handshakes.add(new Handshake(this, fd, this.opts.handshakeTimeout ?? 10_000));
      } catch (e) {
        // The handshake closed the fd itself.
        this.report(e instanceof IpcError ? e : new IpcError('ENOMEM', (e as Error).message));
      }
    }
  }

  // 'error' without a listener would throw from inside the event loop: an accept()
  // hiccup (EMFILE...) must not kill a daemon, so it is only reported when listened to.
  private report(err: IpcError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** @internal */
  handshakeDone(hs: Handshake): void {
    this.handshakes.delete(hs);
  }

  /** @internal called with a complete 24-byte connection request */
  establish(setup: FdWatch, req: Uint8Array, cred: Credentials): void {
    const n = native();
    let request: { id: number; maxMsgSize: number };
    try {
      request = decodeConnectionRequest(req);
    } catch {
      request = { id: 0, maxMsgSize: 0 };
    }
    const { id, maxMsgSize } = request;
    // Like libqb: anything but an authentication request is closed without a reply.
    if (id !== QB_IPC_MSG_AUTHENTICATE) {
      setup.close();
      return;
    }
    const reject = (errno: number) => {
      n.send(setup.fd, encodeConnectionResponse({ error: -Math.abs(errno), connectionType: 0, maxMsgSize: 0, request: '', response: '', event: '' }));
      setup.close();
    };
    let verdict = 0;
    if (this.opts.authorize) {
      try {
        verdict = this.opts.authorize({ ...cred });
      } catch (e) {
        this.report(new IpcError('EACCES', `authorize() threw: ${(e as Error).message}`, { cause: e }));
        verdict = -errnoOf('EACCES');
      }
      if (!Number.isInteger(verdict) || verdict > 0) verdict = -errnoOf('EACCES');
    }
    if (verdict !== 0) return reject(verdict);
    if (this.closing) return reject(errnoOf('EAGAIN'));
    const max = Math.max(maxMsgSize >>> 0, this.opts.maxMessageSize ?? 0, MIN_MAX_MSG_SIZE);
    if (this.transport === 'shm' && max > this.maxShmMessageSize) return reject(ENOSPC);
    let conn: IpcServerConnection;
    try {
      conn = new IpcServerConnection(this, setup, cred, max);
    } catch (e) {
      const err = e instanceof IpcError ? e : new IpcError('ENOMEM', (e as Error).message);
      this.report(err);
      return reject(err.errno || errnoOf('ENOMEM'));
    }
    const reply = conn.setupReply();
    const sent = n.send(setup.fd, reply);
    if (sent !== QB_CONNECTION_RESPONSE_SIZE) {
      // A libqb 2.0.6 client cannot take a split reply: give up on this one.
      conn.close();
      return;
    }
    const cap = this.opts.capture;
    if (cap) {
      conn.capture = new ConnectionCapture(cap, this.opts.captureService ?? this.name, conn.transport, cred.pid);
      const t = cap.now();
      conn.capture.opened(req, t, reply, t);
    }
    this.conns.add(conn);
    conn.handshake = { request: req.slice(), response: reply };
    conn.start();
    this.emit('connection', conn);
  }

  /** @internal */
  forget(conn: IpcServerConnection): void {
    this.conns.delete(conn);
  }

  /** Stop listening and close every connection (their /dev/shm files go too). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.acceptPause) clearTimeout(this.acceptPause);
    this.listener?.close();
    this.listener = undefined;
    for (const hs of [...this.handshakes]) hs.abort();
    const closed = [...this.conns].map((c) => new Promise<void>((resolve) => (c.closed ? resolve() : c.once('close', () => resolve()))));
    for (const c of [...this.conns]) c.close();
    await Promise.all(closed);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Reads the 24-byte connection request and the client's credentials. */
class Handshake {
  private readonly buf = new Uint8Array(QB_CONNECTION_REQUEST_SIZE);
  private got = 0;
  private cred: Credentials | undefined;
  private readonly setup: FdWatch;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly server: IpcServer, fd: number, timeout: number) {
    native().setPassCred(fd, 1);
    this.setup = new FdWatch(fd, (st, ev) => this.onEvents(st, ev));
    try {
      this.setup.watch(READABLE | DISCONNECT);
    } catch (e) {
      this.setup.close();
      throw e;
    }
    this.timer = setTimeout(() => this.abort(), timeout);
    this.timer.unref();
  }

  abort(): void {
    clearTimeout(this.timer);
    this.setup.close();
    this.server.handshakeDone(this);
  }

  private onEvents(status: number, events: number): void {
    const n = native();
    if (status < 0) return this.abort();
    for (;;) {
      const r = n.recvCred(this.setup.fd, this.buf.subarray(this.got));
      if (typeof r === 'number') {
        if (r === EAGAIN) break;
        return this.abort();
      }
      if (r[0] === 0) return this.abort();
      if (!this.cred && r[1] > 0) this.cred = { pid: r[1], uid: r[2] >>> 0, gid: r[3] >>> 0 };
      this.got += r[0];
      if (this.got === this.buf.length) {
        clearTimeout(this.timer);
        this.server.handshakeDone(this);
        n.setPassCred(this.setup.fd, 0);
        let cred = this.cred;
        if (!cred) {
          const pc = n.peerCred(this.setup.fd);
          if (typeof pc === 'number') return this.abort();
          cred = { pid: pc[0], uid: pc[1] >>> 0, gid: pc[2] >>> 0 };
        }
        this.setup.watch(0);
        this.server.establish(this.setup, this.buf, cred);
        return;
      }
    }
    if (events & DISCONNECT) this.abort();
  }
}

export interface IpcServerConnectionEvents {
  request: [frame: Uint8Array];
  close: [];
}

interface ServerTransport {
  readonly queuedResponseBytes: number;
  readonly queuedEventBytes: number;
  reply(): { connectionType: number; request: string; response: string; event: string };
  start(): void;
  respond(frame: Uint8Array): void;
  sendEvent(frame: Uint8Array): void;
  setFlowControl(level: number): void;
  onSetupReadable(): void;
  destroy(): void;
}

/** One client of an IpcServer. */
export class IpcServerConnection extends EventEmitter<IpcServerConnectionEvents> {
  readonly credentials: Credentials;
  readonly transport: 'socket' | 'shm';
  readonly maxMessageSize: number;
  /** The per-connection directory in /dev/shm. */
  readonly dir: string;
  /** The 24-byte connection request and the 12,328-byte reply as they crossed the setup socket (for recorders). */
  handshake: { readonly request: Uint8Array; readonly response: Uint8Array } = { request: new Uint8Array(0), response: new Uint8Array(0) };
  private readonly impl: ServerTransport;
  private outstanding = 0;
  private isClosed = false;
  /** @internal set when the server records */
  capture: ConnectionCapture | undefined;

  /** @internal */
  constructor(
    private readonly server: IpcServer,
    /** @internal */ readonly setup: FdWatch,
    cred: Credentials,
    max: number,
  ) {
    super();
    this.credentials = Object.freeze({ ...cred });
    this.transport = server.transport;
    this.maxMessageSize = max;
    let dir: string;
    try {
      dir = mkdtempSync(`/dev/shm/qb-${process.pid}-${cred.pid}-${setup.fd}-`);
    } catch (e) {
      throw IpcError.fromErrno(fsErrno(e), 'mkdtemp in /dev/shm');
    }
    this.dir = dir;
    try {
      chmodSync(dir, 0o770);
      try {
        chownSync(dir, cred.uid, cred.gid);
      } catch {
        // Not root: only clients of our own uid can use the files, as with libqb.
      }
      const svc = server.name.replace(/\//g, '_');
      this.impl = this.transport === 'socket' ? new SocketServerTransport(this, dir, svc) : new ShmServerTransport(this, dir, svc);
    } catch (e) {
      try {
        rmdirSync(dir);
      } catch {}
      throw e instanceof IpcError ? e : IpcError.fromErrno(fsErrno(e), (e as Error).message);
    }
  }

  /** @internal */
  setupReply(): Uint8Array {
    return encodeConnectionResponse({ error: 0, maxMsgSize: this.maxMessageSize, ...this.impl.reply() });
  }

  /** @internal */
  start(): void {
    this.setup.onEvents = (st, ev) => {
      if (st < 0 || this.isClosed) return this.close();
      if (ev & WRITABLE || ev & READABLE) this.impl.onSetupReadable();
      else if (ev & DISCONNECT) {
        this.capture?.closed('client');
        this.close();
      }
    };
    this.setup.watch(READABLE | DISCONNECT);
    this.impl.start();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes (with per-frame overhead) of responses and events waiting for the client to take them. */
  get queued(): { responses: number; events: number } {
    return { responses: this.impl.queuedResponseBytes, events: this.impl.queuedEventBytes };
  }

  /** @internal */
  get limits(): { responses: number; events: number } {
    return { responses: this.server.maxQueuedResponseBytes, events: this.server.maxQueuedEventBytes };
  }

  /** @internal a request frame arrived */
  deliver(frame: Uint8Array): void {
    if (this.isClosed) return;
    this.capture?.frame('req', frame);
    if (frame.length < QB_REQUEST_HEADER_SIZE || readRequestHeader(frame).id === QB_IPC_MSG_DISCONNECT) {
      this.capture?.closed('client');
      this.close();
      return;
    }
    this.outstanding++;
    this.emit('request', frame);
  }

  /** Answer the oldest unanswered request (a frame with a 24-byte response header). */
  respond(frame: Uint8Array): void {
    if (this.isClosed) throw new IpcError('ENOTCONN', 'the client has gone');
    if (this.outstanding === 0) throw new IpcError('EINVAL', 'respond() without an unanswered request');
    this.checkFrame(frame);
    this.outstanding--;
    this.capture?.frame('res', frame);
    this.impl.respond(frame);
  }

  /**
   * Push an event frame; queued (never dropped) while the client is slow. A client with more
   * than maxQueuedEventBytes waiting is disconnected instead.
   */
  sendEvent(frame: Uint8Array): void {
    if (this.isClosed) throw new IpcError('ENOTCONN', 'the client has gone');
    this.checkFrame(frame);
    this.capture?.frame('evt', frame);
    this.impl.sendEvent(frame);
  }

  private checkFrame(frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array) || frame.length < QB_REQUEST_HEADER_SIZE) {
      throw new IpcError('EINVAL', 'a frame must be a Uint8Array of at least 16 bytes');
    }
    if (frame.length > this.maxMessageSize) {
      throw new IpcError('EMSGSIZE', `frame of ${frame.length} bytes exceeds the negotiated maximum ${this.maxMessageSize}`);
    }
  }

  /** 0 = go; 1 makes libqb clients fail sends with EAGAIN (CS_ERR_TRY_AGAIN); 2 only stops cpg-style clients. */
  setFlowControl(level: 0 | 1 | 2): void {
    if (level !== 0 && level !== 1 && level !== 2) throw new IpcError('EINVAL', `invalid flow control level ${String(level)}`);
    if (!this.isClosed) this.impl.setFlowControl(level);
  }

  /** Drop the client and remove the connection's files. Emits 'close' once. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.capture?.closed();
    this.impl.destroy();
    this.setup.close(true);
    try {
      rmdirSync(this.dir);
    } catch {}
    this.server.forget(this);
    this.emit('close');
  }
}

// ------------------------------------------------------------------ socket transport
class SocketServerTransport implements ServerTransport {
  private readonly controlPath: string;
  private readonly control: Mapping;
  private readonly ctl: Int32Array;
  private readonly base: string;
  private readonly req: FdWatch;
  private readonly evt: FdWatch;
  private reqConnected = false;
  private evtConnected = false;
  private evtConnectTries = 0;
  private evtTimer: NodeJS.Timeout | undefined;
  private readonly resQueue: Uint8Array[] = [];
  private readonly evtQueue: Uint8Array[] = [];
  queuedResponseBytes = 0;
  queuedEventBytes = 0;
  /** Requests are left unread while too many answers wait for the client. */
  private paused = false;

  constructor(private readonly conn: IpcServerConnection, dir: string, svc: string) {
    const n = native();
    this.controlPath = `${dir}/qb-control-${svc}`;
    this.base = `${dir}/qb-${svc}`;
    // Abstract names stop at 107 bytes: longer ones would be cut to the same name.
    if (Buffer.byteLength(`${this.base}-event-tx`) > 106) {
      throw new IpcError('ENAMETOOLONG', `service name too long for libqb socket names: ${svc}`);
    }
    const fd = openSync(this.controlPath, fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR | fsc.O_TRUNC, 0o600);
    let control: Mapping | undefined;
    const socks: FdWatch[] = [];
    try {
      ftruncateSync(fd, 24);
      try {
        fchownSync(fd, conn.credentials.uid, conn.credentials.gid);
      } catch {}
      const m = n.mmap(fd, 24, false);
      if (typeof m === 'number') throw IpcError.fromErrno(m, 'mmap control file');
      control = m;
      for (const suffix of ['-request', '-event-tx']) {
        const s = n.socket(1);
        if (s < 0) throw IpcError.fromErrno(s, 'socket(AF_UNIX, SOCK_DGRAM)');
        socks.push(new FdWatch(s, () => {}));
        const r = n.bind(s, this.base + suffix);
        if (r < 0) throw IpcError.fromErrno(r, `bind @${this.base}${suffix}`);
        n.setBufSize(s, Math.min(conn.maxMessageSize, maxDatagram()));
      }
    } catch (e) {
      for (const s of socks) s.close();
      if (control) n.munmap(control);
      try {
        unlinkSync(this.controlPath);
      } catch {}
      throw e;
    } finally {
      closeSync(fd);
    }
    this.control = control;
    this.ctl = new Int32Array(control.buffer, 0, 6);
    this.req = socks[0]!;
    this.evt = socks[1]!;
    this.req.onEvents = (st, ev) => this.onReq(st, ev);
    this.evt.onEvents = (st, ev) => this.onEvt(st, ev);
  }

  reply() {
    return { connectionType: QB_IPC_SOCKET, request: this.controlPath, response: this.base, event: '' };
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
    for (let i = 0; i < 64 && !this.conn.closed && !this.paused && (i === 0 || Atomics.load(this.ctl, 0) > 0); i++) {
      // Larger than the negotiated maximum (-EMSGSIZE) is a broken client: drop it.
      const d = recvDatagram(this.req.fd, Math.min(this.conn.maxMessageSize, maxDatagram()));
      if (typeof d === 'number') {
        if (d !== EAGAIN) this.conn.close();
        return;
      }
      Atomics.sub(this.ctl, 0, 1);
      // A 0-byte datagram or QB_IPC_MSG_DISCONNECT means the client is leaving.
      this.conn.deliver(d);
    }
  }

  respond(frame: Uint8Array): void {
    if (!this.reqConnected) {
      const r = native().connect(this.req.fd, this.base + '-response');
      if (r < 0) {
        this.conn.close();
        return;
      }
      this.reqConnected = true;
    }
    if (this.resQueue.length === 0) {
      const r = native().send(this.req.fd, frame);
      if (r === frame.length) {
        Atomics.add(this.ctl, 2, 1);
        return;
      }
      if (r !== EAGAIN && r !== -105) {
        this.conn.close();
        return;
      }
    }
    // Copied: callers may hand us views they reuse (e.g. codec output in WASM memory).
    this.resQueue.push(frame.slice());
    this.queuedResponseBytes += frame.length + QUEUE_OVERHEAD;
    if (this.queuedResponseBytes >= this.conn.limits.responses) this.paused = true;
    this.req.watch((this.paused ? 0 : READABLE) | WRITABLE);
  }

  private flushResponses(): void {
    const n = native();
    while (this.resQueue.length > 0) {
      const f = this.resQueue[0]!;
      const r = n.send(this.req.fd, f);
      if (r === EAGAIN || r === -105) {
        this.req.watch(READABLE | WRITABLE);
        return;
      }
      this.resQueue.shift();
      this.queuedResponseBytes -= f.length + QUEUE_OVERHEAD;
      if (r !== f.length) {
        this.conn.close();
        return;
      }
      Atomics.add(this.ctl, 2, 1);
    }
    this.paused = false;
    this.req.watch(READABLE);
  }

  sendEvent(frame: Uint8Array): void {
    if (this.queuedEventBytes + frame.length + QUEUE_OVERHEAD > this.conn.limits.events) {
      this.conn.close();
      return;
    }
    // Copied: callers may hand us views they reuse (e.g. codec output in WASM memory).
    this.evtQueue.push(frame.slice());
    this.queuedEventBytes += frame.length + QUEUE_OVERHEAD;
    if (this.evtQueue.length === 1) this.flushEvents();
  }

  private flushEvents(): void {
    const n = native();
    if (this.conn.closed) return;
    if (!this.evtConnected) {
      const r = n.connect(this.evt.fd, this.base + '-event');
      if (r < 0) {
        // The client binds B-event just after our setup reply: retry like libqb (10 × 100 ms).
        if ((r === -111 || r === -2) && this.evtConnectTries++ < 10) {
          this.evtTimer ??= setTimeout(() => {
            this.evtTimer = undefined;
            this.flushEvents();
          }, 100);
          return;
        }
        this.conn.close();
        return;
      }
      this.evtConnected = true;
    }
    while (this.evtQueue.length > 0) {
      const f = this.evtQueue[0]!;
      const r = n.send(this.evt.fd, f);
      if (r === EAGAIN || r === -105) {
        this.evt.watch(WRITABLE);
        return;
      }
      this.evtQueue.shift();
      this.queuedEventBytes -= f.length + QUEUE_OVERHEAD;
      if (r !== f.length) {
        this.conn.close();
        return;
      }
      Atomics.add(this.ctl, 4, 1);
    }
    this.evt.watch(0);
  }

  private onEvt(status: number, events: number): void {
    if (status < 0) return this.conn.close();
    if (events & WRITABLE) this.flushEvents();
  }

  setFlowControl(level: number): void {
    Atomics.store(this.ctl, 1, level);
  }

  onSetupReadable(): void {
    // libqb clients never write on the setup socket in socket mode: only EOF matters.
    const buf = new Uint8Array(64);
    const r = native().recvInto(this.conn.setup.fd, buf);
    if (r === 0 || (r < 0 && r !== EAGAIN)) this.conn.close();
  }

  destroy(): void {
    if (this.evtTimer) clearTimeout(this.evtTimer);
    this.req.close();
    this.evt.close();
    native().munmap(this.control);
    try {
      unlinkSync(this.controlPath);
    } catch {}
  }
}

// ------------------------------------------------------------------ shm transport
class ShmServerTransport implements ServerTransport {
  private readonly request: Ring;
  private readonly response: Ring;
  private readonly event: Ring;
  private readonly scratch = new Uint8Array(4096);
  private readonly zero = new Uint8Array(1);
  private doorbellDebt = 0;
  private requestDebt = 0;
  private requestTimer: NodeJS.Timeout | undefined;
  private readonly resQueue: Uint8Array[] = [];
  private readonly evtQueue: Uint8Array[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryImmediate: NodeJS.Immediate | undefined;
  private retryDelay = 1;
  private readonly names: string[];
  queuedResponseBytes = 0;
  queuedEventBytes = 0;
  /** Requests are left in the ring while too many answers wait for the client. */
  private paused = false;

  constructor(private readonly conn: IpcServerConnection, dir: string, svc: string) {
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
  }

  reply() {
    return { connectionType: QB_IPC_SHM, request: this.names[0]!, response: this.names[1]!, event: this.names[2]! };
  }

  start(): void {}

  // Every request chunk comes with one doorbell byte on the setup socket, sent after
  // the post. Published chunks are taken first and the bytes read afterwards, as libqb
  // does, so the answers go out before we spend a syscall on the doorbells.
  // requestDebt = doorbell bytes read - chunks taken (negative while bytes lag behind).
  onSetupReadable(): void {
    if (this.doorbellDebt > 0) this.flushDoorbells();
    if (!this.paused && !this.drainRequests()) return;
    // Doorbells are read even while paused: a libqb client retries a doorbell that does not
    // fit the socket forever, while a full request ring makes it fail with EAGAIN.
    const r = native().recvInto(this.conn.setup.fd, this.scratch);
    if (r === 0 || (r < 0 && r !== EAGAIN)) {
      this.conn.close();
      return;
    }
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
      if (this.paused || !this.request.tryTake()) break;
      this.requestDebt--;
      let frame: Uint8Array;
      try {
        frame = this.request.read();
      } catch {
        this.conn.close();
        return false;
      }
      this.conn.deliver(frame);
    }
    return !this.conn.closed;
  }

  respond(frame: Uint8Array): void {
    if (this.resQueue.length > 0 || !this.response.write(frame)) {
      if (!this.response.fits(frame.length)) {
        this.conn.close();
        return;
      }
      this.resQueue.push(frame.slice());
      this.queuedResponseBytes += frame.length + QUEUE_OVERHEAD;
      if (this.queuedResponseBytes >= this.conn.limits.responses) this.paused = true;
      this.scheduleRetry();
    }
  }

  sendEvent(frame: Uint8Array): void {
    if (!this.event.fits(frame.length)) throw new IpcError('EMSGSIZE', `event of ${frame.length} bytes cannot fit the event ring`);
    if (this.evtQueue.length > 0 || !this.publishEvent(frame)) {
      if (this.queuedEventBytes + frame.length + QUEUE_OVERHEAD > this.conn.limits.events) {
        this.conn.close();
        return;
      }
      this.evtQueue.push(frame.slice());
      this.queuedEventBytes += frame.length + QUEUE_OVERHEAD;
      this.scheduleRetry();
    }
  }

  private resume(): void {
    if (!this.paused || this.resQueue.length > 0) return;
    this.paused = false;
    // The doorbells of chunks left in the ring were read meanwhile: nothing else will wake
    // us for them, so look now, outside the retry pass that called us.
    setImmediate(() => {
      if (!this.conn.closed && !this.paused) this.drainRequests();
    });
  }

  private publishEvent(frame: Uint8Array): boolean {
    if (!this.event.write(frame)) return false;
    this.doorbellDebt++;
    this.flushDoorbells();
    return true;
  }

  private flushDoorbells(): void {
    const n = native();
    while (this.doorbellDebt > 0) {
      const r = n.send(this.conn.setup.fd, this.zero);
      if (r === EAGAIN) {
        this.conn.setup.watch(READABLE | WRITABLE | DISCONNECT);
        return;
      }
      if (r !== 1) {
        this.conn.close();
        return;
      }
      this.doorbellDebt--;
    }
    if (this.conn.setup.watching & WRITABLE) this.conn.setup.watch(READABLE | DISCONNECT);
  }

  // Rings give no signal when the reader frees space. While the client keeps making
  // room, retry on the next turn of the loop (corosync re-queues a loop job the same
  // way); once it stops, back off with a growing delay.
  private scheduleRetry(): void {
    if (this.retryTimer || this.retryImmediate || this.conn.closed) return;
    const attempt = () => {
      this.retryTimer = undefined;
      this.retryImmediate = undefined;
      if (this.conn.closed) return;
      // A client that corrupted or truncated a ring it reads (ring.ts) is dropped, not retried forever.
      if (this.response.failure || this.event.failure) return this.conn.close();
      const before = this.resQueue.length + this.evtQueue.length;
      while (this.resQueue.length > 0 && this.response.write(this.resQueue[0]!)) {
        this.queuedResponseBytes -= this.resQueue.shift()!.length + QUEUE_OVERHEAD;
      }
      this.resume();
      while (this.evtQueue.length > 0 && this.publishEvent(this.evtQueue[0]!)) {
        this.queuedEventBytes -= this.evtQueue.shift()!.length + QUEUE_OVERHEAD;
      }
      if (this.conn.closed) return;
      const left = this.resQueue.length + this.evtQueue.length;
      if (left === 0) {
        this.retryDelay = 1;
      } else if (left < before) {
        this.retryDelay = 1;
        this.retryImmediate = setImmediate(attempt);
      } else {
        this.retryTimer = setTimeout(attempt, this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 50);
      }
    };
    this.retryTimer = setTimeout(attempt, this.retryDelay);
  }

  setFlowControl(level: number): void {
    this.request.userData = level;
  }

  destroy(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.retryImmediate) clearImmediate(this.retryImmediate);
    if (this.requestTimer) clearTimeout(this.requestTimer);
    for (const r of [this.request, this.response, this.event]) r.destroy();
  }
}
