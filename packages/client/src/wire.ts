/**
 * The only place the client touches message layouts: by name through @corosync-ts/codec-wasm.
 * Field shapes follow the codec's catalog (camelCase of the C members).
 */
import {
  DIR_CODES, RESPONSE_HEADER, SERVICE_CODES, codec, decode, decodeCmapValue, encoders, fixedCmapValueAt,
  fixedCmapValueSize, messages, type CmapValue, type DecodedMessage, type MessageSpec, type RingId, type Service,
} from '@corosync-ts/codec-wasm';
import { CS_ERR_INVALID_PARAM, CS_ERR_LIBRARY, CS_OK, CsError } from '@corosync-ts/types';
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

const tag = <R extends ResponseName>(frame: Uint8Array): Request<R> => frame;
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
      f = tag<'cmap.get'>(encoders.cmap.req.get({ keyName, valueLen: BigInt(valueLen) }));
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

export const cpgReq = {
  join: (groupName: Uint8Array, pid: number, flags: number) => tag<'cpg.join'>(encoders.cpg.req.join({ groupName, pid, flags })),
  leave: (groupName: Uint8Array, pid: number) => tag<'cpg.leave'>(encoders.cpg.req.leave({ groupName, pid })),
  partialMcast: (guarantee: number, msglen: number, type: number, fragment: Uint8Array) =>
    tag<'cpg.partialMcast'>(encoders.cpg.req.partialMcast({ guarantee, msglen, fraglen: fragment.length, type, fragment })),
  membershipGet: (groupName: Uint8Array) => tag<'cpg.membershipGet'>(encoders.cpg.req.membershipGet({ groupName })),
  localGet: () => tag<'cpg.localGet'>(encoders.cpg.req.localGet({})),
  iterationInitialize: (groupName: Uint8Array, iterationType: number) =>
    tag<'cpg.iterationInitialize'>(encoders.cpg.req.iterationInitialize({ groupName, iterationType })),
  iterationNext: (iterationHandle: bigint) => tag<'cpg.iterationNext'>(encoders.cpg.req.iterationNext({ iterationHandle })),
  iterationFinalize: (iterationHandle: bigint) => tag<'cpg.iterationFinalize'>(encoders.cpg.req.iterationFinalize({ iterationHandle })),
  finalize: () => tag<'cpg.finalize'>(encoders.cpg.req.finalize({})),
  zcbAlloc: (mapSize: number, pathToFile: string) => encoders.cpg.req.zcbAlloc({ mapSize: BigInt(mapSize), pathToFile }),
  zcbFree: (mapSize: number, serverAddress: bigint) => encoders.cpg.req.zcbFree({ mapSize: BigInt(mapSize), serverAddress }),
  zcbMcastJoined: (serverAddress: bigint) => tag<'cpg.zcbMcastJoined'>(encoders.cpg.req.zcbMcastJoined({ serverAddress })),
};

export const cfgReq = {
  ringStatusGet: () => tag<'cfg.ringStatusGet'>(encoders.cfg.req.ringStatusGet({})),
  killNode: (nodeid: number, reason: string) => tag<'cfg.killNode'>(encoders.cfg.req.killNode({ nodeid, reason })),
  tryShutdown: (flags: number) => tag<'cfg.tryShutdown'>(encoders.cfg.req.tryShutdown({ flags })),
  replytoShutdown: (response: number) => tag<'cfg.replytoShutdown'>(encoders.cfg.req.replytoShutdown({ response })),
  getNodeAddrs: (nodeid: number) => tag<'cfg.getNodeAddrs'>(encoders.cfg.req.getNodeAddrs({ nodeid })),
  localGet: () => tag<'cfg.localGet'>(encoders.cfg.req.localGet({})),
  reloadConfig: () => tag<'cfg.reloadConfig'>(encoders.cfg.req.reloadConfig({})),
  reopenLogFiles: () => tag<'cfg.reopenLogFiles'>(encoders.cfg.req.reopenLogFiles({})),
  nodeStatusGet: (nodeid: number, version: number) => tag<'cfg.nodeStatusGet'>(encoders.cfg.req.nodeStatusGet({ nodeid, version })),
  trackstart: (trackFlags: number) => tag<'cfg.trackstart'>(encoders.cfg.req.trackstart({ trackFlags })),
  trackstop: () => tag<'cfg.trackstop'>(encoders.cfg.req.trackstop({})),
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
}

