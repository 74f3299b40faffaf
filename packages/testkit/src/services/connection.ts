import { encoders, findMessage, type MessageSpec, type Service } from '@corosync-ts/codec-wasm';
import { CS_ERR_NOT_SUPPORTED } from '@corosync-ts/types';
import type { SimNode } from '../cluster.js';
import type { NodeServices } from '../node-services.js';
import type { RequestView } from '../request.js';

/** Where a service connection sends its frames (an ipc server connection, or a test). */
export interface FrameSink {
  respond(frame: Uint8Array): void;
  sendEvent(frame: Uint8Array): void;
  /** Largest frame the client accepts (default 1 MiB, what the corosync libraries ask for). */
  readonly maxMessageSize?: number;
  /**
   * Bytes of answers and events sent but still waiting for the client to make room (the ipc
   * connection's `queued`), each frame counted as its length plus `queueOverhead`: how the stats
   * tell what the client has taken. Without it, everything counts as taken at once.
   */
  backlog?(): { responses: number; events: number };
  readonly queueOverhead?: number;
  /** Sets the libqb flow-control level the client reads before each send. */
  setFlowControl?(level: 0 | 1 | 2): void;
  /**
   * The sink is done with a frame when sendEvent() returns (it sends or copies it): events may
   * then be views of codec memory that the next encode reuses. A fresh buffer per 1 MiB cpg
   * delivery cost the mock more than the rest of the delivery (its page faults).
   */
  readonly takesViews?: boolean;
  /**
   * From now on the transport may answer a request of exactly `request`'s bytes with `response`
   * itself, without handle() (ipc's answerRepeats): only for an answer that stays right until
   * invalidateAnswers(), which the map's changes and new call faults call first.
   */
  answerRepeats?(request: Uint8Array, response: Uint8Array): void;
  /** Requests the transport answered that way since the last call (counted as requests and responses). */
  answered?(): number;
}

export interface ClientInfo {
  pid: number;
  uid: number;
  gid: number;
  /** Shown as stats.ipcs.service<id>.<pid>.<conn>.procname (the daemon reads /proc/<pid>/comm). */
  procname?: string;
  /** The libqb transport the client came by: where the daemon's handlers find a request's bytes. */
  transport?: 'socket' | 'shm';
}

/** Largest response a client accepts when its sink does not say (what the corosync libraries ask for). */
export const MAX_RESPONSE = 1024 * 1024;

/** The per-connection state of one service (corosync's private data of a lib connection). */
export abstract class BaseConn {
  constructor(readonly node: NodeServices, readonly sink: FrameSink) {}
  /** Answers a request identical to the previous one when nothing changed since; false otherwise. */
  repeat(frame: Uint8Array): boolean {
    void frame;
    return false;
  }
  /** Every request frame of the connection, before anything answers it. */
  received(frame: Uint8Array): void {
    void frame;
  }
  /** lib_exit_fn. */
  abstract close(): void;
  get sim(): SimNode {
    return this.node.node;
  }
}

type ShortName<N> = N extends `${string}.${infer S}` ? S : never;
type RequestOf<S extends Service> = Extract<MessageSpec, { service: S; dir: 'req' }>;

/**
 * A service's `*_lib_service[]`: one handler per request of the catalog, keyed by its short name.
 * A request the catalog adds fails to typecheck here until the service handles it.
 */
export type HandlerTable<S extends Service, C extends BaseConn> = {
  [M in RequestOf<S> as ShortName<M['name']>]: (conn: C, req: RequestView<M>) => void;
};

/** How the mock serves one service: its connection state and its handler table. */
export interface ServiceDef<S extends Service, C extends BaseConn> {
  readonly service: S;
  open(node: NodeServices, sink: FrameSink, info?: ClientInfo): C;
  readonly handlers: HandlerTable<S, C>;
  /**
   * The requests marked CS_LIB_FLOW_CONTROL_REQUIRED in the service's `lib_engine[]`: while the
   * node's totem queue is full (`node.cpg.flowControl`) the dispatcher refuses them with
   * CS_ERR_TRY_AGAIN (an MCAST silently), as corosync_sending_allowed does.
   */
  readonly flowControlled?: readonly (keyof HandlerTable<S, C>)[];
}

/** Answers CS_ERR_NOT_SUPPORTED with the response id the catalog gives this request's answer. */
export function notSupported<M extends MessageSpec>(conn: BaseConn, req: RequestView<M>): void {
  const res = findMessage(req.message.name, 'res');
  conn.sink.respond(encoders.cmap.res.error({}, { id: res?.id ?? 0, error: CS_ERR_NOT_SUPPORTED }));
}

/** A connection-private handle: a random non-zero check word over a counter, like qb's hdb handles. */
export function newHandleBase(): bigint {
  let check = 0;
  while (check === 0 || check === 0xffffffff) check = (Math.random() * 0x1_0000_0000) >>> 0;
  return BigInt(check) << 32n;
}
