import {
  CS_DISPATCH_BLOCKING,
  CS_ERR_BAD_HANDLE,
  CS_ERR_BUSY,
  CS_ERR_INVALID_PARAM,
  CS_ERR_LIBRARY,
  CS_ERR_NAME_TOO_LONG,
  CS_ERR_TOO_BIG,
  CS_ERR_TRY_AGAIN,
  CS_OK,
  CsError,
  isCsError,
} from '@corosync-ts/types';
import type { CpgAddress } from '@corosync-ts/codec-wasm';
import { loopTurn } from '@corosync-ts/ipc';
import { checkCount, checkU32, invalidParam, toCsError } from './errors.js';
import { checkCallOptions, checkHandleOptions, checkKeys } from './options.js';
import { abortError, sleep } from './retry.js';
import { Session, common, freeFunctions, hasDeadline, stepOptions, withDeadline, type CallOptions, type HandleOptions, type IpcClientLike } from './session.js';
import type { EventStream } from './stream.js';
import {
  PARTIAL_DELIVER_HEAD, cpgMcastHead, cpgMcastView, cpgPartialMcastHead, cpgPartialMcastView, cpgReq, decodeCpgEvent, parseCpgIterationNext, plainDeliverArgs, partialMcastAnswerError,
  partialFirstMsglen,
} from './cpg-wire.js';
import { headerError, type RingId } from './wire.js';
import { ZC_HEADER, ZcFile } from './zcb.js';

export type { CpgAddress, RingId };

/** cpg_guarantee_t (the daemon sends everything totem-AGREED whatever is asked). */
export const CPG_TYPE_UNORDERED = 0;
export const CPG_TYPE_FIFO = 1;
export const CPG_TYPE_AGREED = 2;
export const CPG_TYPE_SAFE = 3;
/** cpg_flow_control_state_t. */
export const CPG_FLOW_CONTROL_DISABLED = 0;
export const CPG_FLOW_CONTROL_ENABLED = 1;
/** cpg_reason_t. */
export const CPG_REASON_UNDEFINED = 0;
export const CPG_REASON_JOIN = 1;
export const CPG_REASON_LEAVE = 2;
export const CPG_REASON_NODEDOWN = 3;
export const CPG_REASON_NODEUP = 4;
export const CPG_REASON_PROCDOWN = 5;
/** cpg_iteration_type_t. */
export const CPG_ITERATION_NAME_ONLY = 1;
export const CPG_ITERATION_ONE_GROUP = 2;
export const CPG_ITERATION_ALL = 3;
/** cpg_model_t. */
export const CPG_MODEL_V1 = 1;
export const CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF = 0x01;
export const CPG_MAX_NAME_LENGTH = 128;
export const CPG_MEMBERS_MAX = 128;
/** cpg_max_atomic_msgsize_get(): IPC_REQUEST_SIZE - 1024; larger messages go in fragments. */
export const CPG_MAX_ATOMIC_MSGSIZE = 1048576 - 1024;

/**
 * Messages from this size go to a transport that gathers (IpcClientLike.gather) as a head and the
 * caller's bytes; smaller ones are framed whole, a copy that costs less than the second piece's
 * handling (the socket cork and the ring's outbox copy held messages either way).
 */
const GATHER_MIN = 4096;
const LIBCPG_PARTIAL_FIRST = 1;
const LIBCPG_PARTIAL_CONTINUED = 2;
const LIBCPG_PARTIAL_LAST = 3;
/**
 * libcpg's MAX_RETRIES: a fragment the library refuses (CS_ERR_TRY_AGAIN of the send) is sent
 * again at most this many more times, PARTIAL_RETRY_MS apart.
 */
const PARTIAL_RETRIES = 100;
const PARTIAL_RETRY_MS = 10;
/** cpg_zcb_mcast_joined() refuses a message above IPC_REQUEST_SIZE with CS_ERR_TOO_BIG. */
const ZCB_MAX_MSG = 1048576;
const rawAnswer = (res: Uint8Array) => res;
/**
 * A MCAST resolves without the event loop turning, so a loop of them reads none of the deliveries
 * meanwhile. corosync keeps at most net.unix.max_dgram_qlen (10) events in a client's socket, then
 * queues the rest and retries them in a busy loop at SCHED_RR 99 until the client reads: a core
 * lost to the whole node (measured with bench/cpg: 6-15x libcpg's time per message). libcpg's
 * users read on a dispatch thread; here mcastJoined lets the loop turn once MCASTS_PER_TURN
 * messages went since its last turn, a message counting once more per TURN_BYTES it carries.
 * The transport sends a turn's messages together when it ends (ipc's Cork): the more per turn,
 * the fewer wake-ups of corosync, up to the 50 requests libqb reads per wake-up. bench/cpg,
 * 64-byte messages, socket: 8 per turn 16-23k msgs/s, 32 per turn 26-51k (libcpg 31-56k);
 * 64 KiB messages did best at about 8 per turn, as before.
 */
const MCASTS_PER_TURN = 32;
const TURN_BYTES = 16384;
/** What a multicast handed to the transport returns: settled already, one for every call. */
const SENT: Promise<void> = Promise.resolve();
/**
 * Settles once the loop has turned. The loop's check phase counts the turn before it runs
 * immediates, so the next call usually starts a new count; a caller already in the check phase
 * (after the count) may wait twice.
 */
const turnPassed = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** A group name: a string (its UTF-8 bytes) or up to 128 arbitrary bytes (struct cpg_name). */
export type CpgGroupName = string | Uint8Array;
/** A message: one buffer, a string (UTF-8), or an iovec list sent as one message. */
export type CpgMessage = Uint8Array | string | readonly Uint8Array[];

