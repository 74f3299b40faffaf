// Several captures in one view: the captures that belong together (the mock's and the client's of
// one failing test, a tap capture per cluster node) merged into one Capture on one time axis.
import { CaptureFormatError, SERVICE_CODES, type CaptureHeader } from '@corosync-ts/codec-wasm';
import { MAX_SERVICES, type Capture, type ConnInfo, type Mark } from './model.js';

/**
 * The most files one view holds: a frame's file is a byte, and a view of more captures than this
 * is no longer one anybody reads.
 */
export const MAX_FILES = 32;

/** One file of a view: its capture once loaded, or why it could not be. */
export interface LoadedFile {
  /** the file name or the URL */
  name: string;
  cap?: Capture;
  error?: string;
}

/** A file of a merged view, as its rows and connections name it. */
export interface FileTag {
  /** A, B, C…: the prefix of its connections' labels */
  tag: string;
  name: string;
  header: CaptureHeader;
}

/**
 * Captures that cannot share one time axis: rows' times are doubles of ns from the earliest start,
 * exact up to 2^53 ns (104 days, as a capture's own `t`); past that a latency would be rounded
 * (128 ns steps at 30 years, none left at a start of 20 nines), so the view refuses to show it.
 */
export class MergeError extends Error {
  override name = 'MergeError';
}

const NS_PER_DAY = 86_400_000_000_000n;

export const fileTag = (k: number): string => (k < 26 ? String.fromCharCode(65 + k) : `F${k + 1}`);

/** How a file is named in the file filter and the header list: its tag, name and recorder mode. */
export const fileTitle = (f: FileTag): string => `${f.tag}: ${f.name} (${f.header.recorder.mode})`;

// A hostile file's made-up service names must not crowd out another file's: the codec's names
// come first, the rest share what is left, and those past it share one name.
const TOO_MANY_SERVICES = '(more service names than one view holds)';

/**
 * The captures as one, rows in time order on the earliest start's axis: each file's start
 * (its header's unixNs) plus its rows' t. Each file's rows keep their order (a connection's
 * frames, which pairing and drop marks rely on, are never reordered); across files the earliest
 * next row goes first. Every (file, connection) gets an id of its own, so a hostile file's ids
 * can neither meet nor replace another file's; the label says which file it is from.
 */