const expectations = new Map<string, Expectation>();
// One pass over the catalog (a find() per message made this loop quadratic, at import).
const specs = new Map<string, (typeof messages)[number]>();
for (const m of messages) if (!specs.has(`${m.name}/${m.dir}`)) specs.set(`${m.name}/${m.dir}`, m);
const spec = (name: string, dir: 'req' | 'res') => specs.get(`${name}/${dir}`);
const GET_REQ_ID = spec('cmap.get', 'req')!.id!;
const GET_CAPACITY_OFFSET = spec('cmap.get', 'req')!.fields.find((f) => f.name === 'valueLen')!.offset;
const GET_RES_SIZE = spec('cmap.get', 'res')!.size;

const i32At = (f: Uint8Array, o: number) => f[o]! | (f[o + 1]! << 8) | (f[o + 2]! << 16) | (f[o + 3]! << 24);

function resId(res: Uint8Array): number {
  return i32At(res, 0);
}

function isBareError(res: Uint8Array): boolean {
  return res.length === 24 && resId(res) === 0 && (res[16]! | res[17]! | res[18]! | res[19]!) !== 0;
}

for (const m of messages) {
  if (m.dir !== 'req') continue;
  const res = spec(m.name, 'res') ?? spec(`${m.service}.status`, 'res');
  if (!res || res.id === null) continue;
  const id = res.id;
  const fixed = !res.fields.some((f) => 'count' in f);
  expectations.set(`${m.service}.${m.id}`, {
    verify: (r) => resId(r) === id || isBareError(r),
    ...(fixed ? { maxResponseSize: res.size } : {}),
  });
}

// cpg ZC_ALLOC (9) and ZC_FREE (10) are answered by a bare 24-byte header with id 0 whose error
// the daemon never sets (it is whatever was on its stack).
for (const name of ['cpg.zcbAlloc', 'cpg.zcbFree']) {
  expectations.set(`cpg.${spec(name, 'req')!.id}`, { verify: (r) => r.length === 24 && resId(r) === 0, maxResponseSize: 24 });
}

