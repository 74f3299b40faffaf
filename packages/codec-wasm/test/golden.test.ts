// Golden vectors: bytes captured from real corosync 3.1.7 / libqb 2.0.6 traffic (socket
// transport) by tools/capture, with the fields the C program and stock tools KNOW they sent or
// received. Each vector is checked four ways, mqtt-packet style: decode, encode, round trip, and
// every vector of a service and direction concatenated into one stream through the frame splitter.
//
// C leaves some bytes uninitialised (header pads, struct tail padding, the bytes after the NUL of
// strcpy'd char[] fields, the bodies of some error replies): they hold whatever was on the
// sender's stack. Each vector lists them as `uninit` [offset, length] ranges (the rule is in
// tools/capture/README.md). Where bytes are compared, those ranges are zeroed on both sides: an
// encoder writes zeros there, and nothing may depend on their content. Every other byte must
// match exactly.
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  catalog,
  decode,
  decodedToJSON,
  encode,
  FrameSplitter,
  fromHex,
  type Direction,
  type Service,
} from '../src/index.js';

interface Vector {
  service: Service;
  dir: Direction;
  hex: string;
  name: string;
  id: number;
  error?: number;
  fields: Record<string, unknown>;
  source: string;
  uninit: [number, number][];
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'vectors');
// tools/capture gzips a file of megabytes (cpg's 1 MiB fragments)
const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl') || f.endsWith('.jsonl.gz')).sort();
const readVectors = (file: string): string =>
  file.endsWith('.gz') ? gunzipSync(readFileSync(join(dir, file))).toString('utf8') : readFileSync(join(dir, file), 'utf8');
const vectors: (Vector & { file: string; line: number })[] = files.flatMap((file) =>
  readVectors(file)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => ({ ...(JSON.parse(l) as Vector), file, line: i + 1 })),
);

const bytesOf = (hex: string): Uint8Array => {
  const b = fromHex(hex);
  if (!b) throw new Error(`bad hex in vector: ${hex.slice(0, 40)}`);
  return b;
};

function masked(bytes: Uint8Array, uninit: [number, number][]): Uint8Array {
  const out = bytes.slice();
  for (const [off, len] of uninit) out.fill(0, off, off + len);
  return out;
}

// The cpg vectors hold 1 MiB fragments: their hex form is compared whole, which takes about a
// second on a busy machine. A hang guard, not a performance bound.
const SLOW = 60_000;

const opts = (v: Vector) => (v.dir === 'setup' ? { dir: v.dir } : { service: v.service, dir: v.dir });

type Spec = { name: string; type: string; offset: number; len?: number; capacity?: number; count?: string };
function specOf(v: Vector): { size: number; fields: readonly Spec[] } {
  const m = catalog.messages.find((x) => x.name === v.name && x.dir === v.dir);
  if (!m) throw new Error(`no catalog entry for ${v.dir} ${v.name}`);
  return m as unknown as { size: number; fields: readonly Spec[] };
}

/** JSON form (u64 as decimal string, bytes as hex) -> the values encode() takes. */
function typedFields(v: Vector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of specOf(v).fields) {
    const x = v.fields[f.name];
    if (x === undefined) continue;
    switch (f.type) {
      case 'u64':
      case 'i64':
        out[f.name] = BigInt(x as string);
        break;
      case 'bytes':
      case 'cpgName':
        out[f.name] = bytesOf(x as string);
        break;
      case 'addrList':
        out[f.name] = (x as string[]).map(bytesOf);
        break;
      case 'ringId': {
        const r = x as { nodeid: number; seq: string };
        out[f.name] = { nodeid: r.nodeid, seq: BigInt(r.seq) };
        break;
      }
      default:
        out[f.name] = x;
    }
  }
  return out;
}

const WIDTH: Record<string, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, name: 264 };
const ELEMENT: Record<string, number> = { bytes: 1, u32list: 4, nodeList: 8, addrList: 16, cpgAddrList: 24 };

interface Part {
  field: string;
  /**
   * a ring id, and each element of a list of structs, is compared member by member: pads sit
   * between the members (`pick` takes the member out of the field's value)
   */
  member?: string;
  pick?: (fieldValue: unknown) => unknown;
  ranges: [number, number][];
}

const ADDRESS_MEMBERS: [string, number, number][] = [['nodeid', 0, 4], ['pid', 8, 4], ['reason', 16, 4]];
const LINK_MEMBERS: [string, number, number][] = [['enabled', 0, 1], ['connected', 1, 1], ['dynconnected', 2, 1], ['mtu', 4, 4]];

