import { EventEmitter } from 'node:events';
import { connect as ipcConnect, type CaptureWriter, type EventInto, type ProviderPolicy } from '@corosync-ts/ipc';
import { decode, type DecodedMessage, type Service } from '@corosync-ts/codec-wasm';
import {
  COROSYNC_IPC_MAX_MSG_SIZE,
  CS_DISPATCH_ALL,
  CS_DISPATCH_BLOCKING,
  CS_DISPATCH_ONE,
  CS_DISPATCH_ONE_NONBLOCKING,
  CS_ERR_BAD_HANDLE,
  CS_ERR_INTERRUPT,
  CS_ERR_INVALID_PARAM,
  CS_ERR_LIBRARY,
  CS_ERR_TIMEOUT,
  CS_ERR_TRY_AGAIN,
  CS_OK,
  CsError,
  isCsError,
} from '@corosync-ts/types';
import { captureWriterFor } from './capture.js';
import { toCsError } from './errors.js';
import { expectationFor, type Answer, type Expectation, type Request, type ResponseName } from './wire.js';
import { abortError, after, checkPolicy, resolveRetry, retryDelay, sleep, watchAbort, withRetry, type RetryPolicy } from './retry.js';
import { EventStream } from './stream.js';
import { Fifo } from './fifo.js';
import { checkCallOptions, checkDeadline } from './options.js';

export type ServiceName = Service;

/** The part of @corosync-ts/ipc's IpcClient a handle uses; tests and custom transports supply their own. */
export interface IpcClientLike {
  readonly fd: number;
  readonly connected: boolean;
  readonly transport?: 'socket' | 'shm';
  /** `expect` says what answers the request (see @corosync-ts/ipc RequestOptions verify / maxResponseSize). */
  request(frame: Uint8Array, expect?: Expectation): Promise<Uint8Array>;
  /**
   * request() whose promise settles with `parse(response, ctx)` or `mapError(err, ctx)` (see
   * @corosync-ts/ipc IpcClient.requestWith): used when there, for one promise per call.
   */
  requestWith?<T, C>(frame: Uint8Array, expect: Expectation | undefined, parse: (res: Uint8Array, ctx: C) => T, mapError: (err: unknown, ctx: C) => unknown, ctx: C): Promise<T>;
  /** Delivers the events queued by now, without waiting; see @corosync-ts/ipc IpcClient.pollEvents. */
  pollEvents?(): void;
  /** A request the server never answers (cpg MCAST); see @corosync-ts/ipc IpcClient.send. */
  send?(frame: Uint8Array, opts?: { flowControlMax?: 1 | 2; body?: Uint8Array }): Promise<void>;
  /** send() without a promise: false when it must queue (then use send()); see @corosync-ts/ipc IpcClient.sendNow. */
  sendNow?(frame: Uint8Array, flowControlMax?: 1 | 2, body?: Uint8Array): boolean;
  /**
   * True when a request may be given in two pieces, its head as `frame` and its tail as `body`
   * (request's and requestWith's `expect.body`, send's `opts.body`, sendNow's third argument),
   * as @corosync-ts/ipc's IpcClient takes them (RequestOptions.body). Others get whole frames.
   */
  readonly gather?: boolean;
  on(event: 'event', listener: (frame: Uint8Array) => void): unknown;
  on(event: 'disconnect', listener: (err: unknown) => void): unknown;
  off(event: 'event', listener: (frame: Uint8Array) => void): unknown;
  off(event: 'disconnect', listener: (err: unknown) => void): unknown;
  close(): Promise<void>;
}

export type Connector = (
  name: string,
  opts: {
    maxMessageSize?: number; signal?: AbortSignal; timeout?: number; maxInFlight?: number; allowProvider?: ProviderPolicy;
    capture?: CaptureWriter; captureService?: string;
    /** Event frames may be lent: valid only while the 'event' listeners run (@corosync-ts/ipc ConnectOptions). */
    borrowEvents?: boolean;
    /** Whether to compile the codec's module during the handshake (@corosync-ts/ipc ConnectOptions). */
    compileCodec?: boolean;
    /** Where to read a large event (@corosync-ts/ipc ConnectOptions.eventInto). */
    eventInto?: EventInto;
  },
) => Promise<IpcClientLike>;

export interface ReconnectPolicy {
  /** Delay before the first attempt, ms. Default 100. */
  initialDelay?: number;
  /** Upper bound of one delay, ms. Default 5000. */
  maxDelay?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** Give up after this many failed attempts (then 'disconnect' is final). Default Infinity. */
  maxAttempts?: number;
}

