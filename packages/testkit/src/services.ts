import { encoders } from '@corosync-ts/codec-wasm';
import {
  CS_OK, CS_ERR_INVALID_PARAM, CS_ERR_NOT_EXIST, CS_ERR_ACCESS, CS_ERR_BAD_HANDLE, CS_ERR_NO_SECTIONS,
  CS_ERR_BUSY, CS_ERR_EXIST, CS_ERR_NOT_SUPPORTED, CS_ERR_NO_MEMORY, CS_ERR_TRY_AGAIN,
  CS_TRACK_CURRENT, CS_TRACK_CHANGES, CS_TRACK_CHANGES_ONLY, CMAP_TRACK_PREFIX, CMAP_TRACK_ADD, CMAP_TRACK_DELETE,
  CmapValueType as T,
} from '@corosync-ts/types';
import { CmapStore, isReadOnlyKey, type CmapChange, type CmapTrack } from './cmap-store.js';
import type { NodeListener, SimNode } from './cluster.js';
import type { RingId } from './votequorum.js';
import { CfgServiceConn } from './cfg/service.js';
import { CpgServiceConn } from './cpg/service.js';
import { RequestView } from './wire.js';

export type ServiceName = 'cmap' | 'quorum' | 'votequorum' | 'cfg' | 'cpg';

/** Where a service connection sends its frames (an ipc server connection, or a test). */
export interface FrameSink {
  respond(frame: Uint8Array): void;
  sendEvent(frame: Uint8Array): void;
  /** Largest frame the client accepts (default 1 MiB, what the corosync libraries ask for). */
  readonly maxMessageSize?: number;
}

export interface ClientInfo {
  pid: number;
  uid: number;
  gid: number;
  /** Shown as stats.ipcs.service<id>.<pid>.<conn>.procname (the daemon reads /proc/<pid>/comm). */
  procname?: string;
}

/** One client connection to one service of one node: request frame in, frames out. */
export interface ServiceConnection {
  readonly service: ServiceName;
  /** Handles one request; always produces exactly one response (QDEVICE_REGISTER may answer later). */
  handle(frame: Uint8Array): void;
  /** lib_exit_fn: drops iterators, tracks and trackers. Idempotent. */
  close(): void;
}

const LIB_ENGINE_COUNT: Record<ServiceName, number> = { cmap: 10, quorum: 5, votequorum: 10, cfg: 12, cpg: 13 };
const SERVICE_ID: Record<ServiceName, number> = { cmap: 0, cfg: 1, cpg: 2, quorum: 3, votequorum: 5 };
const MAX_RESPONSE = 1024 * 1024;

