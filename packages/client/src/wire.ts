/**
 * The only place the client touches message layouts: by name through @corosync-ts/codec-wasm.
 * Field shapes follow the codec's catalog (camelCase of the C members).
 */
import {
  DIR_CODES, REQUEST_HEADER, RESPONSE_HEADER, SERVICE_CODES, codec, decode, decodeCmapValue, encoders, fixedCmapValueAt,
  fixedCmapValueSize, messages, type CmapValue, type DecodedMessage, type MessageSpec, type RingId, type Service,
} from '@corosync-ts/codec-wasm';
import {
  CMAP_VALUETYPE_BINARY, CMAP_VALUETYPE_INT16, CMAP_VALUETYPE_INT32, CMAP_VALUETYPE_INT8, CMAP_VALUETYPE_UINT16, CMAP_VALUETYPE_UINT32,
  CMAP_VALUETYPE_UINT8, CS_ERR_INVALID_PARAM, CS_ERR_LIBRARY, CS_OK, CsError,
} from '@corosync-ts/types';
import { toCsError } from './errors.js';

export { encodeCmapValue, decodeCmapValue, type CmapValue } from '@corosync-ts/codec-wasm';
export type { RingId };

/** The name of a response in the catalog (`cmap.get`, `votequorum.status`, ...). */
export type ResponseName = Extract<MessageSpec, { dir: 'res' }>['name'];

declare const answeredBy: unique symbol;
/**
 * A request frame, tagged at the type level with the response that answers it, so that
 * Session.call can return that response's decoded fields. The tag exists only for the compiler.
 */
export type Request<R extends ResponseName> = Uint8Array & { readonly [answeredBy]?: R };

/** The decoded answer R (narrowed by name: its fields are typed). */
export type Answer<R extends ResponseName> = Extract<DecodedMessage, { name: R; dir: 'res' }>;

/** A service's events, narrowed by name. */
export type EventOf<S extends Service> = Extract<DecodedMessage, { service: S; dir: 'evt' }>;

export const tag = <R extends ResponseName>(frame: Uint8Array): Request<R> => frame;
// Each service's encoders are read where a frame is made, not here: codec-wasm builds its tables
// on first use, and a script that only calls cmap never builds cpg's.
/** GET frames by capacity, then key name: polling the same few keys is the common use. */
const getFrames = new Map<number, Map<string, Request<'cmap.get'>>>();
let getFrameCount = 0;
/** The expectation of each cached GET frame (a frame dropped from getFrames takes its entry along). */
const frameExpectations = new WeakMap<Uint8Array, Expectation>();

