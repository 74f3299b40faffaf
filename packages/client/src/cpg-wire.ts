/**
 * cpg's frames: its requests, and the fast paths of its hot frames. Apart from wire.ts so that
 * they load with cpg, on its first use: their catalog lookups ran at every import.
 */
import { DIR_CODES, SERVICE_CODES, codec, encoders, messages } from '@corosync-ts/codec-wasm';
import { CS_ERR_LIBRARY, CS_OK, CsError } from '@corosync-ts/types';
import type { CpgDeliver, CpgHandle } from './cpg.js';
import { toCsError } from './errors.js';
import {
  H_ERROR, H_ID, H_SIZE, decodeAnswer, fieldIndex, headerError, i32At, messageIndex, offsetOf, resId, spec, tag, type Answer, type EventOf, type Request,
} from './wire.js';

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
  /**
   * The last view() handed out, and its length: a burst of messages of one size reuses it, where
   * a subarray() per message was a typed array to create and collect (callgrind: ~400 of a
   * 64-byte multicast's instructions in a burst, with V8's generic load of the method).
   */
  #view = this.bytes;
  #viewLength = 0;

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
    this.#view = this.bytes;
    this.#viewLength = this.bytes.length;
  }

  /** bytes[0, len), len at most its length (fit): valid, like bytes, until the next call. */
  view(len: number): Uint8Array {
    if (len !== this.#viewLength) {
      this.#view = this.bytes.subarray(0, len);
      this.#viewLength = len;
    }
    return this.#view;
  }
}

const mcastFrame = new TemplateFrame(() => codec.encodeView(MCAST_REQ, { guarantee: 0, msglen: 0, message: new Uint8Array(0) }), MC_MESSAGE + 65536);

/** A cpg MCAST request, framed in mcastFrame: valid only until the next call. */
export function cpgMcastView(guarantee: number, message: Uint8Array): Uint8Array {
  const len = MC_MESSAGE + message.length;
  mcastFrame.fit(len);
  mcastHead(guarantee, message.length);
  mcastFrame.bytes.set(message, MC_MESSAGE);
  return mcastFrame.view(len);
}

/**
 * The head of a cpg MCAST request whose message (`msglen` bytes) goes after it as a second piece
 * (@corosync-ts/ipc RequestOptions.body), as libcpg's iovec: in mcastFrame, valid until the next call.
 */
export function cpgMcastHead(guarantee: number, msglen: number): Uint8Array {
  mcastFrame.fit(MC_MESSAGE);
  mcastHead(guarantee, msglen);
  return mcastFrame.view(MC_MESSAGE);
}

function mcastHead(guarantee: number, msglen: number): void {
  const w = mcastFrame.words;
  w.setInt32(H_SIZE, MC_MESSAGE + msglen, true);
  w.setUint32(MC_GUARANTEE, guarantee, true);
  w.setUint32(MC_MSGLEN, msglen, true);
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
  partialHead(guarantee, msglen, type, fragment.length);
  partialFrame.bytes.set(fragment, PM_FRAGMENT);
  return tag(partialFrame.bytes.subarray(0, len));
}

/**
 * The head of a PARTIAL_MCAST request whose fragment (`fraglen` bytes) goes after it as a second
 * piece (@corosync-ts/ipc RequestOptions.body), as libcpg's iovec: valid until the next call.
 */
export function cpgPartialMcastHead(guarantee: number, msglen: number, type: number, fraglen: number): Request<'cpg.partialMcast'> {
  partialFrame.fit(PM_FRAGMENT);
  partialHead(guarantee, msglen, type, fraglen);
  return tag(partialFrame.bytes.subarray(0, PM_FRAGMENT));
}

function partialHead(guarantee: number, msglen: number, type: number, fraglen: number): void {
  const w = partialFrame.words;
  w.setInt32(H_SIZE, PM_FRAGMENT + fraglen, true);
  w.setUint32(PM_GUARANTEE, guarantee, true);
  w.setUint32(PM_MSGLEN, msglen, true);
  w.setUint32(PM_FRAGLEN, fraglen, true);
  w.setUint32(PM_TYPE, type, true);
}

/**
 * A PARTIAL_MCAST answer's error, as libcpg takes it (the header's), returned: the caller tells
 * an answered error from a refused send (libcpg ends the message on the one, sends the fragment
 * again on the other). The plain answer (its id, a size field of 24, 24 bytes) is read here,
 * anything else goes to the codec as every other answer does, which names what is wrong (thrown).
 * Through the codec, each fragment's answer was a call into the generic decoder, which V8 then
 * compiled with TurboFan in the middle of a burst.
 */
