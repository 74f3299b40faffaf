import { QB_REQUEST_HEADER_SIZE, type RingId } from '@corosync-ts/codec-wasm';
import { CS_ERR_INVALID_PARAM, CS_ERR_TRY_AGAIN, CS_TRACK_CHANGES, CS_TRACK_CHANGES_ONLY, QUORUM_MODEL_V1 } from '@corosync-ts/types';
import type { Clock } from './clock.js';
import type { CmapStore } from './cmap-store.js';
import type { NodeListener, SimNode } from './cluster.js';
import { refusal, type Faults } from './faults.js';
import { RequestView } from './request.js';
import { MAX_RESPONSE, type BaseConn, type ClientInfo, type FrameSink } from './services/connection.js';
import { REQUESTS, SERVICES, type AnyServiceDef, type ServiceName } from './services/index.js';
import type { QuorumConn } from './services/quorum.js';
import type { VotequorumConn } from './services/votequorum.js';
import { buildStatsMap, type ConnStats } from './stats-map.js';

/** One client connection to one service of one node: request frame in, frames out. */
export interface ServiceConnection {
  readonly service: ServiceName;
  /**
   * Handles one request; produces exactly one response (none for cpg MCAST), later when the
   * connection is under flow control (held in order, as libqb leaves them unread) or for
   * QDEVICE_REGISTER; none when a fault kills the node at it.
   */
  handle(frame: Uint8Array): void;
  /** lib_exit_fn: drops iterators, tracks and trackers. Idempotent. */
  close(): void;
}

/** Where the daemon's connection ids start (shown in the stats keys like a pointer). */
const FIRST_CONN_PTR = 0x55d0c0de0000n;
const CONN_PTR_STEP = 0x40n;
/** Requests a client may have waiting while it is under flow control before it is dropped. */
const MAX_HELD_BYTES = 4 * 1024 * 1024;
/** Requests that get no answer, refused or not (ipc_glue.c's is_async_call: cpg MCAST). */
const ASYNC_CALLS = new Set(['cpg.mcastJoined']);

/**
 * The event side of one connection as corosync's msg_send_or_queue keeps it: events go straight
 * into the client's channel until one does not fit; from then on (`queueing`) they wait in the
 * daemon, `queued` of them, and `sent` counts those the client made room for, until none waits.
 * The mock's waiting events sit in the ipc connection's queue: what the client took is read
 * back from its byte count.
 */
class EventChannel {
  /** Byte costs of the events waiting, oldest first, from `head`. */
  private costs: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly stats: ConnStats, private readonly sink: FrameSink) {}

  /** Counts what the client took since the last look (corosync's outq_flush). */
  private reconcile(): void {
    if (!this.stats.queueing || this.sink.backlog === undefined) return;
    const waiting = this.sink.backlog().events;
    while (this.head < this.costs.length && this.bytes > waiting) {
      this.bytes -= this.costs[this.head++]!;
      this.stats.sent++;
      this.stats.queued--;
      this.stats.dispatched++;
    }
    if (this.head === this.costs.length) {
      this.costs = [];
      this.head = 0;
      this.bytes = 0;
      this.stats.queueing = 0;
      this.stats.queued = 0;
      this.stats.sent = 0;
    }
  }

  send(frame: Uint8Array): void {
    this.reconcile();
    const cost = frame.length + (this.sink.queueOverhead ?? 0);
    this.sink.sendEvent(frame);
    if (this.stats.queueing) {
      // corosync retries its queue on every pass of its main loop, and each event that arrives
      // meanwhile comes with such a pass: a failed send each while the client reads nothing
      this.stats.sendRetries++;
      this.costs.push(cost);
      this.bytes += cost;
      this.stats.queued++;
    } else if ((this.sink.backlog?.().events ?? 0) > 0) {
      // the channel was full (EAGAIN): a send retry, and queueing starts with this event
      this.stats.sendRetries++;
      this.stats.queueing = 1;
      this.stats.sent = 0;
      this.stats.queued = 1;
      this.costs.push(cost);
      this.bytes += cost;
    } else {
      this.stats.sent++;
      this.stats.dispatched++;
    }
  }

  /** The stats as of now. */
  look(): void {
    this.reconcile();
  }
}

