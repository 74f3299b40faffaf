// The loaded capture, column by column (typed arrays, no object per frame), so that a capture of
// a million frames fits and filters quickly. It is read as a stream, a piece of whole lines at a
// time: each piece's frames are written by scanCapture() straight into the codec's WASM input
// buffer, decoded there in place (decodeAt: no copy, no object per frame), paired, and appended
// to the columns, so the page can draw the first table after the first piece.
import { CAPTURE_MAX_LINE, CaptureFormatError, DecodeError, DIR_CODES, SERVICE_CODES, codec, runtimeMessages, scanCapture, type CaptureHeader, type CaptureScanFrom, type DecodeErrorDetails } from '@corosync-ts/codec-wasm';
import { Gunzip } from 'fflate';
import type { FileTag } from './merge.js';

export const DIRS = ['req', 'res', 'evt', 'setup'] as const;
/** Different service names one capture may have (a recorder writes six at most). */
export const MAX_SERVICES = 256;
const KNOWN_SERVICES = Object.keys(SERVICE_CODES).length;
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
  opened: boolean;
  closedBy?: string;
  closeError?: string;
  /** The server refused the handshake (a 'closed' with no 'open' before it): why. */
  refused?: string;
  /** In a view of several captures (merge.ts): the file it is from (index into `files`), its id in that file, and its name (file tag:that id). */
  file?: number;
  fileConn?: number;
  label?: string;
}

/** How rows, lanes and lists name a connection: its id, or in a view of several captures its file's tag and its id there. */
export const connName = (ci: ConnInfo): string => ci.label ?? String(ci.conn);

/** What a connection-state line says, placed on the timeline. */
export interface Mark {
  t: number;
  conn: number;
  kind: 'refused' | 'closed' | 'flow' | 'dropped';
  /** flow: the level from then on (0 off) */
  level: number;
  /** dropped: the index of the first frame after it */
  at?: number;
  text: string;
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
  /** cs_error_t of responses and events (1, CS_OK, for an event whose error the daemon never sets); the setup response's errno (0 or negative); 0 otherwise */
  err: Int32Array;
  /** header id */
  id: Int32Array;
  /** the other half of a request/response pair, or -1 */
  pair: Int32Array;
  /** 1: a request sent again after its connection's last answer was CS_ERR_TRY_AGAIN */
  retry: Uint8Array;
  decodeErrors: Map<number, DecodeError>;
  conns: Map<number, ConnInfo>;
  marks: Mark[];
  /** lines that broke the format */
  bad: CaptureFormatError[];
  /** time spent per stage, ms, summed over the pieces */
  timing: { inflate: number; parse: number; decode: number; pair: number };
  /** Why the file's data ended before its end (a gzip member cut short): the frames are those before that point. */
  cut?: string;
  /** A view of several captures (merge.ts): each frame's file (index into `files`), and the files. */
  file?: Uint8Array;
  files?: FileTag[];
  /** The reader's place after the last piece: the end line, the frame lines read, the last `t`. */
  scan?: CaptureScanFrom;
}

export function messageName(c: Capture, i: number): string {
  const m = c.msg[i]!;
  if (m >= 0) return runtimeMessages[m]!.name;
  if (m === -1) return 'DecodeError';
  return `${c.services[c.svc[i]!]}#${c.id[i]}`;
}

/** A setup response that refused the connection (a negative errno). */
export const refusedSetup = (c: Capture, i: number): boolean => c.dir[i] === 3 && c.len[i]! > 24 && c.err[i]! < 0;

let noReplyByService: Map<string, Set<number>> | undefined;

/** The catalog's `noReply` requests (cpg's MCAST): their ids by service name, built on first use. */
function noReplyMap(): Map<string, Set<number>> {
  if (noReplyByService === undefined) {
    noReplyByService = new Map();
    for (const m of runtimeMessages) {
      if (m.dir !== 'req' || !m.noReply || m.id === null) continue;
      let ids = noReplyByService.get(m.service);
      if (!ids) noReplyByService.set(m.service, (ids = new Set()));
      ids.add(m.id);
    }
  }
  return noReplyByService;
}

/**
 * Per service of a capture (its `services` order), the ids of the requests the daemon never
 * answers, from the codec's catalog (`noReply`: cpg's MCAST); undefined for a service with none.
 */
