/**
 * The DataView baseline: a plain TypeScript codec for the benchmarked messages only, written for
 * this benchmark and never used by the packages. It validates exactly what the WASM codec
 * validates for these messages, so neither side gets a discount:
 *
 * decode(dv, off, len, service, dir) -> message code (> 0) or a negative error code
 *   - len >= header size (16 request, 24 response/event)                  else TRUNCATED
 *   - header size field == len                                            else SIZE_MISMATCH
 *   - id known for the service and direction; a bare 24-byte cmap response with an unknown id, or
 *     with id 2 (GET) and an error, is `cmap.error`                        else UNKNOWN
 *   - fixed-size messages exactly their size; others at least their fixed part   TRUNCATED/BAD_SIZE
 *   - mar_name_t length <= 256 (NAME_TOO_LONG); the key is cut at its first NUL within length
 *   - every count (valueLen, list entries) within the bytes that are left   else COUNT_OVERRUN
 *   - no bytes left over after the variable part (cmap GET reply: zero fill allowed)  else BAD_SIZE
 *   - cmap GET reply of exactly 40 bytes, or with an error: value empty whatever valueLen says
 * The decoded string / bytes / list positions go into `out` (no allocation); integers are read
 * by the consumer at their fixed offsets, as any hand-written DataView decoder would.
 *
 * The encoders take the same plain fields objects as the codec's encodeOutput() and apply the
 * same checks: unknown field names, JS types, integer ranges, name length <= 256 bytes of UTF-8
 * with no NUL, counts that disagree with their list; they zero-fill and write the frame into a
 * caller-owned buffer and return its length.
 */

export const CMAP = 1, QUORUM = 2, VOTEQUORUM = 3;
export const REQ = 0, RES = 1, EVT = 2;
const CS_OK = 1;

export const CMAP_SET_REQ = 1, CMAP_GET_REQ = 2, CMAP_SET_RES = 3, CMAP_GET_RES = 4, CMAP_ERROR = 5;
export const Q_V0 = 6, Q_V1_QUORUM = 7, Q_V1_NODELIST = 8;
export const VQ_QUORUM = 9, VQ_EXPECTED = 10, VQ_NODELIST = 11;

export const TRUNCATED = -1, SIZE_MISMATCH = -2, BAD_SIZE = -3, UNKNOWN = -4, COUNT_OVERRUN = -5, NAME_TOO_LONG = -6;

/** Positions decoded by the last decode(): offsets relative to the DataView, lengths in bytes or elements. */
export const out = { nameLen: 0, dataOff: 0, dataLen: 0, c0: 0, c1: 0, c2: 0, l0: 0, l1: 0, l2: 0 };

const u64 = (dv: DataView, p: number) => dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 4294967296;

/** Length of the string at p up to the first NUL within n bytes: a word at a time, then bytes. */
function strnlen(dv: DataView, p: number, n: number): number {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = dv.getUint32(p + i, true);
    if (((v - 0x01010101) & ~v & 0x80808080) !== 0) break;
  }
  for (; i < n; i++) if (dv.getUint8(p + i) === 0) return i;
  return n;
}

function name(dv: DataView, p: number): boolean {
  const n = dv.getUint16(p, true);
  if (n > 256) return false;
  out.nameLen = strnlen(dv, p + 8, n);
  return true;
}

