// The loaded capture, column by column (typed arrays, no object per frame), so that a capture of
// a million frames fits and filters quickly. Decoding runs once, in bulk: every frame's bytes are
// laid out back to back in the codec's WASM input buffer and decoded in place (decodeAt), so the
// names, header errors and decode errors of all frames come out of one pass with no copy per frame.
import {
  CaptureFormatError, DIR_CODES, SERVICE_CODES, codec, gunzip, isCaptureFormatError, isGzip, parseCaptureHeader, parseCaptureRecord,
  runtimeMessages, type CaptureHeader, type CaptureRecord, type DecodeError,
} from '@corosync-ts/codec-wasm';

/** A frame line exactly as the recorders write it (proc only without escapes). */
const FAST = /\{"t":(\d{1,16}),"conn":(\d{1,9})(?:,"pid":(\d{1,9}))?(?:,"proc":"([^"\\\n]*)")?,"service":"([a-z0-9_.-]+)","transport":"(socket|shm)","dir":"(req|res|evt|setup)","hex":"((?:[0-9a-f]{2})*)"\}\r?/y;

export const DIRS = ['req', 'res', 'evt', 'setup'] as const;
export type Dir = (typeof DIRS)[number];
const DIR_INDEX: Record<string, number> = { req: 0, res: 1, evt: 2, setup: 3 };

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

const HEX_VAL = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) t[97 + i] = 10 + i;
  return t;
})();

function hexInto(hex: string, out: Uint8Array, at: number): void {
  for (let i = 0, j = at; i < hex.length; i += 2, j++) out[j] = (HEX_VAL[hex.charCodeAt(i)]! << 4) | HEX_VAL[hex.charCodeAt(i + 1)]!;
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
  const text = isGzip(file) ? await gunzip(file) : file;
  const t1 = performance.now();
  // Pass 1: lines. Growable columns; hex strings kept until their bytes are placed.
  let cap = 1024;
  let t = new Float64Array(cap);
  let conn = new Int32Array(cap);
  let dir = new Uint8Array(cap);
  let svc = new Uint8Array(cap);
  let hexes: string[] = [];
  let n = 0;
  let total = 0;
  const services: string[] = [];
  const svcIndex = new Map<string, number>();
  const conns = new Map<number, ConnInfo>();
  const bad: CaptureFormatError[] = [];
  const onRecord = (r: CaptureRecord) => {
    let ci = conns.get(r.conn);
    if (!ci) {
      ci = { conn: r.conn, service: r.service, transport: r.transport, first: r.t, last: r.t };
      conns.set(r.conn, ci);
    }
    if (r.pid !== undefined) ci.pid = r.pid;
    if (r.proc !== undefined) ci.proc = r.proc;
    ci.last = r.t;
    if (r.kind === 'state') {
      if (r.state === 'closed') {
        if (r.by !== undefined) ci.closedBy = r.by;
        if (r.error !== undefined) ci.closeError = r.error;
      }
      return;
    }
    addFrame(r.t, r.conn, r.service, DIR_INDEX[r.dir]!, r.hex);
  };
  const addFrame = (tt: number, cn: number, service: string, d: number, hex: string) => {
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
    }
    let sx = svcIndex.get(service);
    if (sx === undefined) {
      sx = services.length;
      services.push(service);
      svcIndex.set(service, sx);
    }
    t[n] = tt;
    conn[n] = cn;
    dir[n] = d;
    svc[n] = sx;
    hexes.push(hex);
    total += hex.length >> 1;
    n++;
  };
  // One string for the whole file; each line is read in place. Frame lines in the writers' own
  // shape go through one sticky regex (their hex stays a slice of the file's string); any other
  // line (states, other key orders, anything odd) through the full validating parser.
  const all = new TextDecoder().decode(text);
  let pos = 0;
  let lineNo = 0;
  let header: CaptureHeader | undefined;
  while (pos < all.length) {
    let nl = all.indexOf('\n', pos);
    if (nl < 0) nl = all.length;
    lineNo++;
    if (!header) {
      const line = all.slice(pos, nl).replace(/\r$/, '');
      if (line.trim() !== '') header = parseCaptureHeader(line, lineNo);
      pos = nl + 1;
      continue;
    }
    FAST.lastIndex = pos;
    const m = FAST.exec(all);
    if (m && FAST.lastIndex === nl) {
      const cn = +m[2]!;
      const tt = +m[1]!;
      if (cn >= 1 && Number.isSafeInteger(tt)) {
        let ci = conns.get(cn);
        if (!ci) {
          ci = { conn: cn, service: m[5]!, transport: m[6]!, first: tt, last: tt };
          conns.set(cn, ci);
        }
        if (m[3] !== undefined) ci.pid = +m[3];
        if (m[4] !== undefined && ci.proc === undefined) ci.proc = m[4];
        ci.last = tt;
        addFrame(tt, cn, m[5]!, DIR_INDEX[m[7]!]!, m[8]!);
        pos = nl + 1;
        continue;
      }
    }
    const line = all.slice(pos, nl).replace(/\r$/, '');
    pos = nl + 1;
    if (line.trim() === '') continue;
    try {
      onRecord(parseCaptureRecord(line, lineNo));
    } catch (e) {
      if (!isCaptureFormatError(e)) throw e;
      bad.push(e);
    }
  }
  if (!header) throw new CaptureFormatError('empty capture: no header line', Math.max(1, lineNo));
  const t2 = performance.now();

  // Pass 2: every frame's bytes back to back in the WASM input buffer, decoded in place.
  const off = new Float64Array(n);
  const len = new Int32Array(n);
  const msg = new Int16Array(n);
  const err = new Int32Array(n);
  const id = new Int32Array(n);
  const decodeErrors = new Map<number, DecodeError>();
  const input = codec.inputBuffer(Math.max(total, 1));
  let at = 0;
  for (let i = 0; i < n; i++) {
    const h = hexes[i]!;
    off[i] = at;
    len[i] = h.length >> 1;
    hexInto(h, input, at);
    at += h.length >> 1;
  }
  hexes = [];
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
    services, bytes, off, len, msg, err, id, pair, decodeErrors, conns, bad,
    timing: { inflate: t1 - t0, parse: t2 - t1, decode: t3 - t2, pair: t4 - t3 },
  };
}

