import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { ConnectionCapture, recordRefusal, type CaptureWriter } from './capture.js';
import { IpcError, abortError } from './errors.js';
import { FdWatch } from './fdwatch.js';
import {
  QB_CONNECTION_RESPONSE_SIZE,
  QB_IPC_SHM,
  QB_IPC_SOCKET,
  QB_REQUEST_HEADER_SIZE,
  QB_RESPONSE_HEADER_SIZE,
  decodeConnectionResponse,
  encodeConnectionRequest,
  readRequestHeader,
  type ConnectionResponse,
} from './frames.js';
import { DISCONNECT, READABLE, WRITABLE, copyFrame, native, type Mapping, type WaiterHandle } from './native.js';
import { Ring, assertShmPath, closePeerFile, connectionDir, openPeerFile, removeConnectionDir, removeShmPath, ringHeaderPath, type PeerFileRules } from './ring.js';

export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * Who may serve a connection, judged on the server's credentials (SO_PEERCRED and the
 * SCM_CREDENTIALS of its setup reply, both must pass): a predicate, or uids/gids of which
 * one must match. Default: root or our own effective uid.
 */
export type ProviderPolicy = ((cred: Credentials) => boolean) | { uids?: readonly number[]; gids?: readonly number[] };

export interface ConnectOptions {
  /** Largest message we want to exchange; the server may raise it (default 1 MiB, like corosync's libraries). */
  maxMessageSize?: number;
  signal?: AbortSignal;
  /** Handshake timeout in ms (libqb itself waits forever). */
  timeout?: number;
  /**
   * Requests sent and not yet answered, at most (default DEFAULT_MAX_IN_FLIGHT); later ones
   * wait in order. Below that, what is in flight is also bounded by the room the server has
   * for their responses (see README "Requests in flight").
   */
  maxInFlight?: number;
  /** Which server processes to trust (see ProviderPolicy); refused ones fail with EACCES. */
  allowProvider?: ProviderPolicy;
  /** Record every frame of this connection, handshake included (a failed handshake is not recorded). */
  capture?: CaptureWriter;
  /** The service name written to the capture; default `name` (give it when `name` carries a test prefix). */
  captureService?: string;
}

export interface RequestOptions {
  timeout?: number;
  signal?: AbortSignal;
  /**
   * Largest response this request can get, in bytes (default: the negotiated maximum). It
   * decides how many requests may be in flight at once: a smaller hint allows more.
   */
  maxResponseSize?: number;
  /**
   * Whether a response frame answers this request. A response that does not fails the
   * connection (the stream is out of step): every pending call rejects, none gets it.
   */
  verify?: (response: Uint8Array) => boolean;
}

/**
 * Requests in flight per connection by default. What a libqb server can hold undelivered is
 * bounded in bytes (and enforced as such below); this also caps small answers: 256 GETs are
 * far below the ~2,700 small or ~900 1-KiB replies measured to fit corosync's buffers.
 */
export const DEFAULT_MAX_IN_FLIGHT = 256;

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
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new IpcError('EINVAL', `invalid maxInFlight ${String(opts.maxInFlight)}`);
  const trusted = providerCheck(opts.allowProvider);
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
    // Abstract names are first come, first served: before reading anything the server says,
    // make sure it is who we mean to talk to (what Pacemaker's crm_ipc_is_authentic_process
    // does). SO_PEERCRED is who listened; SCM_CREDENTIALS who sent the reply.
    const pc = n.peerCred(fd);
    const peer = typeof pc === 'number' ? undefined : { pid: pc[0], uid: pc[1] >>> 0, gid: pc[2] >>> 0 };
    if (!peer) throw new IpcError('EACCES', `cannot learn who serves @${name} (SO_PEERCRED: ${IpcError.fromErrno(pc as number, '').code})`);
    for (const [how, c] of [['SO_PEERCRED', peer], ['SCM_CREDENTIALS', cred]] as const) {
      if (c && !trusted(c)) {
        throw new IpcError('EACCES', `@${name} is served by pid ${c.pid} running as uid ${c.uid} gid ${c.gid} (${how}), which is not a trusted provider (allowProvider)`);
      }
    }
    const serverCredentials = cred ?? peer;
    const res = decodeConnectionResponse(reply);
    if (res.error !== 0) throw recordRefusal(opts.capture, opts.captureService ?? name, connReq, tReq, reply, tRes, IpcError.fromErrno(res.error, `server @${name} refused the connection`));
    if (res.maxMsgSize < MIN_MAX_MSG_SIZE || res.maxMsgSize > 0x40000000) {
      throw new IpcError('EBADMSG', `server offered an implausible max message size ${res.maxMsgSize}`);
    }
    const transport = res.connectionType === QB_IPC_SOCKET ? 'socket' : res.connectionType === QB_IPC_SHM ? 'shm' : undefined;
    if (transport) {
      const client = new IpcClient(name, setup, res, serverCredentials, transport, maxInFlight);
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

function providerCheck(policy: ProviderPolicy | undefined): (cred: Credentials) => boolean {
  if (typeof policy === 'function') return policy;
  if (policy !== undefined && (typeof policy !== 'object' || policy === null)) {
    throw new IpcError('EINVAL', 'allowProvider must be a function or { uids?, gids? }');
  }
  const uids = policy ? (policy.uids ?? []) : [0, process.geteuid?.() ?? 0];
  const gids = policy?.gids ?? [];
  for (const id of [...uids, ...gids]) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new IpcError('EINVAL', `allowProvider: invalid id ${String(id)}`);
  }
  return (c) => uids.includes(c.uid) || gids.includes(c.gid);
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
  /** Request id, for the message of a mismatch. */
  id: number;
  verify: ((response: Uint8Array) => boolean) | undefined;
  /** Room its response may take in the server's response channel (Transport.responseCost). */
  cost: number;
  /** Not sent yet: waits in `waiting` for room. */
  frame: Uint8Array | undefined;
  /** A request without an answer (IpcClient.send): its flow-control threshold. */
  oneway?: number;
}

