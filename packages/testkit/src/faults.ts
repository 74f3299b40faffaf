import { decode, encoders, runtimeMessages, type FieldsOf, type MessageSpec } from '@corosync-ts/codec-wasm';
import { invalidateAnswers } from '@corosync-ts/ipc';
import { CS_OK, csErrorName } from '@corosync-ts/types';
import type { Clock } from './clock.js';
import { MockError } from './errors.js';
import { SERVICES, type ServiceName } from './services/index.js';

/** A request the mock serves, by its catalog name: `cmap.get`, `cpg.mcastJoined`, `cfg.tryShutdown`, ... */
export type CallName = Extract<MessageSpec, { dir: 'req'; service: ServiceName }>['name'];
/** An event (notification, callback) the mock sends, by its catalog name: `cpg.deliverCallback`, `quorum.notification`, ... */
export type EventName = Extract<MessageSpec, { dir: 'evt'; service: ServiceName }>['name'];

/** One request as a fault's `when` predicate sees it. */
export interface FaultRequest<C extends CallName = CallName> {
  readonly call: C;
  /** The node whose endpoint received it. */
  readonly node: number;
  /** The client's pid (SO_PEERCRED). */
  readonly pid: number;
  readonly frame: Uint8Array;
  /**
   * The request decoded through its catalog layout (`fields.keyName`, `fields.type`, ...);
   * undefined when the frame does not decode strictly (the mock itself serves such frames leniently).
   */
  readonly fields: FieldsOf<Extract<MessageSpec, { name: C; dir: 'req' }>> | undefined;
}

interface CallFaultBase<C extends CallName> {
  /** The request to fail, by catalog name; an unknown name is a MockError (EINVAL) at injection. */
  call: C;
  /** Only requests to this node's endpoint (default: every node). */
  node?: number;
  /** Only requests this predicate accepts (not counted against `times` otherwise). */
  when?: (req: FaultRequest<C>) => boolean;
  /** How many matching requests it acts on before it removes itself (default: until removed). */
  times?: number;
}

/**
 * Answer the call with a cs_error_t instead of serving it. The answer is corosync's refusal of
 * a request (ipc_glue.c): a bare 24-byte response header, id 0; a CS_ERR_TRY_AGAIN counts in the
 * connection's `overload` stat as corosync's does. A call that has no answer (cpg MCAST) is
 * dropped without one, as corosync drops a refused MCAST.
 */
export interface ErrorFault<C extends CallName = CallName> extends CallFaultBase<C> {
  error: number;
}

/**
 * Kill the node (`node.kill()`: no goodbye) the moment the call arrives, before it is served:
 * e.g. `{ call: 'cpg.partialMcast', when: (r) => r.fields?.type === 3, killNode: true }` drops a
 * node between the fragments of a large cpg message.
 */
export interface KillFault<C extends CallName = CallName> extends CallFaultBase<C> {
  killNode: true;
}

/**
 * Put client connections under libqb flow control (the level in the control file or ring the
 * client reads before every send): level 1 makes every libqb client's send fail with EAGAIN
 * (CS_ERR_TRY_AGAIN), level 2 only libcpg's (corosync's level while its totem queue is full or a
 * sync runs). While the level is not 0 the mock leaves the connection's requests unread, as libqb
 * does, and serves them in order when it drops to 0. Counted in `flow_control` and
 * `flow_control_count` of the stats map.
 */
export interface FlowControlFault {
  node?: number;
  service?: ServiceName;
  /** Only the connections of this client pid. */
  pid?: number;
  /** Default 1. */
  level?: 1 | 2;
  /** Lift it after this many ms of the cluster's clock (default: until removed). */
  for?: number;
}

/**
 * Hold events back for `by` ms of the cluster's clock before they reach the client (a slow
 * totem or network). A connection's events keep their order: one sent after a delayed one waits
 * behind it.
 */
export interface DelayFault {
  by: number;
  event?: EventName;
  service?: ServiceName;
  node?: number;
  pid?: number;
  /** How many events it delays before it removes itself (default: until removed). */
  times?: number;
}

/** An injected fault: how often it acted, and its removal. `using` removes it at the end of the block. */
export interface FaultHandle {
  /** Requests answered, connections put under flow control, or events delayed by it. */
  readonly hits: number;
  /** False once removed, `times` used up or `for` elapsed. */
  readonly active: boolean;
  remove(): void;
  [Symbol.dispose](): void;
}

/** What a call fault decided for one request. */
export type CallAction = { error: number } | { killNode: true };

