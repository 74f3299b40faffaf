import { EventEmitter } from 'node:events';
import { ConnectionCapture, type CaptureWriter } from './capture.js';
import { IpcError, abortError } from './errors.js';
import type { FdWatch } from './fdwatch.js';
import { QB_REQUEST_HEADER_SIZE, QB_RESPONSE_HEADER_SIZE, readRequestHeader, type ConnectionResponse } from './frames.js';
import { MAX_MAX_MSG_SIZE, clientSetup, providerCheck, validateName, type Credentials, type ProviderPolicy } from './handshake.js';
import { ShmClientTransport } from './shm.js';
import { SocketClientTransport } from './socket.js';
import type { ClientTransport, EventInto } from './transport.js';

export type { Credentials, ProviderPolicy } from './handshake.js';

export interface ConnectOptions {
  /** Largest message we want to exchange; the server may raise it (default 1 MiB, like corosync's libraries). */
  maxMessageSize?: number;
  signal?: AbortSignal;
  /** Handshake timeout in ms, 0..2^31-1 (libqb itself waits forever). */
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
  /**
   * Lend 'event' frames instead of giving them: a frame is valid only while the 'event'
   * listeners run (later events may reuse its bytes), as libqb's qb_ipcc_event_recv buffer is.
   * Saves a copy per event over the socket and, over shm, the copy of an event above 4 KiB out
   * of the event ring: the frame is then the ring's own memory, handed back to the server when
   * the listeners return (it writes later events elsewhere until then; after close() the frame
   * is empty). A server that breaks libqb's rules could still write into it meanwhile: read a
   * field once and check what you read. Listeners copy what they keep. Default false: every
   * frame is the listener's own.
   */
  borrowEvents?: boolean;
  /**
   * Compile @corosync-ts/codec-wasm's WASM module while the server sets the connection up
   * (default true), so that the first frame the codec reads or writes does not wait for it. false
   * for a client whose calls may never need it (the handshake itself does not): the module is then
   * compiled on first use, if ever.
   */
  compileCodec?: boolean;
  /**
   * Where to read an event over 4 KiB, where that saves a copy: called with a view of the
   * event's first bytes (at most EVENT_INTO_HEAD; valid only during the call) and its length, it
   * returns a buffer of exactly that length, which the event is read into and handed to the
   * listeners as, or undefined for the usual frame. It must not throw. shm copies the event out
   * of the ring into it; the socket transport, once this has taken an event, peeks each datagram
   * first and receives one over 4 KiB straight into it (README). cpg reads a large message's
   * first fragment straight into the buffer it puts the message back together in.
   */
  eventInto?: EventInto;
}

export interface RequestOptions {
  /** ms, 0..2^31-1. */
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
  /**
   * Hand this request's response over before the events the server queued ahead of it, which
   * otherwise go first (a notification before the call it follows resolves). For a caller whose
   * next request waits for this answer: libcpg sends a large message's fragments back to back,
   * each after its answer, and only then reads the deliveries; taking a 1 MiB fragment's
   * delivery first delayed the next fragment by its receive and copy.
   */
  answerFirst?: boolean;
  /**
   * The frame's tail, apart from its head (`frame`: the request header and whatever precedes
   * the payload; its size field counts both): written out after it as a second piece, as libqb's
   * qb_ipcc_sendv gathers an iovec, never joined into one buffer on the way (one copy less per
   * request: a large payload goes from the caller's bytes straight to the socket or ring).
   * Read while the call is made; copied if the request must wait for room.
   */
  body?: Uint8Array;
  /**
   * libqb's fc_enable_max for this request (see send()): 1 by default; 2 as libcpg sets it
   * around a large message's fragments, which the server's flow control at level 2 then refuses
   * with EAGAIN too. A refused request is not sent.
   */
  flowControlMax?: 1 | 2;
}