const KNET_HANDLE_KEYS = [
  'rx_compress_time_ave', 'rx_compress_time_max', 'rx_compress_time_min', 'rx_compressed_original_bytes',
  'rx_compressed_packets', 'rx_compressed_size_bytes', 'rx_crypt_packets', 'rx_crypt_time_ave', 'rx_crypt_time_max',
  'rx_crypt_time_min', 'tx_compress_time_ave', 'tx_compress_time_max', 'tx_compress_time_min',
  'tx_compressed_original_bytes', 'tx_compressed_packets', 'tx_compressed_size_bytes', 'tx_crypt_byte_overhead',
  'tx_crypt_packets', 'tx_crypt_time_ave', 'tx_crypt_time_max', 'tx_crypt_time_min', 'tx_uncompressed_packets',
];
const KNET_LINK_KEYS: [string, number][] = [
  ['connected', T.UINT8], ['down_count', T.UINT32], ['enabled', T.UINT8], ['latency_ave', T.UINT32],
  ['latency_max', T.UINT32], ['latency_min', T.UINT32], ['latency_samples', T.UINT32], ['mtu', T.UINT32],
  ...['rx_data', 'rx_ping', 'rx_pmtu', 'rx_pong', 'rx_total'].flatMap((p): [string, number][] => [[`${p}_bytes`, T.UINT64], [`${p}_packets`, T.UINT64]]),
  ['rx_total_retries', T.UINT64],
  ...['tx_data', 'tx_ping', 'tx_pmtu', 'tx_pong'].flatMap((p): [string, number][] => [
    [`${p}_bytes`, T.UINT64], [`${p}_errors`, T.UINT32], [`${p}_packets`, T.UINT64], [`${p}_retries`, T.UINT32],
  ]),
  ['tx_total_bytes', T.UINT64], ['tx_total_errors', T.UINT64], ['tx_total_packets', T.UINT64], ['up_count', T.UINT32],
];
const SRP_KEYS: [string, number][] = [
  ['avg_backlog_calc', T.UINT32], ['avg_token_workload', T.UINT32], ['commit_entered', T.UINT64],
  ['commit_token_lost', T.UINT64], ['consensus_timeouts', T.UINT64], ['continuous_gather', T.UINT32],
  ['continuous_sendmsg_failures', T.UINT32], ['firewall_enabled_or_nic_failure', T.UINT8], ['gather_entered', T.UINT64],
  ['gather_token_lost', T.UINT64], ['mcast_retx', T.UINT64], ['mcast_rx', T.UINT64], ['mcast_tx', T.UINT64],
  ['memb_commit_token_rx', T.UINT64], ['memb_commit_token_tx', T.UINT64], ['memb_join_rx', T.UINT64],
  ['memb_join_tx', T.UINT64], ['memb_merge_detect_rx', T.UINT64], ['memb_merge_detect_tx', T.UINT64],
  ['mtt_rx_token', T.UINT32], ['operational_entered', T.UINT64], ['operational_token_lost', T.UINT64],
  ['orf_token_rx', T.UINT64], ['orf_token_tx', T.UINT64], ['recovery_entered', T.UINT64], ['recovery_token_lost', T.UINT64],
  ['rx_msg_dropped', T.UINT64], ['time_since_token_last_received', T.UINT64], ['token_hold_cancel_rx', T.UINT64],
  ['token_hold_cancel_tx', T.UINT64],
];

const getReplyCache = new WeakMap<object, { cap: number; frame: Uint8Array }>();

const bare = (id: number, error: number) => encoders.cmap.res.error({}, { id, error });

interface ConnStats {
  info: ClientInfo;
  service: ServiceName;
  ptr: bigint;
  requests: bigint;
  responses: bigint;
  dispatched: bigint;
  invalid: bigint;
}

/**
 * The per-node daemon side: the state corosync keeps per node across connections (quorum and
 * votequorum tracker lists, the pending qdevice registration, ipc statistics), and the factory
 * of per-connection service handlers.
 */
export class NodeServices implements NodeListener {
  private readonly quorumTrackers = new Map<QuorumConn, number>();
  private readonly vqTrackers: VotequorumConn[] = [];
  private qdeviceRegConn: VotequorumConn | undefined;
  private readonly conns = new Set<ConnStats>();
  private closedCount = 0n;
  private nextPtr = 0x55d0c0de0000n;
  /** Connections to close when the node goes down. */
  private readonly open = new Set<ServiceConnection & { kill(): void }>();