/** The answer a request frame of `service` expects; undefined for a request we do not know. */
export function expectationFor(service: Service, frame: Uint8Array): Expectation | undefined {
  if (service === 'cmap') {
    const known = frameExpectations.get(frame);
    if (known) return known;
  }
  const id = resId(frame);
  const e = expectations.get(`${service}.${id}`);
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

/**
 * A cpg ITERATIONNEXT answer. Its header error is read before the body: on error the daemon sends
 * the description uninitialised (an empty iterator's first NEXT answers 27 with a garbage name
 * length), and libcpg returns the error without looking at it.
 */
export function parseCpgIterationNext(res: Uint8Array, operation: string): Answer<'cpg.iterationNext'>['fields'] {
  const error = headerError(res);
  if (error !== CS_OK) throw new CsError(error, undefined, { operation });
  const d = decodeAnswer(res, 'cpg', operation);
  if (d.name !== 'cpg.iterationNext' || d.dir !== 'res') throw new CsError(CS_ERR_LIBRARY, `unexpected answer ${d.name}`, { operation });
  return d.fields;
}

export function headerError(res: Uint8Array): number {
  return res.length >= 24 ? new DataView(res.buffer, res.byteOffset, 24).getInt32(16, true) : CS_OK;
}

function decodeAnswer(res: Uint8Array, service: Service, operation: string) {
  try {
    return decode(res, { service, dir: 'res' });
  } catch (e) {
    throw toCsError(e, operation);
  }
}

/**
 * A cfg RINGSTATUSGET answer read as libcfg reads it: the header error is ignored, the names and
 * statuses are whatever the body holds.
 */
export function parseCfgRingStatus(res: Uint8Array, operation: string): Answer<'cfg.ringStatusGet'>['fields'] {
  // The codec reads an error answer's lists as empty: present the body as a CS_OK answer.
  const ok = res.slice();
  ok.fill(0, 16, 20);
  const d = decodeAnswer(ok, 'cfg', operation);
  if (d.name !== 'cfg.ringStatusGet' || d.dir !== 'res') throw new CsError(CS_ERR_LIBRARY, `unexpected answer ${d.name}`, { operation });
  return d.fields;
}

/** An answer whose header error the C library does not look at (cfg REPLYTOSHUTDOWN). */
export function parseTransportOnly(res: Uint8Array, operation: string): void {
  decodeAnswer(res, 'cfg', operation);
}

// ---------------------------------------------------------------------------------- fast paths
// cmap GET answers and notifications are the hot frames: read them through the codec's
// allocation-free accessors instead of building a Decoded object per frame.

// The fast path's message and field indices, read from the catalog: the codec's runtime tables
// are the catalog in its order (codec.messageIndex() and codec.fieldIndex() answer the same), and
// asking the codec here would build them at import.
const messageIndex = (name: string, dir: 'req' | 'res' | 'evt') => messages.findIndex((m) => m.name === name && m.dir === dir);
const fieldIndex = (mi: number, name: string) =>
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
  decodeGetAnswer(res, operation);
  const type = codec.number(GET_TYPE);
  if (type !== want) throw cmapWrongType(operation, type, want);
  const length = Math.min(codec.number(GET_VALUE_LEN), codec.dataLength(GET_VALUE));
  // A fixed-size value of its exact size is read where it lies: no view of it, no DataView.
  if (length === fixedCmapValueSize(type)) return fixedCmapValueAt(codec.inputView(), codec.dataOffset(GET_VALUE), type);
  return decodeGetValue(operation, type, codec.bytes(GET_VALUE).subarray(0, length));
}

/** A value of another type than the call asked for: libcmap's cmap_get_int check. */
export function cmapWrongType(operation: string, got: number, want: number): CsError {
  return new CsError(CS_ERR_INVALID_PARAM, `value is of type ${got}, not ${want}`, { operation });
}