interface Entry { handle: Handle; spec: unknown }
type CallEntry = Entry & { kind: 'call'; call: CallName; spec: ErrorFault | KillFault };

class Handle implements FaultHandle {
  hits = 0;
  active = true;
  timer: unknown;
  constructor(private readonly owner: Faults) {}
  remove(): void {
    this.owner.remove(this);
  }
  [Symbol.dispose](): void {
    this.remove();
  }
}

const CALLS = new Set(runtimeMessages.filter((m) => m.dir === 'req' && m.id !== null && m.service in SERVICES).map((m) => m.name));
const EVENTS = new Map(runtimeMessages.filter((m) => m.dir === 'evt' && m.id !== null && m.service in SERVICES).map((m) => [`${m.service}:${m.id}`, m.name]));
const EVENT_NAMES = new Set(EVENTS.values());

function invalid(message: string): never {
  throw new MockError('EINVAL', message);
}

function checkTimes(times: unknown): void {
  if (times !== undefined && !(typeof times === 'number' && times >= 1 && (Number.isInteger(times) || times === Infinity))) {
    invalid(`times must be a whole number >= 1, not ${String(times)}`);
  }
}

function checkService(service: unknown): void {
  if (service !== undefined && !(typeof service === 'string' && service in SERVICES)) invalid(`unknown service ${String(service)}`);
}

/**
 * The faults injected into a mock (`mock.faults`): every request and event of every node's
 * endpoint passes here, in one place of the dispatcher, so no service handler knows about them.
 * Timed faults run off the cluster's clock: under the default ManualClock they move only with
 * `clock.advance()`, so a test is deterministic.
 */
export class Faults {
  private calls: CallEntry[] = [];
  private flows: (Entry & { spec: FlowControlFault })[] = [];
  private delays: (Entry & { spec: DelayFault })[] = [];
  /** @internal Called when the flow-control faults change (each node's services re-apply them). */
  readonly flowListeners = new Set<() => void>();

  constructor(
    /** @internal */ readonly clock: Clock,
    private readonly hasNode: (id: number) => boolean = () => true,
  ) {}

  private checkNode(node: unknown): void {
    if (node !== undefined && !(typeof node === 'number' && this.hasNode(node))) invalid(`no node ${String(node)} in the cluster`);
  }

  /** Answers (or kills the node at) chosen requests; see ErrorFault and KillFault. */
  inject<C extends CallName>(spec: ErrorFault<C> | KillFault<C>): FaultHandle {
    if (typeof spec !== 'object' || spec === null) invalid('a fault is an object');
    if (!CALLS.has(spec.call)) invalid(`unknown call ${String(spec.call)}: a request name of the catalog (cmap.get, cpg.mcastJoined, ...)`);
    this.checkNode(spec.node);
    checkTimes(spec.times);
    if (spec.when !== undefined && typeof spec.when !== 'function') invalid('when must be a function');
    if ('killNode' in spec) {
      if (spec.killNode !== true) invalid('killNode must be true');
    } else if (!(Number.isInteger(spec.error) && spec.error !== CS_OK && csErrorName(spec.error) !== undefined)) {
      invalid(`error must be a cs_error_t other than CS_OK, not ${String(spec.error)}`);
    }
    const handle = new Handle(this);
    this.calls.push({ kind: 'call', handle, call: spec.call, spec: spec as unknown as ErrorFault | KillFault });
    // what the transports answer by themselves would pass it by
    invalidateAnswers();
    return handle;
  }

  /** Puts matching connections (open now or later) under flow control; see FlowControlFault. */
  flowControl(spec: FlowControlFault = {}): FaultHandle {
    this.checkNode(spec.node);
    checkService(spec.service);
    if (spec.level !== undefined && spec.level !== 1 && spec.level !== 2) invalid(`level must be 1 or 2, not ${String(spec.level)}`);
    if (spec.for !== undefined && !(Number.isFinite(spec.for) && spec.for >= 0)) invalid(`for must be a finite number of ms >= 0`);
    const handle = new Handle(this);
    this.flows.push({ handle, spec: { ...spec } });
    if (spec.for !== undefined) handle.timer = this.clock.setTimer(spec.for, () => handle.remove());
    this.flowChanged();
    return handle;
  }