/** cpg_deliver_fn_t arguments. */
export interface CpgDeliver {
  handle: CpgHandle;
  /** The group's bytes (struct cpg_name value[0..length)). */
  groupName: Uint8Array;
  nodeid: number;
  pid: number;
  /**
   * The whole message (fragments of a large one are put back together first). As libcpg's, valid
   * only during the callback: its bytes are reused for later messages; `msg.slice()` keeps a copy.
   * events() hands out messages of their own.
   */
  msg: Uint8Array;
}
/** cpg_confchg_fn_t arguments (the C order: members, left, joined). */
export interface CpgConfchg {
  handle: CpgHandle;
  groupName: Uint8Array;
  memberList: CpgAddress[];
  leftList: CpgAddress[];
  joinedList: CpgAddress[];
}
/** cpg_totem_confchg_fn_t arguments. */
export interface CpgTotemConfchg {
  handle: CpgHandle;
  ringId: RingId;
  memberList: number[];
}

/** cpg_callbacks_t. */
export interface CpgCallbacks {
  deliverFn?: ((d: CpgDeliver) => void) | null;
  confchgFn?: ((c: CpgConfchg) => void) | null;
}
/** cpg_model_v1_data_t (without `model`, which is modelInitialize's first argument). */
export interface CpgModelV1Data extends CpgCallbacks {
  totemConfchgFn?: ((t: CpgTotemConfchg) => void) | null;
  /** 0 or CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF. */
  flags?: number;
}

/** One item of events(): which callback it would have been, and its arguments. */
export type CpgEvent =
  | ({ type: 'deliver' } & CpgDeliver)
  | ({ type: 'confchg' } & CpgConfchg)
  | ({ type: 'totemConfchg' } & CpgTotemConfchg);

/** cpg_iteration_description_t. */
export interface CpgIterationDescription {
  groupName: Uint8Array;
  nodeid: number;
  pid: number;
}

/**
 * What a reconnect hands back: the group re-joined (null if none) and its members once the
 * re-join took effect (this process among them; after 10 s without that, as corosync says).
 */
export interface CpgSnapshot {
  groupName: Uint8Array | null;
  memberList: CpgAddress[];
}

const utf8 = new TextEncoder();
/** How long a reconnect waits for its re-join to show in the membership. */
const REJOIN_WAIT_MS = 10_000;

function groupBytes(operation: string, group: unknown): Uint8Array {
  const b = typeof group === 'string' ? utf8.encode(group) : group;
  if (!(b instanceof Uint8Array)) throw invalidParam(operation, 'group name must be a string or a Uint8Array');
  if (b.length > CPG_MAX_NAME_LENGTH) {
    throw new CsError(CS_ERR_NAME_TOO_LONG, `group name is ${b.length} bytes, more than ${CPG_MAX_NAME_LENGTH}`, { operation });
  }
  return b;
}

function messageParts(operation: string, msg: unknown): Uint8Array[] {
  if (typeof msg === 'string') return [utf8.encode(msg)];
  if (msg instanceof Uint8Array) return [msg];
  if (Array.isArray(msg) && msg.every((m) => m instanceof Uint8Array)) return msg as Uint8Array[];
  throw invalidParam(operation, 'message must be a Uint8Array, a string or an array of Uint8Array');
}

/** Waits for `p` (which never rejects), or rejects with the reason when `signal` aborts first. */
function untilSettled(p: Promise<void>, signal: AbortSignal | undefined, operation: string): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? abortError(signal, operation));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A zero-copy buffer corosync has mapped, on the connection it was allocated on. */
interface Zcb {
  file: ZcFile;
  size: number;
  serverAddress: bigint;
  ipc: IpcClientLike;
}

/**
 * The handle each live zero-copy buffer was allocated by. libcpg finds everything in the buffer
 * itself, so any handle of the process may send or free it (corosync reads the mapping by its
 * address, whichever connection asks): so may any CpgHandle.
 */
const zcbOwners = new WeakMap<ArrayBuffer, CpgHandle>();
/** Why a buffer is no longer valid, for the error of a later use through any handle. */
const zcbGone = new WeakMap<ArrayBuffer, string>();

/** A message being put back together from PARTIAL_DELIVER fragments of one sender. */
interface Assembly {
  /** Room for the message so far: grows toward msglen as fragments come (assemblyRoom). */
  buf: Uint8Array;
  filled: number;
  /** The length the first fragment claimed. */
  msglen: number;
}

/**
 * How far ahead of the bytes that came the room for a message is reserved: a first fragment
 * claims a length (up to 4 GiB) the daemon, or whoever squats its socket name, need never send,
 * so the buffer is at most this many times what arrived (a 3 MB message's first 1047552-byte
 * fragment still gets its whole room at once), and is grown by the same rule as the rest comes.
 */
const ASSEMBLY_AHEAD = 4;

/** The room to reserve for a message of `msglen` bytes once `have` of them came. */
const assemblyRoom = (msglen: number, have: number) => Math.min(msglen, ASSEMBLY_AHEAD * have);