/** The value of a GET answer; CS_ERR_LIBRARY if its bytes do not decode as its type. */
export function decodeGetValue(operation: string, type: number, bytes: Uint8Array): CmapValue {
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

// cpg's hot frames: MCAST requests are encoded straight into the codec's output memory, and the
// two message events are read through the accessors, their message (fragment) a view of the
// frame instead of a copy (the frame is the client's: ipc never reuses it).
const MCAST_REQ = messageIndex('cpg.mcastJoined', 'req');
const PARTIAL_MCAST_REQ = messageIndex('cpg.partialMcast', 'req');
const DELIVER = messageIndex('cpg.deliverCallback', 'evt');
const D_GROUP = fieldIndex(DELIVER, 'groupName');
const D_MSGLEN = fieldIndex(DELIVER, 'msglen');
const D_NODEID = fieldIndex(DELIVER, 'nodeid');
const D_PID = fieldIndex(DELIVER, 'pid');
const D_MESSAGE = fieldIndex(DELIVER, 'message');
const PARTIAL = messageIndex('cpg.partialDeliverCallback', 'evt');
const P_GROUP = fieldIndex(PARTIAL, 'groupName');
const P_MSGLEN = fieldIndex(PARTIAL, 'msglen');
const P_FRAGLEN = fieldIndex(PARTIAL, 'fraglen');
const P_NODEID = fieldIndex(PARTIAL, 'nodeid');
const P_PID = fieldIndex(PARTIAL, 'pid');
const P_TYPE = fieldIndex(PARTIAL, 'type');
const P_FRAGMENT = fieldIndex(PARTIAL, 'fragment');

// Where an MCAST's variable parts go, from the catalog: the header's size (cpg's MCAST carries a
// response header, as corosync's struct does), guarantee, msglen, and the message after them.
const offsetOf = (fields: readonly { name: string; offset: number }[], name: string) => fields.find((f) => f.name === name)!.offset;
const H_ID = offsetOf(RESPONSE_HEADER.fields, 'id');
const H_SIZE = offsetOf(RESPONSE_HEADER.fields, 'size');
const H_ERROR = offsetOf(RESPONSE_HEADER.fields, 'error');
const MCAST_FIELDS = messages[MCAST_REQ]!.fields as readonly { name: string; offset: number }[];
const MC_GUARANTEE = offsetOf(MCAST_FIELDS, 'guarantee');
const MC_MSGLEN = offsetOf(MCAST_FIELDS, 'msglen');
const MC_MESSAGE = offsetOf(MCAST_FIELDS, 'message');

/**
 * A request frame the codec encodes once (its variable numbers zero), in a buffer kept between
 * calls that grows to the largest frame asked for: a caller fills in its numbers and bytes and
 * hands a view of `bytes` to the transport at once (ipc copies what it keeps), so it is valid
 * only until the next call. Through the general encoder, each message was a WASM call (a large
 * one's bytes copied into WASM memory), and the encoder with its callees was most of what V8
 * compiled (and interpreted until then) on a burst's send path, with TurboFan mid-burst. The
 * buffer is kept at its largest (at most CPG_MAX_ATOMIC_MSGSIZE), as the codec's memory was.
 */
class TemplateFrame {
  bytes = new Uint8Array(0);
  words = new DataView(this.bytes.buffer);
  #template: Uint8Array | undefined;

  constructor(
    private readonly encodeTemplate: () => Uint8Array,
    /** The least a new buffer holds. */
    private readonly least: number,
  ) {}

  /** Makes `bytes` at least `len` long, the template at its head. */
  fit(len: number): void {
    if (this.bytes.length >= len) return;
    this.#template ??= this.encodeTemplate().slice();
    this.bytes = new Uint8Array(Math.max(len, this.least));
    this.bytes.set(this.#template);
    this.words = new DataView(this.bytes.buffer);
  }
}

const mcastFrame = new TemplateFrame(() => codec.encodeView(MCAST_REQ, { guarantee: 0, msglen: 0, message: new Uint8Array(0) }), MC_MESSAGE + 65536);

/** A cpg MCAST request, framed in mcastFrame: valid only until the next call. */
export function cpgMcastView(guarantee: number, message: Uint8Array): Uint8Array {
  const len = MC_MESSAGE + message.length;
  mcastFrame.fit(len);
  const w = mcastFrame.words;
  w.setInt32(H_SIZE, len, true);
  w.setUint32(MC_GUARANTEE, guarantee, true);
  w.setUint32(MC_MSGLEN, message.length, true);
  mcastFrame.bytes.set(message, MC_MESSAGE);
  return mcastFrame.bytes.subarray(0, len);
}

// Where a PARTIAL_MCAST's variable parts go, from the catalog, as for MCAST.
const PARTIAL_MCAST_FIELDS = messages[PARTIAL_MCAST_REQ]!.fields as readonly { name: string; offset: number }[];
const PM_GUARANTEE = offsetOf(PARTIAL_MCAST_FIELDS, 'guarantee');
const PM_MSGLEN = offsetOf(PARTIAL_MCAST_FIELDS, 'msglen');
const PM_FRAGLEN = offsetOf(PARTIAL_MCAST_FIELDS, 'fraglen');
const PM_TYPE = offsetOf(PARTIAL_MCAST_FIELDS, 'type');
const PM_FRAGMENT = offsetOf(PARTIAL_MCAST_FIELDS, 'fragment');
const PARTIAL_MCAST_RES = spec('cpg.partialMcast', 'res')!;
const partialFrame = new TemplateFrame(
  () => codec.encodeView(PARTIAL_MCAST_REQ, { guarantee: 0, msglen: 0, fraglen: 0, type: 0, fragment: new Uint8Array(0) }),
  0,
);

/** A PARTIAL_MCAST request (one fragment of a large message), framed in partialFrame: valid only until the next call. */
export function cpgPartialMcastView(guarantee: number, msglen: number, type: number, fragment: Uint8Array): Request<'cpg.partialMcast'> {
  const len = PM_FRAGMENT + fragment.length;
  partialFrame.fit(len);
  const w = partialFrame.words;
  w.setInt32(H_SIZE, len, true);
  w.setUint32(PM_GUARANTEE, guarantee, true);
  w.setUint32(PM_MSGLEN, msglen, true);
  w.setUint32(PM_FRAGLEN, fragment.length, true);
  w.setUint32(PM_TYPE, type, true);
  partialFrame.bytes.set(fragment, PM_FRAGMENT);
  return tag(partialFrame.bytes.subarray(0, len));
}

/**
 * A PARTIAL_MCAST answer's outcome, as libcpg takes it (the header's error): the plain answer
 * (its id, a size field of 24, 24 bytes) is read here, anything else goes to the codec as every
 * other answer does, which names what is wrong. Through the codec, each fragment's answer was a
 * call into the generic decoder, which V8 then compiled with TurboFan in the middle of a burst.
 */
export function parsePartialMcastAnswer(res: Uint8Array, operation: string): void {
  let error: number;
  if (res.length === PARTIAL_MCAST_RES.size && resId(res) === PARTIAL_MCAST_RES.id && i32At(res, H_SIZE) === res.length) {
    error = i32At(res, H_ERROR);
  } else {
    error = decodeAnswer(res, 'cpg', operation).error ?? CS_OK;
  }
  if (error !== CS_OK) throw new CsError(error, undefined, { operation });
}

// Where a DELIVER's and a PARTIAL_DELIVER's parts lie, from the catalog: the header's id and
// size, the group name's length word and bytes (mar_cpg_name_t: u32 length, 128 bytes at +8),
// the numbers, and the message or fragment after the fixed part.
const DELIVER_SPEC = messages[DELIVER]!;
const DELIVER_FIELDS = DELIVER_SPEC.fields as readonly { name: string; offset: number }[];
const DV_ID = DELIVER_SPEC.id;
const DV_GROUP = offsetOf(DELIVER_FIELDS, 'groupName');
const DV_MSGLEN = offsetOf(DELIVER_FIELDS, 'msglen');
const DV_NODEID = offsetOf(DELIVER_FIELDS, 'nodeid');
const DV_PID = offsetOf(DELIVER_FIELDS, 'pid');
const DV_MESSAGE = offsetOf(DELIVER_FIELDS, 'message');
const PARTIAL_SPEC = messages[PARTIAL]!;
const PARTIAL_FIELDS = PARTIAL_SPEC.fields as readonly { name: string; offset: number }[];
const PD_ID = PARTIAL_SPEC.id;
const PD_GROUP = offsetOf(PARTIAL_FIELDS, 'groupName');
const PD_MSGLEN = offsetOf(PARTIAL_FIELDS, 'msglen');
const PD_FRAGLEN = offsetOf(PARTIAL_FIELDS, 'fraglen');
const PD_NODEID = offsetOf(PARTIAL_FIELDS, 'nodeid');
const PD_PID = offsetOf(PARTIAL_FIELDS, 'pid');
const PD_TYPE = offsetOf(PARTIAL_FIELDS, 'type');
const PD_FRAGMENT = offsetOf(PARTIAL_FIELDS, 'fragment');
const CPG_NAME_MAX = 128;

/**
 * A DELIVER or PARTIAL_DELIVER read straight from the frame when it is the plain case (the size
 * field and msglen, or fraglen, accounting exactly for its length, a name of at most 128 bytes),
 * else undefined: the codec decides, and names what is wrong. corosync leaves the header's error
 * uninitialised in these events; the codec does not read it either. Through the codec, every
 * delivery was a WASM call with the frame's head copied into WASM memory, and after a few
 * thousand of them V8 compiled the codec's 21 KB generic decoder with TurboFan on a worker thread
 * (135-220 ms per compile by --trace-wasm-compilation-times), on a two-vCPU machine in the middle
 * of a burst or a series of round trips.
 */
function plainDelivery(frame: Uint8Array): EventOf<'cpg'> | undefined {
  const len = frame.length;
  if (len < DV_MESSAGE || i32At(frame, H_SIZE) !== len) return undefined;
  const id = i32At(frame, H_ID);
  if (id === DV_ID) {
    const nameLen = i32At(frame, DV_GROUP) >>> 0;
    const msglen = i32At(frame, DV_MSGLEN) >>> 0;
    if (nameLen > CPG_NAME_MAX || msglen !== len - DV_MESSAGE) return undefined;
    const name = DV_GROUP + 8;
    return {
      name: 'cpg.deliverCallback', id, size: len, service: 'cpg', dir: 'evt',
      fields: {
        groupName: frame.slice(name, name + nameLen), msglen, nodeid: i32At(frame, DV_NODEID) >>> 0,
        pid: i32At(frame, DV_PID) >>> 0, message: frame.subarray(DV_MESSAGE, len),
      },
    };
  }
  if (id !== PD_ID || len < PD_FRAGMENT) return undefined;
  const nameLen = i32At(frame, PD_GROUP) >>> 0;
  const fraglen = i32At(frame, PD_FRAGLEN) >>> 0;
  if (nameLen > CPG_NAME_MAX || fraglen !== len - PD_FRAGMENT) return undefined;
  const name = PD_GROUP + 8;
  return {
    name: 'cpg.partialDeliverCallback', id, size: len, service: 'cpg', dir: 'evt',
    fields: {
      groupName: frame.slice(name, name + nameLen), msglen: i32At(frame, PD_MSGLEN) >>> 0, fraglen,
      nodeid: i32At(frame, PD_NODEID) >>> 0, pid: i32At(frame, PD_PID) >>> 0, type: i32At(frame, PD_TYPE) >>> 0,
      fragment: frame.subarray(PD_FRAGMENT, len),
    },
  };
}

const viewOf = (frame: Uint8Array, field: number) => frame.subarray(codec.dataOffset(field), codec.dataOffset(field) + codec.dataLength(field));

/** A cpg event, as decodeEvent() gives it, but the message and fragment bytes are views of `frame`. */
export function decodeCpgEvent(frame: Uint8Array, operation: string): EventOf<'cpg'> {
  const fast = plainDelivery(frame);
  if (fast) return fast;
  // A delivery's message stays in the frame (viewOf): no copy of it into the codec's memory.
  const m = codec.decodeFrame(frame, SERVICE_CODES.cpg, DIR_CODES.evt);
  if (m < 0) throw toCsError(codec.lastError(), operation);
  const head = { id: codec.headerId(), size: codec.headerSize(), service: 'cpg', dir: 'evt' } as const;
  if (m === DELIVER) {
    return {
      name: 'cpg.deliverCallback', ...head,
      fields: {
        groupName: codec.bytes(D_GROUP).slice(), msglen: codec.number(D_MSGLEN), nodeid: codec.number(D_NODEID),
        pid: codec.number(D_PID), message: viewOf(frame, D_MESSAGE),
      },
    };
  }
  if (m === PARTIAL) {
    return {
      name: 'cpg.partialDeliverCallback', ...head,
      fields: {
        groupName: codec.bytes(P_GROUP).slice(), msglen: codec.number(P_MSGLEN), fraglen: codec.number(P_FRAGLEN),
        nodeid: codec.number(P_NODEID), pid: codec.number(P_PID), type: codec.number(P_TYPE), fragment: viewOf(frame, P_FRAGMENT),
      },
    };
  }
  return codec.decoded(m) as EventOf<'cpg'>;
}
