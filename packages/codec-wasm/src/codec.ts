import { CS_ERR_INVALID_PARAM, CS_OK } from '@corosync-ts/types';
import { messages } from './catalog.js';
import { DecodeError, EncodeError, type DecodeErrorKind, type EncodeErrorKind } from './errors.js';
import {
  FIELD_TYPE_CODE, CPG_NAME_MAX, CS_NAME_MAX, DIR_CODE, DIR_NAMES, ERROR_KINDS, MAX_FIELDS, SERVICE_CODE, SERVICE_NAMES, SLOT_BIG, SLOT_GIVEN,
  SLOT_LEN, SLOT_NUM, SLOT_OFF, SLOT_SIZE, PSEUDO_FIELDS, elementSize, headerKindOf,
} from './layout.js';
import type { CpgAddress, DecodedMessage, Direction, EncodeHeader, Encoders, KnetLinkStatus, Service } from './types.js';
import { HEADER_PTR, SLOTS_PTR } from './generated/wasm.js';
import { mem, reserve, wasm } from './wasm.js';

type FieldType = keyof typeof FIELD_TYPE_CODE;

/** A catalog field, resolved for the runtime. */
export interface RuntimeField {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  /** char[len] size of `chars` fields (of each string of a `charsArray`). */
  readonly len: number;
  /** Number of elements of a fixed array field, 0 otherwise. */
  readonly capacity: number;
  /** Index of the count field of a variable part, -1 otherwise. */
  readonly count: number;
  /** True for a count field (optional when encoding: derived from its list). */
  readonly isCount: boolean;
}

/** A catalog message, resolved for the runtime; `index` is what the fast path works with. */
export interface RuntimeMessage {
  readonly index: number;
  readonly name: string;
  readonly service: Service | 'qb';
  readonly dir: Direction;
  /** Wire id; null for `<service>.error`, which matches any id. */
  readonly id: number | null;
  readonly size: number;
  readonly header: 'request' | 'response';
  readonly fields: readonly RuntimeField[];
  readonly fieldIndex: Readonly<Record<string, number>>;
  /**
   * The index of the message's one variable-length field when that is a bytes field (a cpg
   * message, a cmap value), else -1. Its content is moved in one copy, not through region A
   * (encode), and decodeFrame() leaves it in the frame.
   */
  readonly tailBytes: number;
  /** A request the daemon never answers (the catalog's `noReply`: cpg MCAST). */
  readonly noReply: boolean;
  /** An event whose header error the daemon never sets (the catalog's `errorUnset`: cpg's deliveries): not a result. */
  readonly errorUnset: boolean;
}

/** Packed after the fixed struct, in field order (the WASM side's isVar). */
function isVariable(t: FieldType): boolean {
  return FIELD_TYPE_CODE[t] >= FIELD_TYPE_CODE.bytes && FIELD_TYPE_CODE[t] <= FIELD_TYPE_CODE.cpgAddrList;
}

type AnyField = { name: string; type: FieldType; offset: number; len?: number; capacity?: number; count?: string };

function runtimeMessage(m: (typeof messages)[number], index: number): RuntimeMessage {
  const fs = m.fields as readonly AnyField[];
  const fields = fs.map((f) => ({
    name: f.name,
    type: f.type,
    offset: f.offset,
    len: f.len ?? 0,
    capacity: f.capacity ?? 0,
    count: f.count === undefined ? -1 : fs.findIndex((g) => g.name === f.count),
    isCount: fs.some((g) => g.count === f.name),
  }));
  const variable = fields.flatMap((f, i) => (isVariable(f.type) ? [i] : []));
  return {
    index,
    name: m.name,
    service: m.service,
    dir: m.dir,
    id: m.id,
    size: m.size,
    header: headerKindOf(m),
    fields,
    fieldIndex: Object.fromEntries(fields.map((f, i) => [f.name, i])),
    tailBytes: variable.length === 1 && fields[variable[0]!]!.type === 'bytes' ? variable[0]! : -1,
    noReply: 'noReply' in m && m.noReply === true,
    errorUnset: 'errorUnset' in m && m.errorUnset === true,
  };
}

// The runtime tables are built on the first call that needs them, not at import: building them
// was ~1.5-2 ms of every importer's cold start (the client's too), and a process that only imports
// constants, or makes no call, never needs them. And message by message: a one-call cmap script
// needs a handful of the catalog's messages, and building all of them (~80 kB of objects) at its
// first call filled the young generation into a scavenge before its first answer.
const tables: RuntimeMessage[] = [];
let complete = false;
/** Catalog indexes by message name, in catalog order. */
let byName: Map<string, number[]> | undefined;

/** The runtime message at catalog index `index`, built on first use; undefined out of range. */
function at(index: number): RuntimeMessage | undefined {
  const spec = messages[index];
  return spec === undefined ? undefined : (tables[index] ??= runtimeMessage(spec, index));
}

/** All the runtime messages, built on first use; the array `runtimeMessages` stands for. */
function rt(): RuntimeMessage[] {
  if (!complete) {
    for (let i = 0; i < messages.length; i++) at(i);
    complete = true;
  }
  return tables;
}

/**
 * The catalog resolved for the runtime, indexed like the catalog (`RuntimeMessage.index`). The
 * array itself behind a Proxy whose every operation builds the tables first: the same object
 * every time, an array to Array.isArray, and nothing built until something looks.
 */