/** Events a delay fault holds back, in their order, each until its time on the cluster clock. */
class DelayedEvents {
  private queue: { frame: Uint8Array; due: number }[] = [];
  private timer: unknown;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly out: (f: Uint8Array) => void,
    private readonly delayOf: (f: Uint8Array) => number,
  ) {}

  send(frame: Uint8Array): void {
    const by = this.delayOf(frame);
    if (by <= 0 && this.queue.length === 0) return this.out(frame);
    // a copy: the frame may be a view of codec memory the next encode reuses
    this.queue.push({ frame: frame.slice(), due: this.clock.now() + by });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed || this.queue.length === 0) return;
    this.timer = this.clock.setTimer(Math.max(0, this.queue[0]!.due - this.clock.now()), () => {
      this.timer = undefined;
      while (!this.closed && this.queue.length > 0 && this.queue[0]!.due <= this.clock.now()) this.out(this.queue.shift()!.frame);
      this.schedule();
    });
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }
}

/**
 * The per-node daemon side: the state corosync keeps per node across connections (quorum and
 * votequorum tracker lists, the pending qdevice registration, ipc statistics), and the dispatcher
 * of requests to the services' handler tables.
 */
export class NodeServices implements NodeListener {
  private readonly quorumTrackers = new Map<QuorumConn, number>();
  private readonly vqTrackers: VotequorumConn[] = [];
  private qdeviceRegConn: VotequorumConn | undefined;
  private readonly conns = new Set<ConnStats>();
  private closedCount = 0n;
  private nextPtr = FIRST_CONN_PTR;
  /** Connections to close when the node goes down. */
  private readonly open = new Set<ServiceConnection & { kill(): void }>();
  /** Each connection's re-evaluation of its flow-control level (`true`: a sync pulse). */
  private readonly fcRefresh = new Set<(pulse?: boolean) => void>();
  private readonly faults: Faults | undefined;
  private readonly onFaultsChanged = () => {
    for (const r of [...this.fcRefresh]) r();
  };
  /** Handler errors met while serving requests held under flow control. */
  readonly errors: unknown[] = [];
  private readonly onError: ((err: unknown) => void) | undefined;

  /** What cfg RELOAD_CONFIG rereads (default: the cluster's own corosync.conf text). */
  readonly configSource: () => string;

  constructor(readonly node: SimNode, opts: { configSource?: () => string; faults?: Faults; onError?: (err: unknown) => void } = {}) {
    node.listeners.add(this);
    this.configSource = opts.configSource ?? (() => node.configText);
    this.faults = opts.faults;
    this.onError = opts.onError;
    this.faults?.flowListeners.add(this.onFaultsChanged);
  }

  private get clock(): Clock {
    return this.faults?.clock ?? this.node.clock;
  }

  dispose(): void {
    this.node.listeners.delete(this);
    this.faults?.flowListeners.delete(this.onFaultsChanged);
  }