/** What send() and sendNow() take beside the frame. */
export interface SendOptions {
  /** libqb's fc_enable_max (see send()). */
  flowControlMax?: 1 | 2;
  /** As RequestOptions.body. */
  body?: Uint8Array;
}

/**
 * Requests in flight per connection by default. What a libqb server can hold undelivered is
 * bounded in bytes (and enforced as such below); this also caps small answers: 256 GETs are
 * far below the ~2,700 small or ~900 1-KiB replies measured to fit corosync's buffers.
 */
export const DEFAULT_MAX_IN_FLIGHT = 256;

/** Like corosync's libraries (IPC_REQUEST_SIZE). */
const DEFAULT_MAX_MSG_SIZE = 1048576;

/** EINVAL for a timeout a Node timer cannot hold (above 2^31-1 ms one fires after 1 ms). */
function timeoutError(timeout: number | undefined): IpcError | undefined {
  if (timeout === undefined || (timeout >= 0 && timeout <= 0x7fffffff)) return undefined;
  return new IpcError('EINVAL', `invalid timeout ${String(timeout)} (ms, 0..2147483647)`);
}

/** libqb's fc_enable_max is 1 or 2; another value would stop a send at levels no server means. */
function flowControlMaxError(max: unknown): IpcError | undefined {
  if (max === undefined || max === 1 || max === 2) return undefined;
  return new IpcError('EINVAL', `invalid flowControlMax ${String(max)} (1 or 2)`);
}

/** Connect to a libqb IPC server listening on the abstract socket `name` (e.g. 'cmap'). */
export async function connect(name: string, opts: ConnectOptions = {}): Promise<IpcClient> {
  validateName(name);
  const want = opts.maxMessageSize ?? DEFAULT_MAX_MSG_SIZE;
  if (!Number.isInteger(want) || want <= 0 || want > MAX_MAX_MSG_SIZE) {
    throw new IpcError('EINVAL', `invalid maxMessageSize ${want}`);
  }
  const badTimeout = timeoutError(opts.timeout);
  if (badTimeout) throw badTimeout;
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new IpcError('EINVAL', `invalid maxInFlight ${String(opts.maxInFlight)}`);
  const trusted = providerCheck(opts.allowProvider);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const s = await clientSetup(name, { maxMessageSize: want, trusted, signal: opts.signal, timeout: opts.timeout, capture: opts.capture, captureService: opts.captureService, compileCodec: opts.compileCodec });
  let client: IpcClient;
  try {
    client = new IpcClient(name, s.setup, s.res, s.serverCredentials, s.transport, maxInFlight);
    client.borrowEvents = opts.borrowEvents === true;
    client.eventInto = opts.eventInto;
  } catch (e) {
    s.setup.close();
    throw e;
  }
  if (opts.capture) {
    client.capture = new ConnectionCapture(opts.capture, opts.captureService ?? name, s.transport, process.pid);
    client.capture.opened(s.request, s.requestAt, s.reply, s.replyAt);
  }
  return client;
}

/**
 * What a call's promise settles with (IpcClient.requestWith): `parse(response, ctx)`, or
 * `mapError(err, ctx)` for the IpcError it fails with.
 */
export type ResponseParser<T, C> = (response: Uint8Array, ctx: C) => T;
export type ErrorMapper<C> = (err: IpcError, ctx: C) => unknown;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** requestWith()'s: the response is handed over through `parse`, errors through `mapError`. */
  parse: ResponseParser<unknown, unknown> | undefined;
  mapError: ErrorMapper<unknown> | undefined;
  ctx: unknown;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Request id, for the message of a mismatch. */
  id: number;
  verify: ((response: Uint8Array) => boolean) | undefined;
  /** Room its response may take in the server's response channel (ClientTransport.responseCost). */
  cost: number;
  /** Not sent yet: waits in `waiting` for room. */
  frame: Uint8Array | undefined;
  /** A request without an answer (IpcClient.send): its flow-control threshold. */
  oneway?: number;
  /** An answered request's flow-control threshold (RequestOptions.flowControlMax). */
  fcMax?: 1 | 2;
  /** RequestOptions.answerFirst. */
  answerFirst?: boolean;
}