export function partialMcastAnswerError(res: Uint8Array, operation: string): number {
  if (res.length === PARTIAL_MCAST_RES.size && resId(res) === PARTIAL_MCAST_RES.id && i32At(res, H_SIZE) === res.length) {
    return i32At(res, H_ERROR);
  }
  return decodeAnswer(res, 'cpg', operation).error ?? CS_OK;
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
  if (isPlainDeliver(frame)) {
    const name = DV_GROUP + 8;
    return {
      name: 'cpg.deliverCallback', id: DV_ID!, size: len, service: 'cpg', dir: 'evt',
      fields: {
        groupName: frame.slice(name, name + (i32At(frame, DV_GROUP) >>> 0)), msglen: len - DV_MESSAGE, nodeid: i32At(frame, DV_NODEID) >>> 0,
        pid: i32At(frame, DV_PID) >>> 0, message: frame.subarray(DV_MESSAGE, len),
      },
    };
  }
  if (len < PD_FRAGMENT || i32At(frame, H_SIZE) !== len || i32At(frame, H_ID) !== PD_ID) return undefined;
  const nameLen = i32At(frame, PD_GROUP) >>> 0;
  const fraglen = i32At(frame, PD_FRAGLEN) >>> 0;
  if (nameLen > CPG_NAME_MAX || fraglen !== len - PD_FRAGMENT) return undefined;
  const name = PD_GROUP + 8;
  return {
    name: 'cpg.partialDeliverCallback', id: PD_ID!, size: len, service: 'cpg', dir: 'evt',
    fields: {
      groupName: frame.slice(name, name + nameLen), msglen: i32At(frame, PD_MSGLEN) >>> 0, fraglen,
      nodeid: i32At(frame, PD_NODEID) >>> 0, pid: i32At(frame, PD_PID) >>> 0, type: i32At(frame, PD_TYPE) >>> 0,
      fragment: frame.subarray(PD_FRAGMENT, len),
    },
  };
}

/** Whether `frame` is a plain DELIVER: its size field and msglen account exactly for its length, its name at most 128 bytes. */
function isPlainDeliver(frame: Uint8Array): boolean {
  const len = frame.length;
  return (
    len >= DV_MESSAGE && i32At(frame, H_SIZE) === len && i32At(frame, H_ID) === DV_ID &&
    i32At(frame, DV_GROUP) >>> 0 <= CPG_NAME_MAX && i32At(frame, DV_MSGLEN) >>> 0 === len - DV_MESSAGE
  );
}

/**
 * The deliver callback's arguments of a plain DELIVER (isPlainDeliver), read straight from the
 * frame, else undefined (decodeCpgEvent decides). The same values decodeCpgEvent gives, without
 * the event and fields objects it builds around them: per delivery those were two of the five
 * objects the client allocated, and most of the decode's time.
 */
export function plainDeliverArgs(frame: Uint8Array, handle: CpgHandle): CpgDeliver | undefined {
  if (!isPlainDeliver(frame)) return undefined;
  const name = DV_GROUP + 8;
  return {
    handle, groupName: frame.slice(name, name + (i32At(frame, DV_GROUP) >>> 0)), nodeid: i32At(frame, DV_NODEID) >>> 0,
    pid: i32At(frame, DV_PID) >>> 0, msg: frame.subarray(DV_MESSAGE),
  };
}

/** Where a PARTIAL_DELIVER's fragment starts: the bytes of its frame ahead of the fragment. */
export const PARTIAL_DELIVER_HEAD = PD_FRAGMENT;

/**
 * The message length of a `length`-byte frame whose first bytes are `head` when it is the plain
 * PARTIAL_DELIVER (as plainDelivery reads it) of a message's first fragment (libcpg's
 * LIBCPG_PARTIAL_FIRST, 1), else -1: where cpg reads such a frame straight into the buffer
 * the message is put back together in (@corosync-ts/ipc ConnectOptions.eventInto).
 */
export function partialFirstMsglen(head: Uint8Array, length: number): number {
  if (head.length < PD_FRAGMENT || i32At(head, H_SIZE) !== length || i32At(head, H_ID) !== PD_ID) return -1;
  const msglen = i32At(head, PD_MSGLEN) >>> 0;
  const fraglen = i32At(head, PD_FRAGLEN) >>> 0;
  if (i32At(head, PD_TYPE) !== 1 || fraglen !== length - PD_FRAGMENT || fraglen > msglen || i32At(head, PD_GROUP) >>> 0 > CPG_NAME_MAX) return -1;
  return msglen;
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