export const runtimeMessages: readonly RuntimeMessage[] = new Proxy(
  tables,
  Object.fromEntries(
    (Object.getOwnPropertyNames(Reflect) as (keyof typeof Reflect)[])
      .filter((trap) => trap !== 'apply' && trap !== 'construct')
      .map((trap) => [trap, (...args: unknown[]) => (rt(), (Reflect[trap] as (...a: unknown[]) => unknown)(...args))]),
  ) as ProxyHandler<RuntimeMessage[]>,
);

/** The runtime message called `name` in direction `dir` (default: the request, if there is one). */
export function findMessage(name: string, dir?: Direction): RuntimeMessage | undefined {
  if (byName === undefined) {
    byName = new Map();
    for (let i = 0; i < messages.length; i++) {
      const list = byName.get(messages[i]!.name);
      if (list) list.push(i);
      else byName.set(messages[i]!.name, [i]);
    }
  }
  const list = byName.get(name);
  if (!list) return undefined;
  const want = dir ?? (list.length === 1 ? undefined : 'req');
  const i = want === undefined ? list[0] : list.find((j) => messages[j]!.dir === want);
  return i === undefined ? undefined : at(i);
}

const FIELD_PSEUDO: Record<number, string> = Object.fromEntries(Object.entries(PSEUDO_FIELDS).map(([name, i]) => [i, name]));
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8enc = new TextEncoder();

// ------------------------------------------------------------------------------------ decoding

function serviceCode(service: unknown): number {
  return typeof service === 'string' && Object.hasOwn(SERVICE_CODES, service) ? SERVICE_CODES[service as Service] : -1;
}

function dirCode(dir: unknown): number {
  return typeof dir === 'string' && Object.hasOwn(DIR_CODE, dir) ? DIR_CODE[dir as Direction] : -1;
}

const DECODE_TEXT: Record<string, string> = {
  truncated: 'frame is truncated',
  sizeMismatch: 'header size disagrees with the frame length',
  badSize: 'frame size does not match the message layout',
  unknownMessage: 'unknown message id',
  countOverrun: 'count runs past the end of the frame',
  nameTooLong: 'name length exceeds its field (mar_name_t and cs_name_t hold 256 bytes, mar_cpg_name_t 128)',
  tooLarge: 'frame too large for the codec memory',
  badFrame: 'size field cannot start a frame',
};

function lastDecodeError(len: number, service: string, dir: string): DecodeError {
  const kind = (ERROR_KINDS[wasm.errorKind()] || 'badArgument') as DecodeErrorKind;
  const mi = wasm.errorMessage();
  const msg = mi >= 0 ? at(mi) : undefined;
  const fi = wasm.errorField();
  const field = fi >= 0 ? msg?.fields[fi]?.name : FIELD_PSEUDO[fi];
  const offset = wasm.errorOffset();
  const what = msg ? `${msg.name} (${msg.dir})` : `${dir === 'setup' ? 'qb' : service} ${dir} frame`;
  let text = `${what}: ${DECODE_TEXT[kind] ?? kind}`;
  if (kind === 'sizeMismatch') text += ` (size field ${wasm.headerSize()}, ${len} bytes)`;
  if (kind === 'unknownMessage' && fi === -2) text += ` ${wasm.headerId()}`;
  text += ` (field ${field ?? '?'}, offset ${offset})`;
  return new DecodeError(text, { kind, messageName: msg?.name, field, offset });
}

function readFields(m: RuntimeMessage): Record<string, unknown> {
  const { u8, dv, slots, a } = mem();
  const out: Record<string, unknown> = {};
  const fields = m.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const s = slots + i * SLOT_SIZE;
    switch (f.type) {
      case 'u8':
      case 'u16':
      case 'u32':
      case 'i32':
        out[f.name] = dv.getFloat64(s + SLOT_NUM, true);
        break;
      case 'u64':
        out[f.name] = dv.getBigUint64(s + SLOT_BIG, true);
        break;
      case 'i64':
        out[f.name] = dv.getBigInt64(s + SLOT_BIG, true);
        break;
      case 'name':
      case 'chars':
      case 'csName': {
        const off = a + dv.getUint32(s + SLOT_OFF, true);
        out[f.name] = utf8.decode(u8.subarray(off, off + dv.getUint32(s + SLOT_LEN, true)));
        break;
      }
      case 'ringId':
        out[f.name] = { nodeid: dv.getFloat64(s + SLOT_NUM, true), seq: dv.getBigUint64(s + SLOT_BIG, true) };
        break;
      case 'bytes':
      case 'cpgName': {
        const off = a + dv.getUint32(s + SLOT_OFF, true);
        out[f.name] = u8.slice(off, off + dv.getUint32(s + SLOT_LEN, true));
        break;
      }
      case 'u32list':
        out[f.name] = readList(s, 4, (e) => dv.getUint32(e, true));
        break;
      case 'nodeList':
        out[f.name] = readList(s, 8, (e) => ({ nodeid: dv.getUint32(e, true), state: dv.getUint32(e + 4, true) }));
        break;
      case 'addrList':
        out[f.name] = readList(s, 16, (e) => u8.slice(e, e + 16));
        break;
      case 'cpgAddrList':
      case 'cpgAddrArray':
        out[f.name] = readList<CpgAddress>(s, 24, (e) => ({ nodeid: dv.getUint32(e, true), pid: dv.getUint32(e + 8, true), reason: dv.getUint32(e + 16, true) }));
        break;
      case 'charsArray':
        out[f.name] = readList(s, f.len, (e) => cString(u8, e, f.len));
        break;
      case 'linkStatusArray':
        out[f.name] = readList<KnetLinkStatus>(s, LINK_STATUS_SIZE, (e) => ({
          enabled: u8[e]!,
          connected: u8[e + 1]!,
          dynconnected: u8[e + 2]!,
          mtu: dv.getUint32(e + 4, true),
          srcIpaddr: cString(u8, e + 8, 256),
          dstIpaddr: cString(u8, e + 264, 256),
        }));
        break;
    }
  }
  return out;
}

