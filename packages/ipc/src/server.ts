import { EventEmitter } from 'node:events';
import { Errno } from '@corosync-ts/types';
import { ConnectionCapture, recordRefusal, type CaptureWriter } from './capture.js';
import { IpcServerConnection } from './connection.js';
import { IpcError } from './errors.js';
import { FdWatch } from './fdwatch.js';
import {
  MAX_MAX_MSG_SIZE,
  MIN_MAX_MSG_SIZE,
  ServerHandshake,
  acceptConnection,
  refuseConnection,
  requestedMaxMessageSize,
  validateName,
  type Credentials,
} from './handshake.js';
import { READABLE, native } from './native.js';

export { IpcServerConnection, invalidateAnswers } from './connection.js';
export type { IpcServerConnectionEvents } from './connection.js';

export interface ServerOptions {
  /** Transport offered to every client (the server decides; default 'shm', like corosync). */
  transport?: 'socket' | 'shm';
  /**
   * Minimum max message size (default 12,328, the connection response's size); a client asking
   * for more gets more. 0 grants what is asked, however little, as corosync's libqb server does
   * (libqb's clients never ask below 12,328).
   */
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
  /**
   * Request frames above 4 KiB may be lent: a view of a buffer the transport receives into
   * again, valid until the 'request' listeners return, which copy what they keep. Saves a fresh
   * buffer per large request (a 1 MiB cpg multicast). Default false: every frame is the
   * listener's own.
   */
  borrowRequests?: boolean;
  /**
   * Send a response or event larger than the client's negotiated maximum when the transport
   * can carry it (shm: it fits the ring, which libqb rounds up to whole pages; socket: it fits
   * the send buffer, as libqb sizes it), as libqb's server does: the size binds the client's
   * requests only, and the client decides what to do with a larger frame. Default false:
   * respond() and sendEvent() throw EMSGSIZE. Either way a frame the transport cannot carry
   * throws EMSGSIZE.
   */
  sendOversized?: boolean;
}

function positiveOption(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new IpcError('EINVAL', `invalid ${name} ${v}`);
  return v;
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
  private readonly handshakes = new Set<ServerHandshake>();
  private closing = false;
  private acceptPause: NodeJS.Timeout | undefined;
  /** @internal */ readonly maxShmMessageSize: number;
  /** @internal */ readonly maxQueuedResponseBytes: number;
  /** @internal */ readonly maxQueuedEventBytes: number;
  /** @internal */ readonly borrowRequests: boolean;
  /** @internal */ readonly sendOversized: boolean;

  constructor(name: string, opts: ServerOptions = {}) {
    super();
    this.name = validateName(name);
    this.transport = opts.transport ?? 'shm';
    if (this.transport !== 'socket' && this.transport !== 'shm') throw new IpcError('EINVAL', `unknown transport ${String(opts.transport)}`);
    const max = opts.maxMessageSize ?? MIN_MAX_MSG_SIZE;
    if (!Number.isInteger(max) || max < 0 || max > MAX_MAX_MSG_SIZE) throw new IpcError('EINVAL', `invalid maxMessageSize ${max}`);
    this.maxShmMessageSize = positiveOption('maxShmMessageSize', opts.maxShmMessageSize, 16 << 20);
    if (this.maxShmMessageSize > MAX_MAX_MSG_SIZE) throw new IpcError('EINVAL', `invalid maxShmMessageSize ${this.maxShmMessageSize}`);
    this.maxQueuedResponseBytes = positiveOption('maxQueuedResponseBytes', opts.maxQueuedResponseBytes, 1 << 20);
    this.maxQueuedEventBytes = positiveOption('maxQueuedEventBytes', opts.maxQueuedEventBytes, 16 << 20);
    this.borrowRequests = opts.borrowRequests === true;
    this.sendOversized = opts.sendOversized === true;
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
        if (fd !== -Errno.EAGAIN && fd !== -Errno.ECONNABORTED) {
          this.report(IpcError.fromErrno(fd, 'accept'));
        }
        // Out of fds, the pending client stays queued and the listener stays readable: stop
        // polling it for a moment instead of spinning on accept() until an fd frees up.
        if ((fd === -Errno.EMFILE || fd === -Errno.ENFILE) && !this.acceptPause) {
          this.listener.watch(0);
          this.acceptPause = setTimeout(() => {
            this.acceptPause = undefined;
            this.listener?.watch(READABLE);
          }, 100);
        }
        return;
      }
      try {
        this.handshakes.add(new ServerHandshake(fd, this.opts.handshakeTimeout ?? 10_000, this.handshakeDone));
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

  private readonly handshakeDone = (hs: ServerHandshake, req?: { setup: FdWatch; request: Uint8Array; cred: Credentials }): void => {
    this.handshakes.delete(hs);
    if (req) this.establish(req.setup, req.request, req.cred);
  };

  /** @internal called with a complete 24-byte connection request */
  establish(setup: FdWatch, req: Uint8Array, cred: Credentials): void {
    const maxMsgSize = requestedMaxMessageSize(req);
    // Like libqb: anything but an authentication request is closed without a reply.
    if (maxMsgSize === undefined) {
      setup.close();
      return;
    }
    let verdict = 0;
    if (this.opts.authorize) {
      try {
        verdict = this.opts.authorize({ ...cred });
      } catch (e) {
        this.report(new IpcError('EACCES', `authorize() threw: ${(e as Error).message}`, { cause: e }));
        verdict = -Errno.EACCES;
      }
      if (!Number.isInteger(verdict) || verdict > 0) verdict = -Errno.EACCES;
    }
    if (verdict !== 0) return this.refuse(setup, req, cred, verdict);
    if (this.closing) return this.refuse(setup, req, cred, Errno.EAGAIN);
    const max = Math.max(maxMsgSize, this.opts.maxMessageSize ?? MIN_MAX_MSG_SIZE);
    if (this.transport === 'shm' && max > this.maxShmMessageSize) return this.refuse(setup, req, cred, Errno.ENOSPC);
    let conn: IpcServerConnection;
    try {
      conn = new IpcServerConnection(this, setup, cred, max);
    } catch (e) {
      const err = e instanceof IpcError ? e : new IpcError('ENOMEM', (e as Error).message);
      this.report(err);
      return this.refuse(setup, req, cred, err.errno || Errno.ENOMEM);
    }
    const reply = acceptConnection(setup, conn.setupReply());
    if (!reply) {
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

  /** The setup reply with a negative errno; a capture gets both setup frames and the refusal. */
  private refuse(setup: FdWatch, req: Uint8Array, cred: Credentials, errno: number): void {
    const cap = this.opts.capture;
    const t = cap?.now() ?? 0;
    const reply = refuseConnection(setup, errno);
    if (cap) {
      const error = IpcError.fromErrno(-Math.abs(errno), 'the server refused the connection').message;
      recordRefusal(cap, { service: this.opts.captureService ?? this.name, request: req, tRequest: t, response: reply, tResponse: t, error, pid: cred.pid, transport: this.transport });
    }
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