export function mergeCaptures(files: readonly { name: string; cap: Capture }[]): Capture {
  if (files.length > MAX_FILES) throw new Error(`at most ${MAX_FILES} captures in one view`);
  const starts = files.map((f) => BigInt(f.cap.header.start.unixNs));
  const base = starts.reduce((a, b) => (b < a ? b : a));
  const shift = starts.map((s) => Number(s - base));
  files.forEach((f, k) => {
    let last = 0;
    for (const t of f.cap.t) if (t > last) last = t;
    if (shift[k]! + last > Number.MAX_SAFE_INTEGER) {
      const first = files[starts.indexOf(base)]!.name;
      const days = (starts[k]! + BigInt(last) - base) / NS_PER_DAY;
      throw new MergeError(`${f.name} ${last ? 'ends' : 'starts'} ${days} days after ${first}: one time axis is exact to the nanosecond over 104 days at most; open them separately`);
    }
  });
  const tags: FileTag[] = files.map((f, k) => ({ tag: fileTag(k), name: f.name, header: f.cap.header }));
  const total = files.reduce((n, f) => n + f.cap.count, 0);

  const services: string[] = [];
  const svcIndex = new Map<string, number>();
  const serviceOf = (s: string): number => {
    let x = svcIndex.get(s);
    if (x === undefined) {
      if (services.length >= MAX_SERVICES - 1) x = svcIndex.get(TOO_MANY_SERVICES) ?? services.push(TOO_MANY_SERVICES) - 1;
      else x = services.push(s) - 1;
      svcIndex.set(s, x);
    }
    return x;
  };
  for (const f of files) for (const s of f.cap.services) if (s in SERVICE_CODES) serviceOf(s);
  const svcMap = files.map((f) => Uint8Array.from(f.cap.services, serviceOf));

  const conns = new Map<number, ConnInfo>();
  const connMap = files.map((f, k) => {
    const m = new Map<number, number>();
    for (const ci of f.cap.conns.values()) {
      const id = conns.size + 1;
      m.set(ci.conn, id);
      conns.set(id, { ...ci, conn: id, file: k, fileConn: ci.conn, label: `${tags[k]!.tag}:${ci.conn}`, first: ci.first + shift[k]!, last: ci.last + shift[k]! });
    }
    return m;
  });

  // Where each file's rows go, in one k-way merge on time.
  const at = files.map((f) => new Int32Array(f.cap.count + 1));
  const next = new Int32Array(files.length);
  for (let n = 0; n < total; n++) {
    let best = -1;
    let bt = Infinity;
    for (let k = 0; k < files.length; k++) {
      const i = next[k]!;
      if (i >= files[k]!.cap.count) continue;
      const t = files[k]!.cap.t[i]! + shift[k]!;
      if (best < 0 || t < bt) {
        best = k;
        bt = t;
      }
    }
    at[best]![next[best]!++] = n;
  }
  // a mark after a file's last row goes after the view's last row of that file, or at the end
  for (const a of at) a[a.length - 1] = total;

  const c: Capture = {
    header: files[shift.indexOf(0)]!.cap.header, count: total, services, conns, marks: [], bad: [], decodeErrors: new Map(),
    bytes: new Uint8Array(files.reduce((n, f) => n + f.cap.bytes.length, 0)),
    t: new Float64Array(total), conn: new Int32Array(total), dir: new Uint8Array(total), svc: new Uint8Array(total), off: new Float64Array(total), len: new Int32Array(total),
    msg: new Int16Array(total), err: new Int32Array(total), id: new Int32Array(total), pair: new Int32Array(total), retry: new Uint8Array(total),
    timing: { inflate: 0, parse: 0, decode: 0, pair: 0 }, file: new Uint8Array(total), files: tags,
  };
  let bytesAt = 0;
  files.forEach(({ cap: f }, k) => {
    const a = at[k]!;
    const cm = connMap[k]!;
    const sm = svcMap[k]!;
    const s = shift[k]!;
    let lastConn = NaN;
    let lastId = 0;
    for (let i = 0; i < f.count; i++) {
      const j = a[i]!;
      const cn = f.conn[i]!;
      if (cn !== lastConn) {
        lastConn = cn;
        lastId = cm.get(cn)!;
      }
      c.t[j] = f.t[i]! + s;
      c.conn[j] = lastId;
      c.dir[j] = f.dir[i]!;
      c.svc[j] = sm[f.svc[i]!]!;
      c.off[j] = f.off[i]! + bytesAt;
      c.len[j] = f.len[i]!;
      c.msg[j] = f.msg[i]!;
      c.err[j] = f.err[i]!;
      c.id[j] = f.id[i]!;
      const p = f.pair[i]!;
      c.pair[j] = p >= 0 ? a[p]! : -1;
      c.retry[j] = f.retry[i]!;
      c.file![j] = k;
    }
    for (const [i, e] of f.decodeErrors) c.decodeErrors.set(a[i]!, e);
    c.bytes.set(f.bytes, bytesAt);
    bytesAt += f.bytes.length;
    for (const b of f.bad) {
      const e = new CaptureFormatError(b.message.replace(/^line \d+: /, ''), b.line, b.field);
      e.message = `${fileTitle(tags[k]!)} ${e.message}`;
      c.bad.push(e);
    }
    for (const key of ['inflate', 'parse', 'decode', 'pair'] as const) c.timing[key] += f.timing[key];
  });
  c.marks = mergeMarks(files.map(({ cap: f }, k) => f.marks.map((m): Mark => ({ ...m, t: m.t + shift[k]!, conn: connMap[k]!.get(m.conn)!, ...(m.at !== undefined ? { at: at[k]![m.at]! } : {}) }))));
  const cut = files.flatMap(({ cap: f }, k) => (f.cut !== undefined ? [`${tags[k]!.tag}: ${f.cut}`] : []));
  if (cut.length) c.cut = cut.join('; ');
  return c;
}

/** Each file's marks in their order, the files' interleaved by time. */
function mergeMarks(per: Mark[][]): Mark[] {
  const out: Mark[] = [];
  const next = per.map(() => 0);
  for (;;) {
    let best = -1;
    for (let k = 0; k < per.length; k++) if (next[k]! < per[k]!.length && (best < 0 || per[k]![next[k]!]!.t < per[best]![next[best]!]!.t)) best = k;
    if (best < 0) return out;
    out.push(per[best]![next[best]!++]!);
  }
}