  /** What cfg RELOAD_CONFIG rereads (default: the cluster's own corosync.conf text). */
  private readonly configSource: () => string;

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
      info, service, ptr: (this.nextPtr += 0x40n), requests: 0n, responses: 0n, dispatched: 0n, invalid: 0n,
    };
    const counted: FrameSink = {
      maxMessageSize: sink.maxMessageSize ?? MAX_RESPONSE,
      respond: (f) => { stats.responses++; sink.respond(f); },
      sendEvent: (f) => { stats.dispatched++; sink.sendEvent(f); },
    };
    let conn: Pick<BaseConn, 'handle' | 'close' | 'repeat'>;
    switch (service) {
      case 'cmap': conn = new CmapConn(this, counted); break;
      case 'quorum': conn = new QuorumConn(this, counted); break;
      case 'votequorum': conn = new VotequorumConn(this, counted); break;
      case 'cfg': conn = withoutRepeat(new CfgServiceConn(this.node, counted, this.configSource)); break;
      case 'cpg': conn = withoutRepeat(new CpgServiceConn(this.node.cpg, counted, info.uid)); break;
    }
    this.conns.add(stats);
    const wrapped = {
      service,
      handle: (frame: Uint8Array) => {
        stats.requests++;
        if (conn.repeat(frame)) return;
        const req = new RequestView(frame);
        if (frame.length < 16 || req.id < 0 || req.id >= LIB_ENGINE_COUNT[service]) {
          stats.invalid++;
          counted.respond(bare(0, CS_ERR_INVALID_PARAM));
          return;
        }
        conn.handle(req);
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
    for (const [c] of this.quorumTrackers) if (c.model === 1) c.sendNodelist(members, joined, left, ring);
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
    c?.sink.respond(encoders.votequorum.res.status({}, { error }));
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
    const s = new CmapStore();
    s.set('stats.ipcs.global.active', T.UINT64, BigInt(this.conns.size));
    s.set('stats.ipcs.global.closed', T.UINT64, this.closedCount);
    for (const c of this.conns) {
      const p = `stats.ipcs.service${SERVICE_ID[c.service]}.${c.info.pid}.0x${c.ptr.toString(16)}`;
      s.set(`${p}.dispatched`, T.UINT64, c.dispatched);
      s.set(`${p}.flow_control`, T.UINT32, 0);
      s.set(`${p}.flow_control_count`, T.UINT64, 0n);
      s.set(`${p}.invalid_request`, T.UINT64, c.invalid);
      s.set(`${p}.overload`, T.UINT64, 0n);
      s.set(`${p}.procname`, T.STRING, (c.info.procname ?? '').slice(0, 15));
      s.set(`${p}.queued`, T.UINT32, 0);
      s.set(`${p}.queueing`, T.INT32, 0);
      s.set(`${p}.recv_retries`, T.UINT64, 0n);
      s.set(`${p}.requests`, T.UINT64, c.requests);
      s.set(`${p}.responses`, T.UINT64, c.responses);
      s.set(`${p}.send_retries`, T.UINT64, 0n);
      s.set(`${p}.sent`, T.UINT32, 0);
    }
    const U64MAX = 0xffff_ffff_ffff_ffffn;
    for (const k of KNET_HANDLE_KEYS) s.set(`stats.knet.handle.${k}`, T.UINT64, k.endsWith('_time_min') ? U64MAX : 0n);
    const me = this.node;
    for (const peer of me.clusterNodes()) {
      const up = peer.id === me.id || (me.running && me.members.includes(peer.id));
      peer.addrs.forEach((_, link) => {
        const p = `stats.knet.node${peer.id}.link${link}`;
        for (const [k, t] of KNET_LINK_KEYS) {
          let v: number | bigint = t === T.UINT64 ? 0n : 0;
          if (k === 'connected') v = up ? 1 : 0;
          else if (k === 'enabled') v = 1;
          else if (k === 'latency_min') v = 0xffffffff;
          else if (k === 'mtu') v = peer.id === me.id ? 65535 : up ? 1397 : 522;
          else if (k === 'up_count') v = up ? 1 : 0;
          s.set(`${p}.${k}`, t, v);
        }
      });
    }
    s.set('stats.pg.msg_queue_avail', T.UINT32, 0);
    s.set('stats.pg.msg_reserved', T.UINT32, 0);
    for (const [k, t] of SRP_KEYS) s.set(`stats.srp.${k}`, t, t === T.UINT64 ? 0n : 0);
    return s;
  }
}

/** Cuts a string to at most `max` UTF-8 bytes (a char[N] field holds N-1 bytes and its NUL). */
function clampUtf8(s: string, max: number): string {
  const b = new TextEncoder().encode(s);
  if (b.length <= max) return s;
  return new TextDecoder().decode(b.subarray(0, max)).replace(/\uFFFD+$/, '');
}

