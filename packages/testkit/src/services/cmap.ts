import { encoders } from '@corosync-ts/codec-wasm';
import {
  CS_OK, CS_ERR_INVALID_PARAM, CS_ERR_NOT_EXIST, CS_ERR_ACCESS, CS_ERR_BAD_HANDLE, CS_ERR_NO_SECTIONS,
  CS_ERR_BUSY, CS_ERR_NOT_SUPPORTED, CS_ERR_NO_MEMORY,
  CMAP_TRACK_PREFIX, CMAP_TRACK_ADD, CMAP_TRACK_DELETE, CMAP_TRACK_MODIFY, CMAP_MAP_DEFAULT, CMAP_MAP_STATS,
} from '@corosync-ts/types';
import type { CmapStore} from '../cmap-store.js';
import { isReadOnlyKey, type CmapChange, type CmapTrack } from '../cmap-store.js';
import { latin1OrUtf8 } from '../request.js';
import { BaseConn, MAX_RESPONSE, newHandleBase, type ServiceDef } from './connection.js';

const TRACK_FLAGS = CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX;
/** exec/cmap.c refuses a value above this many bytes. */
const CMAP_MAX_VALUE = 16384n;
/** A cmap.get response: its header and fixed fields, then the value. */
const GET_RES_FIXED = 40;

/**
 * Where an ITER_INIT request's prefix bytes sit (the mar_name_t value after the 16-byte header
 * and the name's 8-byte length), and how many there are: where a key name sits in SET, GET,
 * DELETE, ADJUST_INT and TRACK_ADD too.
 */
const NAME_AT = 24;
const NAME_MAX = 256;

/** `deferred`: the prefix is read at the first next() (see CmapConn.received). */
interface Iter { next(): string | undefined; close?(): void; map: CmapStore | 'stats'; deferred?: boolean }

const getReplyCache = new WeakMap<object, { cap: number; frame: Uint8Array }>();

export class CmapConn extends BaseConn {
  map = CMAP_MAP_DEFAULT;
  readonly iters = new Map<bigint, Iter>();
  readonly tracks = new Map<bigint, { track: CmapTrack | undefined; cookie: bigint }>();
  private readonly handleBase = newHandleBase();
  private nextIndex = 0n;
  private closed = false;
  /**
   * corosync's ITER_INIT keeps a pointer to the prefix in the request and qb's trie iterator
   * reads it at the first ITER_NEXT. Over the socket transport the request is the connection's
   * one receive buffer, which every later request rewrites from its start: the prefix read is
   * then the key name of the last request long enough to reach it (a NUL there first: no keys at
   * all). Over shm it is the request's chunk of the ring, which stays as it was. While an
   * iterator waits for its first next(), `recv` follows the buffer's bytes at NAME_AT.
   */
  private readonly socket: boolean;
  private recv: Uint8Array | undefined;
  private deferred = 0;

  constructor(node: ConstructorParameters<typeof BaseConn>[0], sink: ConstructorParameters<typeof BaseConn>[1], transport: 'socket' | 'shm' | undefined) {
    super(node, sink);
    this.socket = transport !== 'shm';
  }

  override received(frame: Uint8Array): void {
    if (this.deferred > 0 && frame.length > NAME_AT) this.recv!.set(frame.subarray(NAME_AT, Math.min(frame.length, NAME_AT + NAME_MAX)));
  }

  /** An iterator over `source` whose prefix is read as corosync reads it (see `recv`). */
  iterator(req: Uint8Array, prefix: string | undefined, map: CmapStore | 'stats', source: CmapStore): Iter {
    // corosync passes no prefix at all (every key) for a zero length
    if (prefix === undefined || !this.socket) {
      const i = source.iterate(prefix ?? '');
      return { next: i.next, close: i.close, map };
    }
    (this.recv ??= new Uint8Array(NAME_MAX)).set(req.subarray(NAME_AT, Math.min(req.length, NAME_AT + NAME_MAX)));
    this.deferred++;
    // what the transport would answer by itself from now on passes by received()
    this.lastGet = undefined;
    this.sim.cmap.retire();
    const it: Iter = {
      map,
      deferred: true,
      next: () => {
        this.started(it);
        const b = this.recv!;
        const nul = b.indexOf(0);
        const p = latin1OrUtf8(nul >= 0 ? b.subarray(0, nul) : b);
        // qb's trie finds no node for an empty prefix (a NULL one would be the root)
        if (p === '') it.next = () => undefined;
        else ({ next: it.next, close: it.close } = source.iterate(p));
        return it.next();
      },
    };
    return it;
  }

  started(it: Iter): void {
    if (!it.deferred) return;
    it.deferred = false;
    this.deferred--;
  }

  handleNew(): bigint {
    return this.handleBase | (this.nextIndex++ & 0xffffffffn);
  }

  get stats(): boolean {
    return this.map === CMAP_MAP_STATS;
  }

  store(): CmapStore {
    return this.stats ? this.node.statsMap() : this.sim.cmap;
  }