/** A cpg connection (cpg_handle_t). */
export class CpgHandle extends Session<CpgSnapshot> {
  protected readonly service = 'cpg' as const;
  /** deliver() keeps nothing of a frame: a message is valid only during its callback (README). */
  protected override readonly borrowsEvents = true;
  readonly model = CPG_MODEL_V1;
  readonly #cb: CpgModelV1Data;
  readonly #flags: number;
  /** The group this connection joined and has not left: what a reconnect joins again. */
  #group: Uint8Array | null = null;
  readonly #assemblies = new Map<string, Assembly>();
  /**
   * A buffer no message uses (the last one put back together, valid only in its callback), for
   * the next: a first fragment is read straight into it (eventInto), else copied.
   */
  #spareAssembly: Uint8Array | undefined;
  /**
   * A first fragment's frame goes into the spare buffer, its fragment where the message starts
   * (PARTIAL_DELIVER_HEAD bytes in), so that deliver() finds it in place: on shm that is the
   * one copy out of the event ring, over socket the kernel's receive, where it was copied out
   * and then into the message (a megabyte each, per fragment). Anything else, or a frame
   * deliver() does not get in place (a dispatch queue copies it), takes the usual way.
   */
  protected override readonly eventInto = (head: Uint8Array, length: number): Uint8Array | undefined => {
    const msglen = partialFirstMsglen(head, length);
    if (msglen < 0) return undefined;
    const need = PARTIAL_DELIVER_HEAD + assemblyRoom(msglen, length - PARTIAL_DELIVER_HEAD);
    let spare = this.#spareAssembly;
    if (!spare || spare.length < need) {
      // A length no buffer can have is deliver()'s to refuse, as it always was.
      try {
        spare = new Uint8Array(need);
      } catch {
        return undefined;
      }
      this.#spareAssembly = spare;
    }
    return spare.subarray(0, length);
  };
  /** Client-side iteration handles (libcpg's own hdb) → the daemon's iteration handles. */
  readonly #iterations = new Map<bigint, bigint>();
  #nextIteration = 1n;
  readonly #streams = new Set<EventStream<CpgEvent>>();
  /** Live zero-copy buffers, by the mapping their views are on. */
  readonly #zcbs = new Map<ArrayBuffer, Zcb>();
  /** Files of ZC_ALLOCs not answered yet: corosync may still open them by their path. */
  readonly #zcbUnanswered = new Set<ZcFile>();
  /** Settles once every multicast called so far was handed over or failed (#inOrder). */
  #mcastTail: Promise<void> = Promise.resolve();
  /** Multicasts in #inOrder whose turn has not passed yet: while any, a new one queues too. */
  #mcastsQueued = 0;
  /** MCASTs sent since the event loop last turned (MCASTS_PER_TURN), counted in turn #turn (ipc's loopTurn()). */
  #sinceTurn = 0;
  #turn = Number.NaN;

  private constructor(cb: CpgModelV1Data, opts: HandleOptions | undefined) {
    super(opts);
    this.#cb = { ...cb };
    this.#flags = cb.flags ?? 0;
  }

  /** cpg_initialize(): model V1 with a deliver and a confchg callback; sends nothing. */
  static async initialize(callbacks?: CpgCallbacks | null, opts?: HandleOptions): Promise<CpgHandle> {
    checkKeys('cpg.initialize', 'callbacks', callbacks, ['deliverFn', 'confchgFn']);
    return CpgHandle.modelInitialize(CPG_MODEL_V1, { ...callbacks }, undefined, opts);
  }

  /**
   * cpg_model_initialize(): CPG_MODEL_V1 only (anything else: 7 before connecting); model flags
   * other than CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF: 7 (libcpg checks them after connecting
   * and closes that connection again, so nothing is left either way). `context` is contextGet()'s.
   */
  static async modelInitialize(model: number, modelData?: CpgModelV1Data | null, context?: unknown, opts?: HandleOptions): Promise<CpgHandle> {
    const op = 'cpg.modelInitialize';
    if (model !== CPG_MODEL_V1) throw new CsError(CS_ERR_INVALID_PARAM, `unknown cpg model ${String(model)}`, { operation: op });
    checkKeys(op, 'callbacks', modelData, ['deliverFn', 'confchgFn', 'totemConfchgFn', 'flags']);
    checkHandleOptions(op, opts);
    const flags = modelData?.flags ?? 0;
    if (typeof flags !== 'number' || (flags & ~CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF) !== 0) {
      throw invalidParam(op, `invalid model flags ${String(flags)}`);
    }
    const h = new CpgHandle({ ...modelData }, opts);
    await h.open(opts?.signal);
    h.contextSet(context);
    return h;
  }

  /** cpg_max_atomic_msgsize_get(): a constant of libcpg, no request. */
  maxAtomicMsgsizeGet(): number {
    this.assertOpen('cpg.maxAtomicMsgsizeGet');
    return CPG_MAX_ATOMIC_MSGSIZE;
  }

  /** cpg_flow_control_state_get(): libcpg 3.1.7 always reports CPG_FLOW_CONTROL_DISABLED. */
  flowControlStateGet(): number {
    this.assertOpen('cpg.flowControlStateGet');
    return CPG_FLOW_CONTROL_DISABLED;
  }

  /**
   * cpg_join(): joins one group (a connection holds one for its lifetime, see README). Joining
   * again gives CS_ERR_EXIST; after a leave the daemon answers CS_ERR_BUSY for good, which libcpg
   * re-sends forever: this rejects with it instead.
   */
  async join(group: CpgGroupName, opts?: CallOptions): Promise<void> {
    const op = 'cpg.join';
    // libcpg checks the name before the handle: 13 even on a finalized one
    const name = groupBytes(op, group);
    this.assertOpen(op);
    // Joined after all when given up on in flight: known, so that leave() and a reconnect's re-join have it.
    await this.lasting(op, cpgReq.join(name, process.pid, this.#flags), opts, (_, ipc) => {
      if (this.ipc === ipc) this.#group = name;
    });
    this.#group = name;
  }

  /**
   * cpg_leave(): like libcpg, re-sends while the daemon answers CS_ERR_BUSY (its join is still
   * on its way through totem), within the call's deadline.
   */
  async leave(group: CpgGroupName, opts?: CallOptions): Promise<void> {
    const op = 'cpg.leave';
    const name = groupBytes(op, group);
    this.assertOpen(op);
    // One deadline for all the re-sends (each call() would run its own afresh: while the daemon
    // answers BUSY the call would never end), as #inOrder's covers its wait and its send.
    await this.stepwise(op, opts, async (each) => {
      for (;;) {
        try {
          // Left after all when given up on in flight: a reconnect must not join that group again.
          return await this.lasting(op, cpgReq.leave(name, process.pid), each, (_, ipc) => {
            if (this.ipc === ipc) this.#left(name);
          });
        } catch (e) {
          if (!isCsError(e, CS_ERR_BUSY)) throw e;
          await sleep(1, each?.signal);
        }
      }
    });
    this.#left(name);
  }

  /**
   * A leave naming another group is CS_OK too, yet corosync keeps this process listed in the
   * group the connection joined, and sends it that group's events (it never lists it as gone:
   * test/real-cpg-leave-other.test.ts). That group stays what a reconnect joins again.
   */
  #left(name: Uint8Array): void {
    if (this.#group && sameBytes(this.#group, name)) this.#group = null;
  }