function newHandle(): bigint {
  let check = 0;
  while (check === 0 || check === 0xffffffff) check = (Math.random() * 0x1_0000_0000) >>> 0;
  return BigInt(check) << 32n;
}

abstract class BaseConn {
  constructor(readonly node: NodeServices, readonly sink: FrameSink) {}
  abstract handle(req: RequestView): void;
  /** Answers a request identical to the previous one when nothing changed since; false otherwise. */
  repeat(frame: Uint8Array): boolean {
    void frame;
    return false;
  }
  abstract close(): void;
  get sim(): SimNode {
    return this.node.node;
  }
}

// ------------------------------------------------------------------------------------- CMAP

interface Iter { next(): string | undefined; map: CmapStore | 'stats' }

class CmapConn extends BaseConn {
  private map = 0;
  private readonly iters = new Map<bigint, Iter>();
  private readonly tracks = new Map<bigint, { track: CmapTrack | undefined; cookie: bigint }>();
  private readonly handleBase = newHandle();
  private nextIndex = 0n;
  private closed = false;

  private handleNew(): bigint {
    return this.handleBase | (this.nextIndex++ & 0xffffffffn);
  }

  private store(): CmapStore {
    return this.map === 1 ? this.node.statsMap() : this.sim.cmap;
  }

  // Clients poll the same key over and over (cmapctl -g loops, pacemaker): the same GET bytes
  // against an unchanged map get the same reply, without decoding anything.
  private lastGet: { req: Uint8Array; version: number; cmap: CmapStore; res: Uint8Array } | undefined;

  override repeat(frame: Uint8Array): boolean {
    const last = this.lastGet;
    if (last === undefined || this.map !== 0 || frame.length !== last.req.length) return false;
    const cmap = this.sim.cmap;
    if (cmap !== last.cmap || cmap.version !== last.version) return false;
    const a = last.req;
    for (let i = frame.length - 1; i >= 0; i--) if (frame[i] !== a[i]) return false;
    this.sink.respond(last.res);
    return true;
  }