export interface HandleOptions {
  /** Reach `<ipcPrefix>-<service>` instead of `<service>` (e.g. a mock daemon); a trailing '-' is not doubled. */
  ipcPrefix?: string;
  /** Exact IPC server name; wins over ipcPrefix. */
  ipcName?: string;
  /**
   * 'auto' (default): callbacks run from the Node event loop as events arrive.
   * 'manual': events wait until dispatch() is called, exactly like cs_dispatch_flags_t in C.
   */
  dispatch?: 'auto' | 'manual';
  /** Default deadline of every call, ms. Default none (CS_IPC_TIMEOUT_MS = -1). */
  timeout?: number;
  /** Retry TRY_AGAIN / QUEUE_FULL answers (and connection attempts). Default off, like C. */
  retry?: RetryPolicy | boolean;
  /** Re-establish the connection and its tracking after the daemon goes away. Default off. */
  reconnect?: ReconnectPolicy | boolean;
  /**
   * max_msg_size asked for in the libqb handshake. Default 1 MiB like the C libraries. Don't
   * lower it: corosync still sends events and answers as large as its services make them, and
   * one larger than what was granted is lost with every event after it (shm) or ends the
   * connection (socket).
   */
  maxMessageSize?: number;
  /** Aborts initialize() (connection and first request). */
  signal?: AbortSignal;
  /** Transport factory; defaults to @corosync-ts/ipc connect(). */
  connect?: Connector;
  /**
   * Calls sent to corosync at once, at most (default 256, @corosync-ts/ipc's); more wait in order.
   * Below that the handle also keeps what is in flight within the room corosync has for the
   * answers (it drops answers it cannot send at once). See README "Many calls at once".
   */
  maxInFlight?: number;
  /**
   * Which process may serve the connection, by its credentials (uid/gid lists or a predicate).
   * Default: root or this process's uid. Anything else fails initialize with CS_ERR_ACCESS.
   * See README "Trust model".
   */
  allowProvider?: ProviderPolicy;
  /**
   * Record every frame of this handle (handshake included, both transports) to a capture file:
   * a path (`%p` becomes the pid; a `.gz` path is gzip compressed; handles naming the same path
   * share the file) or a CaptureWriter from @corosync-ts/ipc. Default: the path in the
   * environment variable COROSYNC_TS_CAPTURE, if set; else no recording.
   */
  capture?: string | CaptureWriter;
}

export interface CallOptions {
  /** Deadline in ms for this call (rejects CS_ERR_TIMEOUT); negative or Infinity = none. */
  timeout?: number;
  /** Aborting rejects the call with CS_ERR_INTERRUPT (the daemon may still have applied it). */
  signal?: AbortSignal;
  /** Overrides the handle's retry policy for this call. */
  retry?: RetryPolicy | boolean;
}

type State = 'open' | 'reconnecting' | 'disconnected' | 'finalized';
type Waiter = { resolve: (v: 'frame' | 'woken' | 'finalized') => void; reject: (e: unknown) => void };

const DEFAULT_RECONNECT: Required<ReconnectPolicy> = { initialDelay: 100, maxDelay: 5000, factor: 2, maxAttempts: Infinity };

function resolveReconnect(r: ReconnectPolicy | true): Required<ReconnectPolicy> {
  const p = { ...DEFAULT_RECONNECT, ...(r === true ? {} : r) };
  checkPolicy('reconnect', p, ['initialDelay', 'maxDelay', 'factor']);
  if (p.maxAttempts !== Infinity && !(Number.isSafeInteger(p.maxAttempts) && p.maxAttempts >= 0)) {
    throw new CsError(CS_ERR_INVALID_PARAM, `reconnect.maxAttempts must be an integer >= 0 or Infinity, got ${String(p.maxAttempts)}`);
  }
  return p;
}

export function ipcNameFor(service: ServiceName, opts: HandleOptions | undefined): string {
  if (opts?.ipcName !== undefined) return opts.ipcName;
  const p = opts?.ipcPrefix;
  // 'mock' and 'mock-' both reach 'mock-cmap' (testkit hands out prefixes with their dash).
  return p ? `${p.endsWith('-') ? p : `${p}-`}${service}` : service;
}

/** Whether a call's timeout sets a deadline: a negative, infinite or missing one does not. */
export function hasDeadline(timeout: number | undefined): timeout is number {
  return timeout !== undefined && timeout >= 0 && Number.isFinite(timeout);
}

/** Runs fn under the call's deadline and signal; both reject with a CsError. */
export async function withDeadline<T>(
  operation: string,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  checkDeadline(operation, timeout, signal);
  const hasTimeout = hasDeadline(timeout);
  if (!hasTimeout && !signal) return fn(undefined);
  if (signal?.aborted) throw abortError(signal, operation);
  const ac = new AbortController();
  const unwatch = signal ? watchAbort(signal, () => ac.abort(abortError(signal, operation))) : undefined;
  const cancel = hasTimeout ? after(timeout, () => ac.abort(new CsError(CS_ERR_TIMEOUT, `no answer within ${timeout} ms`, { operation }))) : undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
      fn(ac.signal).then(resolve, reject);
    });
  } finally {
    cancel?.();
    unwatch?.();
  }
}

/**
 * `ipc` with each request under `timeout` (CS_ERR_TIMEOUT), for restore(): a daemon that accepted a
 * reconnect and then never answers fails that attempt (the loop closes the connection and tries
 * again), where it would have held the handle reconnecting for ever. Each request, not the whole
 * restore: re-reading a large tracked prefix must not outgrow a deadline meant for one call.
 */
function eachUnder(ipc: IpcClientLike, timeout: number | undefined, operation: string): IpcClientLike {
  if (!hasDeadline(timeout)) return ipc;
  return new Proxy(ipc, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      if (typeof v !== 'function') return v;
      // Bound to the transport itself: its methods use private fields a proxy does not have.
      const method = (v as (...a: unknown[]) => unknown).bind(target);
      return key === 'request' || key === 'requestWith' ? (...a: unknown[]) => withDeadline(operation, timeout, undefined, () => method(...a) as Promise<unknown>) : method;
    },
  });
}