  /**
   * cpg_mcast_joined(): up to maxAtomicMsgsizeGet() bytes go as one MCAST, which the daemon never
   * answers (CS_OK even when not joined, as in C; CS_ERR_TRY_AGAIN under flow control, and when
   * the request ring or socket has no room for it now, as libqb refuses the send: it is then not
   * sent, and never queued). Larger messages go as libcpg 3.1.7 sends them: fragments that never
   * span two parts of an iovec list, each answered, at fc_enable_max 2 as a single MCAST. A
   * fragment the library refuses (flow control at level 1 or 2: CS_ERR_TRY_AGAIN) is sent again
   * 10 ms later, up to 100 times (one that finds no room in the ring or socket waits for it, where
   * libcpg's send is refused and sent again the same way). A fragment corosync answers with an
   * error ends the call with it: CS_ERR_TRY_AGAIN when its totem queue cannot take the fragment
   * (under load), CS_ERR_NOT_EXIST when not joined. The fragments already sent are then never
   * delivered (receivers drop them at the sender's next first fragment), and the `retry` option,
   * like a caller's loop around cpg_mcast_joined, sends the whole message again. A handle's
   * multicasts leave in call order (#inOrder), retried and fragmented ones included.
   */
  mcastJoined(guarantee: number, msg: CpgMessage, opts?: CallOptions): Promise<void> {
    // Not an async function: a multicast handed to the transport at once (the common call)
    // returns a promise already settled, without the async function's own promise, its
    // resolution and the reaction job that forwards it (bench/README.md "cpg", issue 14).
    try {
      return this.#mcast(guarantee, msg, opts);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  #mcast(guarantee: number, msg: CpgMessage, opts: CallOptions | undefined): Promise<void> {
    const op = 'cpg.mcastJoined';
    this.assertOpen(op);
    checkU32(op, 'guarantee', guarantee);
    let message: Uint8Array;
    let total: number;
    if (msg instanceof Uint8Array && msg.length <= CPG_MAX_ATOMIC_MSGSIZE) {
      // The common call: one buffer, one MCAST, without messageParts' array.
      message = msg;
      total = msg.length;
    } else {
      const parts = messageParts(op, msg);
      total = 0;
      for (const p of parts) total += p.length;
      if (total > 0xffffffff) throw invalidParam(op, `message of ${total} bytes is too large`);
      if (total > CPG_MAX_ATOMIC_MSGSIZE) return this.#inOrder(op, opts, (o) => this.#fragments(op, guarantee, total, parts, o));
      message = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    }
    let posted: Promise<void> | undefined;
    const direct = this.#mcastsQueued === 0 ? this.directConnection(opts) : undefined;
    if (direct) {
      // Handed to the transport now, in call order; only the caller's resumption waits below.
      // sendNow spares the promises of post() and of the transport per message; when requests
      // wait in the transport for room, post() queues this one behind them.
      let sent = false;
      if (direct.sendNow) {
        try {
          // A large message goes as libcpg's iovec does: the transport writes the head, then the
          // caller's bytes, straight to the socket or ring (no copy into a frame first).
          sent =
            direct.gather === true && message.length >= GATHER_MIN
              ? direct.sendNow(cpgMcastHead(guarantee, message.length), 2, message)
              : direct.sendNow(cpgMcastView(guarantee, message), 2);
        } catch (e) {
          throw toCsError(e, op);
        }
      }
      if (!sent) posted = this.post(op, cpgMcastView(guarantee, message), undefined, 2);
    } else {
      // The view is codec memory the next encode overwrites: a queued message keeps a copy.
      const frame = cpgMcastView(guarantee, message).slice();
      posted = this.#inOrder(op, opts, (o) => this.post(op, frame, o, 2));
    }
    const turn = loopTurn();
    if (turn !== this.#turn) {
      this.#turn = turn;
      this.#sinceTurn = 0;
    }
    this.#sinceTurn += 1 + Math.floor(total / TURN_BYTES);
    if (posted) return this.#afterPosted(posted);
    return this.#sinceTurn >= MCASTS_PER_TURN ? turnPassed() : SENT;
  }

  /** A multicast that went through post(): settles with it, then as a sent one does (#mcast). */
  async #afterPosted(posted: Promise<void>): Promise<void> {
    await posted;
    if (this.#sinceTurn >= MCASTS_PER_TURN && loopTurn() === this.#turn) await turnPassed();
  }

  /**
   * A message above CPG_MAX_ATOMIC_MSGSIZE as libcpg's send_fragments sends it, fragment after
   * answered fragment, all on one connection. The call's retry policy sends the whole message
   * again, from its first fragment, on the connection open then.
   */
  #fragments(op: string, guarantee: number, total: number, parts: readonly Uint8Array[], opts: CallOptions): Promise<void> {
    const send = (ipc: IpcClientLike) => this.#sendFragments(op, ipc, guarantee, total, parts, opts.signal);
    // Straight to the connection when onConnection() would add only its promises.
    const now = this.connectionNow(opts);
    return now !== undefined ? send(now) : this.onConnection(op, opts, send);
  }

