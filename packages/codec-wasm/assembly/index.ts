// The byte work of the codec: frame validation, field extraction and frame encoding, driven by
// the tables scripts/build-wasm.ts generates from src/catalog.ts. No allocator is used (stub
// runtime, nothing allocated): every buffer is a region this module lays out itself, so a
// hostile frame can only ever make it report an error, never trap or read outside the region.
//
// Regions (offsets in linear memory):
//   A: decode input, or the encoder's scratch data (strings, bytes, list elements)
//   B: encoder output
// Slot layout and error codes: see src/layout.ts.

import {
  NUM_MESSAGES, MAX_ID, SETUP_REQUEST, SETUP_RESPONSE,
  M_SERVICE, M_DIR, M_ID, M_HEADER, M_SIZE, M_TAIL, M_ERRSIZE, M_FSTART, M_FCOUNT,
  F_TYPE, F_OFFSET, F_LEN, F_COUNT, F_COUNT_FOR, F_OPTIONAL, F_ELEM, F_CAP, LOOKUP, ERROR_MSG,
  T_U8, T_U16, T_U32, T_I32, T_U64, T_I64, T_NAME, T_CHARS, T_RINGID,
  T_BYTES, T_U32LIST, T_NODELIST, T_CPGADDRLIST, T_CPGNAME, T_CSNAME, CPG_NAME_MAX, CS_NAME_MAX, NUM_SERVICES, NUM_DIRS, DIR_REQ, DIR_RES, DIR_EVT, DIR_SETUP,
  SLOT_NUM, SLOT_BIG, SLOT_OFF, SLOT_LEN, SLOT_GIVEN, MAX_FIELDS,
  E_TRUNCATED, E_SIZE_MISMATCH, E_BAD_SIZE, E_UNKNOWN_MESSAGE, E_COUNT_OVERRUN, E_NAME_TOO_LONG, E_OUT_OF_RANGE,
  E_TOO_LONG, E_COUNT_MISMATCH, E_BAD_VALUE, E_TOO_LARGE, E_BAD_FRAME, F_HEADER, F_ID, F_SIZE,
} from './generated/tables';

import { MAR_NAME_MAX, slots, errs, slot, fail, clearError, strnlen } from './common';
import { decodeBody, streamBody } from './generated/decoders';

const CS_OK: i32 = 1;
const MAX_REGION: u32 = 0x20000000; // 512 MiB per region: far above any libqb max_msg_size

/** Header of the last decoded frame: id, size, error (i32 each), read by JS without a call. */
const hdr: usize = memory.data(16, 16);
/** Arguments of the last decode (frame length, service, dir), for the JS error message. */
const lastCall: usize = memory.data(16, 16);

let regionA: usize = 0;
let capA: u32 = 0;
let regionB: usize = 0;
let capB: u32 = 0;


export function slotsPtr(): usize { return slots; }
export function aPtr(): usize { return regionA; }
export function aCap(): u32 { return capA; }
export function bPtr(): usize { return regionB; }
export function bCap(): u32 { return capB; }
export function headerPtr(): usize { return hdr; }
export function lastCallPtr(): usize { return lastCall; }
export function errorKind(): i32 { return load<i32>(errs); }
export function errorMessage(): i32 { return load<i32>(errs, 4); }
export function errorField(): i32 { return load<i32>(errs, 8); }
export function errorOffset(): u32 { return load<u32>(errs, 12); }
export function headerId(): i32 { return load<i32>(hdr); }
export function headerSize(): i32 { return load<i32>(hdr, 4); }
export function headerError(): i32 { return load<i32>(hdr, 8); }

@inline function align16(v: usize): usize { return (v + 15) & ~(<usize>15); }

/** Makes region A at least `a` bytes and region B at least `b` bytes; 0 if memory cannot grow. */
export function reserve(a: u32, b: u32): i32 {
  if (a > MAX_REGION || b > MAX_REGION) return 0;
  if (regionA != 0 && a <= capA && b <= capB) return 1;
  const newA = max(a, capA);
  const newB = max(b, capB);
  const baseA = align16(__heap_base);
  const baseB = align16(baseA + <usize>newA);
  const end = baseB + <usize>newB;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  regionA = baseA; capA = newA;
  regionB = baseB; capB = newB;
  return 1;
}


@inline function elemSize(f: i32): u64 { return <u64>load<u32>(F_ELEM + (<usize>f << 2)); }