const NO_ANSWER = new Uint8Array(0);

function settle(p: Pending): void {
  p.settled = true;
  if (p.timer) clearTimeout(p.timer);
  if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
}

/** The part that differs between the socket and shm transports. */
interface Transport {
  /**
   * Throws IpcError for a per-call failure (EAGAIN flow control, EMSGSIZE). `reply` false: the
   * server answers nothing (cpg MCAST). `fcMax`: the highest flow-control level that refuses
   * (libqb's fc_enable_max: 1, or 2 for libcpg's multicasts).
   */
  send(frame: Uint8Array, reply?: boolean, fcMax?: number): void;
  /**
   * How much of the server's response channel a response of up to `len` bytes takes, and how
   * much there is: a libqb server that finds the channel full drops the response (it counts a
   * send_retry and moves on), so what is in flight must always fit, even if we read nothing.
   */
  responseCost(len: number): number;
  readonly responseRoom: number;
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
  /** Requests sent, oldest first, answered in this order. */
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  /** Requests accepted but not sent yet (no room), in order. */
  private readonly waiting: Pending[] = [];
  private waitingHead = 0;
  private inFlightCost = 0;
  private readonly impl: Transport;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private failure: IpcError | undefined;
  private closePromise: Promise<void> | undefined;
  /** @internal set by connect() when recording */
  capture: ConnectionCapture | undefined;