const LINK_STATUS_SIZE = 520;

/** The list in slot `s` (data offset and element count): one `read(byteOffset)` per element. */
function readList<T>(s: number, elemSize: number, read: (e: number) => T): T[] {
  const { dv, a } = mem();
  const off = a + dv.getUint32(s + SLOT_OFF, true);
  const n = dv.getUint32(s + SLOT_LEN, true);
  const list = new Array<T>(n);
  for (let k = 0; k < n; k++) list[k] = read(off + elemSize * k);
  return list;
}

/** A char[len] at `off`: up to its first NUL (all `len` bytes if there is none), as UTF-8. */
function cString(u8: Uint8Array, off: number, len: number): string {
  let n = u8.indexOf(0, off);
  if (n < 0 || n > off + len) n = off + len;
  return utf8.decode(u8.subarray(off, n));
}

function badArgument(text: string): DecodeError {
  return new DecodeError(text, { kind: 'badArgument' });
}

/**
 * Decodes one complete frame. `service` is required except for `dir: 'setup'` (the libqb
 * connection request/response, told apart by length: 24 bytes or more). Throws DecodeError.
 *
 * Leniency (documented in the README): padding is never checked; a size field that disagrees
 * with the byte length is an error; a bare 24-byte response with an unknown id, or with an error
 * for an id whose reply has a body, decodes as `<service>.error`.
 */
export function decode(bytes: Uint8Array, opts: { service?: Service; dir: Direction }): DecodedMessage {
  if (!(bytes instanceof Uint8Array)) throw badArgument('decode: bytes must be a Uint8Array');
  const dir = dirCode(opts?.dir);
  if (dir < 0) throw badArgument(`decode: unknown dir ${String(opts?.dir)}`);
  const svc = dir === DIR_CODE.setup ? 0 : serviceCode(opts.service);
  if (svc < 0) throw badArgument(`decode: unknown service ${String(opts.service)}`);
  const len = bytes.length;
  // A view of this memory (an encodeView() frame) would be detached if reserve() grows it.
  const frame = bytes.buffer === mem().u8.buffer ? bytes.slice() : bytes;
  if (!reserve(len, 0)) {
    throw new DecodeError(`decode: ${len} bytes is too large for the codec memory`, { kind: 'tooLarge', offset: 0 });
  }
  const mm = mem();
  mm.u8.set(frame, mm.a);
  absentField = -1;
  const r = wasm.decode(len, svc, dir);
  if (r < 0) throw lastDecodeError(len, String(opts.service), DIR_NAMES[dir]!);
  return buildDecoded(r);
}

function buildDecoded(index: number): DecodedMessage {
  const m = at(index)!;
  const id = wasm.headerId();
  const size = wasm.headerSize();
  const fields = readFields(m);
  // Key order name, id, size, error, fields, service, dir: what a reader (and the CLI) expects.
  return (m.header === 'response'
    ? { name: m.name, id, size, error: wasm.headerError(), fields, service: m.service, dir: m.dir }
    : { name: m.name, id, size, fields, service: m.service, dir: m.dir }) as DecodedMessage;
}

// ------------------------------------------------------------------------------------ encoding

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const I64_MIN = -0x8000_0000_0000_0000n;
const I64_MAX = 0x7fff_ffff_ffff_ffffn;

function encErr(kind: EncodeErrorKind, m: RuntimeMessage | undefined, field: string | undefined, text: string): EncodeError {
  const where = m ? `${m.name} (${m.dir})` : 'encode';
  return new EncodeError(`${where}: ${field ? `field ${field}: ` : ''}${text}`, { kind, messageName: m?.name, field });
}

const NO_HEADER: EncodeHeader = Object.freeze({});

/** Scratch writer state for the slots and region A (shared by encode() and the fast path). */
let scratch = 0;

/** Wire bytes of the variable parts written so far (to size region B before encoding). */
let outBytes = 0;

/** The tailBytes value of the message being encoded, copied by runEncode (not through region A). */
let tail: Uint8Array | undefined;

/** Makes room for `n` more scratch bytes in region A (may move region B, never A's base). */
function ensureScratch(m: RuntimeMessage, n: number): void {
  if (!reserve(scratch + n, 0)) throw encErr('tooLarge', m, undefined, 'message too large for the codec memory');
}

function writeNumber(m: RuntimeMessage, i: number, v: unknown): void {
  if (typeof v !== 'number') throw encErr('badType', m, m.fields[i]!.name, `expected a number, got ${typeOf(v)}`);
  const { dv, slots } = mem();
  dv.setFloat64(slots + i * SLOT_SIZE + SLOT_NUM, v, true);
  dv.setUint32(slots + i * SLOT_SIZE + SLOT_GIVEN, 1, true);
}

function writeBig(m: RuntimeMessage, i: number, v: unknown, signed: boolean, slotOff = SLOT_BIG, name = m.fields[i]!.name): void {
  if (typeof v !== 'bigint') throw encErr('badType', m, name, `expected a bigint, got ${typeOf(v)}`);
  if (signed ? v < I64_MIN || v > I64_MAX : v < 0n || v > U64_MAX) {
    throw encErr('outOfRange', m, name, `${v} is out of range for ${signed ? 'i64' : 'u64'}`);
  }
  const { dv, slots } = mem();
  if (signed) dv.setBigInt64(slots + i * SLOT_SIZE + slotOff, v, true);
  else dv.setBigUint64(slots + i * SLOT_SIZE + slotOff, v, true);
  dv.setUint32(slots + i * SLOT_SIZE + SLOT_GIVEN, 1, true);
}

