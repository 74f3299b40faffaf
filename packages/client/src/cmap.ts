import {
  CMAP_MAP_DEFAULT,
  CMAP_VALUETYPE_DOUBLE,
  CMAP_VALUETYPE_FLOAT,
  CMAP_VALUETYPE_INT16,
  CMAP_VALUETYPE_INT32,
  CMAP_VALUETYPE_INT64,
  CMAP_VALUETYPE_INT8,
  CMAP_VALUETYPE_STRING,
  CMAP_VALUETYPE_UINT16,
  CMAP_VALUETYPE_UINT32,
  CMAP_VALUETYPE_UINT64,
  CMAP_VALUETYPE_UINT8,
  CMAP_TRACK_PREFIX,
  CS_DISPATCH_BLOCKING,
  CS_ERR_INVALID_PARAM,
  CS_ERR_LIBRARY,
  CS_ERR_NAME_TOO_LONG,
  CS_ERR_NO_SECTIONS,
  CS_ERR_NOT_EXIST,
  CS_MAX_NAME_LENGTH,
  CsError,
  isCsError,
} from '@corosync-ts/types';
import { byteLength, checkCount, checkI32, invalidParam, toCsError } from './errors.js';
import { checkHandleOptions } from './options.js';
import { Session, type CallOptions, type HandleOptions, type IpcClientLike } from './session.js';
import { EventStream } from './stream.js';
import {
  cmapWrongType, decodeCmapGetValue, decodeCmapNotify, decodeCmapValue, decodeGetValue, encodeCmapValue, fixedGetValue, notifyFields, parseCmapGet,
  parseCmapGetValue, req,
  type CmapValue,
} from './wire.js';

export type { CmapValue };

/** cmap_get's outputs: the type, the stored length (strings include their NUL) and the value. */
export interface CmapEntry {
  type: number;
  length: number;
  value: CmapValue;
  /** The stored bytes exactly as the daemon returned them. */
  bytes: Uint8Array;
}

/** cmap_iter_next's outputs. */
export interface CmapIterItem {
  keyName: string;
  valueLen: number;
  type: number;
}

/** struct cmap_notify_value, with the value decoded by its type (undefined when unset, type 0). */
export interface CmapNotifyValue {
  type: number;
  len: number;
  data: Uint8Array;
  value: CmapValue | undefined;
}

/** The arguments of cmap_notify_fn_t. */
export interface CmapNotification {
  handle: CmapHandle;
  trackHandle: bigint;
  /** CMAP_TRACK_ADD, CMAP_TRACK_DELETE or CMAP_TRACK_MODIFY. */
  event: number;
  keyName: string;
  newValue: CmapNotifyValue;
  oldValue: CmapNotifyValue;
  userData: unknown;
}

export type CmapNotifyFn = (notification: CmapNotification) => void;

/** What a reconnect hands back: the tracked keys' current values, which notifications may have missed. */
export interface CmapSnapshot {
  tracks: { trackHandle: bigint; keyName: string | null; trackType: number; entries: (CmapEntry & { keyName: string })[] }[];
}

export interface CmapGetOptions extends CallOptions {
  /**
   * Exactly libcmap's `*value_len` in: the capacity sent to the daemon (CS_ERR_INVALID_PARAM if
   * the value is larger). 0, which the daemon answers with the type and length alone (never
   * CS_ERR_INVALID_PARAM), is followed by a GET of that length for the value. Without it, get()
   * asks with `firstCapacity` and falls back to asking the length first, so any value comes back.
   */
  capacity?: number;
}

interface Tracker {
  cookie: number;
  keyName: string | null;
  trackType: number;
  notify: CmapNotifyFn;
  userData: unknown;
  /** What cmap_track_add returned; stays the caller's name for it across reconnects. */
  userHandle: bigint;
  /** The daemon's current handle (differs from userHandle after a reconnect). */
  daemonHandle: bigint;
}

/** An iterator or track handle: a uint64, as a bigint (a number would have lost its low bits). */
function checkHandle(operation: string, name: string, v: unknown): void {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw invalidParam(operation, `${name} must be a bigint in 0..2^64-1, got ${String(v)}`);
}

/** Integer getters send the 16-byte scratch capacity libcmap's cmap_get_int uses. */
const INT_SCRATCH = 16;
/** First capacity of getString()/get(): one round trip for any ordinary value. */
const DEFAULT_FIRST_CAPACITY = 1024;