export const req = {
  cmapSet: (keyName: string, type: number, value: Uint8Array) =>
    tag<'cmap.set'>(encoders.cmap.req.set({ keyName, valueLen: BigInt(value.length), type, value })),
  cmapDelete: (keyName: string) => tag<'cmap.delete'>(encoders.cmap.req.delete({ keyName })),
  cmapGet: (keyName: string, valueLen: number) => {
    // Polling the same few keys is the common use: their GET frames are encoded once.
    let byKey = getFrames.get(valueLen);
    let f = byKey?.get(keyName);
    if (!f) {
      if (getFrameCount >= 512) {
        getFrames.clear();
        getFrameCount = 0;
        byKey = undefined;
      }
      f = tag<'cmap.get'>(getRequest(keyName, valueLen) ?? encoders.cmap.req.get({ keyName, valueLen: BigInt(valueLen) }));
      if (!byKey) getFrames.set(valueLen, (byKey = new Map()));
      byKey.set(keyName, f);
      getFrameCount++;
      // ...and so is what answers them, which expectationFor() would otherwise build per call.
      frameExpectations.set(f, expectationFor('cmap', f)!);
    }
    return f;
  },
  /** The GET frame cmapGet() made for this key and capacity, if it still has it (no lookup key is built). */
  cachedCmapGet: (keyName: unknown, valueLen: number): Request<'cmap.get'> | undefined => getFrames.get(valueLen)?.get(keyName as string),
  cmapAdjustInt: (keyName: string, step: number) => tag<'cmap.adjustInt'>(encoders.cmap.req.adjustInt({ keyName, step })),
  cmapIterInit: (prefix: string) => tag<'cmap.iterInit'>(encoders.cmap.req.iterInit({ prefix })),
  cmapIterNext: (iterHandle: bigint) => tag<'cmap.iterNext'>(encoders.cmap.req.iterNext({ iterHandle })),
  cmapIterFinalize: (iterHandle: bigint) => tag<'cmap.iterFinalize'>(encoders.cmap.req.iterFinalize({ iterHandle })),
  cmapTrackAdd: (keyName: string, trackType: number, trackInstHandle: bigint) =>
    tag<'cmap.trackAdd'>(encoders.cmap.req.trackAdd({ keyName, trackType, trackInstHandle })),
  cmapTrackDelete: (trackHandle: bigint) => tag<'cmap.trackDelete'>(encoders.cmap.req.trackDelete({ trackHandle })),
  cmapSetCurrentMap: (map: number) => tag<'cmap.setCurrentMap'>(encoders.cmap.req.setCurrentMap({ map })),

  quorumGetquorate: () => tag<'quorum.getquorate'>(encoders.quorum.req.getquorate({})),
  quorumTrackstart: (trackFlags: number) => tag<'quorum.trackstart'>(encoders.quorum.req.trackstart({ trackFlags })),
  quorumTrackstop: () => tag<'quorum.trackstop'>(encoders.quorum.req.trackstop({})),
  quorumGettype: () => tag<'quorum.gettype'>(encoders.quorum.req.gettype({})),
  quorumModelGettype: (model: number) => tag<'quorum.modelGettype'>(encoders.quorum.req.modelGettype({ model })),

  // votequorum answers every call but getinfo with its status response.
  vqGetinfo: (nodeid: number) => tag<'votequorum.getinfo'>(encoders.votequorum.req.getinfo({ nodeid })),
  vqSetexpected: (expectedVotes: number) => tag<'votequorum.status'>(encoders.votequorum.req.setexpected({ expectedVotes })),
  vqSetvotes: (nodeid: number, votes: number) => tag<'votequorum.status'>(encoders.votequorum.req.setvotes({ votes, nodeid })),
  vqTrackstart: (context: bigint, trackFlags: number) =>
    tag<'votequorum.status'>(encoders.votequorum.req.trackstart({ context, trackFlags })),
  vqTrackstop: () => tag<'votequorum.status'>(encoders.votequorum.req.trackstop({})),
  vqQdeviceRegister: (name: string) => tag<'votequorum.status'>(encoders.votequorum.req.qdeviceRegister({ name })),
  vqQdeviceUnregister: (name: string) => tag<'votequorum.status'>(encoders.votequorum.req.qdeviceUnregister({ name })),
  vqQdeviceUpdate: (oldname: string, newname: string) =>
    tag<'votequorum.status'>(encoders.votequorum.req.qdeviceUpdate({ oldname, newname })),
  vqQdevicePoll: (name: string, castVote: number, ringId: RingId) =>
    tag<'votequorum.status'>(encoders.votequorum.req.qdevicePoll({ name, castVote, ringId })),
  vqQdeviceMasterWins: (name: string, allow: number) =>
    tag<'votequorum.status'>(encoders.votequorum.req.qdeviceMasterWins({ name, allow })),
};

// ------------------------------------------------------------------------ answers and requests
// corosync answers each request with one known response id (the catalog's response of the same
// name; votequorum's calls without one get its status response), or with a bare 24-byte error
// header, id 0 (ipc_glue.c: an invalid or refused request). Anything else means the stream is
// out of step, and the ipc layer fails the connection rather than hand it to the caller.

/** What a request's answer may look like: passed to IpcClient.request() as is. */
export interface Expectation {
  readonly verify: (res: Uint8Array) => boolean;
  /** Largest answer, for the ipc layer's bound on requests in flight; absent = unknown. */
  readonly maxResponseSize?: number;
  /** The answer goes before events queued with it (@corosync-ts/ipc RequestOptions.answerFirst). */
  readonly answerFirst?: boolean;
  /** The request's tail, the frame being its head (@corosync-ts/ipc RequestOptions.body; IpcClientLike.gather). */
  readonly body?: Uint8Array;
  /** libqb's fc_enable_max for the request (@corosync-ts/ipc RequestOptions.flowControlMax). */
  readonly flowControlMax?: 1 | 2;
}