/** Writes UTF-8 of `s` at the scratch cursor; returns the byte length. ASCII is copied directly. */
function writeUtf8(s: string): number {
  const { u8, a } = mem();
  const start = a + scratch;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    u8[start + i] = c;
  }
  if (i === s.length) return i;
  const { written } = utf8enc.encodeInto(s.slice(i), u8.subarray(start + i, start + i + (s.length - i) * 3));
  return i + written;
}

function writeData(i: number, off: number, len: number): void {
  const { dv, slots } = mem();
  dv.setUint32(slots + i * SLOT_SIZE + SLOT_OFF, off, true);
  dv.setUint32(slots + i * SLOT_SIZE + SLOT_LEN, len, true);
  dv.setUint32(slots + i * SLOT_SIZE + SLOT_GIVEN, 1, true);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'a Uint8Array';
  return typeof v;
}

/** String field i, of at most `max` bytes, as UTF-8 in scratch. */
function writeString(m: RuntimeMessage, i: number, v: unknown, max: number): void {
  const name = m.fields[i]!.name;
  if (typeof v !== 'string') throw encErr('badType', m, name, `expected a string, got ${typeOf(v)}`);
  // UTF-8 is never shorter than the UTF-16 length: reject huge strings before copying them.
  if (v.length > max) throw encErr('tooLong', m, name, `${v.length} characters exceed ${max} bytes`);
  ensureScratch(m, v.length * 3);
  const n = writeUtf8(v);
  writeData(i, scratch, n);
  scratch += n;
}

function writeField(m: RuntimeMessage, i: number, v: unknown): void {
  const f = m.fields[i]!;
  switch (f.type) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'i32':
      writeNumber(m, i, v);
      return;
    case 'u64':
    case 'i64':
      writeBig(m, i, v, f.type === 'i64');
      return;
    case 'name':
    case 'chars':
      writeString(m, i, v, f.type === 'name' ? 256 : f.len - 1);
      return;
    case 'ringId': {
      if (typeof v !== 'object' || v === null) throw encErr('badType', m, f.name, `expected {nodeid, seq}, got ${typeOf(v)}`);
      const r = v as { nodeid?: unknown; seq?: unknown };
      writeBig(m, i, r.seq, false, SLOT_BIG, `${f.name}.seq`);
      writeNumber(m, i, r.nodeid);
      return;
    }
    case 'bytes': {
      if (!(v instanceof Uint8Array)) throw encErr('badType', m, f.name, `expected a Uint8Array, got ${typeOf(v)}`);
      // A view of this memory (a decoded frame's bytes) goes through region A as before: a
      // growth of the memory before runEncode would detach it.
      if (i === m.tailBytes && v.buffer !== mem().u8.buffer) {
        // Copied straight to its place in region B once the rest is encoded (runEncode).
        tail = v;
        writeData(i, 0, v.length);
        outBytes += v.length;
        return;
      }
      ensureScratch(m, v.length);
      const { u8, a } = mem();
      u8.set(v, a + scratch);
      writeData(i, scratch, v.length);
      scratch += v.length;
      outBytes += v.length;
      return;
    }
    case 'u32list':
    case 'nodeList': {
      if (!Array.isArray(v)) throw encErr('badType', m, f.name, `expected an array, got ${typeOf(v)}`);
      ensureScratch(m, v.length * (f.type === 'u32list' ? 8 : 16));
      outBytes += v.length * (f.type === 'u32list' ? 4 : 8);
      const { dv, a } = mem();
      let p = a + scratch;
      for (let k = 0; k < v.length; k++) {
        const e: unknown = v[k];
        if (f.type === 'u32list') {
          if (typeof e !== 'number') throw encErr('badType', m, `${f.name}[${k}]`, `expected a number, got ${typeOf(e)}`);
          dv.setFloat64(p, e, true);
          p += 8;
        } else {
          const ns = e as { nodeid?: unknown; state?: unknown } | null;
          if (typeof ns !== 'object' || ns === null || typeof ns.nodeid !== 'number' || typeof ns.state !== 'number') {
            throw encErr('badType', m, `${f.name}[${k}]`, 'expected {nodeid: number, state: number}');
          }
          dv.setFloat64(p, ns.nodeid, true);
          dv.setFloat64(p + 8, ns.state, true);
          p += 16;
        }
      }
      writeData(i, scratch, v.length);
      scratch = p - a;
      return;
    }
    case 'cpgName': {
      let bytes: Uint8Array;
      if (typeof v === 'string') bytes = utf8enc.encode(v);
      else if (v instanceof Uint8Array) bytes = v;
      else throw encErr('badType', m, f.name, `expected a Uint8Array or a string, got ${typeOf(v)}`);
      if (bytes.length > CPG_NAME_MAX) throw encErr('tooLong', m, f.name, `${bytes.length} bytes exceed ${CPG_NAME_MAX}`);
      ensureScratch(m, bytes.length);
      mem().u8.set(bytes, mem().a + scratch);
      writeData(i, scratch, bytes.length);
      scratch += bytes.length;
      return;
    }
    case 'csName':
      // the length on the wire counts the NUL (libcfg sends strlen + 1)
      writeString(m, i, v, CS_NAME_MAX - 1);
      return;
    case 'cpgAddrList':
    case 'cpgAddrArray':
    case 'charsArray':
    case 'linkStatusArray': {
      if (!Array.isArray(v)) throw encErr('badType', m, f.name, `expected an array, got ${typeOf(v)}`);
      if (f.capacity !== 0 && v.length > f.capacity) {
        throw encErr('tooLong', m, f.name, `${v.length} entries exceed the ${f.capacity} of the array`);
      }
      const es = elementSize(f);
      ensureScratch(m, v.length * es);
      const { u8, a } = mem();
      u8.fill(0, a + scratch, a + scratch + v.length * es);
      for (let k = 0; k < v.length; k++) writeElement(m, f, k, v[k], a + scratch + es * k);
      writeData(i, scratch, v.length);
      scratch += v.length * es;
      if (f.type === 'cpgAddrList') outBytes += v.length * es;
      return;
    }
    case 'addrList': {
      if (!Array.isArray(v)) throw encErr('badType', m, f.name, `expected an array, got ${typeOf(v)}`);
      ensureScratch(m, v.length * 16);
      outBytes += v.length * 16;
      const { u8, a } = mem();
      for (let k = 0; k < v.length; k++) {
        const e: unknown = v[k];
        if (!(e instanceof Uint8Array)) throw encErr('badType', m, `${f.name}[${k}]`, `expected a Uint8Array, got ${typeOf(e)}`);
        if (e.length !== 16) throw encErr('badValue', m, `${f.name}[${k}]`, `an address entry is 16 bytes, got ${e.length}`);
        u8.set(e, a + scratch + 16 * k);
      }
      writeData(i, scratch, v.length);
      scratch += 16 * v.length;
      return;
    }
  }
}