export function decode(dv: DataView, off: number, len: number, service: number, dir: number): number {
  if (len < (dir === REQ ? 16 : 24)) return TRUNCATED;
  const id = dv.getInt32(off, true);
  if (dv.getInt32(off + 8, true) !== len) return SIZE_MISMATCH;
  if (service === CMAP) {
    if (dir === REQ) {
      if (id === 2) {
        if (len < 288) return TRUNCATED;
        if (len !== 288) return BAD_SIZE;
        return name(dv, off + 16) ? CMAP_GET_REQ : NAME_TOO_LONG;
      }
      if (id === 0) {
        if (len < 296) return TRUNCATED;
        if (!name(dv, off + 16)) return NAME_TOO_LONG;
        const vl = u64(dv, off + 280);
        if (vl > len - 296) return COUNT_OVERRUN;
        if (vl !== len - 296) return BAD_SIZE;
        out.dataOff = off + 296;
        out.dataLen = vl;
        return CMAP_SET_REQ;
      }
      return UNKNOWN;
    }
    if (dir === RES) {
      const error = dv.getInt32(off + 16, true);
      if (id === 0) return len === 24 ? CMAP_SET_RES : BAD_SIZE;
      if (id === 2) {
        if (len === 24 && error !== CS_OK) return CMAP_ERROR;
        if (len < 40) return TRUNCATED;
        let vl = u64(dv, off + 24);
        if (len === 40) vl = 0;
        if (vl > len - 40) return COUNT_OVERRUN;
        out.dataOff = off + 40;
        out.dataLen = vl;
        return CMAP_GET_RES;
      }
      // ids the benchmark does not cover are unknown here; a bare header is the error reply
      return len === 24 && (id < 0 || id > 10 || id === 9) ? CMAP_ERROR : UNKNOWN;
    }
    return UNKNOWN;
  }
  if (dir !== EVT) return UNKNOWN;
  if (service === QUORUM) {
    if (id === 3) return list1(dv, off, len, 48, 40, 44, 4, Q_V0);
    if (id === 6) return list1(dv, off, len, 56, 48, 52, 4, Q_V1_QUORUM);
    if (id === 7) {
      if (len < 64) return TRUNCATED;
      const room = len - 64;
      const m = dv.getUint32(off + 40, true);
      if (m > room / 4) return COUNT_OVERRUN;
      const j = dv.getUint32(off + 48, true);
      if (j > (room - 4 * m) / 4) return COUNT_OVERRUN;
      const l = dv.getUint32(off + 56, true);
      if (l > (room - 4 * m - 4 * j) / 4) return COUNT_OVERRUN;
      if (4 * (m + j + l) !== room) return BAD_SIZE;
      out.c0 = m; out.l0 = off + 60;
      out.c1 = j; out.l1 = off + 60 + 4 * m;
      out.c2 = l; out.l2 = off + 60 + 4 * (m + j);
      return Q_V1_NODELIST;
    }
    return UNKNOWN;
  }
  if (service === VOTEQUORUM) {
    if (id === 3) return list1(dv, off, len, 48, 40, 48, 8, VQ_QUORUM);
    if (id === 5) return list1(dv, off, len, 56, 48, 56, 4, VQ_NODELIST);
    if (id === 4) return len < 40 ? TRUNCATED : len === 40 ? VQ_EXPECTED : BAD_SIZE;
    return UNKNOWN;
  }
  return UNKNOWN;
}

/** A message with one list: fixed part `base`, u32 count at `countAt`, elements from `listAt`. */
function list1(dv: DataView, off: number, len: number, base: number, countAt: number, listAt: number, es: number, code: number): number {
  if (len < base) return TRUNCATED;
  const room = len - base;
  const c = dv.getUint32(off + countAt, true);
  if (c > room / es) return COUNT_OVERRUN;
  if (c * es !== room) return BAD_SIZE;
  out.c0 = c;
  out.l0 = off + listAt;
  return code;
}

/**
 * The field sum of a decoded frame, defined as in the codec's decodeStream(): 32-bit sum of the
 * id, size, error (responses and events), then each field; 64-bit values as low word and high
 * word; strings and bytes by length; lists as count plus every 32-bit word.
 */
