// The export's writer (src/export.ts) writes byte for byte what the export wrote when it built an
// object per row and JSON.stringify'd it (exportRow below, the old code, kept as the reference):
// for every frame of the codec's vectors (every message of every service, from the real daemon),
// paired and unpaired, decode errors, setup frames and refusals, events, a service the codec does
// not know, strings that need escaping or are not ASCII, and a buffer smaller than one row.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decode, decodedToJSON, encoders, runtimeMessages, toHex, type Service } from '@corosync-ts/codec-wasm';
import { describe, expect, it } from 'vitest';
import { ExportWriter } from '../src/export.js';
import { CaptureBuilder, DIRS, messageName, type Capture } from '../src/model.js';

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), '../../codec-wasm/test/vectors');

function exportRow(c: Capture, i: number): object {
  const ci = c.conns.get(c.conn[i]!);
  const bytes = c.bytes.subarray(c.off[i]!, c.off[i]! + c.len[i]!);
  const service = c.services[c.svc[i]!]!;
  const dir = DIRS[c.dir[i]!]!;
  let decoded: unknown = null;
  if (c.msg[i]! >= 0) {
    const j = decodedToJSON(decode(bytes, { service: service as Service, dir }));
    // cpg's deliveries carry stack garbage where a result would be: not exported as one
    if (runtimeMessages[c.msg[i]!]!.errorUnset) delete j.error;
    decoded = j;
  }
  const e = c.decodeErrors.get(i);
  return {
    index: i, t: c.t[i], conn: c.conn[i], pid: ci?.pid, proc: ci?.proc, service, transport: ci?.transport, dir,
    name: messageName(c, i), size: c.len[i], pair: c.pair[i]! >= 0 ? c.pair[i] : undefined,
    latencyNs: c.pair[i]! >= 0 ? Math.abs(c.t[c.pair[i]!]! - c.t[i]!) : undefined,
    decoded, decodeError: e ? { kind: e.kind, field: e.field, offset: e.offset, message: e.message } : undefined,
    hex: toHex(bytes),
  };
}

function oldExport(c: Capture, rows: ArrayLike<number>): string {
  let s = '';
  for (let k = 0; k < rows.length; k++) s += (k === 0 ? '[\n' : ',\n') + JSON.stringify(exportRow(c, rows[k]!));
  return s + (rows.length ? '\n]\n' : '[]\n');
}

function newExport(c: Capture, rows: ArrayLike<number>, size?: number): string {
  const parts: Uint8Array[] = [];
  const w = new ExportWriter(c, (b) => parts.push(b.slice()), size);
  for (let k = 0; k < rows.length; k++) w.row(rows[k]!);
  w.end();
  return Buffer.concat(parts).toString('utf8');
}

function vectorLines(): { service: string; dir: string; hex: string }[] {
  const out: { service: string; dir: string; hex: string }[] = [];
  for (const f of ['cfg', 'cmap', 'quorum', 'setup', 'votequorum']) for (const l of readFileSync(join(VECTORS, `${f}.jsonl`), 'utf8').split('\n')) if (l) out.push(JSON.parse(l));
  for (const l of gunzipSync(readFileSync(join(VECTORS, 'cpg.jsonl.gz'))).toString('utf8').split('\n')) if (l) out.push(JSON.parse(l));
  return out;
}