function u32In(m: RuntimeMessage, field: string, v: unknown, max = 0xffff_ffff): number {
  if (typeof v !== 'number') throw encErr('badType', m, field, `expected a number, got ${typeOf(v)}`);
  if (!Number.isInteger(v) || v < 0 || v > max) throw encErr('outOfRange', m, field, `${v} is out of range`);
  return v;
}

/** Writes a C string into a zeroed char[len] at `at`: at most len-1 bytes, no NUL inside. */
function writeCString(m: RuntimeMessage, field: string, v: unknown, at: number, len: number): void {
  if (typeof v !== 'string') throw encErr('badType', m, field, `expected a string, got ${typeOf(v)}`);
  const bytes = utf8enc.encode(v);
  if (bytes.length > len - 1) throw encErr('tooLong', m, field, `${bytes.length} bytes exceed ${len - 1}`);
  if (bytes.includes(0)) throw encErr('badValue', m, field, 'string contains a NUL byte');
  mem().u8.set(bytes, at);
}

/** Element k of a structured list or array, in its wire layout at `at` (already zeroed). */
function writeElement(m: RuntimeMessage, f: RuntimeField, k: number, e: unknown, at: number): void {
  const name = `${f.name}[${k}]`;
  if (f.type === 'charsArray') {
    writeCString(m, name, e, at, f.len);
    return;
  }
  if (typeof e !== 'object' || e === null) throw encErr('badType', m, name, `expected an object, got ${typeOf(e)}`);
  const o = e as Record<string, unknown>;
  const { dv, u8 } = mem();
  if (f.type === 'linkStatusArray') {
    u8[at] = u32In(m, `${name}.enabled`, o.enabled, 255);
    u8[at + 1] = u32In(m, `${name}.connected`, o.connected, 255);
    u8[at + 2] = u32In(m, `${name}.dynconnected`, o.dynconnected, 255);
    dv.setUint32(at + 4, u32In(m, `${name}.mtu`, o.mtu), true);
    writeCString(m, `${name}.srcIpaddr`, o.srcIpaddr, at + 8, 256);
    writeCString(m, `${name}.dstIpaddr`, o.dstIpaddr, at + 264, 256);
    return;
  }
  dv.setUint32(at, u32In(m, `${name}.nodeid`, o.nodeid), true);
  dv.setUint32(at + 8, u32In(m, `${name}.pid`, o.pid), true);
  dv.setUint32(at + 16, u32In(m, `${name}.reason`, o.reason), true);
}

function clearGiven(): void {
  const { dv, slots } = mem();
  for (let i = 0; i < 16; i++) dv.setUint32(slots + i * SLOT_SIZE + SLOT_GIVEN, 0, true);
}

function checkInt32(m: RuntimeMessage, v: unknown, what: string): number {
  if (typeof v !== 'number') throw encErr('badType', m, undefined, `header ${what} must be a number, got ${typeOf(v)}`);
  if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) {
    throw encErr('outOfRange', m, undefined, `header ${what} ${v} is not an int32`);
  }
  return v;
}

function defaultError(m: RuntimeMessage): number {
  if (m.id === null) return CS_ERR_INVALID_PARAM; // what corosync answers an unknown id
  if (m.dir === 'setup') return 0; // libqb: 0 or -errno
  if (m.dir === 'req') return 0; // cpg MCAST's header: the field means nothing in a request
  return CS_OK;
}

const ENCODE_TEXT: Record<string, string> = {
  outOfRange: 'value out of range for its wire type',
  tooLong: 'too long for its field',
  countMismatch: 'count disagrees with the length of its list or value',
  badValue: 'string contains a NUL byte',
  badSize: 'header size does not fit the message',
  tooLarge: 'message too large',
  unknownMessage: 'unknown message',
};