export function fieldSum(h: number, dv: DataView, off: number, code: number): number {
  h = (h + dv.getInt32(off, true)) | 0;
  h = (h + dv.getInt32(off + 8, true)) | 0;
  switch (code) {
    case CMAP_GET_REQ:
      h = (h + out.nameLen) | 0;
      h = (h + dv.getUint32(off + 280, true)) | 0;
      h = (h + dv.getUint32(off + 284, true)) | 0;
      break;
    case CMAP_SET_REQ:
      h = (h + out.nameLen) | 0;
      h = (h + dv.getUint32(off + 280, true)) | 0;
      h = (h + dv.getUint32(off + 284, true)) | 0;
      h = (h + dv.getUint8(off + 288)) | 0;
      h = (h + out.dataLen) | 0;
      break;
    case CMAP_SET_RES:
    case CMAP_ERROR:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      break;
    case CMAP_GET_RES:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 28, true)) | 0;
      h = (h + dv.getUint8(off + 32)) | 0;
      h = (h + out.dataLen) | 0;
      break;
    case Q_V0:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 32, true)) | 0;
      h = (h + dv.getUint32(off + 36, true)) | 0;
      h = (h + dv.getUint32(off + 40, true)) | 0;
      h = words(h, dv, out.l0, out.c0, 1);
      break;
    case Q_V1_QUORUM:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 32, true)) | 0;
      h = (h + dv.getUint32(off + 40, true)) | 0;
      h = (h + dv.getUint32(off + 44, true)) | 0;
      h = (h + dv.getUint32(off + 48, true)) | 0;
      h = words(h, dv, out.l0, out.c0, 1);
      break;
    case Q_V1_NODELIST:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 32, true)) | 0;
      h = (h + dv.getUint32(off + 36, true)) | 0;
      h = (h + out.c0) | 0;
      h = (h + out.c1) | 0;
      h = (h + out.c2) | 0;
      h = words(h, dv, out.l0, out.c0, 1);
      h = words(h, dv, out.l1, out.c1, 1);
      h = words(h, dv, out.l2, out.c2, 1);
      break;
    case VQ_QUORUM:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 32, true)) | 0;
      h = (h + dv.getUint32(off + 36, true)) | 0;
      h = (h + dv.getUint32(off + 40, true)) | 0;
      h = words(h, dv, out.l0, out.c0, 2);
      break;
    case VQ_EXPECTED:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 28, true)) | 0;
      h = (h + dv.getUint32(off + 32, true)) | 0;
      break;
    case VQ_NODELIST:
      h = (h + dv.getInt32(off + 16, true)) | 0;
      h = (h + dv.getUint32(off + 24, true)) | 0;
      h = (h + dv.getUint32(off + 28, true)) | 0;
      h = (h + dv.getUint32(off + 32, true)) | 0;
      h = (h + dv.getUint32(off + 40, true)) | 0;
      h = (h + dv.getUint32(off + 44, true)) | 0;
      h = (h + dv.getUint32(off + 48, true)) | 0;
      h = words(h, dv, out.l0, out.c0, 1);
      break;
  }
  return h;
}

function words(h: number, dv: DataView, p: number, n: number, per: number): number {
  h = (h + n) | 0;
  const end = p + 4 * n * per;
  for (let q = p; q < end; q += 4) h = (h + dv.getUint32(q, true)) | 0;
  return h;
}

/** Walks concatenated frames of one service/direction: frames decoded, or a negative error; field sum in `walkSum`. */
export let walkSum = 0;
export function walk(dv: DataView, len: number, service: number, dir: number): number {
  const min = dir === REQ ? 16 : 24;
  let pos = 0;
  let n = 0;
  let h = 0;
  while (len - pos >= min) {
    const size = dv.getInt32(pos + 8, true);
    if (size < min) return -100;
    if (size > len - pos) break;
    const code = decode(dv, pos, size, service, dir);
    if (code < 0) return code;
    h = fieldSum(h, dv, pos, code);
    pos += size;
    n++;
  }
  walkSum = h >>> 0;
  return n;
}

// ------------------------------------------------------------------------------------ encoding

export class BaselineEncodeError extends Error {}
const fail = (what: string): never => {
  throw new BaselineEncodeError(what);
};
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const utf8 = new TextEncoder();