function capture(): Capture {
  const header = { corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'lab', recorder: { mode: 'tap', name: 'export', version: '0' } };
  const lines: object[] = [header];
  let t = 1000;
  // every vector on a connection of its own service; the answers pair with the requests before them
  const conns = new Map<string, number>();
  for (const v of vectorLines()) {
    const service = v.dir === 'setup' ? 'cmap' : v.service;
    if (!conns.has(service)) conns.set(service, conns.size + 1);
    const conn = conns.get(service)!;
    lines.push({ t: (t += 1501), conn, pid: 100 + conn, proc: `proc "${service}"\n`, service, transport: 'shm', dir: v.dir, hex: v.hex });
  }
  const get = (key: string) => toHex(encoders.cmap.req.get({ keyName: key, valueLen: 16n }));
  const ok = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('ok\0\0') }));
  const u = { conn: 20, pid: 2020, proc: 'ünïcode ☃ \u0001', service: 'cmap', transport: 'socket' };
  // times past 2^31 and 2^32 ns
  lines.push({ t: (t += 4_000_000_017), ...u, state: 'open' });
  t += 4_000_000_000_017;
  lines.push({ t: (t += 10), ...u, dir: 'req', hex: get('clé "ключ" \\ \t 𝄞') });
  lines.push({ t: (t += 10), ...u, dir: 'res', hex: ok });
  lines.push({ t: (t += 10), ...u, dir: 'req', hex: get('lost') });
  lines.push({ t: (t += 10), ...u, state: 'dropped', lines: 3 });
  lines.push({ t: (t += 10), ...u, dir: 'res', hex: ok });
  // decode errors: a bad size field, a truncated frame
  const g = get('x');
  lines.push({ t: (t += 10), ...u, dir: 'req', hex: `${g.slice(0, 16)}c8000000${g.slice(24)}` });
  lines.push({ t: (t += 10), ...u, dir: 'req', hex: g.slice(0, 20) });
  // a refused setup, no pid or proc
  const r = { conn: 21, service: 'quorum', transport: 'socket' };
  lines.push({ t: (t += 10), ...r, dir: 'setup', hex: 'ffffffff000000001800000000000000000010000000000000'.slice(0, 48) });
  lines.push({ t: (t += 10), ...r, dir: 'setup', hex: `ffffffff000000002830000000000000f3ffffff00000000${'00'.repeat(12328 - 24)}` });
  lines.push({ t: (t += 10), ...r, state: 'closed', by: 'server', error: 'refused (EACCES)' });
  // a service the codec does not know
  lines.push({ t: (t += 10), conn: 22, pid: 7, proc: 'x', service: 'sam', transport: 'shm', dir: 'req', hex: '0100000000000000180000000000000000000000000000ff' });
  const b = new CaptureBuilder();
  b.add(new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
  return b.cap!;
}

describe('ExportWriter', () => {
  const c = capture();
  const all = Int32Array.from({ length: c.count }, (_, i) => i);

  it('the capture has every kind of row', () => {
    const kinds = new Set<string>();
    for (let i = 0; i < c.count; i++) {
      kinds.add(`${DIRS[c.dir[i]!]}`);
      kinds.add(c.pair[i]! >= 0 ? 'paired' : 'unpaired');
      if (c.msg[i] === -1) kinds.add('decodeError');
      if (c.msg[i] === -2) kinds.add('unknown service');
    }
    expect([...kinds].sort()).toEqual(['decodeError', 'evt', 'paired', 'req', 'res', 'setup', 'unknown service', 'unpaired']);
    expect(c.bad.map((b) => b.message)).toEqual([]);
    expect(c.count).toBe(vectorLines().length + 9);
    // every message of the catalog the vectors have, through both of the writer's paths
    expect(new Set(c.msg.subarray(0, c.count)).size).toBeGreaterThan(100);
  });

  it('writes what JSON.stringify of the old row objects gave, for every row', () => {
    const want = oldExport(c, all);
    expect(JSON.parse(want)).toHaveLength(c.count);
    expect(newExport(c, all)).toBe(want);
  });

  it('the same with a buffer smaller than a row (every write goes through a flush)', () => {
    expect(newExport(c, all, 64)).toBe(oldExport(c, all));
  });

  it('a selection, one row, none', () => {
    const some = all.filter((i) => i % 7 === 3);
    expect(newExport(c, some)).toBe(oldExport(c, some));
    expect(newExport(c, [c.count - 1])).toBe(oldExport(c, [c.count - 1]));
    expect(newExport(c, [])).toBe('[]\n');
  });
});