/** Encodes `fields` as message `m` into a new Uint8Array. */
export function encodeMessage(m: RuntimeMessage, fields: object, header: EncodeHeader = NO_HEADER): Uint8Array {
  const n = encodeMessageInto(m, fields, header);
  return mem().output.slice(0, n);
}

/** Encodes `fields` as message `m` into region B; returns the frame length. */
function encodeMessageInto(m: RuntimeMessage, fields: object, header: EncodeHeader): number {
  if (typeof fields !== 'object' || fields === null) throw encErr('badType', m, undefined, `fields must be an object, got ${typeOf(fields)}`);
  const rec = fields as Record<string, unknown>;
  // Counting the keys is cheap (V8's enum cache); looking each one up in fieldIndex is not. So
  // the keys are only looked up when their number differs from the catalog fields found below.
  let keys = 0;
  for (const _ in rec) keys++;
  let id = m.id ?? 0;
  if (header.id !== undefined) {
    checkInt32(m, header.id, 'id');
    if (m.id !== null && header.id !== m.id) throw encErr('badValue', m, undefined, `header id ${header.id} is not ${m.id}`);
    id = header.id;
  }
  let error = 0;
  if (m.header === 'response') error = header.error === undefined ? defaultError(m) : checkInt32(m, header.error, 'error');
  else if (header.error !== undefined) throw encErr('badValue', m, undefined, 'a request header has no error');
  let size = 0;
  if (header.size !== undefined) {
    if (typeof header.size !== 'number' || !Number.isInteger(header.size) || header.size < 1 || header.size > 0x7fff_ffff) {
      throw encErr('badSize', m, 'size', `header size ${String(header.size)} is not a positive int32`);
    }
    size = header.size;
  }
  scratch = 0;
  outBytes = 0;
  tail = undefined;
  try {
    const fs = m.fields;
    let found = 0;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i]!;
      const v = rec[f.name];
      if (v === undefined) {
        if (f.isCount) continue;
        throw encErr('missingField', m, f.name, 'missing');
      }
      found++;
    }
    if (found !== keys) {
      for (const k in rec) {
        if (!Object.hasOwn(m.fieldIndex, k)) throw encErr('unknownField', m, k, 'no such field');
      }
    }
    for (let i = 0; i < fs.length; i++) {
      const v = rec[fs[i]!.name];
      if (v !== undefined) writeField(m, i, v);
    }
    if (!reserve(0, Math.max(m.size + outBytes, size))) throw encErr('tooLarge', m, undefined, 'message too large for the codec memory');
  } catch (e) {
    clearGiven();
    tail = undefined;
    throw e;
  }
  return runEncode(m, id, error, size);
}

function runEncode(m: RuntimeMessage, id: number, error: number, size: number): number {
  const t = tail;
  tail = undefined;
  const r = wasm.encode(m.index, id, error, size, t === undefined ? 0 : 1);
  scratch = 0;
  if (r >= 0 && t !== undefined) {
    // The one variable field starts where the fixed part ends; a short error reply may cut it.
    const at = m.fields[m.tailBytes]!.offset;
    if (at < r) mem().output.set(r - at < t.length ? t.subarray(0, r - at) : t, at);
  }
  if (r < 0) {
    const kind = (ERROR_KINDS[wasm.errorKind()] || 'badValue') as EncodeErrorKind;
    const fi = wasm.errorField();
    const field = fi >= 0 ? m.fields[fi]?.name : FIELD_PSEUDO[fi];
    throw encErr(kind, m, field, ENCODE_TEXT[kind] ?? kind);
  }
  return r;
}

/**
 * Encodes a message by name. Names shared by a request and its response (cmap.get, ...) mean
 * the request unless `header.dir` says otherwise; encode(d.name, d.fields, d) re-encodes a
 * Decoded exactly (padding aside). Throws EncodeError.
 */
export function encode(name: string, fields: object, header: EncodeHeader = NO_HEADER): Uint8Array {
  const m = findMessage(name, header.dir);
  if (!m) {
    throw encErr('unknownMessage', undefined, undefined, `unknown message ${String(name)}${header.dir ? ` (${header.dir})` : ''}`);
  }
  return encodeMessage(m, fields, header);
}

/** One service's encoders (`encoders.cmap`): `{ req: { get, set, ... }, res: {...}, evt: {...} }`. */
function serviceEncoders(service: string): Record<string, Record<string, unknown>> {
  const svc: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]!.service !== service) continue;
    const m = at(i)!;
    const dir = (svc[m.dir] ??= {});
    const short = m.name.slice(m.name.indexOf('.') + 1);
    dir[short] = (fields: object, header: Omit<EncodeHeader, 'dir'> = NO_HEADER) => encodeMessage(m, fields, header);
  }
  return svc;
}

/**
 * One typed encoder per catalog message: `encoders.cmap.req.get({ keyName, valueLen })`. Each
 * service's encoders are made on its first read (the getter then replaces itself with the plain
 * value), for the same reason as the runtime tables.
 */
export const encoders: Encoders = (() => {
  const out = {};
  for (const service of new Set(messages.map((m) => m.service))) {
    Object.defineProperty(out, service, {
      configurable: true,
      enumerable: true,
      get() {
        const value = serviceEncoders(service);
        Object.defineProperty(out, service, { value, writable: true, enumerable: true, configurable: true });
        return value;
      },
    });
  }
  return out as Encoders;
})();

// ---------------------------------------------------------------------------------- fast path