export function noReplyIds(services: readonly string[]): (ReadonlySet<number> | undefined)[] {
  const map = noReplyMap();
  return services.map((s) => map.get(s));
}

/** A request the daemon never answers (the catalog's `noReply`): libqb's disconnect (id -3) is not one of these. */
export const isNoReply = (c: Capture, i: number): boolean => c.dir[i] === 0 && noReplyMap().get(c.services[c.svc[i]!]!)?.has(c.id[i]!) === true;

/**
 * libqb answers the requests of one connection in order: the n-th response answers the n-th
 * request, the setup response the setup request. libqb's disconnect request (id -3) and the
 * catalog's `noReply` requests (cpg's MCAST; given `svc` and `noReply`, noReplyIds() of the
 * capture's services) have no answer: a MCAST taken as answered would pair every later request
 * of its connection with the answer of the one before it.
 * Fed frame by frame, in capture order, as the pieces of a capture arrive.
 */
export class Pairer {
  // Per connection (a slot): its unanswered requests as a list linked through `next`, its
  // unanswered setup request, and whether its last answer was TRY_AGAIN.
  private readonly slotOf = new Map<number, number>();
  private head = new Int32Array(64);
  private tail = new Int32Array(64);
  private setup = new Int32Array(64);
  private tryAgain = new Uint8Array(64);
  private next = new Int32Array(1024);
  private lastConn = 0;
  private s = -1;
  /** drops[] before this one are done */
  private dropNext = 0;

  /**
   * Pairs frames [from, to) of the columns; fills pair (and retry, when given). `drops`: the
   * recorder's `dropped` lines so far, in capture order, each placed before frame `at` (the
   * same array, grown, on every call): a connection's answers after one are not paired with
   * its requests before it, whose answers may be among the lost frames.
   */
  add(from: number, to: number, conn: Int32Array, dir: Uint8Array, id: Int32Array, len: Int32Array, pair: Int32Array, err?: Int32Array, retry?: Uint8Array, drops: readonly { at: number; conn: number }[] = [], svc?: Uint8Array, noReply: readonly (ReadonlySet<number> | undefined)[] = []): void {
    if (this.next.length < to) {
      const b = new Int32Array(Math.max(to, this.next.length * 2));
      b.set(this.next);
      this.next = b;
    }
    const next = this.next;
    for (let i = from; i < to; i++) {
      while (this.dropNext < drops.length && drops[this.dropNext]!.at <= i) {
        this.slot(drops[this.dropNext++]!.conn);
        this.head[this.s] = this.tail[this.s] = this.setup[this.s] = -1;
        this.tryAgain[this.s] = 0;
      }
      pair[i] = -1;
      const c = conn[i]!;
      if (c !== this.lastConn || this.s < 0) this.slot(c);
      const s = this.s;
      const d = dir[i]!;
      if (d === 0) {
        if (retry && this.tryAgain[s]) {
          retry[i] = 1;
          this.tryAgain[s] = 0;
        }
        if (id[i] === -3 || (svc !== undefined && noReply[svc[i]!]?.has(id[i]!) === true)) continue;
        next[i] = -1;
        if (this.tail[s]! < 0) this.head[s] = i;
        else next[this.tail[s]!] = i;
        this.tail[s] = i;
      } else if (d === 1) {
        if (err) this.tryAgain[s] = err[i] === 6 ? 1 : 0;
        const r = this.head[s]!;
        if (r >= 0) {
          this.head[s] = next[r]!;
          if (this.head[s]! < 0) this.tail[s] = -1;
          pair[r] = i;
          pair[i] = r;
        }
      } else if (d === 3) {
        if (len[i]! <= 24) this.setup[s] = i;
        else if (this.setup[s]! >= 0) {
          pair[this.setup[s]!] = i;
          pair[i] = this.setup[s]!;
          this.setup[s] = -1;
        }
      }
    }
  }

  private slot(c: number): void {
    let x = this.slotOf.get(c);
    if (x === undefined) {
      x = this.slotOf.size;
      this.slotOf.set(c, x);
      if (x === this.head.length) {
        const grow = <A extends Int32Array | Uint8Array>(a: A): A => {
          const b = new (a.constructor as new (n: number) => A)(a.length * 2);
          b.set(a as never);
          return b;
        };
        this.head = grow(this.head);
        this.tail = grow(this.tail);
        this.setup = grow(this.setup);
        this.tryAgain = grow(this.tryAgain);
      }
      this.head[x] = -1;
      this.tail[x] = -1;
      this.setup[x] = -1;
      this.tryAgain[x] = 0;
    }
    this.s = x;
    this.lastConn = c;
  }
}