  async #sendFragments(op: string, ipc: IpcClientLike, guarantee: number, total: number, parts: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<void> {
    let sent = 0;
    for (const part of parts) {
      for (let at = 0; at < part.length; ) {
        const fragment = part.subarray(at, at + Math.min(part.length - at, CPG_MAX_ATOMIC_MSGSIZE));
        const type = sent === 0 ? LIBCPG_PARTIAL_FIRST : sent + fragment.length === total ? LIBCPG_PARTIAL_LAST : LIBCPG_PARTIAL_CONTINUED;
        for (let retries = 0; ; ) {
          let error: number;
          try {
            // Framed by each attempt right before the transport takes it (exchange() hands it
            // over synchronously): a view of a reused frame, not a fresh megabyte per fragment.
            // The next fragment waits for this answer: libcpg sends it before it reads any
            // delivery, where taking the deliveries already queued (a 1 MiB fragment's own) first
            // delayed it by their receive and copy (answerFirst). The last fragment's answer waits
            // behind them as every other answer does: a sender's next message then finds its
            // deliveries read, not piled up in corosync (bench/cpg, 1 MiB throughput: 0.6x the
            // events-first rate otherwise).
            // The fragment is a view of the caller's bytes, written after its head by the
            // transport (gather), as libcpg's iovec: no megabyte copied into a frame first.
            error = await (ipc.gather === true
              ? this.exchange(op, ipc, cpgPartialMcastHead(guarantee, total, type, fragment.length), partialMcastAnswerError, type !== LIBCPG_PARTIAL_LAST, fragment, 2)
              : this.exchange(op, ipc, cpgPartialMcastView(guarantee, total, type, fragment), partialMcastAnswerError, type !== LIBCPG_PARTIAL_LAST, undefined, 2));
          } catch (e) {
            // Refused by the library, never sent (libqb's flow control at level 1 or 2): libcpg
            // sleeps and sends the same fragment again.
            if (!isCsError(e, CS_ERR_TRY_AGAIN) || ++retries > PARTIAL_RETRIES) throw e;
            await sleep(PARTIAL_RETRY_MS, signal);
            continue;
          }
          // Answered: corosync's error ends the message there, as libcpg's loop ends.
          if (error !== CS_OK) throw new CsError(error, undefined, { operation: op });
          break;
        }
        at += fragment.length;
        sent += fragment.length;
      }
    }
  }

  /**
   * Runs a multicast once every earlier one of this handle was handed over or failed: libcpg's
   * calls are synchronous, so its users (pmxcfs) send without waiting and rely on one order per
   * handle; one waiting for a retry must not be overtaken. The call's deadline and signal cover
   * its wait in the queue too; giving up there takes only this call out. `send` gets the call's
   * retry policy and the deadline's signal (its own deadline is the one already running).
   */
  #inOrder(op: string, opts: CallOptions | undefined, send: (o: CallOptions) => Promise<void>): Promise<void> {
    // Refused before it takes a turn: withDeadline() would reject without running `run`, whose
    // `finally` is what hands the turn on, and every later multicast would wait behind it forever.
    checkCallOptions(op, opts);
    if (opts?.signal?.aborted) return Promise.reject(abortError(opts.signal, op));
    const before = this.#mcastTail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const timeout = opts?.timeout ?? this.handleOptions.timeout;
    const idle = this.#mcastsQueued === 0 && opts?.signal === undefined && !hasDeadline(timeout);
    this.#mcastTail = mine;
    this.#mcastsQueued++;
    if (idle) {
      // Nothing ahead (each multicast releases its turn after the one before it, so with none
      // queued `before` is settled) and no deadline to run: sent at once, without the deadline's
      // and the queue's promises (a large message's call, bench/README.md "cpg").
      let sent: Promise<void>;
      try {
        sent = send(stepOptions(undefined, opts));
      } catch (e) {
        sent = Promise.reject(e as Error);
      }
      const done = () => {
        this.#mcastsQueued--;
        release();
      };
      void sent.then(done, done);
      return sent;
    }
    const run = async (signal: AbortSignal | undefined): Promise<void> => {
      try {
        await untilSettled(before, signal, op);
        await send(stepOptions(signal, opts));
      } finally {
        // After the earlier ones in every case: one given up on while queued keeps the rest behind them.
        void before.then(() => {
          this.#mcastsQueued--;
          release();
        });
      }
    };
    return withDeadline(op, timeout, opts?.signal, run);
  }

  /**
   * cpg_zcb_alloc(): a `size`-byte buffer in a file shared with corosync, which libcpg creates in
   * /dev/shm and both sides map: write a message into it and send it with zcbMcastJoined, without
   * a copy through the IPC ring. Like libcpg this ignores the answer's error (corosync never sets
   * it); unlike libcpg it checks that corosync really mapped the file (else CS_ERR_LIBRARY, or the
   * TRY_AGAIN of a refusal under flow control), and it always removes the file: once answered, or,
   * if the call is given up on first, when the answer comes or the connection ends (corosync 3.1.7
   * aborts if the file it was asked to map is gone).
   */
  async zcbAlloc(size: number, opts?: CallOptions): Promise<Uint8Array> {
    const op = 'cpg.zcbAlloc';
    this.assertOpen(op);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > Number.MAX_SAFE_INTEGER - ZC_HEADER) {
      throw invalidParam(op, `size must be an integer >= 0, got ${String(size)}`);
    }
    const file = ZcFile.create(op, size + ZC_HEADER);
    this.#zcbUnanswered.add(file);
    const frame = cpgReq.zcbAlloc(file.mapSize, file.path);
    let inFlight: { answer: Promise<Uint8Array>; ipc: IpcClientLike } | undefined;
    let ipc: IpcClientLike;
    try {
      ipc = await this.onConnection(op, opts, async (on) => {
        const answer = this.exchange(op, on, frame, rawAnswer);
        inFlight = { answer, ipc: on };
        let res: Uint8Array;
        try {
          res = await answer;
        } finally {
          inFlight = undefined;
        }
        if (file.serverAddress() !== 0n) return on;
        const error = headerError(res);
        throw new CsError(error === CS_ERR_TRY_AGAIN ? error : CS_ERR_LIBRARY, `corosync did not map the zero-copy file (answer error ${error})`, { operation: op });
      });
    } catch (e) {
      const pending = inFlight;
      if (pending) {
        pending.answer.then(
          () => this.#zcbLateAnswer(file, pending.ipc),
          () => this.#zcbDrop(file),
        );
      } else this.#zcbDrop(file);
      throw e;
    }
    if (!this.#zcbUnanswered.delete(file)) {
      // finalize or a reconnect released it while the answer was on its way
      throw new CsError(this.state === 'finalized' ? CS_ERR_BAD_HANDLE : CS_ERR_LIBRARY, 'the handle was finalized or its connection lost meanwhile', { operation: op });
    }
    file.unlink();
    file.writeMapSize();
    this.#zcbs.set(file.buffer, { file, size, serverAddress: file.serverAddress(), ipc });
    zcbOwners.set(file.buffer, this);
    return new Uint8Array(file.buffer, ZC_HEADER, size);
  }

  /**
   * cpg_zcb_mcast_joined(): multicasts the first `len` bytes (default: all) of a zcbAlloc() buffer.
   * Answered like a PARTIAL fragment: CS_ERR_NOT_EXIST when not joined, CS_ERR_TRY_AGAIN under flow
   * control; above 1048576 bytes CS_ERR_TOO_BIG, as libcpg. As with libcpg the buffer may come
   * from another handle (the message goes as this handle's, in its group) while that handle's
   * connection lives. A buffer that is not a live one, or `len` beyond it, is
   * CS_ERR_INVALID_PARAM (libcpg would hand corosync a bad pointer or length, and it would read
   * past the mapping).
   */
  async zcbMcastJoined(guarantee: number, buffer: Uint8Array, len?: number, opts?: CallOptions): Promise<void> {
    const op = 'cpg.zcbMcastJoined';
    this.assertOpen(op);
    checkU32(op, 'guarantee', guarantee);
    const n = len ?? (buffer instanceof Uint8Array ? buffer.length : 0);
    checkCount(op, 'len', n);
    if (n > ZCB_MAX_MSG) throw new CsError(CS_ERR_TOO_BIG, `message of ${n} bytes is more than ${ZCB_MAX_MSG}`, { operation: op });
    const { z } = this.#zcb(op, buffer);
    if (n > z.size) throw invalidParam(op, `len ${n} is more than the buffer's ${z.size} bytes`);
    // In one order with mcastJoined's messages, as libcpg's one stream per handle.
    await this.#inOrder(op, opts, (o) =>
      this.onConnection(op, o, async (ipc) => {
        // Looked up again on the connection it goes on: a reconnect meanwhile invalidated it.
        const { z: cur, owner } = this.#zcb(op, buffer);
        if (cur.ipc !== (owner === this ? ipc : owner.ipc)) throw invalidParam(op, 'the buffer belongs to a connection that was lost');
        cur.file.writeMcastHeader(guarantee, n);
        await this.exchange(op, ipc, cpgReq.zcbMcastJoined(cur.serverAddress));
      }),
    );
  }

  /**
   * cpg_zcb_free(): unmaps the buffer (its views then have length 0) and tells corosync, whose
   * answer is ignored as libcpg does. The buffer is released even if that request fails. As with
   * libcpg it may be another handle's buffer: the request goes on this handle's connection, where
   * corosync finds no such mapping and keeps the allocating connection's until that one closes.
   * A buffer that is not a live one (freed already, say) is CS_ERR_INVALID_PARAM.
   */
  async zcbFree(buffer: Uint8Array, opts?: CallOptions): Promise<void> {
    const op = 'cpg.zcbFree';
    this.assertOpen(op);
    const { z, owner } = this.#zcb(op, buffer);
    owner.#zcbForget(z, 'the buffer was freed already');
    // corosync unmapped it already if the connection it was mapped on is gone
    if (this.state !== 'open' || (owner === this && this.ipc !== z.ipc)) return;
    await this.onConnection(op, opts, async (ipc) => {
      if (owner !== this || ipc === z.ipc) await this.exchange(op, ipc, cpgReq.zcbFree(z.file.mapSize, z.serverAddress), rawAnswer);
    });
  }

  #zcb(operation: string, buffer: unknown): { z: Zcb; owner: CpgHandle } {
    if (!(buffer instanceof Uint8Array)) throw invalidParam(operation, 'buffer must be a Uint8Array that zcbAlloc() returned');
    const owner = zcbOwners.get(buffer.buffer as ArrayBuffer);
    const z = owner === undefined ? undefined : owner.#zcbs.get(buffer.buffer as ArrayBuffer);
    if (owner === undefined || z === undefined) {
      throw invalidParam(operation, zcbGone.get(buffer.buffer as ArrayBuffer) ?? 'not a buffer that zcbAlloc() returned');
    }
    if (buffer.byteOffset !== ZC_HEADER) throw invalidParam(operation, 'the view must start where zcbAlloc() returned it');
    return { z, owner };
  }

  #zcbForget(z: Zcb, why: string): void {
    this.#zcbs.delete(z.file.buffer);
    zcbOwners.delete(z.file.buffer);
    zcbGone.set(z.file.buffer, why);
    z.file.release();
  }

  #zcbDrop(file: ZcFile): void {
    this.#zcbUnanswered.delete(file);
    file.release();
  }

  /** corosync answered a ZC_ALLOC nobody waits for any more: it frees the mapping too. */
  #zcbLateAnswer(file: ZcFile, ipc: IpcClientLike): void {
    const serverAddress = file.serverAddress();
    const mine = this.#zcbUnanswered.has(file);
    this.#zcbDrop(file);
    if (mine && serverAddress !== 0n && this.state === 'open' && this.ipc === ipc) {
      this.exchange('cpg.zcbFree', ipc, cpgReq.zcbFree(file.mapSize, serverAddress), rawAnswer).catch(() => {});
    }
  }

  /** Every buffer and pending file goes: corosync dropped its mappings with the connection. */
  #zcbReleaseAll(why: string): void {
    for (const z of [...this.#zcbs.values()]) this.#zcbForget(z, why);
    for (const f of [...this.#zcbUnanswered]) this.#zcbDrop(f);
  }

  /** cpg_membership_get(): every process in the group, joined or not (no join needed). */
  async membershipGet(group: CpgGroupName, opts?: CallOptions): Promise<CpgAddress[]> {
    const op = 'cpg.membershipGet';
    const name = groupBytes(op, group);
    this.assertOpen(op);
    return (await this.call(op, cpgReq.membershipGet(name), opts)).fields.memberList;
  }

  /** cpg_local_get(): this node's id. */
  async localGet(opts?: CallOptions): Promise<number> {
    return (await this.call('cpg.localGet', cpgReq.localGet(), opts)).fields.localNodeid;
  }

  /**
   * cpg_iteration_initialize(): CPG_ITERATION_ONE_GROUP needs `group`, the other two types must
   * not have one (7, as in libcpg). Returns a client-side iteration handle.
   */
  async iterationInitialize(iterationType: number, group?: CpgGroupName | null, opts?: CallOptions): Promise<bigint> {
    const op = 'cpg.iterationInitialize';
    // libcpg's order: the name, the type and group, then the handle
    const name = group === undefined || group === null ? null : groupBytes(op, group);
    if ((iterationType === CPG_ITERATION_ONE_GROUP) !== (name !== null)) {
      throw invalidParam(op, iterationType === CPG_ITERATION_ONE_GROUP ? 'ONE_GROUP needs a group' : 'only ONE_GROUP takes a group');
    }
    if (iterationType !== CPG_ITERATION_NAME_ONLY && iterationType !== CPG_ITERATION_ONE_GROUP && iterationType !== CPG_ITERATION_ALL) {
      throw invalidParam(op, `invalid iteration type ${String(iterationType)}`);
    }
    this.assertOpen(op);
    const d = await this.call(op, cpgReq.iterationInitialize(name ?? new Uint8Array(0), iterationType), opts);
    const handle = this.#nextIteration++;
    this.#iterations.set(handle, d.fields.iterationHandle);
    return handle;
  }

  /** cpg_iteration_next(): CS_ERR_NO_SECTIONS past the end (the next call starts over, as the daemon does). */
  async iterationNext(iterationHandle: bigint, opts?: CallOptions): Promise<CpgIterationDescription> {
    const op = 'cpg.iterationNext';
    const daemon = this.#iteration(op, iterationHandle);
    const f = await this.call(op, cpgReq.iterationNext(daemon), opts, parseCpgIterationNext);
    return { groupName: f.groupName, nodeid: f.nodeid, pid: f.pid };
  }

  /** cpg_iteration_finalize(): the client handle is gone afterwards (a second call: 9). */
  async iterationFinalize(iterationHandle: bigint, opts?: CallOptions): Promise<void> {
    const op = 'cpg.iterationFinalize';
    const daemon = this.#iteration(op, iterationHandle);
    await this.call(op, cpgReq.iterationFinalize(daemon), opts);
    this.#iterations.delete(iterationHandle);
  }

  #iteration(operation: string, handle: bigint): bigint {
    this.assertOpen(operation);
    const d = this.#iterations.get(handle);
    if (d === undefined) throw new CsError(CS_ERR_BAD_HANDLE, 'unknown iteration handle', { operation });
    return d;
  }

  /**
   * cpg_finalize(): sends FINALIZE (the daemon then sends no more events; the others see the
   * process leave with CPG_REASON_PROCDOWN once the connection closes) and disconnects. Unlike
   * the other services' finalize, libcpg's returns what sending FINALIZE gave: CS_ERR_LIBRARY
   * once the daemon is gone, the handle destroyed all the same. A handle reconnecting has no C
   * counterpart; finalize just ends it.
   */
  override async finalize(): Promise<void> {
    const failed = await this.#finalize();
    if (failed !== undefined) throw failed;
  }

  /**
   * `await using` releases the handle, which a daemon already gone does not prevent: the lost
   * FINALIZE is finalize()'s to report, not a failure of the block that used the handle.
   */
  override async [Symbol.asyncDispose](): Promise<void> {
    if (this.state !== 'finalized') await this.#finalize();
  }

  async #finalize(): Promise<unknown> {
    this.assertOpen('cpg.finalize');
    const ipc = this.ipc;
    let failed: unknown;
    if (ipc && this.state === 'open') {
      // cpg_finalize returns what the sending gave and never looks at the answer's error.
      await this.exchange('cpg.finalize', ipc, cpgReq.finalize(), () => undefined).catch((e: unknown) => (failed = e));
    } else if (this.state === 'disconnected') {
      failed = new CsError(CS_ERR_LIBRARY, 'corosync is gone: FINALIZE not sent', { operation: 'cpg.finalize' });
    }
    await super.finalize();
    return failed;
  }

  /** The callbacks as an async iterator (alongside them); `return()` just stops listening. */
  events(): EventStream<CpgEvent> {
    return this.openStream('cpg.events', this.#streams);
  }

  protected dispatchFlags(flags: number): number {
    // libcpg does not validate the flags: anything unknown waits like CS_DISPATCH_BLOCKING.
    return Session.isDispatchFlag(flags) ? flags : CS_DISPATCH_BLOCKING;
  }

  protected deliver(frame: Uint8Array): void {
    const plain = plainDeliverArgs(frame, this);
    if (plain) return this.#deliverMessage(plain);
    this.#deliverOther(frame);
  }

  /**
   * Every event but a plain delivery. Apart from deliver() so that deliver() stays small: V8
   * optimizes a function once it has run enough bytecode, and with these cases in it, the few
   * bytes a plain delivery runs of it kept it in the baseline tier for good (its property loads
   * through inline-cache stubs: bench/README.md "cpg", issue 14).
   */
  #deliverOther(frame: Uint8Array): void {
    const d = decodeCpgEvent(frame, 'cpg.dispatch');
    switch (d.name) {
      case 'cpg.deliverCallback': {
        const f = d.fields;
        this.#deliverMessage({ handle: this, groupName: f.groupName, nodeid: f.nodeid, pid: f.pid, msg: f.message });
        return;
      }
      case 'cpg.partialDeliverCallback': {
        const f = d.fields;
        const key = `${f.nodeid}:${f.pid}`;
        if (f.type === LIBCPG_PARTIAL_FIRST) {
          // A fresh megabyte per message costs more than sending it (page faults, GC): reuse the last one.
          const spare = this.#spareAssembly;
          this.#spareAssembly = undefined;
          if (
            spare && f.fragment.buffer === spare.buffer && f.fragment.byteOffset === spare.byteOffset + PARTIAL_DELIVER_HEAD &&
            f.fragment.length <= f.msglen
          ) {
            // read into its place already (eventInto); the length checked again, as the frame
            // came out of memory the daemon can still write after eventInto saw its head
            const room = Math.min(f.msglen, spare.length - PARTIAL_DELIVER_HEAD);
            this.#assemblies.set(key, { buf: spare.subarray(PARTIAL_DELIVER_HEAD, PARTIAL_DELIVER_HEAD + room), filled: f.fragment.length, msglen: f.msglen });
            return;
          }
          const room = assemblyRoom(f.msglen, f.fragment.length);
          // a spare buffer is held anyway: all of it that the message can use
          const buf = spare && spare.length >= room ? spare.subarray(0, Math.min(f.msglen, spare.length)) : new Uint8Array(room);
          this.#assemblies.set(key, { buf, filled: 0, msglen: f.msglen });
        }
        const a = this.#assemblies.get(key);
        // libcpg ignores a fragment without a FIRST; one that overflows its message ends it.
        if (!a) return;
        const filled = a.filled + f.fragment.length;
        if (filled > a.msglen) {
          this.#assemblies.delete(key);
          throw new CsError(CS_ERR_LIBRARY, `fragment overflows a ${a.msglen}-byte message from ${key}`, { operation: 'cpg.dispatch' });
        }
        if (filled > a.buf.length) {
          const buf = new Uint8Array(assemblyRoom(a.msglen, filled));
          buf.set(a.buf.subarray(0, a.filled));
          a.buf = buf;
        }
        a.buf.set(f.fragment, a.filled);
        a.filled = filled;
        if (f.type === LIBCPG_PARTIAL_LAST) {
          this.#assemblies.delete(key);
          // libcpg hands over msglen bytes whatever came; a message short of them is not the sender's
          if (filled !== a.msglen) {
            throw new CsError(CS_ERR_LIBRARY, `a ${a.msglen}-byte message from ${key} ended after ${filled} bytes`, { operation: 'cpg.dispatch' });
          }
          try {
            this.#deliverMessage({ handle: this, groupName: f.groupName, nodeid: f.nodeid, pid: f.pid, msg: a.buf.subarray(0, a.filled) });
          } finally {
            const whole = new Uint8Array(a.buf.buffer);
            if (!this.#spareAssembly || this.#spareAssembly.length < whole.length) this.#spareAssembly = whole;
          }
        }
        return;
      }
      case 'cpg.confchgCallback': {
        const f = d.fields;
        const c: CpgConfchg = { handle: this, groupName: f.groupName, memberList: f.memberList, leftList: f.leftList, joinedList: f.joinedList };
        for (const l of f.leftList) this.#assemblies.delete(`${l.nodeid}:${l.pid}`);
        this.#emit({ type: 'confchg', ...c });
        this.#cb.confchgFn?.(c);
        return;
      }
      case 'cpg.totemConfchgCallback': {
        const f = d.fields;
        const t: CpgTotemConfchg = { handle: this, ringId: f.ringId, memberList: f.memberList };
        this.#emit({ type: 'totemConfchg', ...t });
        this.#cb.totemConfchgFn?.(t);
        return;
      }
      default: {
        // Unreachable by type (decode knows only these events) but kept for a codec that grows one.
        const other: { name: string; id: number } = d;
        throw new CsError(CS_ERR_LIBRARY, `unexpected event ${other.name} (id ${other.id})`, { operation: 'cpg.dispatch' });
      }
    }
  }

  #deliverMessage(m: CpgDeliver): void {
    // The event object is a copy made only for streams: a message stream is the hot path. A
    // stream's reader takes it later, when the frame the message is a view of is reused.
    if (this.#streams.size > 0) this.#emit({ type: 'deliver', ...m, msg: m.msg.slice() });
    this.#cb.deliverFn?.(m);
  }

  #emit(e: CpgEvent): void {
    for (const s of this.#streams) s.push(e);
  }

  protected override onFinalize(): void {
    this.#zcbReleaseAll('the handle was finalized');
    this.#streams.clear();
    this.#assemblies.clear();
    this.#spareAssembly = undefined;
    this.#iterations.clear();
  }

  /**
   * A new connection is a new process to the daemon: the group is joined again (the others see it
   * leave and join: README), daemon-side iterators are gone, half-received messages are dropped.
   */
  protected async restore(ipc: IpcClientLike): Promise<CpgSnapshot> {
    this.#zcbReleaseAll('the buffer was released when the connection to corosync was lost');
    this.#assemblies.clear();
    this.#iterations.clear();
    const group = this.#group;
    if (!group) return { groupName: null, memberList: [] };
    const self = (await this.exchange('cpg.reconnect', ipc, cpgReq.localGet())).fields.localNodeid;
    await this.exchange('cpg.reconnect', ipc, cpgReq.join(group, process.pid, this.#flags));
    // corosync answers a join before totem delivers it, and only then is this process a member:
    // asked at once, the membership can still lack it. The snapshot is of the group re-joined.
    const deadline = Date.now() + REJOIN_WAIT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const members = (await this.exchange('cpg.reconnect', ipc, cpgReq.membershipGet(group))).fields.memberList;
      if (members.some((m) => m.nodeid === self && m.pid === process.pid) || Date.now() >= deadline) {
        return { groupName: group, memberList: members };
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** libcpg: `const h = await cpg.initialize({ deliverFn }); await cpg.join(h, 'group')`. */
export const cpg = freeFunctions<CpgHandle>()(
  { initialize: CpgHandle.initialize, modelInitialize: CpgHandle.modelInitialize },
  common,
  [
    'join', 'leave', 'mcastJoined', 'membershipGet', 'localGet', 'iterationInitialize', 'iterationNext',
    'iterationFinalize', 'maxAtomicMsgsizeGet', 'flowControlStateGet', 'events', 'zcbAlloc', 'zcbFree', 'zcbMcastJoined',
  ] as const,
);
