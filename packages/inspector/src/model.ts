// The loaded capture, column by column (typed arrays, no object per frame), so that a capture of
// a million frames fits and filters quickly. Decoding runs once, in bulk: every frame's bytes are
// laid out back to back in the codec's WASM input buffer and decoded in place (decodeAt), so the
// names, header errors and decode errors of all frames come out of one pass with no copy per frame.
import type {
  CaptureFormatError} from '@corosync-ts/codec-wasm';
import { DIR_CODES, SERVICE_CODES, codec, isGzip, runtimeMessages, scanCapture, type CaptureHeader, type DecodeError,
} from '@corosync-ts/codec-wasm';
import { Gunzip } from 'fflate';

export const DIRS = ['req', 'res', 'evt', 'setup'] as const;
export type Dir = (typeof DIRS)[number];

export interface ConnInfo {
  conn: number;
  pid?: number;
  proc?: string;
  service: string;
  transport: string;
  /** First and last line time, ns. */
  first: number;
  last: number;
  closedBy?: string;
  closeError?: string;
}

export interface Capture {
  header: CaptureHeader;
  count: number;
  /** ns since start */
  t: Float64Array;
  conn: Int32Array;
  dir: Uint8Array;
  /** index into services */
  svc: Uint8Array;
  services: string[];
  /** frame bytes: bytes.subarray(off[i], off[i] + len[i]) */
  bytes: Uint8Array;
  off: Float64Array;
  len: Int32Array;
  /** runtimeMessages index, -1 decode error, -2 not decodable (service unknown to the codec) */
  msg: Int16Array;
  /** header error of responses and events (cs_error_t), 0 otherwise */
  err: Int32Array;
  /** header id */
  id: Int32Array;
  /** the other half of a request/response pair, or -1 */
  pair: Int32Array;
  decodeErrors: Map<number, DecodeError>;
  conns: Map<number, ConnInfo>;
  /** lines that broke the format */
  bad: CaptureFormatError[];
  /** time spent per stage, ms */
  timing: { inflate: number; parse: number; decode: number; pair: number };
}

export function messageName(c: Capture, i: number): string {
  const m = c.msg[i]!;
  if (m >= 0) return runtimeMessages[m]!.name;
  if (m === -1) return 'DecodeError';
  return `${c.services[c.svc[i]!]}#${c.id[i]}`;
}

/** Parses, decodes and pairs a capture file (plain or gzip). Throws CaptureFormatError for a bad header. */
export async function loadCapture(file: Uint8Array): Promise<Capture> {
  const t0 = performance.now();
  const text = isGzip(file) ? inflate(file) : file;
  const t1 = performance.now();
  // Pass 1: lines, read byte by byte; every frame's bytes go straight into the codec's WASM
  // input buffer, back to back (frames are at most half of their lines' bytes).
  let cap = 1024;
  let t = new Float64Array(cap);
  let conn = new Int32Array(cap);
  let dir = new Uint8Array(cap);
  let svc = new Uint8Array(cap);
  let off = new Float64Array(cap);
  let len = new Int32Array(cap);
  let n = 0;
  const services: string[] = [];
  const conns = new Map<number, ConnInfo>();
  const bad: CaptureFormatError[] = [];
  let lastSvc = '';
  let lastSx = -1;
  const info = (cn: number, service: string, transport: string, tt: number, pid: number, proc: string | undefined): ConnInfo => {
    let ci = conns.get(cn);
    if (!ci) {
      ci = { conn: cn, service, transport, first: tt, last: tt };
      conns.set(cn, ci);
    }
    if (pid >= 0) ci.pid = pid;
    if (proc !== undefined) ci.proc = proc;
    ci.last = tt;
    return ci;
  };
  const input = codec.inputBuffer(Math.max(text.length >> 1, 1));
  const { header, size: total } = scanCapture(text, input, {
    frame(tt, cn, pid, proc, service, transport, d, at, l) {
      info(cn, service, transport, tt, pid, proc);
      if (n === cap) {
        cap *= 2;
        const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, mk: (n: number) => T): T => {
          const b = mk(cap);
          b.set(a as never);
          return b;
        };
        t = grow(t, (k) => new Float64Array(k));
        conn = grow(conn, (k) => new Int32Array(k));
        dir = grow(dir, (k) => new Uint8Array(k));
        svc = grow(svc, (k) => new Uint8Array(k));
        off = grow(off, (k) => new Float64Array(k));
        len = grow(len, (k) => new Int32Array(k));
      }
      if (service !== lastSvc) {
        lastSvc = service;
        lastSx = services.indexOf(service);
        if (lastSx < 0) lastSx = services.push(service) - 1;
      }
      t[n] = tt;
      conn[n] = cn;
      dir[n] = d;
      svc[n] = lastSx;
      off[n] = at;
      len[n] = l;
      n++;
    },
    state(r) {
      const ci = info(r.conn, r.service, r.transport, r.t, r.pid ?? -1, r.proc);
      if (r.state === 'closed') {
        if (r.by !== undefined) ci.closedBy = r.by;
        if (r.error !== undefined) ci.closeError = r.error;
      }
    },
    bad: (e) => bad.push(e),
  });
  const t2 = performance.now();

  // Pass 2: every frame decoded in place in the WASM input buffer.
  const msg = new Int16Array(n);
  const err = new Int32Array(n);
  const id = new Int32Array(n);
  const decodeErrors = new Map<number, DecodeError>();
  const svcCode = services.map((s) => (SERVICE_CODES as Record<string, number>)[s] ?? -1);
  const view = codec.inputView();
  for (let i = 0; i < n; i++) {
    const d = dir[i]!;
    const l = len[i]!;
    const o = off[i]!;
    if (l >= 4) id[i] = view.getInt32(o, true);
    if (l >= 24 && (d === 1 || d === 2)) err[i] = view.getInt32(o + 16, true);
    const sc = d === 3 ? SERVICE_CODES.cmap : svcCode[svc[i]!]!;
    if (sc < 0) {
      msg[i] = -2;
      continue;
    }
    const m = codec.decodeAt(o, l, sc, d === 3 ? DIR_CODES.setup : d);
    msg[i] = m;
    if (m < 0) decodeErrors.set(i, codec.lastError());
  }
  // Keep the bytes outside WASM memory: the detail view decodes single frames with the codec.
  const bytes = codec.inputBuffer(Math.max(total, 1)).slice(0, total);
  const t3 = performance.now();

  const pair = pairFrames(n, conn, dir, id, len);
  const t4 = performance.now();
  return {
    header, count: n, t: t.subarray(0, n), conn: conn.subarray(0, n), dir: dir.subarray(0, n), svc: svc.subarray(0, n),
    services, bytes, off: off.subarray(0, n), len: len.subarray(0, n), msg, err, id, pair, decodeErrors, conns, bad,
    timing: { inflate: t1 - t0, parse: t2 - t1, decode: t3 - t2, pair: t4 - t3 },
  };
}