/** One part per member of each element of a list of structs at `start`. */
function elementParts(f: Spec, list: Record<string, unknown>[], start: number): Part[] {
  const out: Part[] = [];
  list.forEach((e, k) => {
    const at = start + (f.type === 'linkStatusArray' ? 520 : 24) * k;
    const members: [string, number, number][] =
      f.type === 'linkStatusArray'
        ? [...LINK_MEMBERS, ['srcIpaddr', 8, Buffer.byteLength(String(e.srcIpaddr)) + 1], ['dstIpaddr', 264, Buffer.byteLength(String(e.dstIpaddr)) + 1]]
        : ADDRESS_MEMBERS;
    for (const [m, off, w] of members) {
      out.push({ field: f.name, member: `[${k}].${m}`, pick: (x) => (x as Record<string, unknown>[])[k]?.[m], ranges: [[at + off, at + off + w]] });
    }
  });
  return out;
}

/**
 * Byte range of each field in this frame, from the catalog's layout: fixed fields at their
 * offset; variable parts packed back to back from the first one's offset, each `count` elements.
 */
function fieldParts(v: Vector): Part[] {
  const out: Part[] = [];
  let cursor: number | undefined;
  const member = (m: string) => (x: unknown) => (x as Record<string, unknown>)[m];
  for (const f of specOf(v).fields) {
    const value = v.fields[f.name];
    if (f.type === 'ringId') {
      out.push({ field: f.name, member: 'nodeid', pick: member('nodeid'), ranges: [[f.offset, f.offset + 4]] });
      out.push({ field: f.name, member: 'seq', pick: member('seq'), ranges: [[f.offset + 8, f.offset + 16]] });
    } else if (f.type === 'cpgName') {
      // the u32 length, then exactly that many bytes: the rest of value[128] is not part of it
      out.push({ field: f.name, ranges: [[f.offset, f.offset + 4], [f.offset + 8, f.offset + 8 + String(value).length / 2]] });
    } else if (f.type === 'csName') {
      out.push({ field: f.name, ranges: [[f.offset, f.offset + 2 + Buffer.byteLength(String(value)) + 1]] });
    } else if (f.type === 'charsArray') {
      (value as string[]).forEach((x, k) => {
        const at = f.offset + f.len! * k;
        out.push({ field: f.name, member: `[${k}]`, pick: (y) => (y as string[])[k], ranges: [[at, at + Buffer.byteLength(x) + 1]] });
      });
    } else if (f.type === 'cpgAddrArray' || f.type === 'linkStatusArray') {
      out.push(...elementParts(f, value as Record<string, unknown>[], f.offset));
    } else if (f.count === undefined) {
      // a char[] string ends at its NUL: what follows is not part of the value
      const w = f.type === 'chars' ? Math.min(f.len!, Buffer.byteLength(String(value)) + 1) : WIDTH[f.type];
      if (w === undefined) throw new Error(`width of ${f.type}?`);
      out.push({ field: f.name, ranges: [[f.offset, f.offset + w]] });
    } else {
      const start = cursor ?? f.offset;
      cursor = start + Number(v.fields[f.count] ?? 0) * ELEMENT[f.type]!;
      if (f.type === 'cpgAddrList') out.push(...elementParts(f, value as Record<string, unknown>[], start));
      else out.push({ field: f.name, ranges: [[start, cursor]] });
    }
  }
  return out;
}

function touchesUninit(ranges: [number, number][], v: Vector): boolean {
  return ranges.some(([a, b]) => v.uninit.some(([off, len]) => off < b && off + len > a));
}

/** The header's error field is garbage in cpg's MCAST requests and deliver events. */
const errorIsGarbage = (v: Vector) => touchesUninit([[16, 20]], v);

const expectedDecoded = (v: Vector, size: number) => ({
  name: v.name,
  id: v.id,
  size,
  ...(v.error !== undefined ? { error: v.error } : {}),
  fields: v.fields,
});

describe('golden vectors', () => {
  it('were captured (run tools/capture/capture.mjs to regenerate)', () => {
    expect(files).toEqual(['cfg.jsonl', 'cmap.jsonl', 'cpg.jsonl.gz', 'quorum.jsonl', 'setup.jsonl', 'votequorum.jsonl']);
    expect(vectors.length).toBeGreaterThan(200);
  });

  it('mark uninitialised ranges inside their frames', () => {
    const bad = vectors.filter((v) => v.uninit.some(([off, len]) => off < 0 || len <= 0 || off + len > v.hex.length / 2));
    expect(bad.map((v) => `${v.file}:${v.line}`)).toEqual([]);
  });

  it('cover every message of the catalog that real programs can produce', () => {
    const seen = new Set(vectors.map((v) => `${v.dir} ${v.name}`));
    // corosync's reply to an unknown request id is a bare header with id 0: for cmap and
    // votequorum that is exactly SET's / STATUS's reply (and decodes as such, error 7), so
    // cmap.error and votequorum.error never appear on a real wire.
    // The same holds for cpg, where id 0 is JOIN's bare reply.
    const unreachable = new Set(['res cmap.error', 'res votequorum.error', 'res cpg.error']);
    const missing = catalog.messages
      .map((m) => `${m.dir} ${m.name}`)
      .filter((k) => !seen.has(k) && !unreachable.has(k));
    expect(missing).toEqual([]);
  });
});