function noUnknown(f: Record<string, unknown>, known: readonly string[]): void {
  for (const k in f) if (!known.includes(k)) fail(`unknown field ${k}`);
}
function int(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number') return fail(`${what}: not a number`);
  if (!(v >= lo && v <= hi && Number.isInteger(v))) fail(`${what}: out of range`);
  return v;
}
function big(v: unknown, what: string): bigint {
  if (typeof v !== 'bigint') return fail(`${what}: not a bigint`);
  if (v < 0n || v > U64_MAX) fail(`${what}: out of range`);
  return v;
}
/** Writes a mar_name_t at p (length at p, chars at p+8); ASCII copied directly, else UTF-8. */
function writeName(u8: Uint8Array, dv: DataView, p: number, s: unknown): void {
  if (typeof s !== 'string') fail('keyName: not a string');
  const str = s as string;
  if (str.length > 256) fail('keyName: too long');
  const at = p + 8;
  let i = 0;
  for (; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0x80) break;
    if (c === 0) fail('keyName: NUL');
    u8[at + i] = c;
  }
  let n = i;
  if (i < str.length) {
    n = i + utf8.encodeInto(str.slice(i), u8.subarray(at + i, at + 257)).written;
    if (n > 256 || utf8.encode(str).length > 256) fail('keyName: too long');
    for (let k = at + i; k < at + n; k++) if (u8[k] === 0) fail('keyName: NUL');
  }
  dv.setUint16(p, n, true);
}
function header(dv: DataView, id: number, size: number, error: number | undefined): void {
  dv.setInt32(0, id, true);
  dv.setInt32(8, size, true);
  if (error !== undefined) dv.setInt32(16, error, true);
}
function u32list(dv: DataView, p: number, list: unknown, count: unknown, what: string): number {
  if (!Array.isArray(list)) return fail(`${what}: not an array`);
  if (count !== undefined && int(count, 0, 4294967295, what) !== list.length) fail(`${what}: count mismatch`);
  for (let k = 0; k < list.length; k++) dv.setUint32(p + 4 * k, int(list[k], 0, 4294967295, what), true);
  return list.length;
}

const GET_REQ = ['keyName', 'valueLen'] as const;
export function encCmapGetReq(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, GET_REQ);
  const vl = big(f.valueLen, 'valueLen');
  u8.fill(0, 0, 288);
  header(dv, 2, 288, undefined);
  writeName(u8, dv, 16, f.keyName);
  dv.setBigUint64(280, vl, true);
  return 288;
}

const SET_REQ = ['keyName', 'valueLen', 'type', 'value'] as const;
export function encCmapSetReq(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, SET_REQ);
  const v = f.value;
  if (!(v instanceof Uint8Array)) fail('value: not a Uint8Array');
  if (f.valueLen !== undefined && big(f.valueLen, 'valueLen') !== BigInt(v.length)) fail('valueLen: count mismatch');
  const type = int(f.type, 0, 255, 'type');
  const size = 296 + v.length;
  u8.fill(0, 0, size);
  header(dv, 0, size, undefined);
  writeName(u8, dv, 16, f.keyName);
  dv.setUint32(280, v.length, true);
  dv.setUint8(288, type);
  u8.set(v, 296);
  return size;
}

export function encCmapSetRes(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, []);
  u8.fill(0, 0, 24);
  header(dv, 0, 24, CS_OK);
  return 24;
}

const GET_RES = ['valueLen', 'type', 'value'] as const;
export function encCmapGetRes(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, GET_RES);
  const v = f.value;
  if (!(v instanceof Uint8Array)) fail('value: not a Uint8Array');
  if (f.valueLen !== undefined && big(f.valueLen, 'valueLen') !== BigInt(v.length) && v.length !== 0) fail('valueLen: count mismatch');
  const type = int(f.type, 0, 255, 'type');
  const size = 40 + v.length;
  u8.fill(0, 0, size);
  header(dv, 2, size, CS_OK);
  dv.setBigUint64(24, f.valueLen !== undefined ? f.valueLen : BigInt(v.length), true);
  dv.setUint8(32, type);
  u8.set(v, 40);
  return size;
}

const QV0 = ['quorate', 'ringSeq', 'viewListEntries', 'viewList'] as const;
export function encQuorumV0(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, QV0);
  const q = int(f.quorate, -2147483648, 2147483647, 'quorate');
  const seq = big(f.ringSeq, 'ringSeq');
  if (!Array.isArray(f.viewList)) fail('viewList: not an array');
  const size = 48 + 4 * f.viewList.length;
  u8.fill(0, 0, size);
  header(dv, 3, size, CS_OK);
  dv.setInt32(24, q, true);
  dv.setBigUint64(32, seq, true);
  dv.setUint32(40, u32list(dv, 44, f.viewList, f.viewListEntries, 'viewList'), true);
  return size;
}