  /** Opens a connection; `onKill` runs when the node dies under it. */
  connect(service: ServiceName, sink: FrameSink, info: ClientInfo = { pid: 0, uid: 0, gid: 0 }, onKill?: () => void): ServiceConnection {
    const stats: ConnStats = {
      info, service, ptr: (this.nextPtr += CONN_PTR_STEP), requests: 0, responses: 0, dispatched: 0, invalid: 0,
      overload: 0, sendRetries: 0, recvRetries: 0, flowControl: 0, flowControlCount: 0, queueing: 0, queued: 0, sent: 0,
    };
    const events = new EventChannel(stats, sink);
    // what the transport answered itself (answerRepeats) counts as corosync counts every request
    const countAnswered = () => {
      const n = sink.answered?.() ?? 0;
      stats.requests += n;
      stats.responses += n;
    };
    stats.look = () => {
      countAnswered();
      events.look();
    };
    const counted: FrameSink = {
      maxMessageSize: sink.maxMessageSize ?? MAX_RESPONSE,
      respond: (f) => {
        sink.respond(f);
        stats.responses++;
        // libqb's response send found the channel full (corosync drops such an answer; the mock
        // keeps it for the client, who takes it when it reads again)
        if ((sink.backlog?.().responses ?? 0) > 0) stats.sendRetries++;
      },
      sendEvent: (f) => delays.send(f),
      // DelayedEvents copies what it holds; EventChannel hands frames on at once
      takesViews: sink.takesViews,
      // only while nothing else would decide the next answer: no request held under flow
      // control, no call fault (injecting one invalidates what is armed)
      answerRepeats: (req, res) => {
        if (held.length === 0 && stats.flowControl === 0 && !this.faults?.hasCallFaults) sink.answerRepeats?.(req, res);
      },
    };
    const delays = new DelayedEvents(this.clock, (f) => events.send(f), (f) => this.faults?.eventDelay(service, this.node.id, info.pid, f) ?? 0);
    const def = SERVICES[service] as unknown as AnyServiceDef;
    const requests = REQUESTS[service];
    const flowControlled = new Set(def.flowControlled ?? []);
    const conn: BaseConn = def.open(this, counted, info);
    this.conns.add(stats);
    /** Requests libqb would leave unread while the connection is under flow control. */
    const held: Uint8Array[] = [];
    let heldBytes = 0;
    const serve = (frame: Uint8Array) => {
      stats.requests++;
      conn.received(frame);
      const faults = this.faults?.hasCallFaults ? this.faults : undefined;
      if (faults === undefined && conn.repeat(frame)) return;
      // the header's id (i32 LE) read in place: no DataView and header object per request
      const entry = frame.length < QB_REQUEST_HEADER_SIZE ? undefined : requests.get(frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24));
      if (entry === undefined) {
        // corosync's answer to an id past the service's lib_engine table
        stats.invalid++;
        counted.respond(refusal(CS_ERR_INVALID_PARAM));
        return;
      }
      // corosync_sending_allowed, then what a test injected: a refusal instead of the handler
      const noReply = ASYNC_CALLS.has(entry.message.name);
      let error: number | undefined;
      if (flowControlled.has(entry.handler) && this.node.cpg.flowControl) error = CS_ERR_TRY_AGAIN;
      else if (faults !== undefined) {
        const action = faults.onRequest(service, entry.message.name, this.node.id, info.pid, frame);
        if (action !== undefined && 'killNode' in action) {
          if (this.node.running) this.node.kill();
          return;
        }
        error = action?.error;
        if (error === undefined && conn.repeat(frame)) return;
      }
      if (error !== undefined) {
        if (error === CS_ERR_TRY_AGAIN) stats.overload++;
        if (!noReply) counted.respond(refusal(error));
        return;
      }
      def.handlers[entry.handler]!(conn, new RequestView(frame, entry.message) as never);
    };
    const drain = () => {
      while (held.length > 0 && stats.flowControl === 0 && this.open.has(wrapped)) {
        const f = held.shift()!;
        heldBytes -= f.length;
        try {
          serve(f);
        } catch (e) {
          this.errors.push(e);
          this.onError?.(e);
          wrapped.kill();
        }
      }
    };
    const wrapped = {
      service,
      handle: (frame: Uint8Array) => {
        if (stats.flowControl === 0 && held.length === 0) return serve(frame);
        // a client that ignores the level floods no further than this before it is dropped
        if (heldBytes + frame.length > MAX_HELD_BYTES) return wrapped.kill();
        held.push(frame.slice());
        heldBytes += frame.length;
      },
      close: () => {
        if (!this.conns.delete(stats)) return;
        this.closedCount++;
        this.open.delete(wrapped);
        this.fcRefresh.delete(refresh);
        delays.close();
        held.length = 0;
        conn.close();
      },
      kill: () => {
        wrapped.close();
        onKill?.();
      },
    };
    /** libqb's qb_ipcs_flowcontrol_set: every change of the level counts. */
    const setLevel = (level: 0 | 1 | 2) => {
      if (level === stats.flowControl) return;
      stats.flowControl = level;
      stats.flowControlCount++;
      sink.setFlowControl?.(level);
    };
    const refresh = (pulse = false) => {
      const level = this.faults?.flowLevel(service, this.node.id, info.pid) ?? 0;
      if (level > stats.flowControl) this.faults?.flowHit(service, this.node.id, info.pid);
      // a sync (corosync's RATE_OFF_2 on every service but votequorum) takes no time here: on, then off
      if (pulse && service !== 'votequorum') setLevel(2);
      setLevel(level);
      if (level === 0) drain();
    };
    this.fcRefresh.add(refresh);
    this.open.add(wrapped);
    refresh();
    return wrapped;
  }

  // ------------------------------------------------------------------ NodeListener (simulator)

  quorumChanged(): void {
    for (const [c] of this.quorumTrackers) c.sendQuorum();
  }

  quorumNodelist(members: readonly number[], joined: readonly number[], left: readonly number[], ring: RingId): void {
    for (const [c] of this.quorumTrackers) if (c.model === QUORUM_MODEL_V1) c.sendNodelist(members, joined, left, ring);
  }

  vqQuorum(): void {
    for (const c of this.vqTrackers) c.sendQuorum(c.context);
  }

  vqNodelist(): void {
    for (const c of this.vqTrackers) c.sendNodelist(c.context);
  }

  vqExpectedVotes(): void {
    for (const c of this.vqTrackers) c.sendExpected(c.context);
  }

  qdeviceRegisterDone(error: number): void {
    const c = this.qdeviceRegConn;
    this.qdeviceRegConn = undefined;
    c?.status(error);
  }

  /** A membership change: corosync holds every connection but votequorum's under flow control for the sync. */
  syncStarted(): void {
    for (const r of [...this.fcRefresh]) r(true);
  }

  /** A new daemon: its global counters start again. */
  up(): void {
    this.closedCount = 0n;
  }

  down(): void {
    this.quorumTrackers.clear();
    this.vqTrackers.length = 0;
    this.qdeviceRegConn = undefined;
    for (const c of [...this.open]) c.kill();
  }

  // ------------------------------------------------------------------------ used by services

  /** @internal */
  trackQuorum(c: QuorumConn, flags: number): boolean {
    if (this.quorumTrackers.has(c)) return false;
    if (flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY)) this.quorumTrackers.set(c, flags);
    return true;
  }
  /** @internal */
  untrackQuorum(c: QuorumConn): void {
    this.quorumTrackers.delete(c);
  }
  /** @internal */
  isVqTracker(c: VotequorumConn): boolean {
    return this.vqTrackers.includes(c);
  }
  /** @internal */
  trackVq(c: VotequorumConn): void {
    this.vqTrackers.push(c);
  }
  /** @internal */
  untrackVq(c: VotequorumConn): void {
    const i = this.vqTrackers.indexOf(c);
    if (i >= 0) this.vqTrackers.splice(i, 1);
  }
  /** @internal */
  get registeringQdevice(): VotequorumConn | undefined {
    return this.qdeviceRegConn;
  }
  /** @internal */
  set registeringQdevice(c: VotequorumConn | undefined) {
    this.qdeviceRegConn = c;
  }

  /** The node's stats map (map 1, what `corosync-cmapctl -m stats` reads), computed on demand as corosync does. */
  statsMap(): CmapStore {
    for (const c of this.conns) c.look?.();
    return buildStatsMap(this.node, this.conns, this.conns.size, this.closedCount);
  }
}