// One pass over the catalog (a find() per message made this loop quadratic, at import).
const specs = new Map<string, (typeof messages)[number]>();
// One key string per message, not one for has() and another for set(): each is built and hashed.
for (const m of messages) {
  const key = `${m.name}/${m.dir}`;
  if (!specs.has(key)) specs.set(key, m);
}
export const spec = (name: string, dir: 'req' | 'res') => specs.get(`${name}/${dir}`);
/** A field's byte offset in a catalog layout. */
export const offsetOf = (fields: readonly { name: string; offset: number }[], name: string) => fields.find((f) => f.name === name)!.offset;
const GET_REQ_SPEC = spec('cmap.get', 'req')!;
const GET_REQ_ID = GET_REQ_SPEC.id!;
const GET_REQ_SIZE = GET_REQ_SPEC.size;
const GET_CAPACITY_OFFSET = offsetOf(GET_REQ_SPEC.fields, 'valueLen');
const GET_KEY_OFFSET = offsetOf(GET_REQ_SPEC.fields, 'keyName');
const GET_RES_SIZE = spec('cmap.get', 'res')!.size;
const REQ_H_ID = offsetOf(REQUEST_HEADER.fields, 'id');
const REQ_H_SIZE = offsetOf(REQUEST_HEADER.fields, 'size');
/** mar_name_t: a u16 length, then the bytes at the next 8-byte boundary; at most 256 of them. */
const NAME_VALUE_AT = 8;
const NAME_MAX = 256;

/**
 * A GET request for a key of ASCII characters without NUL (every key corosync stores), written
 * here at the catalog's offsets; undefined for anything else, which the codec encodes (or
 * rejects). Why: it is a one-call script's first request, and the codec's encoder is its
 * heaviest first use (~1.1 ms of a fresh process's CPU: its tables and the encode path compiled),
 * which a script that only reads never needs otherwise.
 */
export function getRequest(keyName: string, valueLen: number): Uint8Array | undefined {
  const n = keyName.length;
  if (n > NAME_MAX || !Number.isSafeInteger(valueLen) || valueLen < 0) return undefined;
  const f = new Uint8Array(GET_REQ_SIZE);
  for (let i = 0; i < n; i++) {
    const c = keyName.charCodeAt(i);
    if (c === 0 || c > 0x7f) return undefined;
    f[GET_KEY_OFFSET + NAME_VALUE_AT + i] = c;
  }
  const dv = new DataView(f.buffer);
  dv.setInt32(REQ_H_ID, GET_REQ_ID, true);
  dv.setInt32(REQ_H_SIZE, GET_REQ_SIZE, true);
  dv.setUint16(GET_KEY_OFFSET, n, true);
  dv.setUint32(GET_CAPACITY_OFFSET, valueLen % 0x1_0000_0000, true);
  dv.setUint32(GET_CAPACITY_OFFSET + 4, Math.floor(valueLen / 0x1_0000_0000), true);
  return f;
}

/** The response header's fields (qb_ipc_response_header, 8-byte aligned members). */
export const H_ID = offsetOf(RESPONSE_HEADER.fields, 'id');
export const H_SIZE = offsetOf(RESPONSE_HEADER.fields, 'size');
export const H_ERROR = offsetOf(RESPONSE_HEADER.fields, 'error');

export const i32At = (f: Uint8Array, o: number) => f[o]! | (f[o + 1]! << 8) | (f[o + 2]! << 16) | (f[o + 3]! << 24);

export function resId(res: Uint8Array): number {
  return i32At(res, H_ID);
}

function isBareError(res: Uint8Array): boolean {
  return res.length === 24 && resId(res) === 0 && (res[16]! | res[17]! | res[18]! | res[19]!) !== 0;
}

// Built per request id on its first request, not at import nor for the whole catalog at once: a
// closure per request, and a one-call script sends two or three of them (the whole table was ~20
// kB of its young generation before its first answer).
// Kept for the catalog's requests only, null for one with no answer to check (cpg mcastJoined,
// on every multicast): the ids of raw frames a caller sends are not ours to bound.
const expectations = new Map<string, Expectation | null>();

function buildExpectation(service: Service, id: number): Expectation | null | undefined {
  // cpg ZC_ALLOC (9) and ZC_FREE (10) are answered by a bare 24-byte header with id 0 whose error
  // the daemon never sets (it is whatever was on its stack).
  if (service === 'cpg' && (id === spec('cpg.zcbAlloc', 'req')!.id || id === spec('cpg.zcbFree', 'req')!.id)) {
    return { verify: (r) => r.length === 24 && resId(r) === 0, maxResponseSize: 24 };
  }
  let out: Expectation | null | undefined;
  for (const m of messages) {
    if (m.dir !== 'req' || m.service !== service || m.id !== id) continue;
    out ??= null;
    const res = spec(m.name, 'res') ?? spec(`${m.service}.status`, 'res');
    if (!res || res.id === null) continue;
    const resIdWanted = res.id;
    const fixed = !res.fields.some((f) => 'count' in f);
    out = {
      verify: (r) => resId(r) === resIdWanted || isBareError(r),
      ...(fixed ? { maxResponseSize: res.size } : {}),
    };
  }
  return out;
}