/** Pairs a whole set of columns at once (see Pairer). */
export function pairFrames(n: number, conn: Int32Array, dir: Uint8Array, id: Int32Array, len: Int32Array, svc?: Uint8Array, noReply: readonly (ReadonlySet<number> | undefined)[] = []): Int32Array {
  const pair = new Int32Array(n);
  new Pairer().add(0, n, conn, dir, id, len, pair, undefined, undefined, [], svc, noReply);
  return pair;
}

/** A request with no answer in the capture (pending at the end, or lost). */
export function isUnanswered(c: Capture, i: number): boolean {
  return (c.dir[i] === 0 && c.pair[i] === -1 && c.id[i] !== -3 && !isNoReply(c, i)) || (c.dir[i] === 3 && c.len[i]! <= 24 && c.pair[i] === -1);
}

/**
 * Frame i has no pair and a recorder drop on its connection explains it: a request before the
 * drop ('answer': its answer may be among the lost frames), an answer after it ('request').
 */
export function lostInDrop(c: Capture, i: number): 'answer' | 'request' | undefined {
  if (c.pair[i] !== -1) return undefined;
  const req = isUnanswered(c, i);
  if (!req && c.dir[i] !== 1 && !(c.dir[i] === 3 && c.len[i]! > 24)) return undefined;
  for (const m of c.marks) if (m.kind === 'dropped' && m.conn === c.conn[i] && (req ? m.at! > i : m.at! <= i)) return req ? 'answer' : 'request';
  return undefined;
}

/** Builds a Capture from pieces of whole lines, the first of which holds the header. */
export class CaptureBuilder {
  cap: Capture | undefined;
  private from: CaptureScanFrom | undefined;
  private readonly pairer = new Pairer();
  private readonly drops: { at: number; conn: number }[] = [];
  private size = 0;
  /** Connections whose ConnInfo a line changed since pieceOf() last took them. */
  readonly touched = new Set<number>();

  /** How many bytes of `cap.bytes` hold frames. */
  get bytesUsed(): number {
    return this.size;
  }

  /** Takes the next piece of linePieces(): whole lines, or one it skipped for its length. */
  take(piece: Uint8Array | SkippedLine): void {
    if (piece instanceof Uint8Array) return this.add(piece);
    const why = `longer than ${MAX_LINE / 1048576} MiB (${piece.skipped.toLocaleString('en')} bytes): skipped`;
    if (!this.from || !this.cap) throw new CaptureFormatError(`${why}, so there is no header`, 1);
    this.from = { ...this.from, lines: this.from.lines + 1 };
    this.cap.bad.push(new CaptureFormatError(why, this.from.lines));
  }