const NO_ANSWER = new Uint8Array(0);

/** The whole frame, in a buffer of its own: `frame` copied, then `body` when there is one. */
function joined(frame: Uint8Array, body: Uint8Array | undefined): Uint8Array {
  if (body === undefined) return frame.slice();
  const out = new Uint8Array(frame.length + body.length);
  out.set(frame);
  out.set(body, frame.length);
  return out;
}

function settle(p: Pending): void {
  p.settled = true;
  if (p.timer) clearTimeout(p.timer);
  if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
}

function refused(err: IpcError, mapError: ErrorMapper<unknown> | undefined, ctx: unknown): Promise<never> {
  return Promise.reject(mapError ? mapError(err, ctx) : err);
}

/** Settles `p` with its response `frame`: what parse() makes of it, or what parse() throws. */
function answer(p: Pending, frame: Uint8Array): void {
  settle(p);
  if (!p.parse) return p.resolve(frame);
  let value: unknown;
  try {
    value = p.parse(frame, p.ctx);
  } catch (e) {
    return p.reject(e);
  }
  p.resolve(value);
}

/** Rejects a settled call with `err`, as its caller asked to see it (mapError). */
function rejectCall(p: Pending, err: IpcError): void {
  p.reject(p.mapError ? p.mapError(err, p.ctx) : err);
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
  /** Requests may be given in two pieces (RequestOptions.body, SendOptions.body): for layers that also drive other transports. */
  readonly gather = true;
  /** Requests sent, oldest first, answered in this order. */
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  /** Requests accepted but not sent yet (no room), in order. */
  private readonly waiting: Pending[] = [];
  private waitingHead = 0;
  private inFlightCost = 0;
  private readonly impl: ClientTransport;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private failure: IpcError | undefined;
  private closePromise: Promise<void> | undefined;
  /** @internal set by connect() when recording */
  capture: ConnectionCapture | undefined;
  /** @internal ConnectOptions.borrowEvents, set by connect(): transports may lend event frames. */
  borrowEvents = false;
  /** @internal ConnectOptions.eventInto, set by connect(). */
  eventInto: EventInto | undefined;

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
    this.impl = transport === 'socket' ? new SocketClientTransport(this, res) : new ShmClientTransport(this, res);
  }

  /** The fd qb_ipcc_fd_get() would return: the event socket (socket) or the setup socket (shm). */
  get fd(): number {
    return this.impl.fd;
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  /**
   * Requests sent and not answered yet. Not a sign that a call request() just made was not sent:
   * over shm one may be answered before request() returns (see request()).
   */
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

  /**
   * Emits the events the server has sent by now before returning ('event' listeners run inside
   * this call), without waiting: what libqb's qb_ipcc_event_recv with a 0 timeout reads. Events
   * otherwise arrive on a later turn of the loop, so a caller that must see everything sent before
   * some answer (of this connection or of another: the server queues a notification before it
   * answers the call that caused it) polls first. Inside an 'event' listener of this transport it
   * does nothing: the batch being delivered goes on after the listener, in order.
   */
  pollEvents(): void {
    if (this.state === 'open') this.impl.pollEvents();
  }

  /**
   * Send one request frame (header included) and resolve with its response frame. Over shm, a
   * server that answered while the request's doorbell was being rung (one preempting this thread
   * there, as corosync at SCHED_RR 99 on the same CPU does) has its answer taken in the send: the
   * call is settled, and no longer counted in inFlight, when request() returns.
   */
  request(frame: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    return this.submit(frame, opts, undefined, undefined, undefined) as Promise<Uint8Array>;
  }

  /**
   * request() whose promise resolves with `parse(response, ctx)`, run as the response is
   * delivered (what it throws rejects the call), and rejects with `mapError(err, ctx)` for the
   * IpcError the call fails with. One promise per call, where request() and a then() on it make
   * two and a microtask more; `ctx` spares the caller a closure per call.
   */
  requestWith<T, C>(frame: Uint8Array, opts: RequestOptions | undefined, parse: ResponseParser<T, C>, mapError: ErrorMapper<C>, ctx: C): Promise<T> {
    return this.submit(frame, opts ?? {}, parse as ResponseParser<unknown, unknown>, mapError as ErrorMapper<unknown>, ctx) as Promise<T>;
  }

  private submit(
    frame: Uint8Array,
    opts: RequestOptions,
    parse: ResponseParser<unknown, unknown> | undefined,
    mapError: ErrorMapper<unknown> | undefined,
    ctx: unknown,
  ): Promise<unknown> {
    if (this.state !== 'open') return refused(new IpcError('ENOTCONN', 'the IPC connection is closed'), mapError, ctx);
    const body = opts.body;
    const id = this.checkFrame(frame, body);
    if (typeof id !== 'number') return refused(id, mapError, ctx);
    const badTimeout = timeoutError(opts.timeout);
    if (badTimeout) return refused(badTimeout, mapError, ctx);
    const maxRes = opts.maxResponseSize ?? this.maxMessageSize;
    if (!Number.isInteger(maxRes) || maxRes < QB_RESPONSE_HEADER_SIZE) {
      return refused(new IpcError('EINVAL', `invalid maxResponseSize ${String(opts.maxResponseSize)}`), mapError, ctx);
    }
    if (opts.verify !== undefined && typeof opts.verify !== 'function') {
      return refused(new IpcError('EINVAL', 'verify must be a function'), mapError, ctx);
    }
    const badFc = flowControlMaxError(opts.flowControlMax);
    if (badFc) return refused(badFc, mapError, ctx);
    if (opts.signal?.aborted) return refused(abortError(opts.signal), mapError, ctx);
    let resolve!: Pending['resolve'];
    let reject!: Pending['reject'];
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = {
      resolve,
      reject,
      parse,
      mapError,
      ctx,
      settled: false,
      timer: undefined,
      signal: undefined,
      onAbort: undefined,
      id,
      verify: opts.verify,
      cost: this.impl.responseCost(Math.min(maxRes, this.maxMessageSize)),
      frame: undefined,
      answerFirst: opts.answerFirst === true,
      fcMax: opts.flowControlMax,
    };
    if (this.queued === 0 && this.hasRoom(p.cost)) {
      if (!this.dispatch(p, frame, body)) return promise;
    } else {
      // Copied: the caller may reuse its buffer once request() returns.
      p.frame = joined(frame, body);
      this.waiting.push(p);
    }
    // Answered within the send (deliverAnswered), or failed by what its answer said: no timer or
    // listener to arm (they would outlive the call).
    if (p.settled) return promise;
    // A timed-out or aborted call that was sent keeps its FIFO slot: its late response
    // must be consumed and dropped, not handed to the next caller. One still waiting is
    // simply never sent.
    if (opts.timeout !== undefined) {
      p.timer = setTimeout(() => {
        settle(p);
        rejectCall(p, new IpcError('ETIMEDOUT', `no response within ${opts.timeout} ms`));
      }, opts.timeout);
    }
    if (opts.signal) {
      const signal = opts.signal;
      p.signal = signal;
      p.onAbort = () => {
        settle(p);
        rejectCall(p, abortError(signal));
      };
      signal.addEventListener('abort', p.onAbort, { once: true });
    }
    return promise;
  }

  /**
   * Sends a request the server never answers (corosync's cpg MCAST), in order with the requests
   * made before it; resolves once it is handed to the transport. Rejects with IpcError: EAGAIN
   * under flow control up to level `flowControlMax` (libqb's fc_enable_max: 1 by default, 2 as
   * libcpg sets around a multicast) and, as libqb's qb_ipcc_sendv, when the server's request ring
   * or socket has no room for it now (nothing waits for its answer, so it is never queued there:
   * try again once the server has read); EMSGSIZE, ENOTCONN. A refused request is not sent.
   */
  send(frame: Uint8Array, opts: SendOptions = {}): Promise<void> {
    if (this.state === 'open' && this.queued === 0) {
      try {
        // sendNow() checks the options itself
        this.sendNow(frame, opts.flowControlMax, opts.body);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e as IpcError);
      }
    }
    const badFc = flowControlMaxError(opts.flowControlMax);
    if (badFc) return Promise.reject(badFc);
    if (this.state !== 'open') return Promise.reject(this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed'));
    const id = this.checkFrame(frame, opts.body);
    if (typeof id !== 'number') return Promise.reject(id);
    return new Promise<void>((resolve, reject) => {
      // Copied: the caller may reuse its buffer once send() returns.
      this.waiting.push({
        resolve: () => resolve(), reject, parse: undefined, mapError: undefined, ctx: undefined,
        settled: false, timer: undefined, signal: undefined, onAbort: undefined,
        id, verify: undefined, cost: 0, frame: joined(frame, opts.body), oneway: opts.flowControlMax ?? 1,
      });
    });
  }

  /**
   * send() without a promise, for one-way requests on a hot path (a loop of cpg multicasts):
   * true once the frame is handed to the transport; false, having done nothing, while earlier
   * requests wait for room (send() then queues it behind them). Throws send()'s IpcErrors.
   * `body` as RequestOptions.body.
   */
  sendNow(frame: Uint8Array, flowControlMax: 1 | 2 = 1, body?: Uint8Array): boolean {
    if (flowControlMax !== 1 && flowControlMax !== 2) throw flowControlMaxError(flowControlMax)!;
    if (this.state !== 'open') throw this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed');
    if (this.queued > 0) return false;
    const checked = this.checkFrame(frame, body);
    if (typeof checked !== 'number') throw checked;
    // The level this send meets, recorded before it (a refused send records no frame).
    this.capture?.flow(this.impl.flowControl);
    try {
      this.impl.send(frame, false, flowControlMax, body);
    } catch (e) {
      // Flow control EAGAIN and EMSGSIZE belong to this call; a send that found the server gone
      // gets the connection's error, as every other call does.
      throw this.state === 'open' ? e : (this.failure ?? e);
    }
    this.capture?.frame('req', body === undefined ? frame : joined(frame, body));
    // Sending can reveal that the server is gone without throwing (see dispatch()).
    if (this.state !== 'open') throw this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed');
    return true;
  }

  /** The request id of a frame (`frame` then `body`) fit to send, or the EINVAL / EMSGSIZE it earns. */
  private checkFrame(frame: Uint8Array, body: Uint8Array | undefined): number | IpcError {
    if (!(frame instanceof Uint8Array)) return new IpcError('EINVAL', 'a request frame must be a Uint8Array');
    let len = frame.length;
    if (body !== undefined) {
      if (!(body instanceof Uint8Array)) return new IpcError('EINVAL', 'a request body must be a Uint8Array');
      len += body.length;
    }
    if (len > this.maxMessageSize) {
      return new IpcError('EMSGSIZE', `request of ${len} bytes exceeds the negotiated maximum ${this.maxMessageSize}`);
    }
    // The header is whole in the first piece.
    if (frame.length < QB_REQUEST_HEADER_SIZE) {
      try {
        readRequestHeader(frame);
      } catch (e) {
        return new IpcError('EINVAL', (e as Error).message);
      }
    }
    // The header's size and id (i32 LE at 8 and 0) read in place: no DataView or header record per request.
    const size = frame[8]! | (frame[9]! << 8) | (frame[10]! << 16) | (frame[11]! << 24);
    if (size !== len) {
      return new IpcError('EINVAL', `request header size ${size} does not match the frame length ${len}`);
    }
    return frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24);
  }

  /**
   * Send a call's frame and count it in flight. False if that failed, and then the call is
   * rejected here: it is in neither `pending` nor `waiting` while it is sent, so a failure
   * of the connection found by the send itself (fail() -> rejectAll) does not see it.
   */
  private dispatch(p: Pending, frame: Uint8Array, body?: Uint8Array): boolean {
    // The level this send meets, recorded before it (a refused send records no frame).
    this.capture?.flow(this.impl.flowControl);
    try {
      this.impl.send(frame, p.oneway === undefined, p.oneway ?? p.fcMax ?? 1, body);
    } catch (e) {
      // Per-call failures (flow control EAGAIN, EMSGSIZE) belong to this call alone.
      settle(p);
      rejectCall(p, this.state === 'open' ? (e as IpcError) : (this.failure ?? (e as IpcError)));
      return false;
    }
    this.capture?.frame('req', body === undefined ? frame : joined(frame, body));
    // Sending can itself reveal that the server is gone without throwing (shm: a doorbell to
    // a closed socket, a ring the dead server left corrupt; socket: an error already queued
    // on the response socket). A daemon killed -9 just after answering the previous call
    // lands a queued call here.
    if (this.state !== 'open') {
      settle(p);
      rejectCall(p, this.failure ?? new IpcError('ENOTCONN', 'the IPC connection is closed'));
      return false;
    }
    if (p.oneway !== undefined) {
      settle(p);
      p.resolve(NO_ANSWER);
      return true;
    }
    this.pending.push(p);
    this.inFlightCost += p.cost;
    this.impl.deliverAnswered();
    return true;
  }

  private hasRoom(cost: number): boolean {
    const n = this.inFlight;
    // One request alone always goes: whether its answer fits is the server's limit, not ours.
    return n === 0 || (n < this.maxInFlight && this.inFlightCost + cost <= this.impl.responseRoom);
  }

  /** pump() is running: a call it sends that is answered at once (deliverAnswered) must not start another. */
  private pumping = false;

  /** Send waiting requests while there is room. */
  private pump(): void {
    // The running pump's loop sends on once the answer made room: a nested one per queued call
    // would nest as deep as the queue is long.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpWaiting();
    } finally {
      this.pumping = false;
    }
  }

  private pumpWaiting(): void {
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

  /** @internal whether the response due next goes before the events queued with it (RequestOptions.answerFirst) */
  get answerFirst(): boolean {
    return this.pendingHead < this.pending.length && this.pending[this.pendingHead]!.answerFirst === true;
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
    if (!p.settled) answer(p, frame);
    // After the answer: a queued call sent now can be answered in its send's crossing
    // (deliverAnswered), and must settle after this one, as calls are answered.
    if (this.waitingHead < this.waiting.length) this.pump();
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
    this.rejectAll(() => err);
    this.closePromise = this.release(true);
    this.emit('disconnect', err);
  }

  /** `reason` is called once, on the first call still pending: a close with nothing pending (every finalize) captures no stack. */
  private rejectAll(reason: () => IpcError): void {
    let err: IpcError | undefined;
    for (const [list, head] of [[this.pending, this.pendingHead], [this.waiting, this.waitingHead]] as const) {
      for (let i = head; i < list.length; i++) {
        const p = list[i]!;
        if (!p.settled) {
          settle(p);
          rejectCall(p, (err ??= reason()));
        }
      }
      list.length = 0;
    }
    this.pendingHead = 0;
    this.waitingHead = 0;
    this.inFlightCost = 0;
  }

  private async release(failed: boolean): Promise<void> {
    try {
      await this.impl.close(failed);
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
    this.rejectAll(() => new IpcError('ENOTCONN', 'the IPC connection was closed'));
    this.closePromise = this.release(false);
    return this.closePromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