/** Packed after the fixed struct (the type codes 10..19, see FIELD_TYPE_CODE). */
@inline function isVar(t: i32): bool { return t >= T_BYTES && t <= T_CPGADDRLIST; }


export function lookup(service: i32, dir: i32, id: i32): i32 {
  if (service < 1 || service >= NUM_SERVICES || dir < DIR_REQ || dir > DIR_EVT || id < 0 || id >= MAX_ID) return -1;
  return load<i32>(LOOKUP + (<usize>((service * NUM_DIRS + dir) * MAX_ID + id) << 2));
}

/**
 * Decodes the `len` bytes at the start of region A as a frame of `service` (its code in
 * src/layout.ts; ignored for setup) and `dir`. Returns the message index with the fields in the slots, or -1 with the error
 * in errorKind()/errorField()/errorOffset().
 */
export function decode(len: u32, service: i32, dir: i32): i32 {
  return decodeAt(0, len, service, dir);
}

/**
 * decode() of the frame at byte `start` of region A. Data offsets in the slots stay relative to
 * region A, so a caller that reads several frames into one buffer decodes them in place.
 */
export function decodeAt(start: u32, len: u32, service: i32, dir: i32): i32 {
  // Every -1 below goes through fail(), which sets the whole error state: nothing to clear first.
  store<u32>(lastCall, len);
  store<i32>(lastCall, service, 4);
  store<i32>(lastCall, dir, 8);
  store<i64>(hdr, 0);
  store<i32>(hdr, 0, 8);
  if (regionA == 0 || <u64>start + <u64>len > <u64>capA) return fail(E_TOO_LARGE, -1, F_HEADER, 0);
  const p = regionA + <usize>start;
  let m: i32 = -1;
  let hsize: u32 = dir == DIR_REQ ? 16 : 24;
  if (dir == DIR_SETUP) {
    m = len <= 24 ? SETUP_REQUEST : SETUP_RESPONSE;
    hsize = load<u32>(M_HEADER + (<usize>m << 2));
  } else if (service < 1 || service >= NUM_SERVICES || dir < DIR_REQ || dir > DIR_EVT) {
    return fail(E_UNKNOWN_MESSAGE, -1, F_HEADER, 0);
  }
  if (len < hsize) return fail(E_TRUNCATED, m, F_HEADER, len);
  const id = load<i32>(p);
  const size = load<i32>(p + 8);
  const error = hsize == 24 ? load<i32>(p + 16) : 0;
  store<i32>(hdr, id);
  store<i32>(hdr, size, 4);
  store<i32>(hdr, error, 8);
  if (size < 0 || <u32>size != len) return fail(E_SIZE_MISMATCH, m, F_SIZE, 8);
  if (dir == DIR_SETUP) {
    if (id != -1) return fail(E_UNKNOWN_MESSAGE, -1, F_ID, 0);
  } else {
    m = lookup(service, dir, id);
    if (dir == DIR_RES && len == 24) {
      if (m < 0 || (error != CS_OK && load<u32>(M_SIZE + (<usize>m << 2)) > 24)) {
        m = load<i32>(ERROR_MSG + (<usize>service << 2));
      }
    }
    if (m < 0) return fail(E_UNKNOWN_MESSAGE, -1, F_ID, 0);
    // cpg MCAST / PARTIAL_MCAST: requests with a response-style header
    if (dir == DIR_REQ && load<u32>(M_HEADER + (<usize>m << 2)) == 24 && len >= 24) store<i32>(hdr, load<i32>(p + 16), 8);
  }
  return decodeBody(m, p, start, len, dir == DIR_RES && error != CS_OK);
}

// ------------------------------------------------------------------------------------ streams

let streamPos: u32 = 0;
let streamSum: u32 = 0;

export function streamConsumed(): u32 { return streamPos; }
export function streamFieldSum(): u32 { return streamSum; }

/**
 * Walks the frames concatenated in the first `len` bytes of region A, decoding each in place
 * exactly as decodeAt() does, and adds every decoded field into a 32-bit sum: per frame the
 * header id, size (and error for a response header), then each field: integers as their 32-bit
 * words (64-bit ones low word and high word), strings and bytes by decoded length, a ringId as
 * nodeid, seq low, seq high, and lists as their element count plus every 32-bit word of every
 * element (generated/decoders.ts: streamBody).
 * bench/codec computes the same sum with DataView to check both decoders did the same work.
 * Returns the number of frames, or -1 at the first bad frame (error set as for decode(), with
 * streamConsumed() at that frame's start). A partial frame at the end is not an error: it is
 * left unconsumed (streamConsumed() < len) for the caller to complete.
 */
