import { EventEmitter } from 'node:events';
import { chmodSync, chownSync, mkdtempSync } from 'node:fs';
import { Errno } from '@corosync-ts/types';
import type { ConnectionCapture } from './capture.js';
import { IpcError } from './errors.js';
import type { FdWatch } from './fdwatch.js';
import { QB_IPC_MSG_DISCONNECT, QB_REQUEST_HEADER_SIZE, type ConnectionResponse } from './frames.js';
import type { Credentials } from './handshake.js';
import { DISCONNECT, READABLE, WRITABLE, native } from './native.js';
import { QUEUE_OVERHEAD } from './outbox.js';
import { ownShmPath, removeShmPath } from './peerfile.js';
import { ShmServerTransport } from './shm.js';
import { SocketServerTransport } from './socket.js';
import type { ServerLink, ServerTransport } from './transport.js';

/** What a connection needs of its IpcServer. */
export interface ConnectionOwner {
  readonly name: string;
  readonly transport: 'socket' | 'shm';
  readonly maxQueuedResponseBytes: number;
  readonly maxQueuedEventBytes: number;
  readonly borrowRequests: boolean;
  readonly sendOversized: boolean;
  forget(conn: IpcServerConnection): void;
}

function fsErrno(e: unknown): number {
  const n = (e as NodeJS.ErrnoException).errno;
  return typeof n === 'number' ? -Math.abs(n) : -Errno.EIO;
}

/**
 * Connections whose files are still in /dev/shm. A process that exits with some open (an uncaught
 * exception, process.exit()) removes the files from its 'exit' hook: its own clients died with it,
 * and a client elsewhere only removes them when it notices the hang-up, if ever. Only the files:
 * no 'close' events or capture records run from inside exit.
 */
const live = new Set<IpcServerConnection>();
let exitHooked = false;
function removeFilesAtExit(): void {
  for (const c of live) c.removeFiles();
}

/** Whether any answerRepeats() was ever armed: until then there is nothing to invalidate (and no addon to load for it). */
let answersArmed = false;

/** Every connection's answerRepeats() stops: call it before anything could change one of their answers. */
export function invalidateAnswers(): void {
  if (answersArmed) native().answerInvalidate();
}

export interface IpcServerConnectionEvents {
  request: [frame: Uint8Array];
  close: [];
}

/** One client of an IpcServer. */
export class IpcServerConnection extends EventEmitter<IpcServerConnectionEvents> implements ServerLink {
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
  private flowLevel = 0;
  private answering = false;
  /** @internal set when the server records */
  capture: ConnectionCapture | undefined;

  /** @internal */
  constructor(
    private readonly server: ConnectionOwner,
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
      ownShmPath(dir);
      chmodSync(dir, 0o770);
      try {
        chownSync(dir, cred.uid, cred.gid);
      } catch {
        // Not root: only clients of our own uid can use the files, as with libqb.
      }
      const svc = server.name.replace(/\//g, '_');
      this.impl = this.transport === 'socket' ? new SocketServerTransport(this, dir, svc) : new ShmServerTransport(this, dir, svc);
    } catch (e) {
      removeShmPath(dir, true);
      throw e instanceof IpcError ? e : IpcError.fromErrno(fsErrno(e), (e as Error).message);
    }
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', removeFilesAtExit);
    }
  }

  /** @internal what the setup reply that accepts this connection names */
  setupReply(): Omit<ConnectionResponse, 'error'> {
    return { maxMsgSize: this.maxMessageSize, ...this.impl.reply() };
  }

  /** @internal */
  start(): void {
    this.setup.onEvents = (st, ev, bells) => {
      if (st < 0 || this.isClosed) return this.close();
      if (ev & WRITABLE || ev & READABLE) this.impl.onSetupReadable(bells);
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

  /** What `queued` counts per waiting frame on top of its bytes (so a server can tell how many frames the client took). */
  get queueOverhead(): number {
    return QUEUE_OVERHEAD;
  }

  /** @internal ServerOptions.borrowRequests: the transport may lend request frames. */
  get borrowRequests(): boolean {
    return this.server.borrowRequests;
  }

  /** @internal */
  get limits(): { responses: number; events: number } {
    return { responses: this.server.maxQueuedResponseBytes, events: this.server.maxQueuedEventBytes };
  }

  /** @internal a request frame arrived */
  deliver(frame: Uint8Array): void {
    if (this.isClosed) return;
    this.capture?.frame('req', frame);
    // the header's id (i32 LE) read in place: no DataView and header object per request
    if (frame.length < QB_REQUEST_HEADER_SIZE || (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) === QB_IPC_MSG_DISCONNECT) {
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
    // an answer the client has no room for waits in order: none may pass it
    if (this.answering && this.impl.queuedResponseBytes > 0) this.stopAnswering();
  }

  /**
   * From now on, a request of exactly `request`'s bytes is answered with `response` by the
   * transport itself, without a 'request' event, the way a 'request' listener calling respond()
   * would answer it; anything else comes as before. Until stopAnswering(), the next call, a
   * change of flow control, an answer that has to wait for the client, the connection's close,
   * or invalidateAnswers() (any connection's, process-wide). Refused (false) while the
   * connection is recorded, under flow control, with a request unanswered or answers waiting.
   * answered() says how many requests it answered.
   */
  answerRepeats(request: Uint8Array, response: Uint8Array): boolean {
    if (this.isClosed || this.capture !== undefined || this.flowLevel !== 0 || this.outstanding !== 0 || this.impl.queuedResponseBytes > 0) return false;
    if (response.length < QB_REQUEST_HEADER_SIZE || response.length > this.maxMessageSize) return false;
    answersArmed = true;
    this.answering = this.impl.answerRepeats(request, response);
    return this.answering;
  }

  stopAnswering(): void {
    if (!this.answering) return;
    this.answering = false;
    if (!this.isClosed) this.impl.stopAnswering();
  }

  /** Requests answered by answerRepeats() since the last call (0 once closed). */
  answered(): number {
    return this.isClosed ? 0 : this.impl.answered();
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
    if (frame.length <= this.maxMessageSize) return;
    if (!this.server.sendOversized) {
      throw new IpcError('EMSGSIZE', `frame of ${frame.length} bytes exceeds the negotiated maximum ${this.maxMessageSize}`);
    }
    if (!this.impl.carries(frame.length)) {
      throw new IpcError('EMSGSIZE', `frame of ${frame.length} bytes exceeds what the ${this.transport} transport of this connection carries`);
    }
  }

  /** 0 = go; 1 makes libqb clients fail sends with EAGAIN (CS_ERR_TRY_AGAIN); 2 only stops cpg-style clients. */
  setFlowControl(level: 0 | 1 | 2): void {
    if (level !== 0 && level !== 1 && level !== 2) throw new IpcError('EINVAL', `invalid flow control level ${String(level)}`);
    if (this.isClosed) return;
    this.stopAnswering();
    this.flowLevel = level;
    this.impl.setFlowControl(level);
    this.capture?.flow(level);
  }

  /** Drop the client and remove the connection's files. Emits 'close' once. */
  close(): void {
    if (this.isClosed) return;
    this.capture?.closed();
    this.removeFiles();
    this.setup.close(true);
    this.server.forget(this);
    this.emit('close');
  }

  /** @internal unmap and unlink the connection's files; the connection is closed from here on */
  removeFiles(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    live.delete(this);
    this.impl.destroy();
    removeShmPath(this.dir, true);
  }
}