/** The answer a request frame of `service` expects; undefined for a request we do not know. */
export function expectationFor(service: Service, frame: Uint8Array): Expectation | undefined {
  if (service === 'cmap') {
    const known = frameExpectations.get(frame);
    if (known) return known;
  }
  const id = resId(frame);
  const key = `${service}.${id}`;
  let e = expectations.get(key);
  if (e === undefined) {
    e = buildExpectation(service, id);
    if (e !== undefined) expectations.set(key, e);
  }
  if (e === null) return undefined;
  if (service === 'cmap' && id === GET_REQ_ID && e) {
    // The daemon sizes a GET answer by the capacity asked for (catalog: tail 'capacity').
    const capacity = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(GET_CAPACITY_OFFSET, true);
    const max = capacity > 0x40000000n ? 0x40000000 : GET_RES_SIZE + Number(capacity);
    return { verify: e.verify, maxResponseSize: max };
  }
  return e;
}

export function decodeEvent<S extends Service>(service: S, frame: Uint8Array): EventOf<S> {
  // decode() with dir 'evt' and this service only ever yields this service's events.
  return decode(frame, { service, dir: 'evt' }) as EventOf<S>;
}

export function headerError(res: Uint8Array): number {
  return res.length >= 24 ? new DataView(res.buffer, res.byteOffset, 24).getInt32(16, true) : CS_OK;
}

export function decodeAnswer(res: Uint8Array, service: Service, operation: string) {
  try {
    return decode(res, { service, dir: 'res' });
  } catch (e) {
    throw toCsError(e, operation);
  }
}

// ---------------------------------------------------------------------------------- fast paths
// cmap GET answers and notifications are the hot frames: read them through the codec's
// allocation-free accessors instead of building a Decoded object per frame.

// The fast path's message and field indices, read from the catalog: the codec's runtime tables
// are the catalog in its order (codec.messageIndex() and codec.fieldIndex() answer the same), and
// asking the codec here would build them at import.
export const messageIndex = (name: string, dir: 'req' | 'res' | 'evt') => messages.findIndex((m) => m.name === name && m.dir === dir);
export const fieldIndex = (mi: number, name: string) =>
  mi < 0 ? -1 : (messages[mi]!.fields as readonly { name: string }[]).findIndex((f) => f.name === name);

const GET_RES = messageIndex('cmap.get', 'res');
const GET_VALUE_LEN = fieldIndex(GET_RES, 'valueLen');
const GET_TYPE = fieldIndex(GET_RES, 'type');
const GET_VALUE = fieldIndex(GET_RES, 'value');
const NOTIFY = messageIndex('cmap.notify', 'evt');
const N_HANDLE = fieldIndex(NOTIFY, 'trackInstHandle');
const N_KEY = fieldIndex(NOTIFY, 'keyName');
const N_EVENT = fieldIndex(NOTIFY, 'event');
const N_NEW_TYPE = fieldIndex(NOTIFY, 'newValueType');
const N_OLD_TYPE = fieldIndex(NOTIFY, 'oldValueType');
const N_NEW = fieldIndex(NOTIFY, 'newValue');
const N_OLD = fieldIndex(NOTIFY, 'oldValue');

function decodeInto(frame: Uint8Array, service: number, dir: number, operation: string): number {
  codec.inputBuffer(frame.length).set(frame);
  const m = codec.decodeInput(frame.length, service, dir);
  if (m < 0) throw toCsError(codec.lastError(), operation);
  return m;
}

/** Decodes a GET answer into the codec: rejects with its header's error, or CS_ERR_LIBRARY for another message. */
function decodeGetAnswer(res: Uint8Array, operation: string): void {
  const m = decodeInto(res, SERVICE_CODES.cmap, DIR_CODES.res, operation);
  const error = codec.headerError();
  if (error !== CS_OK) throw new CsError(error, undefined, { operation });
  if (m !== GET_RES) throw new CsError(CS_ERR_LIBRARY, `unexpected answer ${codec.message(m)?.name}`, { operation });
}