/** The options of one step of a call whose deadline already runs: its signal, the call's retry policy, no deadline of its own. */
export const stepOptions = (signal: AbortSignal | undefined, opts: CallOptions | undefined): CallOptions => ({
  timeout: Infinity,
  ...(signal ? { signal } : {}),
  ...(opts?.retry !== undefined ? { retry: opts.retry } : {}),
});

/**
 * One connection to one corosync service: request/response with retry, deadline and abort;
 * the event queue behind dispatch(); disconnect and reconnect. Service classes add the calls.
 */
// Merged with the interface below, which only narrows EventEmitter's on/once to the handle's events.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class Session<Snapshot> extends EventEmitter {
  protected abstract readonly service: ServiceName;
  /**
   * The service's deliver() copies what it keeps of an event frame beyond the call, so the
   * transport may lend frames (no fresh buffer per large event); queued frames are copied here.
   */
  protected readonly borrowsEvents: boolean = false;
  /** Where the transport reads a large event, if the service says (@corosync-ts/ipc ConnectOptions.eventInto). */
  protected readonly eventInto: EventInto | undefined = undefined;
  // Private (not just protected) so that logging a handle does not dump the transport.
  #ipc: IpcClientLike | undefined;
  #state: State = 'open';
  #context: unknown = undefined;
  readonly #pending = new Fifo<Uint8Array>();
  readonly #waiters: Waiter[] = [];
  readonly #streams = new Set<EventStream<unknown>>();
  readonly #opts: HandleOptions;
  readonly #retry: Required<RetryPolicy> | undefined;
  readonly #reconnect: Required<ReconnectPolicy> | undefined;
  #ready: Promise<void> = Promise.resolve();
  #readyResolve: (() => void) | undefined;
  #stopReconnect: AbortController | undefined;
  #delivering = 0;
  /** Dispatch waiters woken for a frame that have not run yet: auto delivery must not steal it. */
  #woken = 0;
  /** Inside #poll(): the events it brings are queued for that dispatch(), in 'auto' mode too. */
  #polling = 0;
  /**
   * While a reconnect opens a connection and re-creates the daemon's state, that connection's
   * events wait here, out of dispatch()'s reach: the snapshot, read first, is older than they
   * are, and 'reconnect' must not land after them. An attempt that fails takes its events along.
   */
  #held: Uint8Array[] | undefined;
  readonly #onEvent = (frame: Uint8Array) => this.#queue(frame);
  readonly #onDisconnect = (err: unknown) => this.#lost(err);

  protected constructor(opts: HandleOptions | undefined) {
    super();
    this.#opts = { ...opts };
    this.#retry = resolveRetry(opts?.retry);
    const r = opts?.reconnect;
    this.#reconnect = r ? resolveReconnect(r) : undefined;
  }

  // ---------------------------------------------------------------- connection lifecycle

  /**
   * Connects (with the retry policy, under the handle's default deadline) and attaches; used by
   * initialize and reconnect. The deadline's signal reaches the transport, so a connection that
   * is given up on is not left behind.
   */
  protected async open(signal?: AbortSignal): Promise<IpcClientLike> {
    const name = ipcNameFor(this.service, this.#opts);
    const connector: Connector = this.#opts.connect ?? ipcConnect;
    const op = `${this.service}.initialize`;
    const capture = await captureWriterFor(this.#opts.capture, op);
    const ipc = await withDeadline(op, this.#opts.timeout, signal, (sig) =>
      withRetry(
        async () => {
          let c: IpcClientLike;
          try {
            c = await connector(name, {
              maxMessageSize: this.#opts.maxMessageSize ?? COROSYNC_IPC_MAX_MSG_SIZE,
              ...(sig ? { signal: sig } : {}),
              ...(this.#opts.maxInFlight !== undefined ? { maxInFlight: this.#opts.maxInFlight } : {}),
              ...(this.#opts.allowProvider !== undefined ? { allowProvider: this.#opts.allowProvider } : {}),
              ...(capture ? { capture, captureService: this.service } : {}),
              ...(this.borrowsEvents ? { borrowEvents: true } : {}),
              // cmap's GETs go without the codec (wire.ts getRequest, getAnswer, fixedGetValue): a
              // script that only reads keys never compiles it.
              ...(this.service === 'cmap' ? { compileCodec: false } : {}),
              ...(this.eventInto ? { eventInto: this.eventInto } : {}),
            });
          } catch (e) {
            throw toCsError(e, op);
          }
          if (sig?.aborted) {
            // connected after the caller gave up: nobody will ever close it otherwise
            await c.close().catch(() => {});
            throw sig.reason;
          }
          return c;
        },
        this.#retry,
        sig,
      ),
    );
    this.#attach(ipc);
    return ipc;
  }

  /**
   * initialize's connect and then its first requests (`first` passes `each` to every one) under
   * the handle's one deadline and signal, not one each; a failure finalizes the handle.
   */
  protected async openAnd(operation: string, first: (each: CallOptions) => Promise<void>): Promise<void> {
    try {
      await withDeadline(operation, this.#opts.timeout, this.#opts.signal, async (signal) => {
        await this.open(signal);
        await first(stepOptions(signal, undefined));
      });
    } catch (e) {
      // A connect given up on closes itself (open()); one made is closed here.
      if (this.#ipc) await this.finalize().catch(() => {});
      throw e;
    }
  }

  #attach(ipc: IpcClientLike): void {
    this.#ipc = ipc;
    ipc.on('event', this.#onEvent);
    ipc.on('disconnect', this.#onDisconnect);
  }

  #detach(): IpcClientLike | undefined {
    const ipc = this.#ipc;
    if (ipc) {
      ipc.off('event', this.#onEvent);
      ipc.off('disconnect', this.#onDisconnect);
    }
    return ipc;
  }

  /** The current connection (undefined while disconnected or after finalize). */
  protected get ipc(): IpcClientLike | undefined {
    return this.#ipc;
  }

  protected get handleOptions(): Readonly<HandleOptions> {
    return this.#opts;
  }

  /** 'open', 'reconnecting', 'disconnected' (daemon gone, no reconnect) or 'finalized'. */
  get state(): State {
    return this.#state;
  }

  get transport(): 'socket' | 'shm' | undefined {
    return this.#ipc?.transport;
  }

  protected assertOpen(operation: string): void {
    if (this.#state === 'finalized') throw new CsError(CS_ERR_BAD_HANDLE, 'handle was finalized', { operation });
  }

  /** cs_error_t *_finalize(): closes the connection; a second call rejects CS_ERR_BAD_HANDLE. */
  async finalize(): Promise<void> {
    this.assertOpen(`${this.service}.finalize`);
    this.#state = 'finalized';
    this.#stopReconnect?.abort();
    this.#readyResolve?.();
    for (const w of this.#waiters.splice(0)) w.resolve('finalized');
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    this.#pending.clear();
    this.onFinalize();
    const ipc = this.#detach();
    this.#ipc = undefined;
    await ipc?.close();
  }

  /** Local cleanup of a service (tracker tables); runs once at finalize. */
  protected onFinalize(): void {}

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state !== 'finalized') await this.finalize();
  }

  /** *_fd_get(): the fd libqb would hand out (event socket, or the setup socket with shm). */
  fdGet(): number {
    this.assertOpen(`${this.service}.fdGet`);
    if (!this.#ipc) throw new CsError(CS_ERR_LIBRARY, 'not connected', { operation: `${this.service}.fdGet` });
    return this.#ipc.fd;
  }

  /** *_context_get(): a purely local value. */
  contextGet(): unknown {
    this.assertOpen(`${this.service}.contextGet`);
    return this.#context;
  }

  /** *_context_set(): a purely local value. */
  contextSet(context: unknown): void {
    this.assertOpen(`${this.service}.contextSet`);
    this.#context = context;
  }

  // --------------------------------------------------------------------------- requests

  /** One request → its decoded response (typed by the request); rejects with the daemon's cs_error_t if not CS_OK. */
  protected call<R extends ResponseName>(operation: string, frame: Request<R>, opts?: CallOptions): Promise<Answer<R>>;
  /** One request → `parse(response)`; parse throws the CsError for an error answer. */
  protected call<T>(operation: string, frame: Uint8Array, opts: CallOptions | undefined, parse: (res: Uint8Array, op: string) => T): Promise<T>;
  // Not async: the promise exchange() or withDeadline() returns is handed on as it is. An async
  // function returning it would wrap it in one more promise and adopt it (three more microtask
  // jobs per call, on the hot path of every GET).
  protected call<T>(
    operation: string,
    frame: Uint8Array,
    opts?: CallOptions,
    parse?: (res: Uint8Array, op: string) => T,
  ): Promise<T | DecodedMessage> {
    try {
      this.assertOpen(operation);
      const p = (parse ?? this.#parse) as (res: Uint8Array, op: string) => T | DecodedMessage;
      const direct = this.directConnection(opts);
      if (direct) return this.exchange(operation, direct, frame, p);
      const policy = opts?.retry !== undefined ? resolveRetry(opts.retry) : this.#retry;
      return withDeadline(operation, opts?.timeout ?? this.#opts.timeout, opts?.signal, (signal) =>
        withRetry(async () => this.exchange(operation, await this.#connection(operation, signal), frame, p), policy, signal),
      );
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /**
   * The connection a call with these options goes out on at once, skipping the promise layers of
   * deadline, retry and reconnect: the common case (no deadline, no retry, connected). undefined
   * when the call must take the slow path (and may then be sent later).
   */
  protected directConnection(opts: CallOptions | undefined): IpcClientLike | undefined {
    return opts === undefined && this.#retry === undefined && this.#opts.timeout === undefined && this.#state === 'open' ? this.#ipc : undefined;
  }

  /**
   * The connection onConnection(operation, opts, attempt) would hand `attempt` without waiting,
   * when its deadline, retry and reconnect layers would add nothing but promises: no signal, no
   * finite timeout (the handle's when `opts` has none), no retry policy, connected. A caller
   * that runs `attempt` on it itself spares those layers (a fragment of a large cpg message:
   * four async functions and their promises per fragment, bench/README.md "cpg").
   */
  protected connectionNow(opts: CallOptions): IpcClientLike | undefined {
    return !hasDeadline(opts.timeout ?? this.#opts.timeout) && opts.signal === undefined && opts.retry === undefined && this.#retry === undefined && this.#state === 'open' ? this.#ipc : undefined;
  }

  /**
   * exchange() on the direct connection (directConnection) with the caller's own parser and error
   * mapper, which get `ctx` in place of the operation's name: a caller that makes that name only
   * for an error (cmap's typed getters) spares a string per call. undefined when the call must
   * take call()'s path (options, retry, reconnect, a connection without requestWith).
   */
  protected directWith<T, C>(
    opts: CallOptions | undefined,
    frame: Uint8Array,
    parse: (res: Uint8Array, ctx: C) => T,
    mapError: (err: unknown, ctx: C) => unknown,
    ctx: C,
  ): Promise<T> | undefined {
    const ipc = this.directConnection(opts);
    if (ipc === undefined || ipc.requestWith === undefined) return undefined;
    try {
      return ipc.requestWith<T, C>(frame, expectationFor(this.service, frame), parse, mapError, ctx);
    } catch (e) {
      return Promise.reject(mapError(e, ctx));
    }
  }

  /**
   * Sends a request that gets no answer (cpg MCAST), with the call's retry policy (a refusal under
   * flow control is CS_ERR_TRY_AGAIN), deadline and signal; `flowControlMax` as libqb's fc_enable_max.
   * `frame` may be a view of codec memory: it is sent before this returns, or copied first.
   */
  protected async post(operation: string, frame: Uint8Array, opts: CallOptions | undefined, flowControlMax: 1 | 2): Promise<void> {
    this.assertOpen(operation);
    const policy = opts?.retry !== undefined ? resolveRetry(opts.retry) : this.#retry;
    const once = async (ipc: IpcClientLike, f: Uint8Array) => {
      if (!ipc.send) throw new CsError(CS_ERR_LIBRARY, 'this transport cannot send a request without an answer', { operation });
      try {
        await ipc.send(f, { flowControlMax });
      } catch (e) {
        throw toCsError(e, operation);
      }
    };
    const direct = this.directConnection(opts);
    if (direct) return once(direct, frame);
    const own = frame.slice();
    return withDeadline(operation, opts?.timeout ?? this.#opts.timeout, opts?.signal, (signal) =>
      withRetry(async () => once(await this.#connection(operation, signal), own), policy, signal),
    );
  }

  /**
   * Runs `attempt` on the open connection (after any reconnect in progress) under the call's
   * deadline, signal and retry policy, like call(): for calls that must know which connection
   * they went on (cpg's zero-copy buffers belong to one).
   */
  protected onConnection<T>(operation: string, opts: CallOptions | undefined, attempt: (ipc: IpcClientLike) => Promise<T>): Promise<T> {
    this.assertOpen(operation);
    const policy = opts?.retry !== undefined ? resolveRetry(opts.retry) : this.#retry;
    return withDeadline(operation, opts?.timeout ?? this.#opts.timeout, opts?.signal, (signal) =>
      withRetry(async () => attempt(await this.#connection(operation, signal)), policy, signal),
    );
  }

  /**
   * Runs a call made of several requests (`run` passes `each` to every one) under one deadline
   * and signal, the call's: each request's own would start afresh, and the call would take a
   * deadline per step (or, re-sent while corosync answers BUSY, never end).
   */
  protected stepwise<T>(operation: string, opts: CallOptions | undefined, run: (each: CallOptions | undefined) => Promise<T>): Promise<T> {
    checkCallOptions(operation, opts);
    const timeout = opts?.timeout ?? this.#opts.timeout;
    if (!hasDeadline(timeout) && opts?.signal === undefined) return run(opts);
    return withDeadline(operation, timeout, opts?.signal, (signal) => run(stepOptions(signal, opts)));
  }

  /**
   * call() for a request whose effect lasts (a tracker, a join): when the caller gives up on it
   * (deadline, abort) while its answer is on its way, corosync may apply it after all, and
   * `late` gets that answer and the connection it came on, to undo or record it.
   */
  protected async lasting<R extends ResponseName>(
    operation: string,
    frame: Request<R>,
    opts: CallOptions | undefined,
    late: (answer: Answer<R>, ipc: IpcClientLike) => void,
  ): Promise<Answer<R>> {
    let sent: { answer: Promise<Answer<R>>; ipc: IpcClientLike } | undefined;
    try {
      return await this.onConnection(operation, opts, (ipc) => {
        const answer = this.exchange(operation, ipc, frame);
        sent = { answer, ipc };
        return answer;
      });
    } catch (e) {
      const inFlight = sent;
      if (inFlight && isCsError(e) && (e.code === CS_ERR_TIMEOUT || e.code === CS_ERR_INTERRUPT)) {
        inFlight.answer.then((a) => late(a, inFlight.ipc), () => {});
      }
      throw e;
    }
  }

  readonly #parse = (res: Uint8Array, operation: string): DecodedMessage => {
    let d: DecodedMessage;
    try {
      d = decode(res, { service: this.service, dir: 'res' });
    } catch (e) {
      throw toCsError(e, operation);
    }
    const error = d.error ?? CS_OK;
    if (error !== CS_OK) throw new CsError(error, undefined, { operation });
    return d;
  };

  /** Sends on a given connection (used directly while restoring after a reconnect). */
  protected exchange<R extends ResponseName>(operation: string, ipc: IpcClientLike, frame: Request<R>): Promise<Answer<R>>;
  protected exchange<T>(
    operation: string,
    ipc: IpcClientLike,
    frame: Uint8Array,
    parse: (res: Uint8Array, op: string) => T,
    answerFirst?: boolean,
    body?: Uint8Array,
    flowControlMax?: 1 | 2,
  ): Promise<T>;
  // Not async: the transport's own promise, settled with the parsed answer (requestWith), or one
  // then() on it; an async function would add its own promise and a resumption per call.
  protected exchange<T>(
    operation: string,
    ipc: IpcClientLike,
    frame: Uint8Array,
    parse?: (res: Uint8Array, op: string) => T,
    answerFirst?: boolean,
    /** The frame's tail, `frame` its head: only for an `ipc` whose `gather` is true. */
    body?: Uint8Array,
    /** libqb's fc_enable_max for this request (1 when absent). */
    flowControlMax?: 1 | 2,
  ): Promise<T | DecodedMessage> {
    const p = parse ?? this.#parse;
    let sent: Promise<Uint8Array>;
    try {
      let expect = expectationFor(this.service, frame);
      if (body !== undefined && !expect) throw new CsError(CS_ERR_LIBRARY, 'a request in two pieces needs an expected answer', { operation });
      // One literal, so one shape, for every request with options of its own (a fragment of a
      // large cpg message has all three): spreading conditional parts into it cost map
      // transitions and inline-cache misses per fragment (callgrind, bench/README.md "cpg").
      if (expect && (answerFirst || body !== undefined || flowControlMax !== undefined)) {
        expect = { verify: expect.verify, maxResponseSize: expect.maxResponseSize, answerFirst: answerFirst === true, body, flowControlMax };
      }
      if (ipc.requestWith) return ipc.requestWith<T | DecodedMessage, string>(frame, expect, p, toCsError, operation);
      sent = ipc.request(frame, expect);
    } catch (e) {
      return Promise.reject(toCsError(e, operation));
    }
    return sent.then(
      (res) => p(res, operation),
      (e: unknown) => {
        throw toCsError(e, operation);
      },
    );
  }

  async #connection(operation: string, signal: AbortSignal | undefined): Promise<IpcClientLike> {
    while (this.#state === 'reconnecting') {
      if (signal) {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal.reason ?? abortError(signal, operation));
          if (signal.aborted) return onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          void this.#ready.then(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      } else await this.#ready;
    }
    this.assertOpen(operation);
    if (this.#state === 'disconnected' || !this.#ipc) {
      throw new CsError(CS_ERR_LIBRARY, 'connection to corosync lost', { operation });
    }
    return this.#ipc;
  }

  // --------------------------------------------------------------------------- dispatch

  /**
   * Decodes and delivers one event frame; throws CsError(CS_ERR_LIBRARY) for an unknown one.
   * false: the C library finds no callback for it (libcmap: a deleted tracker's notification),
   * which its dispatch(ONE / ONE_NONBLOCKING) answers with CS_ERR_BAD_HANDLE.
   */
  protected abstract deliver(frame: Uint8Array): boolean | void;

  /** Validates/normalises dispatch flags; quorum and votequorum reject unknown ones with 7. */
  protected abstract dispatchFlags(flags: number): number;

  /**
   * A new async iterator of a service's events: `set` is the service's own fan-out (it pushes
   * into each), and the handle ends them all on finalize or when the connection is lost.
   */
  protected openStream<T>(operation: string, set: Set<EventStream<T>>): EventStream<T> {
    this.assertOpen(operation);
    const s: EventStream<T> = new EventStream(() => {
      set.delete(s);
      this.untrackStream(s as EventStream<unknown>);
    });
    set.add(s);
    return this.trackStream(s);
  }

  protected trackStream<T>(s: EventStream<T>): EventStream<T> {
    this.#streams.add(s as EventStream<unknown>);
    return s;
  }
  protected untrackStream(s: EventStream<unknown>): void {
    this.#streams.delete(s);
  }

  /** Events received and not yet dispatched (always 0 in 'auto' mode outside a callback). */
  get pendingEvents(): number {
    return this.#pending.length;
  }

  #queue(frame: Uint8Array): void {
    if (this.#state === 'finalized') return;
    // A lent frame is only valid during this call: a queue keeps its own copy.
    if (this.#held) return void this.#held.push(this.borrowsEvents ? frame.slice() : frame);
    if (this.#pending.length === 0 && this.#waiters.length === 0 && this.#delivering === 0 && this.#woken === 0 && this.#polling === 0 && this.#opts.dispatch !== 'manual') {
      // The common 'auto' case: nothing queued and nobody waiting, so the frame is delivered
      // now, without a trip through the queue.
      this.#delivering++;
      try {
        this.deliver(frame);
      } catch (e) {
        this.reportAsync(e);
      } finally {
        this.#delivering--;
      }
      return;
    }
    this.#pending.push(this.borrowsEvents ? frame.slice() : frame);
    const w = this.#waiters.shift();
    if (w) {
      this.#woken++;
      return w.resolve('woken');
    }
    if (this.#opts.dispatch !== 'manual' && this.#delivering === 0 && this.#woken === 0 && this.#polling === 0) this.#autoDeliver();
  }

  /** The events the daemon has queued by now into the queue, for dispatch() to deliver (also in 'auto' mode). */
  #poll(): void {
    const ipc = this.#ipc;
    if (!ipc?.pollEvents) return;
    this.#polling++;
    try {
      ipc.pollEvents();
    } finally {
      this.#polling--;
    }
  }

  #autoDeliver(): void {
    while (this.#pending.length > 0 && this.#state !== 'finalized' && this.#waiters.length === 0 && this.#woken === 0) {
      try {
        this.#deliverOne();
      } catch (e) {
        this.reportAsync(e);
      }
    }
  }

  /** An error outside any call (auto dispatch, reconnect): 'error' listeners, else a warning. */
  protected reportAsync(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else if (isCsError(e)) process.emitWarning(e.message, { code: e.csName, type: 'CorosyncWarning' });
    else queueMicrotask(() => { throw e; });
  }

  #deliverOne(): boolean {
    const frame = this.#pending.shift()!;
    this.#delivering++;
    try {
      return this.deliver(frame) !== false;
    } finally {
      this.#delivering--;
    }
  }

  #next(signal: AbortSignal | undefined, operation: string): Promise<'frame' | 'woken' | 'finalized'> {
    if (this.#pending.length > 0) return Promise.resolve('frame');
    if (this.#state === 'disconnected') {
      return Promise.reject(new CsError(CS_ERR_LIBRARY, 'connection to corosync lost', { operation }));
    }
    // Aborted already (by a callback this dispatch ran): a waiter added now would never hear the
    // abort, and would take the next event for a dispatch that has returned, where it would stay.
    if (signal?.aborted) return Promise.reject(signal.reason ?? abortError(signal, operation));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason ?? abortError(signal!, operation));
        // Frames that arrived for this waiter go back to normal delivery.
        if (this.#opts.dispatch !== 'manual' && this.#waiters.length === 0) this.#autoDeliver();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(w);
    });
  }

  /**
   * *_dispatch(flags): ONE waits for and delivers one event; ALL delivers what is queued;
   * BLOCKING delivers until finalize (then CS_OK); ONE_NONBLOCKING delivers one or rejects
   * CS_ERR_TRY_AGAIN. Finalizing inside a callback makes it reject CS_ERR_BAD_HANDLE, a lost
   * connection CS_ERR_LIBRARY, as in C.
   */
  async dispatch(flags: number = CS_DISPATCH_ALL, opts?: Omit<CallOptions, 'retry'>): Promise<void> {
    const operation = `${this.service}.dispatch`;
    const mode = this.dispatchFlags(flags);
    this.assertOpen(operation);
    checkCallOptions(operation, opts);
    // In every mode, as every other call: ALL and ONE_NONBLOCKING do not wait, but delivered anyway.
    if (opts?.signal?.aborted) throw abortError(opts.signal, operation);
    const afterCallback = (delivered: boolean) => {
      if (this.#state === 'finalized') {
        throw new CsError(CS_ERR_BAD_HANDLE, 'handle finalized inside a callback', { operation });
      }
      if (!delivered && (mode === CS_DISPATCH_ONE || mode === CS_DISPATCH_ONE_NONBLOCKING)) {
        throw new CsError(CS_ERR_BAD_HANDLE, 'the event was for a callback no longer registered', { operation });
      }
    };
    if (mode === CS_DISPATCH_ALL || mode === CS_DISPATCH_ONE_NONBLOCKING) {
      // What the daemon queued before now is there for C's non-blocking read (it queues a
      // notification before it answers the call that caused it, on this connection or another),
      // though the loop may not have read it yet.
      if (this.#pending.length === 0) this.#poll();
      if (this.#pending.length === 0) {
        if (this.#state === 'disconnected') throw new CsError(CS_ERR_LIBRARY, 'connection to corosync lost', { operation });
        if (mode === CS_DISPATCH_ONE_NONBLOCKING) throw new CsError(CS_ERR_TRY_AGAIN, 'no event pending', { operation });
        return;
      }
      try {
        do {
          afterCallback(this.#deliverOne());
          // ALL reads until nothing is queued, in C too
          if (mode === CS_DISPATCH_ALL && this.#pending.length === 0) this.#poll();
        } while (mode === CS_DISPATCH_ALL && this.#pending.length > 0);
      } finally {
        // what the poll brought and this call did not deliver (ONE_NONBLOCKING, a throw)
        this.#backToAuto();
      }
      return;
    }
    try {
      await withDeadline(operation, opts?.timeout, opts?.signal, async (signal) => {
        for (;;) {
          const r = await this.#next(signal, operation);
          if (r === 'woken') this.#woken--;
          if (r === 'finalized' || signal?.aborted) return;
          if (this.#pending.length === 0) continue;
          afterCallback(this.#deliverOne());
          if (mode !== CS_DISPATCH_BLOCKING) return;
        }
      });
    } finally {
      // Frames that queued up behind this waiter go back to automatic delivery.
      this.#backToAuto();
    }
  }

  /** In 'auto' mode, frames a dispatch() left in the queue are delivered without it. */
  #backToAuto(): void {
    if (this.#opts.dispatch !== 'manual' && this.#pending.length > 0) queueMicrotask(() => this.#autoDeliver());
  }

  /** Maps the C flag set; exported for the services. */
  protected static isDispatchFlag(f: number): boolean {
    return f === CS_DISPATCH_ONE || f === CS_DISPATCH_ALL || f === CS_DISPATCH_BLOCKING || f === CS_DISPATCH_ONE_NONBLOCKING;
  }

  // ------------------------------------------------------------------- loss and recovery

  /** Re-creates the server-side state on a fresh connection; returns what the caller missed. */
  protected abstract restore(ipc: IpcClientLike): Promise<Snapshot>;

  #lost(err: unknown): void {
    if (this.#state !== 'open') return;
    const reason = toCsError(err, `${this.service}.connection`);
    const ipc = this.#detach();
    void ipc?.close().catch(() => {});
    if (this.#reconnect) {
      this.#state = 'reconnecting';
      this.#ready = new Promise((r) => (this.#readyResolve = r));
      this.emit('disconnect', reason);
      void this.#reconnectLoop(this.#reconnect);
      return;
    }
    this.#giveUp(reason);
  }

  #giveUp(reason: CsError): void {
    this.#state = 'disconnected';
    this.#ipc = undefined;
    this.#readyResolve?.();
    const lost = new CsError(CS_ERR_LIBRARY, 'connection to corosync lost', { operation: `${this.service}.dispatch`, cause: reason });
    for (const w of this.#waiters.splice(0)) w.reject(lost);
    for (const s of this.#streams) s.end(lost);
    this.#streams.clear();
    this.emit('disconnect', reason);
  }

  async #reconnectLoop(p: Required<ReconnectPolicy>): Promise<void> {
    const stop = (this.#stopReconnect = new AbortController());
    let last: unknown;
    for (let attempt = 0; attempt < p.maxAttempts; attempt++) {
      try {
        await sleep(retryDelay({ ...p, retries: 0, codes: [] }, attempt), stop.signal);
        const held: Uint8Array[] = [];
        let snapshot: Snapshot;
        this.#held = held;
        try {
          const ipc = await this.open(stop.signal);
          if (this.#state !== 'reconnecting') {
            this.#detach();
            await ipc.close();
            return;
          }
          snapshot = await this.restore(eachUnder(ipc, this.#opts.timeout, `${this.service}.reconnect`));
        } finally {
          this.#held = undefined;
        }
        if (this.#state !== 'reconnecting') return;
        this.#state = 'open';
        this.#readyResolve?.();
        this.emit('reconnect', snapshot);
        // a 'reconnect' listener may have finalized
        if ((this.#state as State) === 'finalized') return;
        for (const frame of held) this.#pending.push(frame);
        const w = held.length > 0 ? this.#waiters.shift() : undefined;
        if (w) {
          this.#woken++;
          w.resolve('woken');
        } else if (this.#opts.dispatch !== 'manual') this.#autoDeliver();
        return;
      } catch (e) {
        if (stop.signal.aborted || this.#state !== 'reconnecting') return;
        last = e;
        const ipc = this.#detach();
        this.#ipc = undefined;
        await ipc?.close().catch(() => {});
      }
    }
    this.#giveUp(toCsError(last, `${this.service}.reconnect`));
  }
}

// Typed overloads of EventEmitter's on/once for the events a handle emits; the class implements them.
export interface Session<Snapshot> {
  on(event: 'disconnect', listener: (reason: CsError) => void): this;
  on(event: 'reconnect', listener: (snapshot: Snapshot) => void): this;
  on(event: 'error', listener: (err: unknown) => void): this;
  once(event: 'disconnect', listener: (reason: CsError) => void): this;
  once(event: 'reconnect', listener: (snapshot: Snapshot) => void): this;
  once(event: 'error', listener: (err: unknown) => void): this;
}

// The C-shaped free functions of every service, beside the handle methods they call. Here, in the
// module every service's file imports, so that the bundle keeps them in the one chunk that the main
// entry and the files loaded on first use share, not in a chunk (a file to load at import) of its own.
type Method<H> = { [K in keyof H]: H[K] extends (...args: never[]) => unknown ? K : never }[keyof H];
type Free<H, K extends Method<H>> = {
  [P in K]: H[P] extends (...args: infer A) => infer R ? (handle: H, ...args: A) => R : never;
};

/**
 * C-shaped free functions: `cmap.get(h, key)` is `h.get(key)`, written into `base` (the namespace
 * object with its `initialize`). Into it, not spread from a second object: a fresh process builds
 * these at import, and every object and array it need not build there fills the young generation
 * towards the scavenge a one-call script would otherwise pay while it waits for its first answer.
 */
export function freeFunctions<H>() {
  return <B extends object, K extends Method<H>>(base: B, ...groups: (readonly K[])[]): B & Free<H, K> => {
    const out = base as Record<string, unknown>;
    for (const names of groups) {
      for (const n of names) {
        out[n as string] = (h: H, ...args: unknown[]) => (h[n] as (...a: unknown[]) => unknown).apply(h, args);
      }
    }
    return out as B & Free<H, K>;
  };
}

export const common = ['finalize', 'fdGet', 'dispatch', 'contextGet', 'contextSet'] as const;