  /** Reads one piece (whole lines). Throws CaptureFormatError for a bad header in the first. */
  add(piece: Uint8Array): void {
    const t0 = performance.now();
    const input = codec.inputBuffer(Math.max(piece.length >> 1, 1));
    const first = this.cap?.count ?? 0;
    let c = this.cap;
    const cols = new Columns(c);
    let lastSvc = '';
    let lastSx = -1;
    const services = c?.services ?? [];
    const conns = c?.conns ?? new Map<number, ConnInfo>();
    const marks = c?.marks ?? [];
    const bad = c?.bad ?? [];
    const touched = this.touched;
    let lastTouched = -1;
    const info = (cn: number, service: string, transport: string, tt: number, pid: number, proc: string | undefined): ConnInfo => {
      if (cn !== lastTouched) touched.add((lastTouched = cn));
      let ci = conns.get(cn);
      if (!ci) {
        ci = { conn: cn, service, transport, first: tt, last: tt, opened: false };
        conns.set(cn, ci);
      }
      if (pid >= 0) ci.pid = pid;
      if (proc !== undefined) ci.proc = proc;
      ci.last = tt;
      return ci;
    };
    const drops = this.drops;
    const r = scanCapture(piece, input, {
      frame(tt, cn, pid, proc, service, transport, d, at, l, lineNo) {
        if (service !== lastSvc) {
          let sx = services.indexOf(service);
          // `svc` is a byte per frame: a 257th name would read as the first one's frames. The
          // codec's services keep room of their own, so made-up names cannot crowd them out.
          if (sx < 0 && services.length >= MAX_SERVICES - (service in SERVICE_CODES ? 0 : KNOWN_SERVICES)) {
            bad.push(new CaptureFormatError(`a service name more (${JSON.stringify(service.slice(0, 64))}) than the ${MAX_SERVICES} different ones a capture may have`, lineNo, 'service'));
            return;
          }
          if (sx < 0) sx = services.push(service) - 1;
          lastSvc = service;
          lastSx = sx;
        }
        info(cn, service, transport, tt, pid, proc);
        cols.push(tt, cn, d, lastSx, at, l);
      },
      state(s) {
        const ci = info(s.conn, s.service, s.transport, s.t, s.pid ?? -1, s.proc);
        if (s.state === 'open') ci.opened = true;
        else if (s.state === 'flow') marks.push({ t: s.t, conn: s.conn, kind: 'flow', level: s.level ?? 0, text: `flow control ${s.level ? `on (level ${s.level}): the client's sends fail with EAGAIN` : 'off'}` });
        else if (s.state === 'dropped') {
          marks.push({ t: s.t, conn: s.conn, kind: 'dropped', level: 0, at: cols.n, text: `the recorder lost ${s.lines ?? '?'} frames here (its writer could not keep up): nothing before this point is paired with what comes after it` });
          drops.push({ at: cols.n, conn: s.conn });
        }
        else {
          if (s.by !== undefined) ci.closedBy = s.by;
          if (s.error !== undefined) ci.closeError = s.error;
          if (!ci.opened) ci.refused = s.error ?? 'refused';
          const kind = ci.opened ? 'closed' : 'refused';
          marks.push({ t: s.t, conn: s.conn, kind, level: 0, text: `${kind === 'refused' ? 'handshake refused' : 'closed'}${s.by ? ` by the ${s.by === 'error' ? 'recorder (error)' : s.by}` : ''}${s.error ? `: ${s.error}` : ''}` });
        }
      },
      bad: (e) => bad.push(e),
    }, this.from);
    this.from = r;
    const t1 = performance.now();
    if (!c) {
      c = {
        header: r.header, count: 0, services, conns, marks, bad, decodeErrors: new Map(), bytes: new Uint8Array(1024),
        t: cols.t, conn: cols.conn, dir: cols.dir, svc: cols.svc, off: cols.off, len: cols.len,
        msg: new Int16Array(0), err: new Int32Array(0), id: new Int32Array(0), pair: new Int32Array(0), retry: new Uint8Array(0),
        timing: { inflate: 0, parse: 0, decode: 0, pair: 0 },
      };
      this.cap = c;
    }
    c.scan = r;
    const n = cols.n;
    cols.into(c, n);
    // This piece's frames, decoded in place in the WASM input buffer, then copied out of it:
    // the detail view decodes single frames with the codec, which reuses that buffer.
    const view = codec.inputView();
    const svcCode = services.map((s) => (SERVICE_CODES as Record<string, number>)[s] ?? -1);
    const { dir, len, off, msg, err, id, svc } = c;
    for (let i = first; i < n; i++) {
      const d = dir[i]!;
      const l = len[i]!;
      const o = off[i]!;
      id[i] = l >= 4 ? view.getInt32(o, true) : 0;
      err[i] = l >= 24 && d !== 0 && !(d === 3 && l <= 24) ? view.getInt32(o + 16, true) : 0;
      const sc = d === 3 ? SERVICE_CODES.cmap : svcCode[svc[i]!]!;
      if (sc < 0) {
        msg[i] = -2;
      } else {
        const m = codec.decodeAt(o, l, sc, d === 3 ? DIR_CODES.setup : d);
        msg[i] = m;
        if (m < 0) c.decodeErrors.set(i, codec.lastError());
        // stack garbage where the daemon never sets it (cpg's deliveries): no result, not an error
        else if (runtimeMessages[m]!.errorUnset) err[i] = 1;
      }
      off[i] = o + this.size;
    }
    if (this.size + r.size > c.bytes.length) {
      const b = new Uint8Array(Math.max(this.size + r.size, c.bytes.length * 2));
      b.set(c.bytes.subarray(0, this.size));
      c.bytes = b;
    }
    c.bytes.set(codec.inputBuffer(Math.max(r.size, 1)).subarray(0, r.size), this.size);
    this.size += r.size;
    const t2 = performance.now();
    this.pairer.add(first, n, c.conn, c.dir, c.id, c.len, c.pair, c.err, c.retry, this.drops, c.svc, noReplyIds(services));
    c.count = n;
    const t3 = performance.now();
    c.timing.parse += t1 - t0;
    c.timing.decode += t2 - t1;
    c.timing.pair += t3 - t2;
  }
}

/** The growable columns of a capture while a piece is scanned into them. */
class Columns {
  t: Float64Array;
  conn: Int32Array;
  dir: Uint8Array;
  svc: Uint8Array;
  off: Float64Array;
  len: Int32Array;
  n: number;

  constructor(c: Capture | undefined) {
    const cap = c ? c.t.length : 1024;
    this.n = c?.count ?? 0;
    this.t = c?.t ?? new Float64Array(cap);
    this.conn = c?.conn ?? new Int32Array(cap);
    this.dir = c?.dir ?? new Uint8Array(cap);
    this.svc = c?.svc ?? new Uint8Array(cap);
    this.off = c?.off ?? new Float64Array(cap);
    this.len = c?.len ?? new Int32Array(cap);
  }

  push(t: number, conn: number, dir: number, svc: number, off: number, len: number): void {
    if (this.n === this.t.length) {
      const cap = this.n * 2;
      this.t = grow(this.t, cap);
      this.conn = grow(this.conn, cap);
      this.dir = grow(this.dir, cap);
      this.svc = grow(this.svc, cap);
      this.off = grow(this.off, cap);
      this.len = grow(this.len, cap);
    }
    const i = this.n++;
    this.t[i] = t;
    this.conn[i] = conn;
    this.dir[i] = dir;
    this.svc[i] = svc;
    this.off[i] = off;
    this.len[i] = len;
  }

  /** Hands the columns to the capture, with the derived ones grown to match. */
  into(c: Capture, n: number): void {
    c.t = this.t;
    c.conn = this.conn;
    c.dir = this.dir;
    c.svc = this.svc;
    c.off = this.off;
    c.len = this.len;
    const cap = this.t.length;
    if (c.msg.length < n) {
      c.msg = grow(c.msg, cap);
      c.err = grow(c.err, cap);
      c.id = grow(c.id, cap);
      c.pair = grow(c.pair, cap);
      c.retry = grow(c.retry, cap);
    }
  }
}

function grow<A extends Float64Array | Int32Array | Int16Array | Uint8Array>(a: A, cap: number): A {
  const b = new (a.constructor as new (n: number) => A)(cap);
  b.set(a as never);
  return b;
}

export const FIRST_PIECE = 256 * 1024;
const PIECE = 8 * 1024 * 1024;
// Small, so the first piece is out after little inflating (gzip captures inflate ~30:1), and
// because fflate copies what is left of its input at each member's end: one push of a whole
// file of thousands of members is quadratic.
const GZIP_SLICE = 32 * 1024;
// Until the first piece is out: it needs ~8 KiB of gzip, and the first table waits for it.
const GZIP_FIRST_SLICE = 4 * 1024;

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.length > 0) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * The longest line a reader keeps, the capture reader's (a frame of 8 MiB as hex). A longer line
 * (a file that is not a capture, a gzip bomb of zeros) is skipped to its end without being held,
 * so memory stays bounded by the pieces.
 */
export const MAX_LINE = CAPTURE_MAX_LINE;
/** Gzip data that inflates to more than this (a bomb) is read no further. */
export const MAX_INFLATED = 2 * 1024 * 1024 * 1024;

/** A line longer than MAX_LINE that linePieces() left out: its length, its newline not counted. */
export interface SkippedLine {
  skipped: number;
}

/**
 * Cuts a capture file (plain or gzip, told by its magic; any number of gzip members) into
 * pieces of whole lines as it arrives: a small first piece, so the first table comes at once,
 * then pieces of about 8 MiB. `timing.inflate` gets the time spent in fflate. Gzip data that is
 * cut short or corrupt ends the pieces there, with the reason in `timing.cut`: the whole lines
 * before it are still the capture (a recorder killed in the middle of a flush leaves a member
 * unfinished); a line the cut splits is dropped. A line longer than MAX_LINE comes out as a
 * SkippedLine in its place.
 */
export async function* linePieces(source: ReadableStream<Uint8Array> | Uint8Array, timing: { inflate: number; cut?: string }): AsyncGenerator<Uint8Array | SkippedLine> {
  // The bytes not cut into pieces yet, as they came (joined only when a piece is cut from them:
  // joining them at every chunk while a long line comes was quadratic, seconds for a 2 MB frame).
  let parts: Uint8Array[] = [];
  let size = 0;
  let target = FIRST_PIECE;
  // where the last, unfinished line of those bytes starts (just after their last newline)
  let lineAt = 0;
  // those bytes from target - 1 up to here hold no newline (searched already)
  let clean = 0;
  // the length so far of an over-long line being skipped, or -1
  let skip = -1;
  let gunzip: Gunzip | null | undefined;
  let head: Uint8Array | undefined;
  // fflate throws on some truncations only: one that ends between deflate blocks, or in a
  // member's header, ends its output without error. So the last member is checked against its
  // trailer: it must be there, and its ISIZE must be the length the member inflated to.
  let inBytes = 0;
  let outBytes = 0;
  let memberAt = 0;
  let memberOut = 0;
  const tail = new Uint8Array(8);
  // Pieces: whole lines, cut at the first line end past the target size.
  function* cut(): Generator<Uint8Array> {
    while (size >= target) {
      const from = Math.max(target - 1, clean);
      let end = -1;
      let off = 0;
      for (const p of parts) {
        if (off + p.length > from) {
          const k = p.indexOf(0x0a, Math.max(0, from - off));
          if (k >= 0) {
            end = off + k + 1;
            break;
          }
        }
        off += p.length;
      }
      if (end < 0) {
        clean = size; // no line end yet: wait for more
        return;
      }
      const all = parts.length === 1 ? parts[0]! : concat(parts, size);
      parts = end < all.length ? [all.subarray(end)] : [];
      size -= end;
      lineAt -= end;
      clean = 0;
      target = PIECE;
      yield all.subarray(0, end);
    }
  }
  // Takes inflated or plain bytes, in slices no longer than a line may be (so a line that
  // starts and ends in one slice is short enough).
  function* take(chunk: Uint8Array): Generator<Uint8Array | SkippedLine> {
    for (let at = 0; at < chunk.length; at += MAX_LINE) yield* takeSlice(chunk.subarray(at, at + MAX_LINE));
  }
  function* takeSlice(chunk: Uint8Array): Generator<Uint8Array | SkippedLine> {
    const first = chunk.indexOf(0x0a);
    if (skip < 0 && size - lineAt + (first < 0 ? chunk.length : first) > MAX_LINE) {
      // the whole lines before the long one go now; the long one is skipped to its end
      if (lineAt > 0) yield concat(parts, size).subarray(0, lineAt);
      skip = size - lineAt;
      parts = [];
      size = lineAt = clean = 0;
      target = PIECE;
    }
    if (skip >= 0) {
      if (first < 0) {
        skip += chunk.length;
        return;
      }
      yield { skipped: skip + first };
      skip = -1;
      chunk = chunk.subarray(first + 1);
      if (chunk.length === 0) return;
    }
    const nl = chunk.lastIndexOf(0x0a);
    if (nl >= 0) lineAt = size + nl + 1;
    parts.push(chunk);
    size += chunk.length;
    yield* cut();
  }
  function* feed(chunk: Uint8Array, last: boolean): Generator<Uint8Array | SkippedLine> {
    if (gunzip === undefined) {
      // The magic may straddle the first chunks.
      head = head ? concat([head, chunk], head.length + chunk.length) : chunk;
      if (head.length < 2 && !last) return;
      chunk = head;
      head = undefined;
      gunzip = chunk[0] === 0x1f && chunk[1] === 0x8b ? new Gunzip((out) => {
        inflated.push(out);
        outBytes += out.length;
      }) : null;
      if (gunzip) {
        gunzip.onmember = (at) => {
          memberAt = at;
          memberOut = outBytes;
        };
      }
    }
    if (!gunzip) {
      yield* take(chunk);
      return;
    }
    keepTail(chunk);
    for (let at = 0, step = GZIP_FIRST_SLICE; at < chunk.length || (last && at === 0); at += step) {
      step = target === FIRST_PIECE ? GZIP_FIRST_SLICE : GZIP_SLICE;
      const t0 = performance.now();
      try {
        gunzip.push(chunk.subarray(at, at + step), last && at + step >= chunk.length);
      } catch (e) {
        timing.cut = `corrupt or truncated gzip data: ${e instanceof Error ? e.message : String(e)}`;
        return;
      }
      timing.inflate += performance.now() - t0;
      const out = inflated;
      inflated = [];
      for (const o of out) yield* take(o);
      if (outBytes > MAX_INFLATED) {
        timing.cut = `the file inflates to more than ${MAX_INFLATED / 1024 ** 3} GiB (a gzip bomb?): it is read no further`;
        return;
      }
    }
  }
  let inflated: Uint8Array[] = [];
  function keepTail(chunk: Uint8Array): void {
    inBytes += chunk.length;
    if (chunk.length >= 8) tail.set(chunk.subarray(chunk.length - 8));
    else if (chunk.length > 0) {
      tail.copyWithin(0, chunk.length);
      tail.set(chunk, 8 - chunk.length);
    }
  }
  const chunks = source instanceof Uint8Array ? [source] : chunksOf(source);
  for await (const chunk of chunks) {
    yield* feed(chunk, false);
    if (timing.cut !== undefined) break;
  }
  if (timing.cut === undefined) yield* feed(new Uint8Array(0), true);
  if (gunzip && timing.cut === undefined) {
    const isize = (tail[4]! | (tail[5]! << 8) | (tail[6]! << 16) | (tail[7]! << 24)) >>> 0;
    // 20: the smallest member, a 10-byte header, an empty deflate block (2) and the trailer.
    if (inBytes - memberAt < 20 || isize !== (outBytes - memberOut) >>> 0) timing.cut = 'corrupt or truncated gzip data: unexpected EOF';
  }
  if (skip >= 0) {
    if (timing.cut === undefined) yield { skipped: skip };
    return;
  }
  let rest = size > 0 ? concat(parts, size) : undefined;
  if (rest && timing.cut !== undefined) rest = rest.subarray(0, rest.lastIndexOf(0x0a) + 1);
  if (rest?.length) yield rest;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What the loader worker posts: it has started, a piece of rows, the end, or why the capture cannot be read. */
export type LoadMessage = PieceMessage | { kind: 'ready' } | { kind: 'done'; cut?: string } | { kind: 'error'; message: string };

/** Rows [first, first + t.length) of a capture, and what they changed about the earlier rows. */
export interface PieceMessage {
  kind: 'piece';
  header: CaptureHeader;
  first: number;
  /** where `bytes` goes in the capture's bytes */
  bytesAt: number;
  t: Float64Array; conn: Int32Array; dir: Uint8Array; svc: Uint8Array; off: Float64Array; len: Int32Array;
  msg: Int16Array; err: Int32Array; id: Int32Array; pair: Int32Array; retry: Uint8Array;
  /** the frame bytes the new rows point into, appended to the earlier ones */
  bytes: Uint8Array;
  /** earlier rows answered in this piece: (row, its pair) flattened */
  pairs: Int32Array;
  // Errors as plain details: a structured clone keeps only an Error's name and message.
  decodeErrors: [number, DecodeErrorDetails & { message: string }][];
  services: string[];
  /** those the piece's lines changed (a later line changes an earlier connection: its close, a refusal) */
  conns: ConnInfo[];
  marks: Mark[];
  bad: { message: string; line: number; field: string | undefined }[];
  timing: Capture['timing'];
  scan: CaptureScanFrom | undefined;
}

/**
 * The rows a builder has added since `sent` (which it advances), as a message to post, with the
 * connections `touched` since the last one (which it clears): all of them per piece was a
 * million objects cloned per piece for a million connections.
 */
export function pieceOf(c: Capture, size: number, sent: { rows: number; bytes: number; marks: number; bad: number }, touched: Set<number>): PieceMessage {
  const first = sent.rows;
  const n = c.count;
  const pairs: number[] = [];
  const decodeErrors: PieceMessage['decodeErrors'] = [];
  for (let i = first; i < n; i++) {
    const p = c.pair[i]!;
    if (p >= 0 && p < first) pairs.push(p, i);
    if (c.msg[i] === -1) {
      const e = c.decodeErrors.get(i)!;
      decodeErrors.push([i, { message: e.message, kind: e.kind, messageName: e.messageName, field: e.field, offset: e.offset }]);
    }
  }
  const m: PieceMessage = {
    kind: 'piece', header: c.header, first, bytesAt: sent.bytes,
    t: c.t.slice(first, n), conn: c.conn.slice(first, n), dir: c.dir.slice(first, n), svc: c.svc.slice(first, n), off: c.off.slice(first, n), len: c.len.slice(first, n),
    msg: c.msg.slice(first, n), err: c.err.slice(first, n), id: c.id.slice(first, n), pair: c.pair.slice(first, n), retry: c.retry.slice(first, n),
    bytes: c.bytes.slice(sent.bytes, size), pairs: Int32Array.from(pairs), decodeErrors,
    services: c.services, conns: Array.from(touched, (cn) => c.conns.get(cn)!), marks: c.marks.slice(sent.marks), bad: c.bad.slice(sent.bad).map((b) => ({ message: b.message.replace(/^line \d+: /, ''), line: b.line, field: b.field })), timing: { ...c.timing },
    scan: c.scan,
  };
  sent.rows = n;
  sent.bytes = size;
  sent.marks = c.marks.length;
  sent.bad = c.bad.length;
  touched.clear();
  return m;
}

/** Appends a worker's piece to the capture being loaded (a new one for the first piece). */
export function appendPiece(c: Capture | undefined, p: PieceMessage): Capture {
  const n = p.first + p.t.length;
  if (!c) {
    c = {
      header: p.header, count: 0, services: [], conns: new Map(), marks: [], bad: [], decodeErrors: new Map(), bytes: new Uint8Array(Math.max(p.bytes.length, 1024)),
      t: new Float64Array(0), conn: new Int32Array(0), dir: new Uint8Array(0), svc: new Uint8Array(0), off: new Float64Array(0), len: new Int32Array(0),
      msg: new Int16Array(0), err: new Int32Array(0), id: new Int32Array(0), pair: new Int32Array(0), retry: new Uint8Array(0),
      timing: { inflate: 0, parse: 0, decode: 0, pair: 0 },
    };
  }
  if (c.t.length < n) {
    const cap = Math.max(n, c.t.length * 2, 1024);
    c.t = grow(c.t, cap); c.conn = grow(c.conn, cap); c.dir = grow(c.dir, cap); c.svc = grow(c.svc, cap); c.off = grow(c.off, cap); c.len = grow(c.len, cap);
    c.msg = grow(c.msg, cap); c.err = grow(c.err, cap); c.id = grow(c.id, cap); c.pair = grow(c.pair, cap); c.retry = grow(c.retry, cap);
  }
  const at = p.first;
  c.t.set(p.t, at); c.conn.set(p.conn, at); c.dir.set(p.dir, at); c.svc.set(p.svc, at); c.off.set(p.off, at); c.len.set(p.len, at);
  c.msg.set(p.msg, at); c.err.set(p.err, at); c.id.set(p.id, at); c.pair.set(p.pair, at); c.retry.set(p.retry, at);
  for (let k = 0; k < p.pairs.length; k += 2) c.pair[p.pairs[k]!] = p.pairs[k + 1]!;
  for (const [i, e] of p.decodeErrors) c.decodeErrors.set(i, new DecodeError(e.message, e));
  const start = p.bytesAt;
  if (start + p.bytes.length > c.bytes.length) {
    const b = new Uint8Array(Math.max(start + p.bytes.length, c.bytes.length * 2));
    b.set(c.bytes.subarray(0, start));
    c.bytes = b;
  }
  c.bytes.set(p.bytes, start);
  c.services.splice(0, c.services.length, ...p.services);
  for (const ci of p.conns) c.conns.set(ci.conn, ci);
  c.marks.push(...p.marks);
  c.bad.push(...p.bad.map((b) => new CaptureFormatError(b.message, b.line, b.field)));
  c.timing = p.timing;
  c.header = p.header;
  c.scan = p.scan;
  c.count = n;
  return c;
}