  // Clients poll the same key over and over (cmapctl -g loops, pacemaker): the same GET bytes
  // against an unchanged map get the same reply, without reading anything.
  lastGet: { req: Uint8Array; words: Int32Array; version: number; cmap: CmapStore; res: Uint8Array } | undefined;

  override repeat(frame: Uint8Array): boolean {
    const last = this.lastGet;
    if (last === undefined || this.stats || frame.length !== last.req.length) return false;
    const cmap = this.sim.cmap;
    if (cmap !== last.cmap || cmap.version !== last.version) return false;
    if (!sameBytes(frame, last.req, last.words)) return false;
    this.sink.respond(last.res);
    // what stopped the transport's answer (another map's change, a stats read) left this one right
    this.arm(last.req, last.res);
    return true;
  }

  /** After `res` went out for `req`: the next identical GET may be answered by the transport. */
  remember(req: Uint8Array, res: Uint8Array): void {
    if (this.stats) return;
    this.arm(req, res);
    const copy = new Uint8Array((req.length + 3) & ~3);
    copy.set(req);
    this.lastGet = { req: copy.subarray(0, req.length), words: new Int32Array(copy.buffer), version: this.sim.cmap.version, cmap: this.sim.cmap, res };
  }

  private arm(req: Uint8Array, res: Uint8Array): void {
    if (this.sink.answerRepeats === undefined || this.deferred > 0) return;
    this.sim.cmap.markAnswered();
    this.sink.answerRepeats(req, res);
  }

  notify(cookie: bigint, c: CmapChange): void {
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
    for (const it of this.iters.values()) it.close?.();
    this.iters.clear();
    this.deferred = 0;
  }
}

/**
 * Whether `frame` holds the bytes of `req` (same length), whose words are `words`. A 280-byte GET
 * compared 4 bytes at a time costs a third of the byte loop (the ipc layer hands request frames
 * over at 8-byte aligned offsets); a frame at an odd offset takes the byte loop.
 */
function sameBytes(frame: Uint8Array, req: Uint8Array, words: Int32Array): boolean {
  const n = frame.length;
  if ((frame.byteOffset & 3) === 0 && (n & 3) === 0) {
    const w = new Int32Array(frame.buffer, frame.byteOffset, n >> 2);
    for (let i = w.length - 1; i >= 0; i--) if (w[i] !== words[i]) return false;
    return true;
  }
  for (let i = n - 1; i >= 0; i--) if (frame[i] !== req[i]) return false;
  return true;
}

/**
 * The map's map_is_key_ro: icmap's read-only keys, and for the stats map everything but the
 * stats.clear. keys (exec/stats.c stats_map_is_key_ro).
 */
function readOnly(c: CmapConn, key: string): boolean {
  return c.stats ? !key.startsWith('stats.clear.') : isReadOnlyKey(key);
}

/**
 * stats map SET of a stats.clear. key: accepted for a name starting with one of
 * stats.clear.{knet,ipc,totem,schedmiss,all} (exec/stats.c compares that many bytes; the mock
 * keeps no counters to clear).
 */
function statsSet(key: string): number {
  const clears = ['stats.clear.knet', 'stats.clear.ipc', 'stats.clear.totem', 'stats.clear.schedmiss', 'stats.clear.all'];
  return clears.some((p) => key.startsWith(p)) ? CS_OK : CS_ERR_NOT_SUPPORTED;
}

