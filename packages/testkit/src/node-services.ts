import { encoders, readRequestHeader, QB_REQUEST_HEADER_SIZE, type RingId } from '@corosync-ts/codec-wasm';
import { CS_ERR_INVALID_PARAM, CS_TRACK_CHANGES, CS_TRACK_CHANGES_ONLY, QUORUM_MODEL_V1 } from '@corosync-ts/types';
import type { CmapStore } from './cmap-store.js';
import type { NodeListener, SimNode } from './cluster.js';
import { RequestView } from './request.js';
import { MAX_RESPONSE, type BaseConn, type ClientInfo, type FrameSink } from './services/connection.js';
import { REQUESTS, SERVICES, type AnyServiceDef, type ServiceName } from './services/index.js';
import type { QuorumConn } from './services/quorum.js';
import type { VotequorumConn } from './services/votequorum.js';
import { buildStatsMap, type ConnStats } from './stats-map.js';

/** One client connection to one service of one node: request frame in, frames out. */
export interface ServiceConnection {
  readonly service: ServiceName;
  /** Handles one request; always produces exactly one response (QDEVICE_REGISTER may answer later). */
  handle(frame: Uint8Array): void;
  /** lib_exit_fn: drops iterators, tracks and trackers. Idempotent. */
  close(): void;
}

/** Where the daemon's connection ids start (shown in the stats keys like a pointer). */
const FIRST_CONN_PTR = 0x55d0c0de0000n;
const CONN_PTR_STEP = 0x40n;

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

  /** What cfg RELOAD_CONFIG rereads (default: the cluster's own corosync.conf text). */
  readonly configSource: () => string;

  constructor(readonly node: SimNode, opts: { configSource?: () => string } = {}) {
    node.listeners.add(this);
    this.configSource = opts.configSource ?? (() => node.configText);
  }

  dispose(): void {
    this.node.listeners.delete(this);
  }

  /** Opens a connection; `onKill` runs when the node dies under it. */
  connect(service: ServiceName, sink: FrameSink, info: ClientInfo = { pid: 0, uid: 0, gid: 0 }, onKill?: () => void): ServiceConnection {
    const stats: ConnStats = {
      info, service, ptr: (this.nextPtr += CONN_PTR_STEP), requests: 0n, responses: 0n, dispatched: 0n, invalid: 0n,
    };
    const counted: FrameSink = {
      maxMessageSize: sink.maxMessageSize ?? MAX_RESPONSE,
      respond: (f) => { stats.responses++; sink.respond(f); },
      sendEvent: (f) => { stats.dispatched++; sink.sendEvent(f); },
    };
    const def = SERVICES[service] as unknown as AnyServiceDef;
    const requests = REQUESTS[service];
    const conn: BaseConn = def.open(this, counted, info);
    this.conns.add(stats);
    const wrapped = {
      service,
      handle: (frame: Uint8Array) => {
        stats.requests++;
        if (conn.repeat(frame)) return;
        const entry = frame.length < QB_REQUEST_HEADER_SIZE ? undefined : requests.get(readRequestHeader(frame).id);
        if (entry === undefined) {
          // corosync's answer to an id past the service's lib_engine table
          stats.invalid++;
          counted.respond(encoders.cmap.res.error({}, { id: 0, error: CS_ERR_INVALID_PARAM }));
          return;
        }
        def.handlers[entry.handler]!(conn, new RequestView(frame, entry.message) as never);
      },
      close: () => {
        if (!this.conns.delete(stats)) return;
        this.closedCount++;
        this.open.delete(wrapped);
        conn.close();
      },
      kill: () => {
        wrapped.close();
        onKill?.();
      },
    };
    this.open.add(wrapped);
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

  /** @internal The stats map (map 1), computed on demand as corosync does. */
  statsMap(): CmapStore {
    return buildStatsMap(this.node, this.conns, this.conns.size, this.closedCount);
  }
}