/** The fast path's service codes (`codec.decodeInput(len, SERVICE_CODES.cmap, DIR_CODES.res)`). */
export const SERVICE_CODES = Object.fromEntries(Object.entries(SERVICE_CODE).filter(([name]) => name !== 'qb')) as {
  readonly [S in Service]: number;
};
export const DIR_CODES = DIR_CODE;


function fieldSlot(fieldIndex: number): number {
  return mem().slots + checkField(fieldIndex) * SLOT_SIZE;
}

// The accessors below stay a few bytecodes long (word views, constant indices, the throw kept
// out of line) so that V8 inlines a dozen of them into one consumer.
// Word indices of the header and the slots; the slot offsets are literals (32-byte slots: f64 at
// word 0, u64 at u32 words 2-3, data offset at u32 word 4, length at 5), checked against
// layout.ts here, because V8 does not fold imported constants into the accessors.
const HDR = HEADER_PTR >> 2;
const SLOTS_U32 = SLOTS_PTR >> 2;
const SLOTS_F64 = SLOTS_PTR >> 3;
if (SLOT_SIZE !== 32 || SLOT_NUM !== 0 || SLOT_BIG !== 8 || SLOT_OFF !== 16 || SLOT_LEN !== 20 || MAX_FIELDS !== 16) {
  throw new Error('codec-wasm: the slot layout changed; update the fast-path accessors');
}

/** How much of a large frame decodeFrame() copies first: more than any tailBytes message's fixed part. */
const FRAME_HEAD = 512;

/** The tailBytes field the last decodeFrame() left in the frame, or -1. */
let absentField = -1;

function absent(): never {
  throw new RangeError('codec: decodeFrame() left the bytes field in the frame: read it there (dataOffset, dataLength)');
}

function checkField(f: number): number {
  if ((f & 15) !== f) badField(f);
  return f;
}

function badField(f: number): never {
  throw new RangeError(`codec: field index ${f} out of range`);
}

/**
 * Allocation-free access to the codec for hot paths (see README "Fast path"). Message and field
 * indices come from messageIndex()/fieldIndex(), looked up once. Results live in WASM memory
 * until the next decode or encode; views returned here are invalidated when the memory grows
 * (the next inputBuffer()/outputs larger than before may do that).
 */