/** exec/cmap.c `cmap_lib_engine[]`. */
export const cmapService: ServiceDef<'cmap', CmapConn> = {
  service: 'cmap',
  open: (node, sink, info) => new CmapConn(node, sink, info?.transport),
  handlers: {
    set(c, req) {
      const k = req.str('keyName');
      const len = req.big('valueLen');
      let err: number;
      if (readOnly(c, k)) err = CS_ERR_ACCESS;
      // stats_map_set looks at the name alone
      else if (c.stats) err = statsSet(k);
      else if (len > CMAP_MAX_VALUE) err = CS_ERR_INVALID_PARAM;
      else err = c.sim.cmap.setRaw(k, req.num('type'), req.bytesOf('value'));
      c.sink.respond(encoders.cmap.res.set({}, { error: err }));
    },

    delete(c, req) {
      const k = req.str('keyName');
      const err = readOnly(c, k) ? CS_ERR_ACCESS : c.stats ? CS_ERR_NOT_SUPPORTED : c.sim.cmap.delete(k);
      c.sink.respond(encoders.cmap.res.delete({}, { error: err }));
    },

    get(c, req) {
      const r = c.sink;
      const capacity = req.big('valueLen');
      const item = c.store().get(req.str('keyName'));
      const fail = (error: number) => r.respond(encoders.cmap.res.get({ valueLen: 0n, type: 0, value: new Uint8Array(0) }, { error }));
      // corosync would build a reply no transport carries and the client would wait forever; one
      // merely over a small grant goes out as corosync sends it (see the sink in server.ts)
      if (BigInt(GET_RES_FIXED) + capacity > BigInt(Math.max(r.maxMessageSize ?? 0, MAX_RESPONSE))) return fail(CS_ERR_NO_MEMORY);
      if (item === undefined) return fail(CS_ERR_NOT_EXIST);
      const actual = BigInt(item.value.length);
      if (capacity > 0n && capacity < actual) return fail(CS_ERR_INVALID_PARAM);
      // items are replaced, never mutated, on a change: a reply built for one stays valid
      const cap = Number(capacity);
      const cached = getReplyCache.get(item);
      if (cached !== undefined && cached.cap === cap) {
        r.respond(cached.frame);
        c.remember(req.bytes, cached.frame);
        return;
      }
      const frame = encoders.cmap.res.get(
        { valueLen: actual, type: item.type, value: capacity > 0n ? item.value : new Uint8Array(0) },
        { size: GET_RES_FIXED + cap },
      );
      getReplyCache.set(item, { cap, frame });
      r.respond(frame);
      c.remember(req.bytes, frame);
    },

    adjustInt(c, req) {
      const k = req.str('keyName');
      const err = readOnly(c, k) ? CS_ERR_ACCESS : c.stats ? CS_ERR_NOT_SUPPORTED : c.sim.cmap.adjustInt(k, req.num('step'));
      c.sink.respond(encoders.cmap.res.adjustInt({}, { error: err }));
    },

    iterInit(c, req) {
      const prefix = req.nameLength('prefix') === 0 ? undefined : req.str('prefix');
      const map = c.stats ? 'stats' : c.sim.cmap;
      const source = map === 'stats' ? c.node.statsMap() : map;
      const h = c.handleNew();
      c.iters.set(h, c.iterator(req.bytes, prefix, map, source));
      c.sink.respond(encoders.cmap.res.iterInit({ iterHandle: h }));
    },

    iterNext(c, req) {
      const r = c.sink;
      const it = c.iters.get(req.big('iterHandle'));
      const empty = { keyName: '', valueLen: 0n, type: 0 };
      if (it === undefined) return r.respond(encoders.cmap.res.iterNext(empty, { error: CS_ERR_BAD_HANDLE }));
      for (;;) {
        const k = it.next();
        if (k === undefined) return r.respond(encoders.cmap.res.iterNext(empty, { error: CS_ERR_NO_SECTIONS }));
        const item = it.map === 'stats' ? c.node.statsMap().get(k) : it.map.get(k);
        if (item === undefined) continue;
        return r.respond(encoders.cmap.res.iterNext({ keyName: k, valueLen: BigInt(item.value.length), type: item.type }));
      }
    },

    iterFinalize(c, req) {
      const h = req.big('iterHandle');
      const it = c.iters.get(h);
      if (it) {
        c.started(it);
        it.close?.();
      }
      const ok = c.iters.delete(h);
      c.sink.respond(encoders.cmap.res.iterFinalize({}, { error: ok ? CS_OK : CS_ERR_BAD_HANDLE }));
    },

    trackAdd(c, req) {
      const k = req.nameLength('keyName') === 0 ? '' : req.str('keyName');
      const flags = req.num('trackType');
      const cookie = req.big('trackInstHandle');
      const fail = (error: number) => c.sink.respond(encoders.cmap.res.trackAdd({ trackHandle: 0n }, { error }));
      // icmap_track_add refuses unknown flags; stats_map_track_add does not look
      if (!c.stats && flags & ~TRACK_FLAGS) return fail(CS_ERR_INVALID_PARAM);
      if (c.stats && flags & CMAP_TRACK_PREFIX && (flags & (CMAP_TRACK_ADD | CMAP_TRACK_DELETE)) !== (CMAP_TRACK_ADD | CMAP_TRACK_DELETE)) {
        return fail(CS_ERR_NOT_SUPPORTED);
      }
      const h = c.handleNew();
      // The stats map is rebuilt on demand; its trackers are accepted but never fire here.
      const track = c.stats ? undefined : c.sim.cmap.track(k, flags, (ch) => c.notify(cookie, ch));
      c.tracks.set(h, { track, cookie });
      c.sink.respond(encoders.cmap.res.trackAdd({ trackHandle: h }));
    },

    trackDelete(c, req) {
      const h = req.big('trackHandle');
      const t = c.tracks.get(h);
      if (t === undefined) return c.sink.respond(encoders.cmap.res.trackDelete({ trackInstHandle: 0n }, { error: CS_ERR_BAD_HANDLE }));
      if (t.track) c.sim.cmap.untrack(t.track);
      c.tracks.delete(h);
      c.sink.respond(encoders.cmap.res.trackDelete({ trackInstHandle: t.cookie }));
    },

    setCurrentMap(c, req) {
      const m = req.num('map');
      let err: number = CS_OK;
      if (c.iters.size || c.tracks.size) err = CS_ERR_BUSY;
      else if (m === CMAP_MAP_DEFAULT || m === CMAP_MAP_STATS) c.map = m;
      else err = CS_ERR_NOT_EXIST;
      c.sink.respond(encoders.cmap.res.setCurrentMap({}, { error: err }));
    },
  },
};