describe.each(vectors.map((v) => [`${v.file}:${v.line} ${v.dir} ${v.name} (${v.source})`, v] as const))('%s', (_, v) => {
  const raw = bytesOf(v.hex);
  const clean = masked(raw, v.uninit);

  it('decodes to the known fields', () => {
    // With the uninitialised bytes zeroed, every field is what the program knows.
    expect(decodedToJSON(decode(clean, opts(v)))).toEqual(expectedDecoded(v, raw.length));
    // With the real garbage in place, every field outside it is still exact: padding is ignored.
    const d = decodedToJSON(decode(raw, opts(v)));
    expect({ name: d.name, id: d.id, size: d.size, error: errorIsGarbage(v) ? v.error : d.error }).toEqual({
      name: v.name,
      id: v.id,
      size: raw.length,
      error: v.error,
    });
    const parts = fieldParts(v);
    const checked = new Set<string>();
    for (const p of parts) {
      if (touchesUninit(p.ranges, v)) continue;
      checked.add(p.field);
      const pick = p.pick ?? ((x: unknown) => x);
      expect(pick(d.fields[p.field]), p.member ? `${p.field}.${p.member}` : p.field).toEqual(pick(v.fields[p.field]));
    }
    // only bodies the daemon never wrote (error replies) may hide a field entirely, and the group
    // of a cpg ITERATIONINITIALIZE that is not ONE_GROUP, which libcpg leaves unset
    if (v.error === undefined || v.error === 0 || v.error === 1) {
      const unset = v.dir === 'req' && v.name === 'cpg.iterationInitialize' && v.fields.iterationType !== 2 ? ['groupName'] : [];
      const hidden = [...new Set(parts.map((p) => p.field))].filter((f) => !checked.has(f));
      expect(hidden).toEqual(unset);
    }
  }, SLOW);

  it('encodes to the captured bytes (uninitialised ranges masked)', () => {
    // the captured size: cmap GET replies are sized by the capacity the client asked for (zero
    // fill after the value), cfg NODESTATUSGET's error reply is shorter than its struct
    const header: { dir: Direction; error?: number; size?: number } = { dir: v.dir, size: raw.length };
    if (v.error !== undefined) header.error = v.error;
    const out = encode(v.name, typedFields(v), header);
    expect(Buffer.from(masked(out, v.uninit)).toString('hex')).toBe(Buffer.from(clean).toString('hex'));
  }, SLOW);

  it('round-trips decode(encode(fields))', () => {
    const header: { dir: Direction; error?: number; size?: number } = { dir: v.dir, size: raw.length };
    if (v.error !== undefined) header.error = v.error;
    const again = decode(encode(v.name, typedFields(v), header), opts(v));
    expect(decodedToJSON(again)).toEqual(expectedDecoded(v, raw.length));
  }, SLOW);
});

// One stream per channel, as a peer would read it: requests, responses and events of a service
// each travel on their own socket; the setup frames of all services form a fourth kind.
const streams = new Map<string, (Vector & { file: string; line: number })[]>();
for (const v of vectors) {
  const key = `${v.file} ${v.dir}`;
  if (!streams.has(key)) streams.set(key, []);
  streams.get(key)!.push(v);
}

describe.each([...streams].map(([k, vs]) => [k, vs] as const))('stream %s', (_, vs) => {
  const frames = vs.map((v) => bytesOf(v.hex));
  const total = frames.reduce((n, f) => n + f.length, 0);
  const stream = new Uint8Array(total);
  frames.reduce((off, f) => (stream.set(f, off), off + f.length), 0);
  const min = vs[0]!.dir === 'req' || vs[0]!.dir === 'setup' ? 16 : 24;

  for (const chunk of [1, 7, 4096, total]) {
    it(`splits and decodes ${vs.length} frames fed in ${chunk}-byte chunks`, () => {
      const splitter = new FrameSplitter({ minFrameSize: min });
      const got: Uint8Array[] = [];
      for (let off = 0; off < total; off += chunk) got.push(...splitter.push(stream.subarray(off, off + chunk)));
      splitter.end();
      expect(got.length).toBe(frames.length);
      got.forEach((g, i) => {
        const v = vs[i]!;
        expect(Buffer.from(g).equals(Buffer.from(frames[i]!)), `frame ${i}`).toBe(true);
        const d = decodedToJSON(decode(masked(g, v.uninit), opts(v)));
        expect(d).toEqual(expectedDecoded(v, g.length));
      });
    }, SLOW);
  }
});