/**
 * Gunzips every member of a file in one streaming pass. The recorders write one gzip member per
 * flush (thousands in a big capture); the browser's DecompressionStream stops after the first
 * member, and one stream per member cost 34 s for 2,500 of them, so fflate inflates them all.
 */
function inflate(file: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const g = new Gunzip((chunk) => {
    parts.push(chunk);
    total += chunk.length;
  });
  try {
    // In slices: fflate copies what is left of its input at each member's end, so one push of a
    // whole file of thousands of members is quadratic (163 s for 2,500 members of 2 KiB; 0.5-1 s
    // in 64-256 KiB slices). 128 KiB bounds the copying for files of tiny members too.
    const SLICE = 131072;
    for (let at = 0; at < file.length; at += SLICE) g.push(file.subarray(at, at + SLICE), at + SLICE >= file.length);
  } catch (e) {
    throw new Error(`corrupt or truncated gzip data: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * libqb answers the requests of one connection in order: the n-th response answers the n-th
 * request, the setup response the setup request. libqb's disconnect request (id -3) has no answer.
 */
export function pairFrames(n: number, conn: Int32Array, dir: Uint8Array, id: Int32Array, len: Int32Array): Int32Array {
  const pair = new Int32Array(n).fill(-1);
  // Per connection (a slot), its unanswered requests as a list linked through `next`.
  const slotOf = new Map<number, number>();
  let head = new Int32Array(64);
  let tail = new Int32Array(64);
  let setup = new Int32Array(64);
  const next = new Int32Array(n);
  let lastConn = 0;
  let s = -1;
  for (let i = 0; i < n; i++) {
    const c = conn[i]!;
    if (c !== lastConn || s < 0) {
      let x = slotOf.get(c);
      if (x === undefined) {
        x = slotOf.size;
        slotOf.set(c, x);
        if (x === head.length) {
          const grow = (a: Int32Array) => {
            const b = new Int32Array(a.length * 2);
            b.set(a);
            return b;
          };
          head = grow(head);
          tail = grow(tail);
          setup = grow(setup);
        }
        head[x] = -1;
        tail[x] = -1;
        setup[x] = -1;
      }
      s = x;
      lastConn = c;
    }
    const d = dir[i]!;
    if (d === 0) {
      if (id[i] === -3) continue;
      next[i] = -1;
      if (tail[s]! < 0) head[s] = i;
      else next[tail[s]!] = i;
      tail[s] = i;
    } else if (d === 1) {
      const r = head[s]!;
      if (r >= 0) {
        head[s] = next[r]!;
        if (head[s]! < 0) tail[s] = -1;
        pair[r] = i;
        pair[i] = r;
      }
    } else if (d === 3) {
      if (len[i]! <= 24) setup[s] = i;
      else if (setup[s]! >= 0) {
        pair[setup[s]!] = i;
        pair[i] = setup[s]!;
        setup[s] = -1;
      }
    }
  }
  return pair;
}

/** A request with no answer in the capture (pending at the end, or lost). */
export function isUnanswered(c: Capture, i: number): boolean {
  return (c.dir[i] === 0 && c.pair[i] === -1 && c.id[i] !== -3) || (c.dir[i] === 3 && c.len[i]! <= 24 && c.pair[i] === -1);
}