  /** Delays matching events; see DelayFault. */
  delay(spec: DelayFault): FaultHandle {
    if (typeof spec !== 'object' || spec === null || !(Number.isFinite(spec.by) && spec.by >= 0)) invalid('by must be a finite number of ms >= 0');
    if (spec.event !== undefined && !EVENT_NAMES.has(spec.event)) invalid(`unknown event ${String(spec.event)}: an event name of the catalog (cpg.deliverCallback, ...)`);
    this.checkNode(spec.node);
    checkService(spec.service);
    checkTimes(spec.times);
    const handle = new Handle(this);
    this.delays.push({ handle, spec: { ...spec } });
    return handle;
  }

  /** Removes every fault. */
  clear(): void {
    for (const e of [...this.calls, ...this.flows, ...this.delays]) this.remove(e.handle);
  }

  /** @internal */
  remove(handle: Handle): void {
    if (!handle.active) return;
    handle.active = false;
    if (handle.timer !== undefined) this.clock.clearTimer(handle.timer);
    this.calls = this.calls.filter((e) => e.handle !== handle);
    this.delays = this.delays.filter((e) => e.handle !== handle);
    const flows = this.flows.length;
    this.flows = this.flows.filter((e) => e.handle !== handle);
    if (this.flows.length !== flows) this.flowChanged();
  }

  /** @internal Whether any call fault is in place (the dispatcher's fast path skips the rest). */
  get hasCallFaults(): boolean {
    return this.calls.length > 0;
  }

  /** @internal What to do with one request instead of serving it; undefined: serve it. */
  onRequest(service: ServiceName, call: string, node: number, pid: number, frame: Uint8Array): CallAction | undefined {
    let req: FaultRequest | undefined;
    for (const e of this.calls) {
      if (e.call !== call || (e.spec.node !== undefined && e.spec.node !== node)) continue;
      if (e.spec.when !== undefined) {
        req ??= requestView(service, call as CallName, node, pid, frame);
        if (!e.spec.when(req as never)) continue;
      }
      this.hit(e.handle, e.spec.times);
      return 'killNode' in e.spec ? { killNode: true } : { error: e.spec.error };
    }
    return undefined;
  }

  /** @internal The flow-control level faults put on one connection (0: none). */
  flowLevel(service: ServiceName, node: number, pid: number): 0 | 1 | 2 {
    let level: 0 | 1 | 2 = 0;
    for (const { spec } of this.flows) {
      if ((spec.node ?? node) !== node || (spec.service ?? service) !== service || (spec.pid ?? pid) !== pid) continue;
      level = Math.max(level, spec.level ?? 1) as 1 | 2;
    }
    return level;
  }

  /** @internal Counts a connection put under flow control by the faults. */
  flowHit(service: ServiceName, node: number, pid: number): void {
    for (const { spec, handle } of this.flows) {
      if ((spec.node ?? node) === node && (spec.service ?? service) === service && (spec.pid ?? pid) === pid) handle.hits++;
    }
  }

  /** @internal How long to hold back one event (0: send it now). */
  eventDelay(service: ServiceName, node: number, pid: number, frame: Uint8Array): number {
    if (this.delays.length === 0) return 0;
    const id = frame.length >= 4 ? new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(0, true) : -1;
    const name = EVENTS.get(`${service}:${id}`);
    for (const { spec, handle } of this.delays) {
      if ((spec.node ?? node) !== node || (spec.service ?? service) !== service || (spec.pid ?? pid) !== pid) continue;
      if (spec.event !== undefined && spec.event !== name) continue;
      this.hit(handle, spec.times);
      return spec.by;
    }
    return 0;
  }

  private hit(handle: Handle, times: number | undefined): void {
    handle.hits++;
    if (times !== undefined && handle.hits >= times) this.remove(handle);
  }

  private flowChanged(): void {
    for (const l of [...this.flowListeners]) l();
  }
}

function requestView(service: ServiceName, call: CallName, node: number, pid: number, lent: Uint8Array): FaultRequest {
  // The transport lends large request frames (ServerOptions.borrowRequests): a predicate may
  // keep what it is given, so it gets bytes of its own. Only with call faults set.
  const frame = lent.slice();
  let fields: unknown;
  let decoded = false;
  return {
    call, node, pid, frame,
    get fields() {
      if (!decoded) {
        decoded = true;
        try {
          fields = decode(frame, { service, dir: 'req' }).fields;
        } catch {
          fields = undefined;
        }
      }
      return fields as never;
    },
  };
}

/** The answer corosync gives a refused request (ipc_glue.c cs_ipcs_msg_process): a bare header, id 0. */
export function refusal(error: number): Uint8Array {
  return encoders.cmap.res.error({}, { id: 0, error });
}