export function decodeStream(len: u32, service: i32, dir: i32): i32 {
  streamPos = 0;
  streamSum = 0;
  clearError(-1);
  store<u32>(lastCall, len);
  store<i32>(lastCall, service, 4);
  store<i32>(lastCall, dir, 8);
  if (regionA == 0 || len > capA) return fail(E_TOO_LARGE, -1, F_HEADER, 0);
  if (dir < 0 || dir >= NUM_DIRS || (dir != DIR_SETUP && (service < 1 || service >= NUM_SERVICES))) return fail(E_UNKNOWN_MESSAGE, -1, F_HEADER, 0);
  const minSize: u32 = dir == DIR_REQ || dir == DIR_SETUP ? 16 : 24;
  // the id -> message row of this service and direction, looked up once for the whole stream
  const row: usize = LOOKUP + (<usize>((service * NUM_DIRS + dir) * MAX_ID) << 2);
  let pos: u32 = 0;
  let n: i32 = 0;
  let h: u32 = 0;
  while (len - pos >= minSize) {
    const p = regionA + <usize>pos;
    const size = load<i32>(p + 8);
    if (size < <i32>minSize) {
      streamPos = pos;
      streamSum = h;
      return fail(E_BAD_FRAME, -1, F_SIZE, 8);
    }
    if (<u32>size > len - pos) break;
    // The size field is the frame length here, so only the id and the layout can be wrong.
    let m: i32 = -1;
    let errorReply = false;
    if (dir == DIR_SETUP) {
      m = load<i32>(p) == -1 ? (<u32>size <= 24 ? SETUP_REQUEST : SETUP_RESPONSE) : -1;
    } else {
      const id = load<u32>(p);
      m = id < <u32>MAX_ID ? load<i32>(row + (<usize>id << 2)) : -1;
      if (dir == DIR_RES) {
        errorReply = load<i32>(p + 16) != CS_OK;
        if (size == 24 && (m < 0 || (errorReply && load<u32>(M_SIZE + (<usize>m << 2)) > 24))) {
          m = load<i32>(ERROR_MSG + (<usize>service << 2));
        }
      }
    }
    const r = m < 0 ? -1 : streamBody(m, h, p, <u32>size, errorReply);
    if (r < 0) {
      // the slot decoder sets the error (and the header) exactly as decodeAt() does
      decodeAt(pos, <u32>size, service, dir);
      streamPos = pos;
      streamSum = h;
      return -1;
    }
    h = <u32>r;
    pos += <u32>size;
    n++;
  }
  streamPos = pos;
  streamSum = h;
  return n;
}

// ------------------------------------------------------------------------------------ encoding

@inline function intIn(v: f64, lo: f64, hi: f64): bool {
  return v >= lo && v <= hi && v == Math.floor(v);
}

function countOf(s: usize, ct: i32): u64 {
  return ct == T_U64 || ct == T_I64 ? load<u64>(s + SLOT_BIG) : <u64>load<f64>(s + SLOT_NUM);
}

function clearGiven(): void {
  for (let i: usize = 0; i < MAX_FIELDS; i++) store<u32>(slot(<i32>i) + SLOT_GIVEN, 0);
}

/**
 * Encodes message `m` from the slots (data in region A) into region B. `sizeOverride` 0 means
 * the natural size. `skipBytes` 1: bytes fields are left out (their place neither written nor
 * zeroed), for a caller that copies them into region B itself: one pass over a large payload
 * instead of three (into region A, zero fill, copy). Returns the frame length, or -1 with the
 * error set.
 */
export function encode(m: i32, id: i32, error: i32, sizeOverride: u32, skipBytes: i32): i32 {
  const r = encodeInner(m, id, error, sizeOverride, skipBytes != 0);
  clearGiven();
  return r;
}