  /** @internal use connect() */
  constructor(
    name: string,
    private readonly setup: FdWatch,
    res: ConnectionResponse,
    cred: Credentials | undefined,
    transport: 'socket' | 'shm',
    /** Requests in flight at most (ConnectOptions.maxInFlight). */
    readonly maxInFlight: number = DEFAULT_MAX_IN_FLIGHT,
  ) {
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

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Requests accepted but waiting for room before they are sent. */
  get queued(): number {
    return this.waiting.length - this.waitingHead;
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
    const maxRes = opts.maxResponseSize ?? this.maxMessageSize;
    if (!Number.isInteger(maxRes) || maxRes < QB_RESPONSE_HEADER_SIZE) {
      return Promise.reject(new IpcError('EINVAL', `invalid maxResponseSize ${String(opts.maxResponseSize)}`));
    }
    if (opts.verify !== undefined && typeof opts.verify !== 'function') {
      return Promise.reject(new IpcError('EINVAL', 'verify must be a function'));
    }
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    let resolve!: Pending['resolve'];
    let reject!: Pending['reject'];
    const promise = new Promise<Uint8Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = {
      resolve,
      reject,
      settled: false,
      timer: undefined,
      signal: undefined,
      onAbort: undefined,
      id: hdr.id,
      verify: opts.verify,
      cost: this.impl.responseCost(Math.min(maxRes, this.maxMessageSize)),
      frame: undefined,
    };
    if (this.queued === 0 && this.hasRoom(p.cost)) {
      if (!this.dispatch(p, frame)) return promise;
    } else {
      // Copied: the caller may reuse its buffer once request() returns.
      p.frame = frame.slice();
      this.waiting.push(p);
    }
    // A timed-out or aborted call that was sent keeps its FIFO slot: its late response
    // must be consumed and dropped, not handed to the next caller. One still waiting is
    // simply never sent.
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
    return promise;
  }

  /**
   * Sends a request the server never answers (corosync's cpg MCAST), in order with the requests
   * made before it; resolves once it is handed to the transport. Rejects with IpcError: EAGAIN
   * under flow control up to level `flowControlMax` (libqb's fc_enable_max: 1 by default, 2 as
   * libcpg sets around a multicast), EMSGSIZE, ENOTCONN.
   */
  send(frame: Uint8Array, opts: { flowControlMax?: 1 | 2 } = {}): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed'));
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
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        resolve: () => resolve(), reject, settled: false, timer: undefined, signal: undefined, onAbort: undefined,
        id: hdr.id, verify: undefined, cost: 0, frame: undefined, oneway: opts.flowControlMax ?? 1,
      };
      if (this.queued === 0) this.dispatch(p, frame);
      else {
        // Copied: the caller may reuse its buffer once send() returns.
        p.frame = frame.slice();
        this.waiting.push(p);
      }
    });
  }

  /**
   * Send a call's frame and count it in flight. False if that failed, and then the call is
   * rejected here: it is in neither `pending` nor `waiting` while it is sent, so a failure
   * of the connection found by the send itself (fail() -> rejectAll) does not see it.
   */
  private dispatch(p: Pending, frame: Uint8Array): boolean {
    try {
      this.impl.send(frame, p.oneway === undefined, p.oneway ?? 1);
    } catch (e) {
      // Per-call failures (flow control EAGAIN, EMSGSIZE) belong to this call alone.
      settle(p);
      p.reject(this.state === 'open' ? (e as IpcError) : (this.failure ?? (e as IpcError)));
      return false;
    }
    this.capture?.frame('req', frame);
    // Sending can itself reveal that the server is gone without throwing (shm: a doorbell to
    // a closed socket, a ring the dead server left corrupt; socket: an error already queued
    // on the response socket). A daemon killed -9 just after answering the previous call
    // lands a queued call here.
    if (this.state !== 'open') {
      settle(p);
      p.reject(this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed'));
      return false;
    }
    if (p.oneway !== undefined) {
      settle(p);
      p.resolve(NO_ANSWER);
      return true;
    }
    this.pending.push(p);
    this.inFlightCost += p.cost;
    return true;
  }

  private hasRoom(cost: number): boolean {
    const n = this.inFlight;
    // One request alone always goes: whether its answer fits is the server's limit, not ours.
    return n === 0 || (n < this.maxInFlight && this.inFlightCost + cost <= this.impl.responseRoom);
  }

  /** Send waiting requests while there is room. */
  private pump(): void {
    while (this.waitingHead < this.waiting.length && this.state === 'open') {
      const p = this.waiting[this.waitingHead]!;
      if (!p.settled && !this.hasRoom(p.cost)) return;
      this.waiting[this.waitingHead++] = undefined as unknown as Pending;
      if (p.settled) continue;
      const frame = p.frame!;
      p.frame = undefined;
      if (!this.dispatch(p, frame) && this.state !== 'open') return;
    }
    this.waiting.length = 0;
    this.waitingHead = 0;
  }

  /** @internal a response frame arrived */
  deliverResponse(frame: Uint8Array): void {
    this.capture?.frame('res', frame);
    if (this.pendingHead >= this.pending.length) {
      this.fail(new IpcError('EPROTO', 'the server sent a response nobody asked for'));
      return;
    }
    const p = this.pending[this.pendingHead]!;
    if (p.verify && !p.verify(frame)) {
      const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      this.fail(
        new IpcError(
          'EPROTO',
          `a response with id ${v.getInt32(0, true)}, ${frame.length} bytes, error ${v.getInt32(16, true)} does not answer the request with id ${p.id} it would be matched to`,
        ),
      );
      return;
    }
    this.pending[this.pendingHead++] = undefined as unknown as Pending;
    this.inFlightCost -= p.cost;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    if (this.waitingHead < this.waiting.length) this.pump();
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
    for (const [list, head] of [[this.pending, this.pendingHead], [this.waiting, this.waitingHead]] as const) {
      for (let i = head; i < list.length; i++) {
        const p = list[i]!;
        if (!p.settled) {
          settle(p);
          p.reject(err);
        }
      }
      list.length = 0;
    }
    this.pendingHead = 0;
    this.waitingHead = 0;
    this.inFlightCost = 0;
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

/**
 * What the files a server names must satisfy: all in one directory of /dev/shm, owned by
 * the server's uid (SCM_CREDENTIALS / SO_PEERCRED of the handshake) or ours (libqb servers
 * chown them to the client; whoever runs as our uid can reach us anyway).
 */
function peerFileRules(client: IpcClient, paths: string[], what: string): PeerFileRules {
  const own = process.geteuid?.() ?? -1;
  const srv = client.serverCredentials?.uid;
  return { dir: connectionDir(paths, what), owners: srv === undefined || srv === own ? [own] : [srv, own] };
}

let sysctls: { wmemDefault: number; wmemMax: number } | undefined;
function readSysctl(name: string, fallback: number): number {
  try {
    const v = Number.parseInt(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'), 10);
    return Number.isInteger(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/**
 * The SO_SNDBUF of a libqb server's response socket, where undelivered responses wait: libqb's
 * set_sock_size() raises it to the negotiated maximum when it is not above it already, and
 * Linux caps that at net.core.wmem_max and doubles it. Without the sysctls, Linux's defaults.
 */
function serverSendBuffer(maxMsgSize: number): number {
  sysctls ??= { wmemDefault: readSysctl('wmem_default', 212992), wmemMax: readSysctl('wmem_max', 212992) };
  const initial = 2 * sysctls.wmemDefault;
  return initial <= maxMsgSize ? 2 * Math.min(maxMsgSize, sysctls.wmemMax) : initial;
}

// ------------------------------------------------------------------ socket transport
class SocketTransport implements Transport {
  private readonly control: Mapping;
  private readonly ctl: Int32Array;
  private readonly req: FdWatch;
  private readonly evt: FdWatch;
  private readonly queue: Uint8Array[] = [];
  private readonly controlPath: string;
  /** Responses due (sent or queued requests not answered yet). */
  private owed = 0;
  /**
   * How many datagrams the native watcher may receive per wake-up: those owed plus one, so a
   * response nobody asked for that already sits behind them is read with them (and fails the
   * connection) instead of waiting there for the next request to claim it. Stopping there
   * saves the recv that would only report EAGAIN on every sequential round trip.
   */
  private readonly recvBudget = new Int32Array([1]);
  readonly responseRoom: number;

  constructor(private readonly client: IpcClient, res: ConnectionResponse) {
    const n = native();
    this.controlPath = assertShmPath(res.request, 'control file');
    const rules = peerFileRules(client, [res.request], 'control file');
    const cfd = openPeerFile(res.request, 'control file', rules, (s) => s === 24, '24 bytes');
    try {
      const m = n.mmap(cfd, 24, false);
      if (typeof m === 'number') throw IpcError.fromErrno(m, `mmap ${res.request}`);
      this.control = m;
    } finally {
      closePeerFile(cfd);
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
    this.req = new FdWatch(socks[0]!.fd, (st, ev, count) => this.onReq(st, ev, count), client.maxMessageSize, this.recvBudget);
    this.responseRoom = serverSendBuffer(client.maxMessageSize);
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

  // A datagram waiting in a unix socket is charged to the sender's SO_SNDBUF at its skb
  // truesize: the data and skb_shared_info (320 bytes) in a power-of-two kmalloc block, plus
  // the sk_buff (256). Measured on corosync 3.1.7 (README "Requests in flight"): 2,731
  // 56-byte (768 each) and 911 1,064-byte (2,304 each) responses fill its 2 MiB.
  responseCost(len: number): number {
    return 256 + Math.max(512, 2 ** Math.ceil(Math.log2(len + 320)));
  }

  send(frame: Uint8Array, reply = true, fcMax = 1): void {
    const fc = Atomics.load(this.ctl, 1);
    // fc_enable_max is 1 for libqb clients outside cpg: level 2 does not stop them.
    if (fc > 0 && fc <= fcMax) throw new IpcError('EAGAIN', 'the server has turned on flow control; try again');
    if (this.queue.length > 0) {
      this.queue.push(frame.slice());
      if (reply) this.recvBudget[0] = ++this.owed + 1;
      return;
    }
    if (this.owed === 0) {
      // Nothing is due, so anything already waiting on the socket is a response nobody asked
      // for: take it now (one non-blocking recv), or this request would be matched to it.
      this.takeDatagrams(this.req, this.req.spin(0), 2, 'response');
      if (!this.client.connected) return;
    }
    const r = native().send(this.req.fd, frame);
    if (r === frame.length) {
      Atomics.add(this.ctl, 0, 1);
      if (!reply) return;
      this.recvBudget[0] = ++this.owed + 1;
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
      if (reply) this.recvBudget[0] = ++this.owed + 1;
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
    if (!this.client.connected || this.owed <= 0) return;
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
        if (this.owed > 0) this.recvBudget[0] = --this.owed + 1;
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
    removeShmPath(this.controlPath);
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
  private readonly queue: { frame: Uint8Array; reply: boolean }[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private doorbellDebt = 0;
  private eventDebt = 0;
  private eventTimer: NodeJS.Timeout | undefined;
  private eventImmediate: NodeJS.Immediate | undefined;
  /** Event tokens taken from the semaphore whose chunks are still to be read. */
  private eventTokens = 0;
  private readonly doorbell = new Uint8Array(1);
  private readonly scratch = new Uint8Array(256);
  /** The response ring's semaphore count: responses published and not taken yet. */
  private readonly responseSem: Int32Array;
  readonly responseRoom: number;

  constructor(private readonly client: IpcClient, res: ConnectionResponse) {
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
    // What a libqb server can write before qb_rb_chunk_write says EAGAIN: the ring less the
    // chunk margin (QB_RB_CHUNK_MARGIN, 3 words) the last write needs beyond its chunk.
    this.responseRoom = (this.response.wordSize - 1) * 4 - 12;
    const setup = client.setupWatch;
    setup.onEvents = (st, ev) => this.onSetup(st, ev);
    setup.watch(READABLE | DISCONNECT);
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
    if (Atomics.load(this.responseSem, 0) <= this.awaiting) return true;
    this.client.fail(new IpcError('EPROTO', 'the server sent a response nobody asked for'));
    return false;
  }

  private ensureWaiter(): WaiterHandle {
    if (this.waiter) return this.waiter;
    const w = native().semWaiter(this.response.semBuffer, Ring.SEM_OFFSET, (count) => this.onResponses(count));
    if (typeof w === 'number') throw IpcError.fromErrno(w, 'start the response waiter thread');
    this.waiter = w;
    return w;
  }

  private onResponses(count: number): void {
    if (count === -2) {
      // The waiter thread found the response ring's header truncated under it (ipc.c).
      return this.client.fail(new IpcError('EBADMSG', `ring ${this.response.hdrPath}: a ring file was truncated under us (SIGBUS absorbed)`));
    }
    if (count < 0) {
      this.waiterStopped?.();
      return;
    }
    for (let i = 0; i < count; i++) this.takeResponse();
    if (this.client.connected) this.checkSurplus();
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
    // Events the server published before this response are in the event ring already: hand
    // them over first, as the server ordered them (corosync sends the events a request causes
    // before its answer), rather than after, when the doorbell's wake-up comes round.
    if (this.client.listenerCount('event') > 0) this.drainEvents();
    if (!this.client.connected) return;
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
    if (this.client.connected && !this.checkSurplus()) {
      this.polling = false;
      return;
    }
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

  send(frame: Uint8Array, reply = true, fcMax = 1): void {
    // fc_enable_max is 1 for libqb clients outside cpg: level 2 does not stop them.
    const fc = this.request.userData;
    if (fc > 0 && fc <= fcMax) throw new IpcError('EAGAIN', 'the server has turned on flow control; try again');
    if (this.request.refCount !== 2) {
      const err = new IpcError('ECONNRESET', 'the server has released the request ring');
      this.client.fail(err);
      throw err;
    }
    if (!this.request.fits(frame.length)) throw new IpcError('EMSGSIZE', `request of ${frame.length} bytes does not fit the request ring`);
    this.ensureWaiter();
    if (this.queue.length > 0 || !this.publish(frame, reply)) {
      // Copied: the caller may reuse its buffer once request() returns.
      this.queue.push({ frame: frame.slice(), reply });
      this.scheduleRetry();
    }
  }

  private publish(frame: Uint8Array, reply: boolean): boolean {
    if (!this.checkSurplus()) return true;
    if (!this.request.write(frame)) {
      // A corrupt or truncated request ring ends the connection, not just this call:
      // request() then rejects with the connection's failure, a retry finds it closed.
      if (this.request.failure) this.client.fail(this.request.failure);
      return false;
    }
    if (reply) this.awaiting++;
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
      while (this.queue.length > 0 && this.publish(this.queue[0]!.frame, this.queue[0]!.reply)) this.queue.shift();
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
    for (const f of files) removeShmPath(f);
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