/**
 * libqb answers the requests of one connection in order: the n-th response answers the n-th
 * request, the setup response the setup request. libqb's disconnect request (id -3) has no answer.
 */
export function pairFrames(n: number, conn: Int32Array, dir: Uint8Array, id: Int32Array, len: Int32Array): Int32Array {
  const pair = new Int32Array(n).fill(-1);
  const queues = new Map<number, { q: number[]; head: number; setup: number }>();
  for (let i = 0; i < n; i++) {
    let st = queues.get(conn[i]!);
    if (!st) {
      st = { q: [], head: 0, setup: -1 };
      queues.set(conn[i]!, st);
    }
    const d = dir[i]!;
    if (d === 0) {
      if (id[i] !== -3) st.q.push(i);
    } else if (d === 1) {
      if (st.head < st.q.length) {
        const r = st.q[st.head++]!;
        pair[r] = i;
        pair[i] = r;
      }
    } else if (d === 3) {
      if (len[i]! <= 24) st.setup = i;
      else if (st.setup >= 0) {
        pair[st.setup] = i;
        pair[i] = st.setup;
        st.setup = -1;
      }
    }
  }
  return pair;
}

/** A request with no answer in the capture (pending at the end, or lost). */
export function isUnanswered(c: Capture, i: number): boolean {
  return (c.dir[i] === 0 && c.pair[i] === -1 && c.id[i] !== -3) || (c.dir[i] === 3 && c.len[i]! <= 24 && c.pair[i] === -1);
}