function ringId(dv: DataView, p: number, r: any): void {
  if (typeof r !== 'object' || r === null) fail('ringId: not an object');
  dv.setUint32(p, int(r.nodeid, 0, 4294967295, 'ringId.nodeid'), true);
  dv.setBigUint64(p + 8, big(r.seq, 'ringId.seq'), true);
}

const QV1 = ['quorate', 'ringId', 'viewListEntries', 'viewList'] as const;
export function encQuorumV1(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, QV1);
  const q = int(f.quorate, -2147483648, 2147483647, 'quorate');
  if (!Array.isArray(f.viewList)) fail('viewList: not an array');
  const size = 56 + 4 * f.viewList.length;
  u8.fill(0, 0, size);
  header(dv, 6, size, CS_OK);
  dv.setInt32(24, q, true);
  ringId(dv, 32, f.ringId);
  dv.setUint32(48, u32list(dv, 52, f.viewList, f.viewListEntries, 'viewList'), true);
  return size;
}

const QN = ['ringId', 'memberListEntries', 'joinedListEntries', 'leftListEntries', 'memberList', 'joinedList', 'leftList'] as const;
export function encQuorumNodelist(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, QN);
  const { memberList: m, joinedList: j, leftList: l } = f;
  if (!Array.isArray(m) || !Array.isArray(j) || !Array.isArray(l)) fail('lists: not arrays');
  const size = 64 + 4 * (m.length + j.length + l.length);
  u8.fill(0, 0, size);
  header(dv, 7, size, CS_OK);
  ringId(dv, 24, f.ringId);
  dv.setUint32(40, u32list(dv, 60, m, f.memberListEntries, 'memberList'), true);
  dv.setUint32(48, u32list(dv, 60 + 4 * m.length, j, f.joinedListEntries, 'joinedList'), true);
  dv.setUint32(56, u32list(dv, 60 + 4 * (m.length + j.length), l, f.leftListEntries, 'leftList'), true);
  return size;
}

const VQQ = ['quorate', 'context', 'nodeListEntries', 'nodeList'] as const;
export function encVqQuorum(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, VQQ);
  const q = int(f.quorate, 0, 4294967295, 'quorate');
  const ctx = big(f.context, 'context');
  const list = f.nodeList;
  if (!Array.isArray(list)) fail('nodeList: not an array');
  if (f.nodeListEntries !== undefined && int(f.nodeListEntries, 0, 4294967295, 'nodeListEntries') !== list.length) fail('nodeList: count mismatch');
  const size = 48 + 8 * list.length;
  u8.fill(0, 0, size);
  header(dv, 3, size, CS_OK);
  dv.setUint32(24, q, true);
  dv.setBigUint64(32, ctx, true);
  dv.setUint32(40, list.length, true);
  for (let k = 0; k < list.length; k++) {
    const e = list[k];
    if (typeof e !== 'object' || e === null) fail('nodeList: not an object');
    dv.setUint32(48 + 8 * k, int(e.nodeid, 0, 4294967295, 'nodeid'), true);
    dv.setUint32(52 + 8 * k, int(e.state, 0, 4294967295, 'state'), true);
  }
  return size;
}

const VQN = ['context', 'ringId', 'nodeListEntries', 'nodeList'] as const;
export function encVqNodelist(f: any, u8: Uint8Array, dv: DataView): number {
  noUnknown(f, VQN);
  const ctx = big(f.context, 'context');
  if (!Array.isArray(f.nodeList)) fail('nodeList: not an array');
  const size = 56 + 4 * f.nodeList.length;
  u8.fill(0, 0, size);
  header(dv, 5, size, CS_OK);
  dv.setBigUint64(24, ctx, true);
  ringId(dv, 32, f.ringId);
  dv.setUint32(48, u32list(dv, 56, f.nodeList, f.nodeListEntries, 'nodeList'), true);
  return size;
}