const utf8 = new TextDecoder();

function checkKey(operation: string, key: unknown): string {
  if (typeof key !== 'string') throw invalidParam(operation, 'key name must be a string');
  if (key.includes('\0')) throw invalidParam(operation, 'key name must not contain NUL');
  if (byteLength(key) >= CS_MAX_NAME_LENGTH) {
    throw new CsError(CS_ERR_NAME_TOO_LONG, `key name is ${byteLength(key)} bytes; libcmap allows at most ${CS_MAX_NAME_LENGTH - 1}`, { operation });
  }
  return key;
}

function readId(frame: Uint8Array): number {
  return frame.length >= 4 ? new DataView(frame.buffer, frame.byteOffset, 4).getInt32(0, true) : -1;
}

/** parseCmapGetValue() for each fixed-size type, made once (a closure per call would allocate). */
const TYPED_PARSERS: ((res: Uint8Array, op: string) => CmapValue)[] = [];
for (let t = CMAP_VALUETYPE_INT8; t <= CMAP_VALUETYPE_DOUBLE; t++) TYPED_PARSERS[t] = (res, op) => parseCmapGetValue(res, op, t);

/** The typed getters' names by type, as their operation names spell them (`cmap.getUint32(key)`). */
const TYPED_NAMES = ['', 'Int8', 'Uint8', 'Int16', 'Uint16', 'Int32', 'Uint32', 'Int64', 'Uint64', 'Float', 'Double'];
const typedOp = (type: number, key: string): string => `cmap.get${TYPED_NAMES[type]!}(${key})`;
/**
 * TYPED_PARSERS and the transport error's mapping for a key's cached frame (Session.directWith):
 * given the key, they make the operation's name only for an error, not a string per call.
 */
const KEYED_PARSERS: ((res: Uint8Array, key: string) => CmapValue)[] = [];
const KEYED_ERRORS: ((err: unknown, key: string) => CsError)[] = [];
for (let t = CMAP_VALUETYPE_INT8; t <= CMAP_VALUETYPE_DOUBLE; t++) {
  KEYED_PARSERS[t] = (res, key) => {
    const v = fixedGetValue(res, t);
    return v !== undefined ? v : decodeCmapGetValue(res, typedOp(t, key), t);
  };
  KEYED_ERRORS[t] = (err, key) => toCsError(err, typedOp(t, key));
}

const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * struct cmap_notify_value, read from the event frame on first access: `data` is a view made
 * when asked for, `value` is decoded from it once. A tracker that only counts or looks at keys
 * pays for neither.
 */
class NotifyValue implements CmapNotifyValue {
  readonly #frame: Uint8Array;
  readonly #offset: number;
  #data: Uint8Array | undefined;
  #value: CmapValue | undefined;
  #decoded = false;
  constructor(
    readonly type: number,
    readonly len: number,
    frame: Uint8Array,
    offset: number,
  ) {
    this.#frame = frame;
    this.#offset = offset;
  }

  get data(): Uint8Array {
    return (this.#data ??= this.#frame.subarray(this.#offset, this.#offset + this.len));
  }

  get value(): CmapValue | undefined {
    if (!this.#decoded) {
      this.#decoded = true;
      if (this.type !== 0) {
        try {
          this.#value = decodeCmapValue(this.type, this.data);
        } catch {
          this.#value = undefined; // e.g. an unknown type: the raw bytes are still in `data`
        }
      }
    }
    return this.#value;
  }

  toJSON(): { type: number; len: number; data: Uint8Array; value: CmapValue | undefined } {
    return { type: this.type, len: this.len, data: this.data, value: this.value };
  }

  [inspect](): object {
    return this.toJSON();
  }
}

/**
 * The arguments of one cmap_notify_fn_t call. The fixed fields are copied out of the codec when
 * the event is delivered; the key name and the two values are built from the event frame on
 * first access (then kept), so delivering an event allocates this one object.
 */
class Notification implements CmapNotification {
  readonly event: number;
  readonly #newType: number;
  readonly #newOffset: number;
  readonly #newLength: number;
  readonly #oldType: number;
  readonly #oldOffset: number;
  readonly #oldLength: number;
  readonly #keyOffset: number;
  readonly #keyLength: number;
  readonly #frame: Uint8Array;
  #keyName: string | undefined;
  #newValue: NotifyValue | undefined;
  #oldValue: NotifyValue | undefined;

