import { CS_DISPATCH_BLOCKING, CS_ERR_NAME_TOO_LONG, CS_ERR_NOT_SUPPORTED, CS_MAX_NAME_LENGTH, CsError } from '@corosync-ts/types';
import type { FieldsOf, KnetLinkStatus, SpecOf } from '@corosync-ts/codec-wasm';
import { byteLength, checkCount, checkU32, invalidParam, toCsError } from './errors.js';
import { checkHandleOptions, checkKeys } from './options.js';
import { Session, freeFunctions, type CallOptions, type HandleOptions, type IpcClientLike } from './session.js';
import type { EventStream } from './stream.js';
import { cfgReq, parseCfgRingStatus, parseTransportOnly } from './cfg-wire.js';
import { decodeEvent } from './wire.js';

export type { KnetLinkStatus };

/** corosync_cfg_shutdown_flags_t. */
export const COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST = 0;
export const COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS = 1;
export const COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE = 2;
/** corosync_cfg_shutdown_reply_flags_t. */
export const COROSYNC_CFG_SHUTDOWN_FLAG_NO = 0;
export const COROSYNC_CFG_SHUTDOWN_FLAG_YES = 1;
/** corosync_cfg_node_status_version_t. */
export const CFG_NODE_STATUS_V1 = 1;
export const CFG_MAX_LINKS = 8;
export const CFG_MAX_HOST_LEN = 256;

const AF_INET = 2;
const AF_INET6 = 10;

/** corosync_cfg_shutdown_callback_t arguments. */
export interface CfgShutdown {
  handle: CfgHandle;
  /** The requester's COROSYNC_CFG_SHUTDOWN_FLAG_*. */
  flags: number;
}
/** An item of `events()`: tagged as cpg's, quorum's and votequorum's are (cfg has one kind). */
export type CfgEvent = { type: 'shutdown' } & CfgShutdown;
/** corosync_cfg_callbacks_t. */
export interface CfgCallbacks {
  shutdownCallback?: ((s: CfgShutdown) => void) | null;
}

/**
 * struct corosync_cfg_node_status_v1, as the catalog lays it out: `linkStatus` has all
 * CFG_MAX_LINKS slots, unused ones zero.
 */
export type CfgNodeStatus = FieldsOf<SpecOf<'cfg.nodeStatusGet', 'res'>>;

/** corosync_cfg_node_address_t: a sockaddr_in (addressLength 16) or sockaddr_in6 (28). */
export interface CfgNodeAddress {
  addressLength: number;
  /** AF_INET (2), AF_INET6 (10), or 0 for an all-zero address, as libcfg sets sin_family. */
  family: number;
  /** The address as inet_ntop prints it. */
  address: string;
}

/** What a reconnect hands back: whether shutdown tracking was started again. */
export interface CfgSnapshot {
  tracking: boolean;
}