  handle(req: RequestView): void {
    const r = this.sink;
    const key = () => req.cstr(24, 256);
    switch (req.id) {
      case 0: { // SET
        const k = key();
        const len = req.u64(280);
        const type = req.u8(288);
        let err: number;
        if (isReadOnlyKey(k)) err = CS_ERR_ACCESS;
        else if (len > 16384n) err = CS_ERR_INVALID_PARAM;
        else if (this.map === 1) err = statsSet(k);
        else err = this.sim.cmap.setRaw(k, type, req.bytesAt(296, Number(len)));
        return r.respond(encoders.cmap.res.set({}, { error: err }));
      }
      case 1: { // DELETE
        const k = key();
        const err = isReadOnlyKey(k) ? CS_ERR_ACCESS : this.map === 1 ? CS_ERR_NOT_SUPPORTED : this.sim.cmap.delete(k);
        return r.respond(encoders.cmap.res.delete({}, { error: err }));
      }
      case 2: { // GET
        const capacity = req.u64(280);
        const item = this.store().get(key());
        const fail = (error: number) => r.respond(encoders.cmap.res.get({ valueLen: 0n, type: 0, value: new Uint8Array(0) }, { error }));
        // corosync would build a reply the transport can not carry and the client would wait forever
        if (40n + capacity > BigInt(r.maxMessageSize ?? MAX_RESPONSE)) return fail(CS_ERR_NO_MEMORY);
        if (item === undefined) return fail(CS_ERR_NOT_EXIST);
        const actual = BigInt(item.value.length);
        if (capacity > 0n && capacity < actual) return fail(CS_ERR_INVALID_PARAM);
        // items are replaced, never mutated, on a change: a reply built for one stays valid
        const cap = Number(capacity);
        const cached = getReplyCache.get(item);
        if (cached !== undefined && cached.cap === cap) {
          if (this.map === 0) this.lastGet = { req: req.bytes.slice(), version: this.sim.cmap.version, cmap: this.sim.cmap, res: cached.frame };
          return r.respond(cached.frame);
        }
        const frame = encoders.cmap.res.get(
          { valueLen: actual, type: item.type, value: capacity > 0n ? item.value : new Uint8Array(0) },
          { size: 40 + cap },
        );
        getReplyCache.set(item, { cap, frame });
        if (this.map === 0) this.lastGet = { req: req.bytes.slice(), version: this.sim.cmap.version, cmap: this.sim.cmap, res: frame };
        return r.respond(frame);
      }
      case 3: { // ADJUST_INT
        const k = key();
        const err = isReadOnlyKey(k) ? CS_ERR_ACCESS : this.map === 1 ? CS_ERR_NOT_SUPPORTED : this.sim.cmap.adjustInt(k, req.i32(280));
        return r.respond(encoders.cmap.res.adjustInt({}, { error: err }));
      }
      case 4: { // ITER_INIT
        const prefix = req.u16len(16) === 0 ? '' : key();
        const map = this.map === 1 ? 'stats' : this.sim.cmap;
        const source = map === 'stats' ? this.node.statsMap() : map;
        const h = this.handleNew();
        this.iters.set(h, { next: source.iterate(prefix).next, map });
        return r.respond(encoders.cmap.res.iterInit({ iterHandle: h }));
      }
      case 5: { // ITER_NEXT
        const it = this.iters.get(req.u64(16));
        const empty = { keyName: '', valueLen: 0n, type: 0 };
        if (it === undefined) return r.respond(encoders.cmap.res.iterNext(empty, { error: CS_ERR_BAD_HANDLE }));
        for (;;) {
          const k = it.next();
          if (k === undefined) return r.respond(encoders.cmap.res.iterNext(empty, { error: CS_ERR_NO_SECTIONS }));
          const item = it.map === 'stats' ? this.node.statsMap().get(k) : it.map.get(k);
          if (item === undefined) continue;
          return r.respond(encoders.cmap.res.iterNext({ keyName: k, valueLen: BigInt(item.value.length), type: item.type }));
        }
      }
      case 6: { // ITER_FINALIZE
        const ok = this.iters.delete(req.u64(16));
        return r.respond(encoders.cmap.res.iterFinalize({}, { error: ok ? CS_OK : CS_ERR_BAD_HANDLE }));
      }
      case 7: { // TRACK_ADD
        const k = req.u16len(16) === 0 ? '' : key();
        const flags = req.i32(280);
        const cookie = req.u64(288);
        const fail = (error: number) => r.respond(encoders.cmap.res.trackAdd({ trackHandle: 0n }, { error }));
        if (flags & ~15) return fail(CS_ERR_INVALID_PARAM);
        if (this.map === 1 && flags & CMAP_TRACK_PREFIX && (flags & (CMAP_TRACK_ADD | CMAP_TRACK_DELETE)) !== (CMAP_TRACK_ADD | CMAP_TRACK_DELETE)) {
          return fail(CS_ERR_NOT_SUPPORTED);
        }
        const h = this.handleNew();
        // The stats map is rebuilt on demand; its trackers are accepted but never fire here.
        const track = this.map === 1 ? undefined : this.sim.cmap.track(k, flags, (c) => this.notify(cookie, c));
        this.tracks.set(h, { track, cookie });
        return r.respond(encoders.cmap.res.trackAdd({ trackHandle: h }));
      }
      case 8: { // TRACK_DELETE
        const h = req.u64(16);
        const t = this.tracks.get(h);
        if (t === undefined) return r.respond(encoders.cmap.res.trackDelete({ trackInstHandle: 0n }, { error: CS_ERR_BAD_HANDLE }));
        if (t.track) this.sim.cmap.untrack(t.track);
        this.tracks.delete(h);
        return r.respond(encoders.cmap.res.trackDelete({ trackInstHandle: t.cookie }));
      }
      case 9: { // SET_CURRENT_MAP
        const m = req.i32(16);
        let err: number = CS_OK;
        if (this.iters.size || this.tracks.size) err = CS_ERR_BUSY;
        else if (m === 0 || m === 1) this.map = m;
        else err = CS_ERR_NOT_EXIST;
        return r.respond(encoders.cmap.res.setCurrentMap({}, { error: err }));
      }
    }
  }

