// The detail of one frame: its decoded fields as a tree, each with the byte range it came from,
// so the tree and the hex dump can highlight each other.
import { DIR_CODES, SERVICE_CODES, codec, decode, toJsonValue, runtimeMessages, type DecodeError, type Direction, type Service } from '@corosync-ts/codec-wasm';
import { csErrorName } from '@corosync-ts/types';
import type { Capture } from './model.js';
import { DIRS } from './model.js';

export interface FieldNode {
  label: string;
  value: string;
  start: number;
  end: number;
  children?: FieldNode[];
}

export interface FrameDetail {
  name: string;
  bytes: Uint8Array;
  fields: FieldNode[];
  error?: DecodeError;
  json?: unknown;
}

// Bytes of each fixed-size field type, and of one element of each list or array type.
const FIXED: Record<string, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, name: 264, ringId: 16, cpgName: 136, csName: 258 };
const ELEM: Record<string, number> = { u32list: 4, nodeList: 8, addrList: 16, cpgAddrList: 24, cpgAddrArray: 24, linkStatusArray: 520 };
// Arrays of `capacity` elements, whether in use or not (the others are variable parts).
const FIXED_ARRAYS = new Set(['cpgAddrArray', 'charsArray', 'linkStatusArray']);
const BYTES_SHOWN = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function fmt(v: unknown): string {
  // a u64 is a number in C: not in quotes (JSON has them for its precision)
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(toJsonValue(v));
}

/** Bytes as text when they are printable UTF-8, NUL-terminated or not (a cpg group name, a cmap string), else as hex. */
function fmtBytes(b: Uint8Array): string {
  const hex = (x: Uint8Array) => Array.from(x, (y) => y.toString(16).padStart(2, '0')).join('');
  const total = b.length > BYTES_SHOWN ? ` (${b.length} bytes)` : '';
  try {
    const text = utf8.decode(b);
    // eslint-disable-next-line no-control-regex
    if (b.length > 0 && !/[\x00-\x08\x0b-\x1f\x7f]/.test(text.replace(/\0+$/, ''))) return `${JSON.stringify(text.length > BYTES_SHOWN ? `${text.slice(0, BYTES_SHOWN)}…` : text)}${total}`;
  } catch {
    // not UTF-8: hex
  }
  return b.length === 0 ? '(empty)' : `0x${hex(b.subarray(0, BYTES_SHOWN))}${total && `…${total}`}`;
}

function headerNodes(bytes: Uint8Array, response: boolean, errorUnset = false): FieldNode[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nodes: FieldNode[] = [];
  if (bytes.length >= 4) nodes.push({ label: 'id', value: String(dv.getInt32(0, true)), start: 0, end: 4 });
  if (bytes.length >= 12) nodes.push({ label: 'size', value: String(dv.getInt32(8, true)), start: 8, end: 12 });
  if (response && bytes.length >= 20) {
    const e = dv.getInt32(16, true);
    nodes.push({ label: 'error', value: errorUnset ? `${e} (never set by corosync for this event; the library ignores it)` : `${e} ${csErrorName(e) ?? ''}`.trim(), start: 16, end: 20 });
  }
  return [{ label: 'header', value: response ? 'qb_ipc_response_header' : 'qb_ipc_request_header', start: 0, end: Math.min(bytes.length, response ? 24 : 16), children: nodes }];
}

/** Decodes frame i of the capture with the codec (one frame, so the object API is fine here). */
export function frameDetail(c: Capture, i: number): FrameDetail {
  const bytes = c.bytes.subarray(c.off[i]!, c.off[i]! + c.len[i]!);
  return detailOf(bytes, c.services[c.svc[i]!]!, DIRS[c.dir[i]!]!);
}

export function detailOf(bytes: Uint8Array, service: string, dir: Direction): FrameDetail {
  const responseHeader = dir === 'res' || dir === 'evt' || (dir === 'setup' && bytes.length > 24);
  const known = dir === 'setup' || service in SERVICE_CODES;
  if (!known) return { name: `${service} (not in the codec's catalog)`, bytes, fields: headerNodes(bytes, responseHeader) };
  let d;
  try {
    d = decode(bytes, { service: service as Service, dir });
  } catch (e) {
    return { name: 'DecodeError', bytes, fields: headerNodes(bytes, responseHeader), error: e as DecodeError };
  }
  // Offsets of the variable parts come from the fast path's accessors.
  const input = codec.inputBuffer(bytes.length);
  input.set(bytes);
  const m = codec.decodeInput(bytes.length, dir === 'setup' ? SERVICE_CODES.cmap : SERVICE_CODES[service as Service], DIR_CODES[dir]);
  const spec = runtimeMessages[m]!;
  const fields: FieldNode[] = headerNodes(bytes, spec.header === 'response', spec.errorUnset);
  const values = d.fields as Record<string, unknown>;
  spec.fields.forEach((f, k) => {
    const v = values[f.name];
    const start = f.offset;
    const node: FieldNode = { label: f.name, value: '', start, end: start + (f.type === 'chars' ? f.len : FIXED[f.type] ?? 0) };
    const size = f.type === 'charsArray' ? f.len : ELEM[f.type] ?? 0;
    if (size > 0 || f.type === 'bytes') {
      // where the codec found the elements (a variable part is placed after the ones before it)
      const at = codec.dataOffset(k);
      const n = codec.dataLength(k);
      node.start = FIXED_ARRAYS.has(f.type) ? start : at;
      node.end = FIXED_ARRAYS.has(f.type) ? start + f.capacity * size : at + (f.type === 'bytes' ? n : n * size);
      if (Array.isArray(v)) {
        node.value = `[${v.length}]`;
        node.children = v.map((x, j) => ({ label: `[${j}]`, value: fmt(x), start: at + j * size, end: at + (j + 1) * size }));
      } else {
        node.value = v instanceof Uint8Array ? fmtBytes(v) : fmt(v);
      }
    } else if (f.type === 'ringId') {
      const r = v as { nodeid: number; seq: bigint };
      node.value = `${r.nodeid}.${r.seq.toString(16)}`;
      node.children = [
        { label: 'nodeid', value: String(r.nodeid), start, end: start + 4 },
        { label: 'seq', value: r.seq.toString(), start: start + 8, end: start + 16 },
      ];
    } else {
      node.value = v instanceof Uint8Array ? fmtBytes(v) : fmt(v);
    }
    fields.push(node);
  });
  return { name: d.name, bytes, fields, json: { name: d.name, id: d.id, size: d.size, error: d.error, fields: toJsonValue(d.fields) } };
}

/** The innermost field covering byte b, as a path of nodes. */
export function fieldAt(nodes: FieldNode[], b: number): FieldNode[] {
  for (const n of nodes) {
    if (b >= n.start && b < n.end) {
      const inner = n.children ? fieldAt(n.children, b) : [];
      return [n, ...inner];
    }
  }
  return [];
}