/** A cmap GET answer: its type, the stored length and a copy of the value bytes. */
export function parseCmapGet(res: Uint8Array, operation: string): { type: number; length: number; bytes: Uint8Array } {
  return getAnswer(res) ?? decodeCmapGet(res, operation);
}

/**
 * @internal a usual GET answer read in JavaScript, at the catalog's offsets, or undefined: then
 * the codec reads the frame. Taken only as the codec would read it: the header's size is the
 * frame's length, the GET answer's id, CS_OK, a value_len below 2^32 whose bytes are there (a
 * 40-byte answer has none, whatever its value_len says). Why: with the GET request written here
 * too (getRequest), a script that only reads keys never compiles the codec's WASM module (~1.5 ms
 * of a fresh process's CPU, and its memory).
 */
export function getAnswer(res: Uint8Array): { type: number; length: number; bytes: Uint8Array } | undefined {
  const n = res.length;
  if (n < GET_RES_VALUE_AT || !usualGetAnswer(res)) return undefined;
  const length = i32At(res, GET_RES_VALUE_LEN_AT) >>> 0;
  const count = n === GET_RES_VALUE_AT ? 0 : length;
  if (count > n - GET_RES_VALUE_AT) return undefined;
  return { type: res[GET_RES_TYPE_AT]!, length, bytes: res.slice(GET_RES_VALUE_AT, GET_RES_VALUE_AT + count) };
}

/** @internal parseCmapGet() through the codec, whatever the frame (the fast path's reference in tests). */
export function decodeCmapGet(res: Uint8Array, operation: string): { type: number; length: number; bytes: Uint8Array } {
  decodeGetAnswer(res, operation);
  const length = codec.number(GET_VALUE_LEN);
  return { type: codec.number(GET_TYPE), length, bytes: codec.bytes(GET_VALUE).slice(0, length) };
}

/**
 * A typed getter's GET answer: the value, which must be of type `want`, decoded from the codec's
 * memory in place (no copy of the bytes, no record). Rejects as parseCmapGet() does, then
 * CS_ERR_INVALID_PARAM for another type (libcmap's cmap_get_int check) and CS_ERR_LIBRARY for a
 * value that does not decode as its type.
 */
export function parseCmapGetValue(res: Uint8Array, operation: string, want: number): CmapValue {
  const fast = fixedGetValue(res, want);
  return fast !== undefined ? fast : decodeCmapGetValue(res, operation, want);
}

/** @internal parseCmapGetValue() through the codec, whatever the frame (the fast path's reference in tests). */
export function decodeCmapGetValue(res: Uint8Array, operation: string, want: number): CmapValue {
  decodeGetAnswer(res, operation);
  const type = codec.number(GET_TYPE);
  if (type !== want) throw cmapWrongType(operation, type, want);
  const length = Math.min(codec.number(GET_VALUE_LEN), codec.dataLength(GET_VALUE));
  // A fixed-size value of its exact size is read where it lies: no view of it, no DataView.
  if (length === fixedCmapValueSize(type)) return fixedCmapValueAt(codec.inputView(), codec.dataOffset(GET_VALUE), type);
  return decodeGetValue(operation, type, codec.bytes(GET_VALUE).subarray(0, length));
}

// A typed getter's usual answer read in JavaScript, at the catalog's offsets: the frame's copy into
// WASM memory and the call into the decoder were ~900 of a shm getUint32's ~12k instructions on
// the loop thread (callgrind). Only a frame the codec decodes to exactly this value is taken
// here (its header's size is the frame's length, the GET answer's id, CS_OK, the wanted type, a
// value_len of the type's size with the value there); anything else goes through the codec,
// which says what is wrong with it.
const GET_RES_SPEC = spec('cmap.get', 'res')!;
const GET_RES_ID = GET_RES_SPEC.id!;
const GET_RES_VALUE_LEN_AT = offsetOf(GET_RES_SPEC.fields, 'valueLen');
const GET_RES_TYPE_AT = offsetOf(GET_RES_SPEC.fields, 'type');
const GET_RES_VALUE_AT = offsetOf(GET_RES_SPEC.fields, 'value');
/**
 * A GET answer of at least GET_RES_VALUE_AT bytes that the fast paths (getAnswer, fixedGetValue)
 * may read: its header's size is the frame's length, the GET answer's id, CS_OK, a value_len
 * below 2^32.
 */
function usualGetAnswer(res: Uint8Array): boolean {
  return i32At(res, H_SIZE) === res.length && i32At(res, H_ID) === GET_RES_ID && i32At(res, H_ERROR) === CS_OK && i32At(res, GET_RES_VALUE_LEN_AT + 4) === 0;
}