export const codec = {
  /** The catalog index of message `name` in direction `dir`, or -1. */
  messageIndex(name: string, dir: Direction): number {
    return findMessage(name, dir)?.index ?? -1;
  },
  /** The index of field `name` in message `messageIndex`, or -1. */
  fieldIndex(messageIndex: number, name: string): number {
    const m = at(messageIndex);
    return m && Object.hasOwn(m.fieldIndex, name) ? m.fieldIndex[name]! : -1;
  },
  message(index: number): RuntimeMessage | undefined {
    return at(index);
  },
  /**
   * Compiles and instantiates the WASM module now, unless a call already has (otherwise the first
   * call that needs it does): for a caller with time to spare now, such as a client whose server is
   * setting a connection up.
   */
  load(): void {
    mem();
  },

  /**
   * A view of WASM memory of at least `len` bytes to write a frame into (at its start), then call
   * decodeInput(len). The same view is returned while it is big enough: no allocation per call.
   */
  inputBuffer(len: number): Uint8Array {
    const input = mem().input;
    if (len <= input.length) return input;
    if (!reserve(len, 0)) throw new DecodeError(`inputBuffer: ${len} bytes is too large`, { kind: 'tooLarge' });
    return mem().input;
  },
  /**
   * The input buffer as a DataView (cached like inputBuffer(); same validity rules), to read
   * list elements in place: `inputView().getUint32(dataOffset(f) + 4 * k, true)`.
   */
  inputView(): DataView {
    return mem().inputDv;
  },
  /**
   * Decodes the first `len` bytes of the input buffer. Returns the message index, or -1: then
   * lastError() describes the problem. Never throws for bad bytes.
   */
  decodeInput(len: number, service: number, dir: number): number {
    absentField = -1;
    return wasm.decodeAt(0, len, service, dir);
  },
  /**
   * inputBuffer(frame.length).set(frame) + decodeInput(frame.length), but the content of a
   * message's trailing bytes field (RuntimeMessage.tailBytes: a cpg delivery's message, a cmap
   * value) is not copied into WASM memory, which a large one costs more than the decode: read it
   * from `frame` at dataOffset() / dataLength(). Until the next decode, bytes(), string() and
   * decoded() refuse that field (WASM memory does not hold it).
   */
  decodeFrame(frame: Uint8Array, service: number, dir: number): number {
    const len = frame.length;
    const input = this.inputBuffer(len);
    absentField = -1;
    if (len <= FRAME_HEAD) {
      input.set(frame);
      return wasm.decodeAt(0, len, service, dir);
    }
    input.set(frame.subarray(0, FRAME_HEAD));
    // The decoder reads a bytes field's count, never its content: with every fixed field in the
    // head, the result is the one the whole frame gives. Any other message is decoded again whole.
    const m = wasm.decodeAt(0, len, service, dir);
    if (m >= 0) {
      const r = at(m)!;
      if (r.tailBytes >= 0 && r.size <= FRAME_HEAD) {
        absentField = r.tailBytes;
        return m;
      }
    }
    input.set(frame.subarray(FRAME_HEAD), FRAME_HEAD);
    return wasm.decodeAt(0, len, service, dir);
  },
  /**
   * decodeInput() of the `len` bytes at byte `offset` of the input buffer: several frames read
   * into one buffer are decoded in place. dataOffset() stays relative to the input buffer.
   */
  decodeAt(offset: number, len: number, service: number, dir: number): number {
    absentField = -1;
    return wasm.decodeAt(offset, len, service, dir);
  },
  /**
   * Validates and decodes, inside WASM, every frame concatenated in the first `len` bytes of the
   * input buffer (one JS call for a whole capture or socket read). Returns the number of
   * complete frames, or -1 at the first bad one: lastError() describes it (offset within that
   * frame) and streamConsumed() is where it starts. A partial frame at the end is left for the
   * caller: streamConsumed() < len. The slots then hold the last frame's fields.
   */
  decodeStream(len: number, service: number, dir: number): number {
    absentField = -1;
    return wasm.decodeStream(len, service, dir);
  },
  /** Bytes of whole, valid frames the last decodeStream() walked. */
  streamConsumed(): number {
    return wasm.streamConsumed();
  },
  /**
   * The 32-bit sum of every field value the last decodeStream() decoded (header id, size, error;
   * integers by 32-bit word; strings and bytes by length; lists by count and every element), so
   * a caller can check two decoders extracted the same values without building any object.
   */
  streamSum(): number {
    return wasm.streamFieldSum() >>> 0;
  },
  /** The DecodeError for the last decodeInput()/decodeAt()/decodeStream() that returned -1. */
  lastError(): DecodeError {
    const { dv, lastCall } = mem();
    const service = dv.getInt32(lastCall + 4, true);
    const dir = dv.getInt32(lastCall + 8, true);
    return lastDecodeError(dv.getUint32(lastCall, true), SERVICE_NAMES[service] ?? String(service), DIR_NAMES[dir] ?? String(dir));
  },
  /** The whole Decoded object for the last successful decodeInput() (allocates). */
  decoded(messageIndex: number): DecodedMessage {
    if (absentField >= 0) absent();
    return buildDecoded(messageIndex);
  },
  // The header and the slots are read from WASM memory: a call into WASM per value would cost
  // more than the read itself.
  headerId(): number {
    return mem().i32[HDR]!;
  },
  headerSize(): number {
    return mem().i32[HDR + 1]!;
  },
  headerError(): number {
    return mem().i32[HDR + 2]!;
  },
  /** Integer field (u64 as a double, exact below 2^53; ringId: its nodeid). */
  number(fieldIndex: number): number {
    return mem().f64[SLOTS_F64 + checkField(fieldIndex) * 4]!;
  },
  /** A ringId's seq as a double (exact below 2^53), without the bigint bigint() allocates. */
  ringSeq(fieldIndex: number): number {
    const i = SLOTS_U32 + checkField(fieldIndex) * 8 + 2;
    const u32 = mem().u32;
    return u32[i]! + u32[i + 1]! * 4294967296;
  },
  /** u64 field (ringId: its seq). Allocates a bigint. */
  bigint(fieldIndex: number): bigint {
    return mem().dv.getBigUint64(fieldSlot(fieldIndex) + SLOT_BIG, true);
  },
  /** Byte offset in the input buffer of a string/bytes/list field. */
  dataOffset(fieldIndex: number): number {
    return mem().u32[SLOTS_U32 + checkField(fieldIndex) * 8 + 4]!;
  },
  /** Byte length of a string/bytes field; element count of a list. */
  dataLength(fieldIndex: number): number {
    return mem().u32[SLOTS_U32 + checkField(fieldIndex) * 8 + 5]!;
  },
  /** Element k of a u32list field (no bounds allocation; k must be < dataLength()). */
  listElement(fieldIndex: number, k: number): number {
    const mm = mem();
    const n = mm.dv.getUint32(fieldSlot(fieldIndex) + SLOT_LEN, true);
    if (!(k >= 0 && k < n)) return NaN;
    return mm.dv.getUint32(mm.a + mm.dv.getUint32(fieldSlot(fieldIndex) + SLOT_OFF, true) + 4 * k, true);
  },
  /** A string field (allocates the string). */
  string(fieldIndex: number): string {
    if (fieldIndex === absentField) absent();
    const mm = mem();
    const off = mm.a + this.dataOffset(fieldIndex);
    return utf8.decode(mm.u8.subarray(off, off + this.dataLength(fieldIndex)));
  },
  /** A bytes field as a view into the input buffer (no copy). */
  bytes(fieldIndex: number): Uint8Array {
    if (fieldIndex === absentField) absent();
    const mm = mem();
    const off = mm.a + this.dataOffset(fieldIndex);
    return mm.u8.subarray(off, off + this.dataLength(fieldIndex));
  },

  /**
   * Encodes message `messageIndex` from a plain fields object straight into WASM memory and
   * returns a view of the frame (valid until the next codec call); no copy is made.
   */
  encodeView(messageIndex: number, fields: object, header: EncodeHeader = NO_HEADER): Uint8Array {
    // Encode first: a frame larger than any before grows the memory and detaches older views.
    const n = this.encodeOutput(messageIndex, fields, header);
    return mem().output.subarray(0, n);
  },
  /**
   * Like encodeView() without creating a view: returns the frame length; the frame is at the
   * start of outputBuffer(). Throws EncodeError.
   */
  encodeOutput(messageIndex: number, fields: object, header: EncodeHeader = NO_HEADER): number {
    const m = at(messageIndex);
    if (!m) throw encErr('unknownMessage', undefined, undefined, `unknown message index ${messageIndex}`);
    return encodeMessageInto(m, fields, header);
  },
  /** The encoder's output region (cached view; the last encoded frame is at its start). */
  outputBuffer(): Uint8Array {
    return mem().output;
  },
};
