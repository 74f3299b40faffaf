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

const FIXED: Record<string, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, name: 264, ringId: 16 };
const ELEM: Record<string, number> = { u32list: 4, nodeList: 8, addrList: 16 };

function fmt(v: unknown): string {
  return JSON.stringify(toJsonValue(v));
}

function headerNodes(bytes: Uint8Array, response: boolean): FieldNode[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nodes: FieldNode[] = [];
  if (bytes.length >= 4) nodes.push({ label: 'id', value: String(dv.getInt32(0, true)), start: 0, end: 4 });
  if (bytes.length >= 12) nodes.push({ label: 'size', value: String(dv.getInt32(8, true)), start: 8, end: 12 });
  if (response && bytes.length >= 20) {
    const e = dv.getInt32(16, true);
    nodes.push({ label: 'error', value: `${e} ${csErrorName(e) ?? ''}`.trim(), start: 16, end: 20 });
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
  const fields: FieldNode[] = headerNodes(bytes, spec.header === 'response');
  const values = d.fields as Record<string, unknown>;
  spec.fields.forEach((f, k) => {
    const v = values[f.name];
    let start = f.offset;
    let end = f.offset + (f.type === 'chars' ? f.len : FIXED[f.type] ?? 0);
    const node: FieldNode = { label: f.name, value: '', start, end };
    if (f.type === 'bytes' || f.type in ELEM) {
      start = codec.dataOffset(k);
      const n = codec.dataLength(k);
      end = start + (f.type === 'bytes' ? n : n * ELEM[f.type]!);
      node.start = start;
      node.end = end;
      if (Array.isArray(v)) {
        const size = ELEM[f.type]!;
        node.value = `[${v.length}]`;
        node.children = v.map((x, j) => ({ label: `[${j}]`, value: fmt(x), start: start + j * size, end: start + (j + 1) * size }));
      } else {
        node.value = fmt(v);
      }
    } else if (f.type === 'ringId') {
      const r = v as { nodeid: number; seq: bigint };
      node.value = `${r.nodeid}.${r.seq.toString(16)}`;
      node.children = [
        { label: 'nodeid', value: String(r.nodeid), start, end: start + 4 },
        { label: 'seq', value: r.seq.toString(), start: start + 8, end: start + 16 },
      ];
    } else {
      node.value = fmt(v);
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