/** The value's bytes, copied (8 at most) for fixedCmapValueAt: no view of the frame per call. */
const valueBytes = new Uint8Array(8);
const valueView = new DataView(valueBytes.buffer);

/** @internal the value of a usual typed GET answer, or undefined: then the codec reads the frame. */
export function fixedGetValue(res: Uint8Array, want: number): CmapValue | undefined {
  const size = fixedCmapValueSize(want);
  const n = res.length;
  if (
    size === undefined || n < GET_RES_VALUE_AT + size || !usualGetAnswer(res) || res[GET_RES_TYPE_AT] !== want || i32At(res, GET_RES_VALUE_LEN_AT) !== size
  ) {
    return undefined;
  }
  // The integers of 32 bits and less straight from the frame's bytes: the copy into valueBytes
  // and the DataView read were ~160 of this function's ~520 instructions (callgrind, in isolation).
  const v = GET_RES_VALUE_AT;
  switch (want) {
    case CMAP_VALUETYPE_INT8: return (res[v]! << 24) >> 24;
    case CMAP_VALUETYPE_UINT8: return res[v]!;
    case CMAP_VALUETYPE_INT16: return ((res[v]! | (res[v + 1]! << 8)) << 16) >> 16;
    case CMAP_VALUETYPE_UINT16: return res[v]! | (res[v + 1]! << 8);
    case CMAP_VALUETYPE_INT32: return i32At(res, v);
    case CMAP_VALUETYPE_UINT32: return i32At(res, v) >>> 0;
  }
  for (let i = 0; i < size; i++) valueBytes[i] = res[v + i]!;
  return fixedCmapValueAt(valueView, 0, want);
}

/** A value of another type than the call asked for: libcmap's cmap_get_int check. */
export function cmapWrongType(operation: string, got: number, want: number): CsError {
  return new CsError(CS_ERR_INVALID_PARAM, `value is of type ${got}, not ${want}`, { operation });
}

/**
 * The value of a GET answer; CS_ERR_LIBRARY if its bytes do not decode as its type. A type
 * cmap does not know comes back as its bytes: icmap stores an empty value of any such type (its
 * length check wants 0 bytes for them), which libcmap's cmap_get returns like any other.
 */
export function decodeGetValue(operation: string, type: number, bytes: Uint8Array): CmapValue {
  if (type < CMAP_VALUETYPE_INT8 || type > CMAP_VALUETYPE_BINARY) return bytes;
  try {
    return decodeCmapValue(type, bytes);
  } catch (e) {
    throw new CsError(CS_ERR_LIBRARY, `daemon returned an undecodable value of type ${type}`, { operation, cause: e });
  }
}

/**
 * A cmap notification, read in place: decodeCmapNotify() validates the frame in the codec and
 * reads its fixed fields into this one reused record; the key and the values stay in the frame
 * as offsets (the frame belongs to the caller: ipc hands each event over in a buffer it never
 * reuses), so a notification costs no object and no string until someone reads them.
 */
export const notifyFields = {
  /** The client's cookie (the client keeps them below 2^53, so a number is exact). */
  trackInstHandle: 0,
  event: 0,
  keyOffset: 0,
  keyLength: 0,
  newValueType: 0,
  newValueOffset: 0,
  newValueLength: 0,
  oldValueType: 0,
  oldValueOffset: 0,
  oldValueLength: 0,
};

/** Fills notifyFields from a cmap event frame; false for another (valid) event id. */
export function decodeCmapNotify(frame: Uint8Array, operation: string): boolean {
  if (decodeInto(frame, SERVICE_CODES.cmap, DIR_CODES.evt, operation) !== NOTIFY) return false;
  // dataOffset() is relative to the input buffer, which holds the frame at its start.
  const f = notifyFields;
  f.trackInstHandle = codec.number(N_HANDLE);
  f.event = codec.number(N_EVENT);
  f.keyOffset = codec.dataOffset(N_KEY);
  f.keyLength = codec.dataLength(N_KEY);
  f.newValueType = codec.number(N_NEW_TYPE);
  f.newValueOffset = codec.dataOffset(N_NEW);
  f.newValueLength = codec.dataLength(N_NEW);
  f.oldValueType = codec.number(N_OLD_TYPE);
  f.oldValueOffset = codec.dataOffset(N_OLD);
  f.oldValueLength = codec.dataLength(N_OLD);
  return true;
}