  private notify(cookie: bigint, c: CmapChange): void {
    if (this.closed) return;
    this.sink.sendEvent(encoders.cmap.evt.notify({
      trackInstHandle: cookie, keyName: c.key, event: c.event,
      newValueType: c.newType, oldValueType: c.oldType, newValue: c.newValue, oldValue: c.oldValue,
    }));
  }

  close(): void {
    this.closed = true;
    for (const t of this.tracks.values()) if (t.track) this.sim.cmap.untrack(t.track);
    this.tracks.clear();
    this.iters.clear();
  }
}

/** stats map SET: only stats.clear.{knet,ipc,totem,schedmiss,all} are accepted (the mock keeps no counters to clear). */
function statsSet(key: string): number {
  if (['stats.clear.knet', 'stats.clear.ipc', 'stats.clear.totem', 'stats.clear.schedmiss', 'stats.clear.all'].includes(key)) return CS_OK;
  if (key.startsWith('stats.clear.')) return CS_ERR_NOT_SUPPORTED;
  return CS_ERR_ACCESS;
}

// ----------------------------------------------------------------------------------- QUORUM

class QuorumConn extends BaseConn {
  model = 0;

  handle(req: RequestView): void {
    const r = this.sink;
    const sim = this.sim;
    switch (req.id) {
      case 0:
        return r.respond(encoders.quorum.res.getquorate({ quorate: sim.quorate ? 1 : 0 }));
      case 1: {
        const flags = req.u32(16);
        if (flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
          if (this.model === 1) this.sendNodelist(sim.members, [], [], sim.ring);
          this.sendQuorum();
        }
        const ok = this.node.trackQuorum(this, flags);
        return r.respond(encoders.quorum.res.trackstart({}, { error: ok ? CS_OK : CS_ERR_EXIST }));
      }
      case 2:
        // corosync answers CS_OK whether or not the connection was tracking
        this.node.untrackQuorum(this);
        return r.respond(encoders.quorum.res.trackstop({}));
      case 3:
        return r.respond(encoders.quorum.res.gettype({ quorumType: sim.quorumType }));
      case 4: {
        const model = req.u32(16);
        const ok = model === 0 || model === 1;
        if (ok) this.model = model;
        return r.respond(encoders.quorum.res.modelGettype({ quorumType: sim.quorumType }, { error: ok ? CS_OK : CS_ERR_INVALID_PARAM }));
      }
    }
  }

  sendQuorum(): void {
    const sim = this.sim;
    if (this.model === 1) {
      this.sink.sendEvent(encoders.quorum.evt.v1QuorumNotification({
        quorate: sim.quorate ? 1 : 0, ringId: { nodeid: sim.quorumRing.nodeid, seq: sim.quorumRing.seq }, viewList: sim.viewList,
      }));
    } else {
      this.sink.sendEvent(encoders.quorum.evt.notification({
        quorate: sim.quorate ? 1 : 0, ringSeq: sim.quorumRing.seq, viewList: sim.viewList,
      }));
    }
  }

  sendNodelist(members: readonly number[], joined: readonly number[], left: readonly number[], ring: RingId): void {
    this.sink.sendEvent(encoders.quorum.evt.v1NodelistNotification({
      ringId: { nodeid: ring.nodeid, seq: ring.seq }, memberList: [...members], joinedList: [...joined], leftList: [...left],
    }));
  }

  close(): void {
    this.node.untrackQuorum(this);
  }
}

// ------------------------------------------------------------------------------- VOTEQUORUM

class VotequorumConn extends BaseConn {
  context = 0n;