function ipv6Text(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // inet_ntop: the longest run of two or more zero groups (the first of equals) becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** A cfg connection (corosync_cfg_handle_t). */
export class CfgHandle extends Session<CfgSnapshot> {
  protected readonly service = 'cfg' as const;
  readonly #cb: CfgCallbacks;
  #tracking = false;
  readonly #streams = new Set<EventStream<CfgEvent>>();
  /**
   * A try_shutdown in flight: corosync holds its answer until the votes are in and answers later
   * requests first, so the handle holds them until then (libcfg is synchronous: it never has
   * another request out at that time). Each call waits for it in its own frame, right before it
   * sends: whichever waiter resumes first may start the next try_shutdown.
   */
  #shutdownPending: Promise<unknown> | undefined;

  private constructor(cb: CfgCallbacks, opts: HandleOptions | undefined) {
    super(opts);
    this.#cb = { ...cb };
  }

  /** corosync_cfg_initialize(): connects; sends nothing. */
  static async initialize(callbacks?: CfgCallbacks | null, opts?: HandleOptions): Promise<CfgHandle> {
    checkKeys('cfg.initialize', 'callbacks', callbacks, ['shutdownCallback']);
    checkHandleOptions('cfg.initialize', opts);
    const h = new CfgHandle({ ...callbacks }, opts);
    await h.open(opts?.signal);
    return h;
  }

  /**
   * corosync_cfg_ring_status_get(): per knet link of this node, its name ("<link> <ip>") and a
   * status string. Like libcfg it ignores the answer's header error (only transport errors count).
   */
  async ringStatusGet(opts?: CallOptions): Promise<{ interfaceNames: string[]; interfaceStatus: string[] }> {
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    const f = await this.call('cfg.ringStatusGet', cfgReq.ringStatusGet(), opts, parseCfgRingStatus);
    return { interfaceNames: f.interfaceName, interfaceStatus: f.interfaceStatus };
  }

  /**
   * corosync_cfg_node_status_get(): CFG_NODE_STATUS_V1 only (anything else: 7 locally);
   * CS_ERR_FAILED_OPERATION for a node knet does not know (node 0 included).
   */
  async nodeStatusGet(nodeid: number, version: number = CFG_NODE_STATUS_V1, opts?: CallOptions): Promise<CfgNodeStatus> {
    const op = `cfg.nodeStatusGet(${String(nodeid)})`;
    // libcfg checks the version before the handle: 7 even on a finalized one
    checkU32(op, 'nodeid', nodeid);
    if (version !== CFG_NODE_STATUS_V1) throw invalidParam(op, `unknown node status version ${String(version)}`);
    this.assertOpen(op);
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    const f = (await this.call(op, cfgReq.nodeStatusGet(nodeid, version), opts)).fields;
    if (f.version !== version) throw new CsError(CS_ERR_NOT_SUPPORTED, `answer of version ${f.version}`, { operation: op });
    return { ...f };
  }

  /**
   * corosync_cfg_kill_node(): the node (this one included) exits once the request is delivered.
   * CS_ERR_NOT_EXIST for a node that is not a joined member; a reason of 256 bytes or more: 13.
   */
  async killNode(nodeid: number, reason: string, opts?: CallOptions): Promise<void> {
    const op = `cfg.killNode(${String(nodeid)})`;
    checkU32(op, 'nodeid', nodeid);
    if (typeof reason !== 'string') throw invalidParam(op, 'reason must be a string');
    const cut = reason.indexOf('\0');
    const text = cut >= 0 ? reason.slice(0, cut) : reason;
    // libcfg checks the reason before the handle: 13 even on a finalized one
    if (byteLength(text) >= CS_MAX_NAME_LENGTH) {
      throw new CsError(CS_ERR_NAME_TOO_LONG, `reason is ${byteLength(text)} bytes, at most ${CS_MAX_NAME_LENGTH - 1}`, { operation: op });
    }
    this.assertOpen(op);
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    await this.call(op, cfgReq.killNode(nodeid, text), opts);
  }

  /** corosync_cfg_trackstart(): this connection is asked (shutdownCallback) before a shutdown. */
  async trackstart(flags = 0, opts?: CallOptions): Promise<void> {
    const op = 'cfg.trackstart';
    this.assertOpen(op);
    if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xff) {
      throw invalidParam(op, `flags must be an integer in 0..255, got ${String(flags)}`);
    }
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    await this.call(op, cfgReq.trackstart(flags), opts);
    this.#tracking = true;
  }

  /** corosync_cfg_trackstop(): while a shutdown is being decided, leaving counts as a YES. */
  async trackstop(opts?: CallOptions): Promise<void> {
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    await this.call('cfg.trackstop', cfgReq.trackstop(), opts);
    this.#tracking = false;
  }

  /**
   * corosync_cfg_try_shutdown(): REQUEST asks every tracker (any NO, or silence until
   * cfg.shutdown_timeout, gives CS_ERR_BUSY), REGARDLESS asks and shuts down anyway, IMMEDIATE
   * asks nobody. CS_ERR_EXIST while another request is being decided. On CS_OK corosync exits.
   * The answer comes once the votes are in (no deadline unless the call or handle sets one).
   */
  async tryShutdown(flags: number, opts?: CallOptions): Promise<void> {
    const op = 'cfg.tryShutdown';
    this.assertOpen(op);
    checkU32(op, 'flags', flags);
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    const p = this.call(op, cfgReq.tryShutdown(flags), opts);
    this.#shutdownPending = p;
    try {
      await p;
    } finally {
      if (this.#shutdownPending === p) this.#shutdownPending = undefined;
    }
  }

  /**
   * corosync_cfg_replyto_shutdown(): COROSYNC_CFG_SHUTDOWN_FLAG_YES or _NO. Like libcfg it reports
   * only the transport result: the daemon's CS_ERR_ACCESS (no shutdown being decided) is not seen.
   */
  async replytoShutdown(response: number, opts?: CallOptions): Promise<void> {
    const op = 'cfg.replytoShutdown';
    this.assertOpen(op);
    checkU32(op, 'response', response);
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    await this.call(op, cfgReq.replytoShutdown(response), opts, parseTransportOnly);
  }

  /**
   * corosync_cfg_get_node_addrs(): the configured address of the node on each of its links
   * (node 0 = this one), at most `maxAddrs`; CS_ERR_NOT_EXIST for a node without any. C's
   * `num_addrs` (the count of all of them, also above `max_addrs`) is the length without `maxAddrs`.
   */
  async getNodeAddrs(nodeid: number, maxAddrs = Infinity, opts?: CallOptions): Promise<CfgNodeAddress[]> {
    const op = `cfg.getNodeAddrs(${String(nodeid)})`;
    this.assertOpen(op);
    checkU32(op, 'nodeid', nodeid);
    // size_t in C; slice() would take a negative count from the end and NaN as 0.
    if (maxAddrs !== Infinity) checkCount(op, 'maxAddrs', maxAddrs);
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    const f = (await this.call(op, cfgReq.getNodeAddrs(nodeid), opts)).fields;
    const len = f.family === AF_INET ? 16 : f.family === AF_INET6 ? 28 : 0;
    return f.addrs.slice(0, maxAddrs).map((a) => {
      const zero = a.every((x) => x === 0);
      const family = len === 0 || zero ? 0 : f.family;
      const address = f.family === AF_INET6 ? ipv6Text(a) : `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
      return { addressLength: len, family, address };
    });
  }

  /** corosync_cfg_local_get(): this node's id. */
  async localGet(opts?: CallOptions): Promise<number> {
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    return (await this.call('cfg.localGet', cfgReq.localGet(), opts)).fields.localNodeid;
  }

  /** corosync_cfg_reload_config(): every node re-reads corosync.conf; 7 if it does not parse. */
  async reloadConfig(opts?: CallOptions): Promise<void> {
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    await this.call('cfg.reloadConfig', cfgReq.reloadConfig(), opts);
  }

  /** corosync_cfg_reopen_log_files(). */
  async reopenLogFiles(opts?: CallOptions): Promise<void> {
    while (this.#shutdownPending) await this.#shutdownPending.catch(() => {});
    await this.call('cfg.reopenLogFiles', cfgReq.reopenLogFiles(), opts);
  }

  /** The shutdown callbacks as an async iterator (alongside them); `return()` just stops listening. */
  events(): EventStream<CfgEvent> {
    return this.openStream('cfg.events', this.#streams);
  }

  protected dispatchFlags(flags: number): number {
    // libcfg does not validate the flags: anything unknown waits like CS_DISPATCH_BLOCKING.
    return Session.isDispatchFlag(flags) ? flags : CS_DISPATCH_BLOCKING;
  }

  protected deliver(frame: Uint8Array): void {
    let d;
    try {
      d = decodeEvent('cfg', frame);
    } catch (e) {
      throw toCsError(e, 'cfg.dispatch');
    }
    // The only cfg event; libcfg ignores its header error.
    const s: CfgShutdown = { handle: this, flags: d.fields.flags };
    if (this.#streams.size > 0) {
      const e: CfgEvent = { type: 'shutdown', ...s };
      for (const st of this.#streams) st.push(e);
    }
    this.#cb.shutdownCallback?.(s);
  }

  protected override onFinalize(): void {
    this.#streams.clear();
  }

  protected async restore(ipc: IpcClientLike): Promise<CfgSnapshot> {
    if (this.#tracking) await this.exchange('cfg.reconnect', ipc, cfgReq.trackstart(0));
    return { tracking: this.#tracking };
  }
}

/** libcfg: `const h = await cfg.initialize(); await cfg.localGet(h)`. */
export const cfg = freeFunctions<CfgHandle>()(
  { initialize: CfgHandle.initialize },
  [
    'finalize', 'fdGet', 'dispatch',
    'ringStatusGet', 'nodeStatusGet', 'killNode', 'trackstart', 'trackstop', 'tryShutdown', 'replytoShutdown',
    'getNodeAddrs', 'localGet', 'reloadConfig', 'reopenLogFiles', 'events',
  ] as const,
);