function encodeInner(m: i32, id: i32, error: i32, sizeOverride: u32, skipBytes: bool): i32 {
  clearError(m);
  if (m < 0 || m >= NUM_MESSAGES) return fail(E_UNKNOWN_MESSAGE, -1, F_HEADER, 0);
  const base = load<u32>(M_SIZE + (<usize>m << 2));
  const hsize = load<u32>(M_HEADER + (<usize>m << 2));
  const fstart = load<i32>(M_FSTART + (<usize>m << 2));
  const fcount = load<i32>(M_FCOUNT + (<usize>m << 2));

  // Pass 1: variable sizes and count consistency.
  let varBytes: u64 = 0;
  for (let i = 0; i < fcount; i++) {
    const f = fstart + i;
    const t = load<i32>(F_TYPE + (<usize>f << 2));
    const c = load<i32>(F_COUNT + (<usize>f << 2));
    const cap = load<u32>(F_CAP + (<usize>f << 2));
    const actual = <u64>load<u32>(slot(i) + SLOT_LEN);
    if (cap != 0 && actual > <u64>cap) return fail(E_TOO_LONG, m, i, load<u32>(F_OFFSET + (<usize>f << 2)));
    if (c < 0) continue;
    const cs = slot(c);
    if (load<u32>(cs + SLOT_GIVEN) == 0) {
      // a count shared by several lists is derived from the first: the others must agree
      const first = load<i32>(F_COUNT_FOR + (<usize>(fstart + c) << 2));
      if (first != i && <u64>load<u32>(slot(first) + SLOT_LEN) != actual) {
        return fail(E_COUNT_MISMATCH, m, i, load<u32>(F_OFFSET + (<usize>f << 2)));
      }
    } else {
      const ct = load<i32>(F_TYPE + (<usize>(fstart + c) << 2));
      const given = countOf(cs, ct);
      const optional = load<i32>(F_OPTIONAL + (<usize>f << 2)) != 0;
      if (ct != T_U64 && ct != T_I64 && !intIn(load<f64>(cs + SLOT_NUM), 0, 4294967295.0)) {
        return fail(E_OUT_OF_RANGE, m, c, load<u32>(F_OFFSET + (<usize>(fstart + c) << 2)));
      }
      if (given != actual && !(optional && actual == 0)) {
        return fail(E_COUNT_MISMATCH, m, c, load<u32>(F_OFFSET + (<usize>(fstart + c) << 2)));
      }
    }
    if (isVar(t)) varBytes += actual * elemSize(f);
  }
  const natural: u64 = <u64>base + varBytes;
  let size: u64 = natural;
  const errSize = load<u32>(M_ERRSIZE + (<usize>m << 2));
  if (sizeOverride != 0) {
    const tail = load<u32>(M_TAIL + (<usize>m << 2));
    // a response whose error reply is shorter than its struct (cfg NODESTATUSGET)
    const short = errSize != 0 && sizeOverride == errSize && error != CS_OK;
    if (!short && (tail == 1 ? <u64>sizeOverride < natural : <u64>sizeOverride != natural)) {
      return fail(E_BAD_SIZE, m, F_SIZE, 8);
    }
    size = <u64>sizeOverride;
  }
  if (size > 0x7fffffff || size > <u64>capB) return fail(E_TOO_LARGE, m, F_SIZE, 8);

  const o = regionB;
  const a = regionA;
  if (skipBytes) {
    // the variable part is written whole below (bytes by the caller); the rest is zeroed
    memory.fill(o, 0, <usize>base);
    if (size > natural) memory.fill(o + <usize>natural, 0, <usize>(size - natural));
  } else {
    memory.fill(o, 0, <usize>size);
  }
  store<i32>(o, id);
  store<i32>(o + 8, <i32>size);
  if (hsize == 24) store<i32>(o + 16, error);

  let cursor: usize = 0;
  let cursorSet = false;
  for (let i = 0; i < fcount; i++) {
    const f = fstart + i;
    const t = load<i32>(F_TYPE + (<usize>f << 2));
    const off = load<u32>(F_OFFSET + (<usize>f << 2));
    const s = slot(i);
    const v = load<f64>(s + SLOT_NUM);
    if (<u64>off >= size) continue; // past a short error reply
    if (t == T_U8) {
      if (!intIn(v, 0, 255)) return fail(E_OUT_OF_RANGE, m, i, off);
      store<u8>(o + off, <u8>v);
    } else if (t == T_U16) {
      if (!intIn(v, 0, 65535)) return fail(E_OUT_OF_RANGE, m, i, off);
      store<u16>(o + off, <u16>v);
    } else if (t == T_U32 || t == T_I32) {
      const forVar = load<i32>(F_COUNT_FOR + (<usize>f << 2));
      if (forVar >= 0 && load<u32>(s + SLOT_GIVEN) == 0) {
        store<u32>(o + off, load<u32>(slot(forVar) + SLOT_LEN));
      } else if (t == T_U32) {
        if (!intIn(v, 0, 4294967295.0)) return fail(E_OUT_OF_RANGE, m, i, off);
        store<u32>(o + off, <u32>v);
      } else {
        if (!intIn(v, -2147483648.0, 2147483647.0)) return fail(E_OUT_OF_RANGE, m, i, off);
        store<i32>(o + off, <i32>v);
      }
    } else if (t == T_U64 || t == T_I64) {
      const forVar = load<i32>(F_COUNT_FOR + (<usize>f << 2));
      if (forVar >= 0 && load<u32>(s + SLOT_GIVEN) == 0) {
        store<u64>(o + off, <u64>load<u32>(slot(forVar) + SLOT_LEN));
      } else {
        store<u64>(o + off, load<u64>(s + SLOT_BIG));
      }
    } else if (t == T_NAME || t == T_CHARS) {
      const n = load<u32>(s + SLOT_LEN);
      const src = a + <usize>load<u32>(s + SLOT_OFF);
      const maxLen: u32 = t == T_NAME ? MAR_NAME_MAX : load<u32>(F_LEN + (<usize>f << 2)) - 1;
      if (n > maxLen) return fail(E_TOO_LONG, m, i, off);
      if (strnlen(src, n) != n) return fail(E_BAD_VALUE, m, i, off);
      if (t == T_NAME) {
        store<u16>(o + off, <u16>n);
        memory.copy(o + off + 8, src, n);
      } else {
        memory.copy(o + off, src, n);
      }
    } else if (t == T_CPGNAME) {
      // any bytes (NULs too), with their length: not a C string
      const n = load<u32>(s + SLOT_LEN);
      if (n > CPG_NAME_MAX) return fail(E_TOO_LONG, m, i, off);
      store<u32>(o + off, n);
      memory.copy(o + off + 8, a + <usize>load<u32>(s + SLOT_OFF), n);
    } else if (t == T_CSNAME) {
      // libcfg sends strlen + 1: the length counts the NUL
      const n = load<u32>(s + SLOT_LEN);
      const src = a + <usize>load<u32>(s + SLOT_OFF);
      if (n >= CS_NAME_MAX) return fail(E_TOO_LONG, m, i, off);
      if (strnlen(src, n) != n) return fail(E_BAD_VALUE, m, i, off);
      store<u16>(o + off, <u16>(n + 1));
      memory.copy(o + off + 2, src, n);
    } else if (!isVar(t) && t > T_RINGID) {
      // fixed arrays, laid out element by element by the JS side
      const n = load<u32>(s + SLOT_LEN);
      memory.copy(o + off, a + <usize>load<u32>(s + SLOT_OFF), <usize>n * <usize>elemSize(f));
    } else if (t == T_RINGID) {
      if (!intIn(v, 0, 4294967295.0)) return fail(E_OUT_OF_RANGE, m, i, off);
      store<u32>(o + off, <u32>v);
      store<u64>(o + off + 8, load<u64>(s + SLOT_BIG));
    } else {
      if (!cursorSet) { cursor = <usize>off; cursorSet = true; }
      const n = load<u32>(s + SLOT_LEN);
      const src = a + <usize>load<u32>(s + SLOT_OFF);
      if (t != T_U32LIST && t != T_NODELIST) {
        const nb = <usize>n * <usize>elemSize(f);
        if (!(skipBytes && t == T_BYTES)) memory.copy(o + cursor, src, nb);
        cursor += nb;
      } else {
        // List elements arrive as doubles (one per u32; two per node entry) for range checks.
        const per: u32 = t == T_NODELIST ? 2 : 1;
        const total = n * per;
        for (let k: u32 = 0; k < total; k++) {
          const e = load<f64>(src + (<usize>k << 3));
          if (!intIn(e, 0, 4294967295.0)) return fail(E_OUT_OF_RANGE, m, i, <u32>cursor);
          store<u32>(o + cursor, <u32>e);
          cursor += 4;
        }
      }
    }
  }
  return <i32>size;
}