  constructor(
    readonly handle: CmapHandle,
    readonly trackHandle: bigint,
    readonly userData: unknown,
    frame: Uint8Array,
  ) {
    this.#frame = frame;
    const f = notifyFields;
    this.event = f.event;
    this.#keyOffset = f.keyOffset;
    this.#keyLength = f.keyLength;
    this.#newType = f.newValueType;
    this.#newOffset = f.newValueOffset;
    this.#newLength = f.newValueLength;
    this.#oldType = f.oldValueType;
    this.#oldOffset = f.oldValueOffset;
    this.#oldLength = f.oldValueLength;
  }

  get keyName(): string {
    return (this.#keyName ??= utf8.decode(this.#frame.subarray(this.#keyOffset, this.#keyOffset + this.#keyLength)));
  }

  get newValue(): CmapNotifyValue {
    return (this.#newValue ??= new NotifyValue(this.#newType, this.#newLength, this.#frame, this.#newOffset));
  }

  get oldValue(): CmapNotifyValue {
    return (this.#oldValue ??= new NotifyValue(this.#oldType, this.#oldLength, this.#frame, this.#oldOffset));
  }

  toJSON(): Omit<CmapNotification, 'handle'> {
    const { trackHandle, event, keyName, newValue, oldValue, userData } = this;
    return { trackHandle, event, keyName, newValue, oldValue, userData };
  }

  [inspect](): object {
    return { handle: this.handle, ...this.toJSON() };
  }
}

/**
 * A cmap connection (cmap_handle_t). Every method is the libcmap function of the same name and
 * rejects with the CsError carrying the cs_error_t libcmap would have returned.
 */
export class CmapHandle extends Session<CmapSnapshot> {
  protected readonly service = 'cmap' as const;
  #map = CMAP_MAP_DEFAULT;
  readonly #trackers = new Map<number, Tracker>();
  readonly #byUserHandle = new Map<bigint, Tracker>();
  // Cookies (track_inst_handle) only need to be unique per connection; kept below 2^53 so that
  // notifications are matched without allocating a bigint each.
  #nextCookie = (Math.floor(Math.random() * 0xfffff) + 1) * 2 ** 32;

  private constructor(opts: HandleOptions | undefined) {
    super(opts);
  }

  /** cmap_initialize(): connects; sends nothing. */
  static async initialize(opts?: HandleOptions): Promise<CmapHandle> {
    checkHandleOptions('cmap.initialize', opts);
    const h = new CmapHandle(opts);
    await h.open(opts?.signal);
    return h;
  }

  /** cmap_initialize_map(): connects and selects CMAP_MAP_ICMAP (0) or CMAP_MAP_STATS (1). */
  static async initializeMap(map: number, opts?: HandleOptions): Promise<CmapHandle> {
    checkI32('cmap.initializeMap', 'map', map);
    checkHandleOptions('cmap.initializeMap', opts);
    const h = new CmapHandle(opts);
    await h.openAnd('cmap.initializeMap', async (each) => {
      await h.call('cmap.initializeMap', req.cmapSetCurrentMap(map), each);
    });
    h.#map = map;
    return h;
  }

  /** The map this connection works on (CMAP_MAP_ICMAP or CMAP_MAP_STATS). */
  get map(): number {
    return this.#map;
  }

  // ------------------------------------------------------------------------------- set

  /** cmap_set() with raw bytes and any type number (the daemon judges length and type). */
  async setRaw(key: string, value: Uint8Array, type: number, opts?: CallOptions): Promise<void> {
    const op = `cmap.set(${String(key)})`;
    if (!(value instanceof Uint8Array)) throw invalidParam(op, 'value must be a Uint8Array');
    checkKey(op, key);
    this.assertOpen(op);
    checkI32(op, 'type', type);
    await this.call(op, req.cmapSet(key, type & 0xff, value), opts);
  }

  /** cmap_set() of a typed value: number for INT8..UINT32/FLOAT/DOUBLE, bigint for 64-bit, string, Uint8Array. */
  async set(key: string, value: CmapValue, type: number, opts?: CallOptions): Promise<void> {
    const op = `cmap.set(${String(key)})`;
    if (value === undefined || value === null) throw invalidParam(op, 'value is required');
    checkKey(op, key);
    this.assertOpen(op);
    let bytes: Uint8Array;
    try {
      if (type === CMAP_VALUETYPE_STRING && typeof value === 'string' && value.includes('\0')) {
        throw new Error('a cmap string cannot contain NUL');
      }
      bytes = encodeCmapValue(type, value);
    } catch (e) {
      throw new CsError(CS_ERR_INVALID_PARAM, e instanceof Error ? e.message : String(e), { operation: op, cause: e });
    }
    if (type === CMAP_VALUETYPE_STRING && bytes.length > 0 && bytes[bytes.length - 1] === 0) {
      bytes = bytes.subarray(0, bytes.length - 1); // strings travel without their NUL (cmap_set_string uses strlen)
    }
    await this.call(op, req.cmapSet(key, type, bytes), opts);
  }

  setInt8(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_INT8, opts); }
  setUint8(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_UINT8, opts); }
  setInt16(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_INT16, opts); }
  setUint16(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_UINT16, opts); }
  setInt32(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_INT32, opts); }
  setUint32(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_UINT32, opts); }
  setInt64(key: string, value: bigint, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_INT64, opts); }
  setUint64(key: string, value: bigint, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_UINT64, opts); }
  setFloat(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_FLOAT, opts); }
  setDouble(key: string, value: number, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_DOUBLE, opts); }
  setString(key: string, value: string, opts?: CallOptions) { return this.set(key, value, CMAP_VALUETYPE_STRING, opts); }

  // ------------------------------------------------------------------------------- get

  /** One GET with a given capacity (0 = metadata only), exactly libcmap's cmap_get(). */
  // Not async, like call(): no extra promise to adopt. Encoding errors still reject, not throw.
  #getOnce(op: string, key: string, capacity: number, opts?: CallOptions): Promise<{ type: number; length: number; bytes: Uint8Array }> {
    let frame: Uint8Array;
    try {
      frame = req.cmapGet(key, capacity);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.call(op, frame, opts, parseCmapGet);
  }

  #entry(op: string, r: { type: number; length: number; bytes: Uint8Array }): CmapEntry {
    return { type: r.type, length: r.length, value: decodeGetValue(op, r.type, r.bytes), bytes: r.bytes };
  }

  /**
   * cmap_get(): the typed value, its type and stored length. With `capacity` it is exactly one
   * GET with that capacity; without, one GET in the common case and three for values above
   * `firstCapacity` (length, then the exact size).
   */
  async get(key: string, opts?: CmapGetOptions & { firstCapacity?: number }): Promise<CmapEntry> {
    const op = `cmap.get(${String(key)})`;
    checkKey(op, key);
    this.assertOpen(op);
    const cap = opts?.capacity;
    if (cap !== undefined) checkCount(op, 'capacity', cap);
    return this.stepwise(op, opts, async (each) => {
      if (cap === undefined) return this.#entry(op, await this.#getAny(op, key, opts?.firstCapacity ?? DEFAULT_FIRST_CAPACITY, each));
      const r = await this.#getOnce(op, key, cap, each);
      // Capacity 0 is the daemon's "type and length only" (libcmap, given a buffer, then copies
      // that many bytes it never received): the value comes with a second GET of that length.
      if (r.bytes.length < r.length) return this.#entry(op, await this.#getAny(op, key, r.length, each));
      return this.#entry(op, r);
    });
  }

  async #getAny(op: string, key: string, first: number, opts?: CallOptions, wantType?: number) {
    checkCount(op, 'firstCapacity', first);
    let r: { type: number; length: number; bytes: Uint8Array } | undefined;
    try {
      r = await this.#getOnce(op, key, first, opts);
    } catch (e) {
      if (!isCsError(e, CS_ERR_INVALID_PARAM)) throw e;
    }
    // A first capacity of 0 is answered with the type and length alone, like the fallback's first GET.
    if (!r || r.bytes.length < r.length) {
      // Larger than the first capacity: what libcmap does, length first, then exactly that.
      const meta = r ?? (await this.#getOnce(op, key, 0, opts));
      if (wantType !== undefined && meta.type !== wantType) throw cmapWrongType(op, meta.type, wantType);
      r = await this.#getOnce(op, key, Math.max(meta.length, 1), opts);
    }
    if (wantType !== undefined && r.type !== wantType) throw cmapWrongType(op, r.type, wantType);
    return r;
  }

  /** cmap_get() with value == NULL: type and stored length only. */
  async getInfo(key: string, opts?: CallOptions): Promise<{ type: number; length: number }> {
    const op = `cmap.get(${String(key)})`;
    checkKey(op, key);
    this.assertOpen(op);
    const r = await this.#getOnce(op, key, 0, opts);
    return { type: r.type, length: r.length };
  }

  // Not async, like call(): the promise call() returns is the getter's. The answer is read in
  // place by the type's parser (parseCmapGetValue), without a record or a copy of the bytes.
  #getTyped(key: string, type: number, opts?: CallOptions): Promise<CmapValue> {
    // A key with a cached frame passed checkKey() when the frame was made (so it is a string);
    // call() checks the handle, and directWith() goes only where call() would go at once.
    let frame: Uint8Array | undefined = req.cachedCmapGet(key, INT_SCRATCH);
    if (frame) {
      const direct = this.directWith(opts, frame, KEYED_PARSERS[type]!, KEYED_ERRORS[type]!, key);
      if (direct) return direct;
    }
    const op = typedOp(type, String(key));
    if (!frame) {
      try {
        checkKey(op, key);
        this.assertOpen(op);
        frame = req.cmapGet(key, INT_SCRATCH);
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return this.call(op, frame, opts, TYPED_PARSERS[type]!);
  }

  getInt8(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_INT8, opts) as Promise<number>; }
  getUint8(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_UINT8, opts) as Promise<number>; }
  getInt16(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_INT16, opts) as Promise<number>; }
  getUint16(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_UINT16, opts) as Promise<number>; }
  getInt32(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_INT32, opts) as Promise<number>; }
  getUint32(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_UINT32, opts) as Promise<number>; }
  getInt64(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_INT64, opts) as Promise<bigint>; }
  getUint64(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_UINT64, opts) as Promise<bigint>; }
  getFloat(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_FLOAT, opts) as Promise<number>; }
  getDouble(key: string, opts?: CallOptions) { return this.#getTyped(key, CMAP_VALUETYPE_DOUBLE, opts) as Promise<number>; }

  /**
   * cmap_get_string(): CS_ERR_INVALID_PARAM if the key is not a STRING. libcmap always makes two
   * round trips (length, then value); this asks with a large capacity first, which the daemon
   * answers in one, and only falls back to libcmap's two for longer strings.
   */
  async getString(key: string, opts?: CallOptions & { firstCapacity?: number }): Promise<string> {
    const op = `cmap.getString(${String(key)})`;
    checkKey(op, key);
    this.assertOpen(op);
    const r = await this.stepwise(op, opts, (each) => this.#getAny(op, key, opts?.firstCapacity ?? DEFAULT_FIRST_CAPACITY, each, CMAP_VALUETYPE_STRING));
    const nul = r.bytes.indexOf(0);
    return utf8.decode(nul >= 0 ? r.bytes.subarray(0, nul) : r.bytes);
  }

  // ------------------------------------------------------------------- delete, inc, dec

  async delete(key: string, opts?: CallOptions): Promise<void> {
    const op = `cmap.delete(${String(key)})`;
    checkKey(op, key);
    this.assertOpen(op);
    await this.call(op, req.cmapDelete(key), opts);
  }

  /** cmap_inc(): +1 on an integer key, wrapping in the type's width. */
  async inc(key: string, opts?: CallOptions): Promise<void> {
    const op = `cmap.inc(${String(key)})`;
    checkKey(op, key);
    this.assertOpen(op);
    await this.call(op, req.cmapAdjustInt(key, 1), opts);
  }

  /** cmap_dec(): −1 on an integer key, wrapping in the type's width. */
  async dec(key: string, opts?: CallOptions): Promise<void> {
    const op = `cmap.dec(${String(key)})`;
    checkKey(op, key);
    this.assertOpen(op);
    await this.call(op, req.cmapAdjustInt(key, -1), opts);
  }

  // -------------------------------------------------------------------------- iterate

  /** cmap_iter_init(): a live daemon-side iterator over keys starting with `prefix` (null = all). */
  async iterInit(prefix?: string | null, opts?: CallOptions): Promise<bigint> {
    const op = `cmap.iterInit(${prefix ?? ''})`;
    this.assertOpen(op);
    if (prefix !== undefined && prefix !== null) checkKey(op, prefix);
    return (await this.call(op, req.cmapIterInit(prefix ?? ''), opts)).fields.iterHandle;
  }

  /** cmap_iter_next(): the next key; CS_ERR_NO_SECTIONS past the end (and on every later call). */
  async iterNext(iterHandle: bigint, opts?: CallOptions): Promise<CmapIterItem> {
    const op = 'cmap.iterNext';
    checkHandle(op, 'iterHandle', iterHandle);
    this.assertOpen(op);
    const f = (await this.call(op, req.cmapIterNext(iterHandle), opts)).fields;
    return { keyName: f.keyName, valueLen: Number(f.valueLen), type: f.type };
  }

  /** cmap_iter_finalize(). */
  async iterFinalize(iterHandle: bigint, opts?: CallOptions): Promise<void> {
    const op = 'cmap.iterFinalize';
    checkHandle(op, 'iterHandle', iterHandle);
    this.assertOpen(op);
    await this.call(op, req.cmapIterFinalize(iterHandle), opts);
  }

  /**
   * iter_init / iter_next until CS_ERR_NO_SECTIONS / iter_finalize as an async iterator; breaking
   * out early finalizes the daemon-side iterator too.
   */
  async *iter(prefix?: string | null, opts?: CallOptions): AsyncGenerator<CmapIterItem, void, undefined> {
    const it = await this.iterInit(prefix, opts);
    let finished = false;
    try {
      for (;;) {
        let item: CmapIterItem;
        try {
          item = await this.iterNext(it, opts);
        } catch (e) {
          if (isCsError(e, CS_ERR_NO_SECTIONS)) break;
          throw e;
        }
        yield item;
      }
      finished = true;
    } finally {
      if (this.state === 'open') {
        try {
          await this.iterFinalize(it, opts);
        } catch (e) {
          // A finalize failure matters only when the loop ended normally; otherwise the error
          // already propagating is the one the caller needs.
          // eslint-disable-next-line no-unsafe-finally
          if (finished) throw e;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------- track

  /**
   * cmap_track_add(): `key` is an exact key, or a prefix with CMAP_TRACK_PREFIX (null = root).
   * Returns the daemon's track handle, which notifications carry and trackDelete() takes.
   */
  async trackAdd(key: string | null, trackType: number, notify: CmapNotifyFn, userData?: unknown, opts?: CallOptions): Promise<bigint> {
    const op = `cmap.trackAdd(${key ?? ''})`;
    if (typeof notify !== 'function') throw invalidParam(op, 'notify must be a function');
    this.assertOpen(op);
    if (key !== null && key !== undefined) checkKey(op, key);
    checkI32(op, 'trackType', trackType);
    const cookie = this.#nextCookie++;
    const t: Tracker = { cookie, keyName: key ?? null, trackType, notify, userData, userHandle: 0n, daemonHandle: 0n };
    // Registered before the request: the daemon may notify before its answer is read.
    this.#trackers.set(cookie, t);
    try {
      const f = (await this.lasting(op, req.cmapTrackAdd(key ?? '', trackType, BigInt(cookie)), opts, (a, ipc) => this.#dropLateTracker(a.fields.trackHandle, ipc))).fields;
      t.userHandle = t.daemonHandle = f.trackHandle;
      this.#byUserHandle.set(f.trackHandle, t);
      return f.trackHandle;
    } catch (e) {
      this.#trackers.delete(cookie);
      throw e;
    }
  }

  /**
   * A trackAdd given up on while its answer was on its way: a tracker corosync added after all
   * would notify this handle for good (a manual dispatch(ONE) then fails with CS_ERR_BAD_HANDLE
   * for each), under a handle nobody has to delete it with. Deleted on the connection it was
   * added on (one lost took it along).
   */
  #dropLateTracker(trackHandle: bigint, ipc: IpcClientLike): void {
    if (this.state !== 'open' || this.ipc !== ipc) return;
    this.exchange('cmap.trackDelete', ipc, req.cmapTrackDelete(trackHandle)).catch(() => {});
  }

  /** cmap_track_delete(). */
  async trackDelete(trackHandle: bigint, opts?: CallOptions): Promise<void> {
    const op = 'cmap.trackDelete';
    checkHandle(op, 'trackHandle', trackHandle);
    this.assertOpen(op);
    const t = this.#byUserHandle.get(trackHandle);
    const f = (await this.call(op, req.cmapTrackDelete(t?.daemonHandle ?? trackHandle), opts)).fields;
    const gone = this.#trackers.get(Number(f.trackInstHandle));
    if (gone) {
      this.#trackers.delete(gone.cookie);
      this.#byUserHandle.delete(gone.userHandle);
    }
  }

  /**
   * trackAdd as an async iterator of notifications; `return()` (or `break`, or `await using`)
   * deletes the track. The stream ends when the handle is finalized.
   */
  async track(key: string | null, trackType: number, opts?: CallOptions): Promise<CmapTrackStream> {
    const stream = new CmapTrackStream(async () => {
      this.untrackStream(stream as EventStream<unknown>);
      if (this.state !== 'finalized' && stream.handle !== undefined) {
        await this.trackDelete(stream.handle).catch((e) => {
          if (!isCsError(e)) throw e;
        });
      }
    });
    this.trackStream(stream);
    try {
      stream.handle = await this.trackAdd(key, trackType, (n) => stream.push(n), undefined, opts);
    } catch (e) {
      this.untrackStream(stream as EventStream<unknown>);
      stream.end();
      throw e;
    }
    return stream;
  }

  // ------------------------------------------------------------------------- dispatch

  protected dispatchFlags(flags: number): number {
    // libcmap does not validate the flags: anything unknown waits like CS_DISPATCH_BLOCKING.
    return Session.isDispatchFlag(flags) ? flags : CS_DISPATCH_BLOCKING;
  }

  protected deliver(frame: Uint8Array): boolean {
    if (!decodeCmapNotify(frame, 'cmap.dispatch')) {
      throw new CsError(CS_ERR_LIBRARY, `unexpected event id ${readId(frame)}`, { operation: 'cmap.dispatch' });
    }
    const t = this.#trackers.get(notifyFields.trackInstHandle);
    // A deleted tracker's: libcmap drops it, and its dispatch ONE says CS_ERR_BAD_HANDLE (the
    // failed look-up's error, left as the call's)
    if (!t) return false;
    t.notify(new Notification(this, t.userHandle, t.userData, frame));
    return true;
  }

  protected override onFinalize(): void {
    this.#trackers.clear();
    this.#byUserHandle.clear();
  }

  protected async restore(ipc: IpcClientLike): Promise<CmapSnapshot> {
    if (this.#map !== CMAP_MAP_DEFAULT) await this.exchange('cmap.reconnect', ipc, req.cmapSetCurrentMap(this.#map));
    const snapshot: CmapSnapshot = { tracks: [] };
    for (const t of this.#trackers.values()) {
      if (t.userHandle === 0n) continue; // its trackAdd never completed
      const f = (await this.exchange('cmap.reconnect', ipc, req.cmapTrackAdd(t.keyName ?? '', t.trackType, BigInt(t.cookie)))).fields;
      t.daemonHandle = f.trackHandle;
      const entries: CmapSnapshot['tracks'][number]['entries'] = [];
      const keys: string[] = [];
      if (t.trackType & CMAP_TRACK_PREFIX) {
        const it = (await this.exchange('cmap.reconnect', ipc, req.cmapIterInit(t.keyName ?? ''))).fields;
        for (;;) {
          try {
            keys.push((await this.exchange('cmap.reconnect', ipc, req.cmapIterNext(it.iterHandle))).fields.keyName);
          } catch (e) {
            if (isCsError(e, CS_ERR_NO_SECTIONS)) break;
            throw e;
          }
        }
        await this.exchange('cmap.reconnect', ipc, req.cmapIterFinalize(it.iterHandle));
      } else if (t.keyName) keys.push(t.keyName);
      for (const k of keys) {
        try {
          const meta = await this.exchange('cmap.reconnect', ipc, req.cmapGet(k, 0), parseCmapGet);
          const r = await this.exchange('cmap.reconnect', ipc, req.cmapGet(k, Math.max(meta.length, 1)), parseCmapGet);
          entries.push({ keyName: k, ...this.#entry('cmap.reconnect', r) });
        } catch (e) {
          if (!isCsError(e, CS_ERR_NOT_EXIST)) throw e; // deleted between iterate and get
        }
      }
      snapshot.tracks.push({ trackHandle: t.userHandle, keyName: t.keyName, trackType: t.trackType, entries });
    }
    return snapshot;
  }
}

/** The async-iterator form of a cmap track (see CmapHandle.track). */
export class CmapTrackStream extends EventStream<CmapNotification> {
  /** The track handle, as cmap_track_add returned it. */
  handle: bigint | undefined;
}