  handle(req: RequestView): void {
    const r = this.sink;
    const vq = this.sim.vq;
    const status = (error: number) => r.respond(encoders.votequorum.res.status({}, { error }));
    if (vq === undefined) return status(CS_ERR_NOT_EXIST);
    const cluster = () => this.sim.kick();
    switch (req.id) {
      case 0: {
        const { error, info } = vq.getinfo(req.u32(16));
        return r.respond(encoders.votequorum.res.getinfo({
          nodeid: info.nodeid, state: info.state, votes: info.votes, expectedVotes: info.expectedVotes,
          highestExpected: info.highestExpected, totalVotes: info.totalVotes, quorum: info.quorum, flags: info.flags,
          qdeviceVotes: info.qdeviceVotes, qdeviceName: clampUtf8(info.qdeviceName, 254),
        }, { error }));
      }
      case 1: {
        const err = vq.setExpected(req.u32(16));
        status(err);
        return cluster();
      }
      case 2: {
        const err = vq.setVotes(req.u32(20), req.u32(16));
        status(err);
        return cluster();
      }
      case 3: {
        const ctx = req.u64(16);
        const flags = req.u32(24);
        if (flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
          this.sendNodelist(ctx);
          this.sendQuorum(ctx);
        }
        if (this.node.isVqTracker(this)) return status(CS_ERR_EXIST);
        if (flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY)) {
          this.context = ctx;
          this.node.trackVq(this);
        }
        return status(CS_OK);
      }
      case 4: {
        if (!this.node.isVqTracker(this)) return status(CS_ERR_NOT_EXIST);
        this.node.untrackVq(this);
        return status(CS_OK);
      }
      case 5: {
        if (this.node.registeringQdevice !== undefined && vq.qdeviceRegistrationPending) return status(CS_ERR_TRY_AGAIN);
        const name = req.cstr(16, 254);
        this.node.registeringQdevice = this;
        const err = vq.qdeviceRegister(name);
        if (err !== undefined) {
          this.node.registeringQdevice = undefined;
          return status(err);
        }
        // answered by NodeServices.qdeviceRegisterDone once our own message comes back
        return cluster();
      }
      case 6: {
        status(vq.qdeviceUnregister(req.cstr(16, 254)));
        return cluster();
      }
      case 7: {
        status(vq.qdeviceUpdate(req.cstr(16, 254), req.cstr(271, 254)));
        return cluster();
      }
      case 8: {
        status(vq.qdevicePoll(req.cstr(16, 254), req.i32(272) !== 0, { nodeid: req.u32(280), seq: req.u64(288) }));
        return cluster();
      }
      case 9: {
        status(vq.qdeviceMasterWinsSet(req.cstr(16, 254), req.u32(272) !== 0));
        return cluster();
      }
    }
  }

  sendQuorum(context: bigint): void {
    const vq = this.sim.vq;
    if (vq === undefined) return;
    this.sink.sendEvent(encoders.votequorum.evt.quorumNotification({
      quorate: vq.quorate ? 1 : 0, context, nodeList: vq.notificationNodes(),
    }));
  }

  sendNodelist(context: bigint): void {
    const vq = this.sim.vq;
    if (vq === undefined) return;
    this.sink.sendEvent(encoders.votequorum.evt.nodelistNotification({
      context, ringId: { nodeid: vq.ringId.nodeid, seq: vq.ringId.seq }, nodeList: [...vq.members],
    }));
  }

  sendExpected(context: bigint): void {
    const vq = this.sim.vq;
    if (vq === undefined) return;
    this.sink.sendEvent(encoders.votequorum.evt.expectedvotesNotification({ context, expectedVotes: vq.us.expectedVotes }));
  }

  close(): void {
    this.node.untrackVq(this);
    if (this.node.registeringQdevice === this) {
      this.node.registeringQdevice = undefined;
      this.sim.vq?.qdeviceRegisterAbandoned();
    }
  }
}

function withoutRepeat(c: { handle(req: RequestView): void; close(): void }): Pick<BaseConn, 'handle' | 'close' | 'repeat'> {
  return { handle: (req) => c.handle(req), close: () => c.close(), repeat: () => false };
}
