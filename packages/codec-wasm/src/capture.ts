// Capture file reader (format v1, capture/FORMAT.md). Browser-safe: no Node imports; gzip goes
// through the standard DecompressionStream, which Node >= 18 and every current browser have.

export const CAPTURE_FORMAT_VERSION = 1;

export type CaptureMode = 'client' | 'mock' | 'tap';
export type CaptureTransport = 'socket' | 'shm';
export type CaptureDir = 'req' | 'res' | 'evt' | 'setup';

export interface CaptureHeader {
  corosyncCapture: number;
  start: { unixNs: string; iso: string };
  host: string;
  recorder: { mode: CaptureMode; name: string; version: string };
  corosync?: string;
}

interface CaptureCommon {
  /** ns since the header's start */
  t: number;
  conn: number;
  pid?: number;
  proc?: string;
  service: string;
  transport: CaptureTransport;
}

export interface CaptureFrameRecord extends CaptureCommon {
  kind: 'frame';
  dir: CaptureDir;
  hex: string;
}

export interface CaptureStateRecord extends CaptureCommon {
  kind: 'state';
  /**
   * open: after the handshake; closed: ended, or refused at the handshake (no open before it);
   * flow: the server's flow control changed; dropped: the recorder could not keep up and lost
   * `lines` frames of this connection before this line
   */
  state: 'open' | 'closed' | 'flow' | 'dropped';
  by?: 'client' | 'server' | 'error';
  error?: string;
  /** For 'flow': libqb's flow-control level, 0 (off), 1 or 2 (the client must not send) */
  level?: number;
  /** For 'dropped': how many lines the recorder lost */
  lines?: number;
}

export type CaptureRecord = CaptureFrameRecord | CaptureStateRecord;

/**
 * The last line of a capture whose recorder ended it: until when it recorded, and how many frame
 * lines it wrote (a reader that read fewer lost some) and dropped. A capture without one was cut
 * off (its recorder killed) or is still being written.
 */
export interface CaptureEnd {
  /** wall clock at the end, as the header's `start` */
  end: { unixNs: string; iso: string };
  /** ns since the header's start */
  t: number;
  /** frame lines the recorder wrote */
  frames: number;
  /** frames the recorder dropped in all (the sum of its `dropped` lines) */
  dropped: number;
  /**
   * close: the recorder closed the capture; exit: its process's exit flush wrote this; signal:
   * its process was stopped by `signal` (and then killed by it)
   */
  by: 'close' | 'exit' | 'signal';
  /** the signal's name (SIGTERM, SIGINT, SIGHUP), with `by: "signal"` only */
  signal?: string;
}

/** A line that breaks the format; `line` is 1-based, `field` names the offending member. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  readonly line: number;
  readonly field: string | undefined;
  constructor(message: string, line: number, field?: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
    this.field = field;
  }
}

export function isCaptureFormatError(e: unknown): e is CaptureFormatError {
  return e instanceof CaptureFormatError;
}

type Obj = Record<string, unknown>;

function parseObject(line: string, lineNo: number): Obj {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new CaptureFormatError(`not JSON (${e instanceof Error ? e.message : String(e)})`, lineNo);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CaptureFormatError('not a JSON object', lineNo);
  return v as Obj;
}

const str = (o: Obj, k: string, lineNo: number): string => {
  const v = o[k];
  if (typeof v !== 'string') throw new CaptureFormatError(`"${k}" must be a string`, lineNo, k);
  return v;
};
const optStr = (o: Obj, k: string, lineNo: number): string | undefined => (o[k] === undefined ? undefined : str(o, k, lineNo));
const int = (o: Obj, k: string, lineNo: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new CaptureFormatError(max === Number.MAX_SAFE_INTEGER ? `"${k}" must be an integer >= ${min}` : `"${k}" must be an integer from ${min} to ${max}`, lineNo, k);
  }
  return v;
};
/** The largest connection id: readers keep ids in 32-bit signed columns, where a larger one would become another connection's. */
export const CAPTURE_MAX_CONN = 0x7fffffff;
function oneOf<T extends string>(o: Obj, k: string, lineNo: number, allowed: readonly T[]): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new CaptureFormatError(`"${k}" must be one of ${allowed.join(', ')}`, lineNo, k);
  }
  return v as T;
}

/** A wall-clock instant: the header's `start`, the end line's `end`. */
function instant(o: Obj, k: string, lineNo: number): { unixNs: string; iso: string } {
  const v = o[k] as Obj | undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CaptureFormatError(`"${k}" must be an object`, lineNo, k);
  const unixNs = str(v, 'unixNs', lineNo);
  if (!/^[0-9]{1,20}$/.test(unixNs)) throw new CaptureFormatError(`"${k}.unixNs" must be a string of digits`, lineNo, 'unixNs');
  return { unixNs, iso: str(v, 'iso', lineNo) };
}

/** Validates the first line of a capture. Throws CaptureFormatError (also for an unknown version). */
export function parseCaptureHeader(line: string, lineNo = 1): CaptureHeader {
  const o = parseObject(line, lineNo);
  const version = o.corosyncCapture;
  if (version === undefined) throw new CaptureFormatError('not a corosync capture: the header has no "corosyncCapture"', lineNo, 'corosyncCapture');
  if (version !== CAPTURE_FORMAT_VERSION) {
    throw new CaptureFormatError(`capture format version ${JSON.stringify(version)} is not supported (this reader knows version ${CAPTURE_FORMAT_VERSION})`, lineNo, 'corosyncCapture');
  }
  const start = instant(o, 'start', lineNo);
  const rec = o.recorder as Obj | undefined;
  if (typeof rec !== 'object' || rec === null) throw new CaptureFormatError('"recorder" must be an object', lineNo, 'recorder');
  const header: CaptureHeader = {
    corosyncCapture: version,
    start,
    host: str(o, 'host', lineNo),
    recorder: { mode: oneOf(rec, 'mode', lineNo, ['client', 'mock', 'tap'] as const), name: str(rec, 'name', lineNo), version: str(rec, 'version', lineNo) },
  };
  const corosync = optStr(o, 'corosync', lineNo);
  if (corosync !== undefined) header.corosync = corosync;
  return header;
}

/** Validates an end line (see CaptureEnd). Throws CaptureFormatError. */
export function parseCaptureEnd(line: string, lineNo: number): CaptureEnd {
  return endFromObject(parseObject(line, lineNo), lineNo);
}

function endFromObject(o: Obj, lineNo: number): CaptureEnd {
  const e: CaptureEnd = {
    end: instant(o, 'end', lineNo),
    t: int(o, 't', lineNo, 0),
    frames: int(o, 'frames', lineNo, 0),
    dropped: int(o, 'dropped', lineNo, 0),
    by: oneOf(o, 'by', lineNo, ['close', 'exit', 'signal'] as const),
  };
  if (e.by === 'signal') {
    const sig = o.signal;
    if (typeof sig !== 'string' || !/^SIG[A-Z0-9]{1,12}$/.test(sig)) throw new CaptureFormatError('"signal" must be a signal name (SIGTERM) with "by": "signal"', lineNo, 'signal');
    e.signal = sig;
  }
  return e;
}

/**
 * @internal Where a reader is in a capture past its header: the end line once read, whose frame
 * count the frame lines read must match, and the lines after it, each a bad line. The parser, the
 * scanner and corosync-decode keep one each.
 */
export class Ending {
  end: CaptureEnd | undefined;
  endLine = 0;
  frames = 0;
  lastT = 0;

  get complete(): boolean {
    return this.end !== undefined && this.end.frames === this.frames;
  }

  /** A line after the end line (its error), or undefined. */
  after(lineNo: number): CaptureFormatError | undefined {
    return this.end === undefined ? undefined : new CaptureFormatError(`a line after the end line (line ${this.endLine})`, lineNo);
  }

  /** The line as a frame, state or end line: undefined for an end line (held here). Throws CaptureFormatError. */
  read(o: Obj, lineNo: number): CaptureRecord | undefined {
    if (o.end !== undefined) {
      this.end = endFromObject(o, lineNo);
      this.endLine = lineNo;
      this.lastT = Math.max(this.lastT, this.end.t);
      return undefined;
    }
    const r = recordFromObject(o, lineNo);
    if (r.kind === 'frame') this.frames++;
    this.lastT = Math.max(this.lastT, r.t);
    return r;
  }
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** Validates a frame or connection-state line (any line after the header). Throws CaptureFormatError. */
export function parseCaptureRecord(line: string, lineNo: number): CaptureRecord {
  return recordFromObject(parseObject(line, lineNo), lineNo);
}

export function recordFromObject(o: Obj, lineNo: number): CaptureRecord {
  const common: CaptureCommon = {
    t: int(o, 't', lineNo, 0),
    conn: int(o, 'conn', lineNo, 1, CAPTURE_MAX_CONN),
    service: str(o, 'service', lineNo),
    transport: oneOf(o, 'transport', lineNo, ['socket', 'shm'] as const),
  };
  if (common.service === '') throw new CaptureFormatError('"service" must not be empty', lineNo, 'service');
  if (o.pid !== undefined) common.pid = int(o, 'pid', lineNo, 0);
  const proc = optStr(o, 'proc', lineNo);
  if (proc !== undefined) common.proc = proc;
  const hasHex = o.hex !== undefined;
  const hasState = o.state !== undefined;
  if (hasHex === hasState) throw new CaptureFormatError('a line after the header needs exactly one of "hex" (a frame) or "state"', lineNo, hasHex ? 'state' : 'hex');
  if (hasHex) {
    const hex = str(o, 'hex', lineNo);
    if (!HEX_RE.test(hex)) throw new CaptureFormatError('"hex" must be lowercase hex of whole bytes', lineNo, 'hex');
    return { kind: 'frame', ...common, dir: oneOf(o, 'dir', lineNo, ['req', 'res', 'evt', 'setup'] as const), hex };
  }
  const rec: CaptureStateRecord = { kind: 'state', ...common, state: oneOf(o, 'state', lineNo, ['open', 'closed', 'flow', 'dropped'] as const) };
  if (rec.state === 'flow') rec.level = int(o, 'level', lineNo, 0);
  if (rec.state === 'dropped') rec.lines = int(o, 'lines', lineNo, 1);
  if (o.by !== undefined) rec.by = oneOf(o, 'by', lineNo, ['client', 'server', 'error'] as const);
  const error = optStr(o, 'error', lineNo);
  if (error !== undefined) rec.error = error;
  return rec;
}

export interface CaptureParserEvents {
  header?(h: CaptureHeader): void;
  record?(r: CaptureRecord, lineNo: number): void;
  /** The end line. */
  end?(e: CaptureEnd, lineNo: number): void;
  /** A bad line after the header (a line after the end line is one); parsing goes on with the next line. */
  bad?(e: CaptureFormatError): void;
}

/**
 * Streaming line parser: push() UTF-8 chunks cut anywhere (even inside a character), end() at
 * the end. A bad header throws (nothing after it can be trusted); a bad later line goes to
 * `bad` and the rest is still read. Blank lines are skipped.
 */
export class CaptureParser {
  #decoder = new TextDecoder('utf-8', { fatal: false });
  #carry = '';
  /** the length so far of a line too long to hold, being skipped; -1 when none */
  #skipped = -1;
  #lineNo = 0;
  #header: CaptureHeader | undefined;
  readonly #ending = new Ending();
  readonly #on: CaptureParserEvents;

  constructor(on: CaptureParserEvents) {
    this.#on = on;
  }

  get header(): CaptureHeader | undefined {
    return this.#header;
  }

  get lines(): number {
    return this.#lineNo;
  }

  /** The end line, once read. */
  get endLine(): CaptureEnd | undefined {
    return this.#ending.end;
  }

  /** Frame lines read (bad ones not counted). */
  get frames(): number {
    return this.#ending.frames;
  }

  /** An end line was read and its frame count matches the frame lines read: nothing was lost. */
  get complete(): boolean {
    return this.#ending.complete;
  }

  push(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    let nl = text.indexOf('\n');
    if (this.#skipped >= 0) {
      // the rest of a line too long to hold
      if (nl < 0) {
        this.#skipped += text.length;
        return;
      }
      this.#tooLong(this.#skipped + nl);
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    // No line end: the carry grows, searched once (not again at every chunk of a long line).
    if (nl < 0) {
      this.#carry += text;
      if (this.#carry.length > CAPTURE_MAX_LINE) {
        this.#skipped = this.#carry.length;
        this.#carry = '';
      }
      return;
    }
    this.#whole(this.#carry + text.slice(0, nl));
    let pos = nl + 1;
    for (;;) {
      const next = text.indexOf('\n', pos);
      if (next < 0) break;
      this.#whole(text.slice(pos, next));
      pos = next + 1;
    }
    this.#carry = text.slice(pos);
  }

  end(): void {
    if (this.#skipped >= 0) this.#tooLong(this.#skipped + this.#decoder.decode().length);
    const rest = this.#carry + this.#decoder.decode();
    this.#carry = '';
    if (rest !== '') this.#whole(rest);
    if (!this.#header) throw new CaptureFormatError('empty capture: no header line', Math.max(1, this.#lineNo));
  }

  #whole(line: string): void {
    if (line.length > CAPTURE_MAX_LINE) this.#tooLong(line.length);
    else this.#line(line);
  }

  #tooLong(length: number): void {
    this.#skipped = -1;
    this.#lineNo++;
    const e = new CaptureFormatError(`longer than ${CAPTURE_MAX_LINE} characters (${length}): skipped`, this.#lineNo);
    if (!this.#header) throw e;
    this.#on.bad?.(e);
  }

  #line(raw: string): void {
    this.#lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    if (!this.#header) {
      this.#header = parseCaptureHeader(line, this.#lineNo);
      this.#on.header?.(this.#header);
      return;
    }
    const after = this.#ending.after(this.#lineNo);
    if (after) return this.#on.bad?.(after);
    let r: CaptureRecord | undefined;
    try {
      r = this.#ending.read(parseObject(line, this.#lineNo), this.#lineNo);
    } catch (e) {
      if (e instanceof CaptureFormatError) {
        this.#on.bad?.(e);
        return;
      }
      throw e;
    }
    if (r) this.#on.record?.(r, this.#lineNo);
    else this.#on.end?.(this.#ending.end!, this.#lineNo);
  }
}

/** True when bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The most gunzip() inflates by default (every try counted): past it, a gzip bomb rather than a capture. */
export const GUNZIP_MAX_BYTES = 1024 * 1024 * 1024;

/** gunzip()'s refusal of data that inflates past its limit. */
export class GzipTooLargeError extends Error {
  override readonly name = 'GzipTooLargeError';
}

async function inflateOne(bytes: Uint8Array, budget: { left: number; max: number }): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    budget.left -= value.length;
    if (budget.left < 0) {
      await reader.cancel().catch(() => {});
      throw new GzipTooLargeError(`gzip data inflating to more than ${budget.max} bytes (a gzip bomb?): not read`);
    }
    parts.push(value);
  }
  return concatBytes(parts);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const x of parts) total += x.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const x of parts) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

/**
 * Gunzips a whole file of one or more concatenated gzip members (RFC 1952 §2.2). Chromium's
 * DecompressionStream rejects anything after the first member, and a deflate stream cannot be
 * cut without inflating it, so members are found by trial: each later gzip magic
 * (1f 8b 08, flags < 32) is a candidate end, and a candidate is the end when the bytes before
 * it inflate as one complete member (CRC and length checked). Rejects with an Error on a
 * corrupt or truncated file, with a GzipTooLargeError past `maxBytes` (default GUNZIP_MAX_BYTES).
 */
export async function gunzip(bytes: Uint8Array, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
  const max = opts.maxBytes ?? GUNZIP_MAX_BYTES;
  const budget = { left: max, max };
  const inflateMember = async (b: Uint8Array): Promise<Uint8Array> => {
    try {
      return await inflateOne(b, budget);
    } catch (e) {
      if (e instanceof GzipTooLargeError) tooLarge = e;
      throw e;
    }
  };
  let tooLarge: GzipTooLargeError | undefined;
  try {
    return await inflateMember(bytes);
  } catch (first) {
    if (tooLarge) throw tooLarge;
    // Every candidate boundary at once (inflating runs off the main thread), then the rare
    // false candidate (a magic inside deflate data) merged with the segment after it.
    const cuts = [0];
    for (let p = 18; p + 3 < bytes.length; p++) {
      if (bytes[p] === 0x1f && bytes[p + 1] === 0x8b && bytes[p + 2] === 8 && bytes[p + 3]! < 32 && p - cuts[cuts.length - 1]! >= 18) cuts.push(p);
    }
    cuts.push(bytes.length);
    const tries = await Promise.allSettled(cuts.slice(0, -1).map((c, k) => inflateMember(bytes.subarray(c, cuts[k + 1]))));
    if (tooLarge) throw tooLarge;
    const parts: Uint8Array[] = [];
    let k = 0;
    let lastErr: unknown = first;
    while (k < tries.length) {
      const t = tries[k]!;
      if (t.status === 'fulfilled') {
        parts.push(t.value);
        k++;
        continue;
      }
      lastErr = t.reason;
      // Grow this segment over the next candidates until it inflates as one member.
      let done = false;
      for (let j = k + 2; j < cuts.length && !done; j++) {
        try {
          parts.push(await inflateMember(bytes.subarray(cuts[k]!, cuts[j]!)));
          k = j;
          done = true;
        } catch (e) {
          if (tooLarge) throw tooLarge;
          lastErr = e;
        }
      }
      if (!done) throw new Error(`corrupt or truncated gzip data at byte ${cuts[k]}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`);
    }
    return concatBytes(parts);
  }
}

export interface ParsedCapture {
  header: CaptureHeader;
  records: CaptureRecord[];
  /** Lines after the header that break the format (they are left out of `records`). */
  bad: CaptureFormatError[];
  /** The end line; none when the recording was cut off. */
  end: CaptureEnd | undefined;
  /** Frame lines read. */
  frames: number;
  /** An end line, whose frame count matches `frames`. */
  complete: boolean;
}

/**
 * Reads a whole capture held in memory, plain or gzip (told by magic). Throws CaptureFormatError
 * for a bad header, GzipTooLargeError for gzip data inflating past `maxBytes` (default GUNZIP_MAX_BYTES).
 */
export async function readCapture(bytes: Uint8Array, opts: { maxBytes?: number } = {}): Promise<ParsedCapture> {
  const text = isGzip(bytes) ? await gunzip(bytes, opts) : bytes;
  const records: CaptureRecord[] = [];
  const bad: CaptureFormatError[] = [];
  const p = new CaptureParser({ record: (r) => records.push(r), bad: (e) => bad.push(e) });
  // in slices: one string of the whole file would pass V8's string length limit
  for (let at = 0; at < text.length; at += 1 << 20) p.push(text.subarray(at, at + (1 << 20)));
  p.end();
  return { header: p.header!, records, bad, end: p.endLine, frames: p.frames, complete: p.complete };
}

/** A frame line as scanCapture() hands it over: its bytes are already in `out` at [at, at + len). */
export interface CaptureScanSink {
  /** dir: 0 req, 1 res, 2 evt, 3 setup. pid: -1 when the line has none. */
  frame(t: number, conn: number, pid: number, proc: string | undefined, service: string, transport: CaptureTransport, dir: number, at: number, len: number, lineNo: number): void;
  state?(r: CaptureStateRecord, lineNo: number): void;
  end?(e: CaptureEnd, lineNo: number): void;
  /** A bad line after the header (a line after the end line is one); scanning goes on with the next line. */
  bad?(e: CaptureFormatError): void;
}

export interface CaptureScanResult extends CaptureScanFrom {
  frames: number;
  end: CaptureEnd | undefined;
  endLine: number;
  lastT: number;
  /** Bytes written to `out`: every frame back to back, in line order. */
  size: number;
  /** An end line was read, and its frame count matches `frames`. */
  complete: boolean;
}

const MAX_CACHED_SERVICES = 32;
/**
 * The longest line CaptureParser holds (characters): a frame of 8 MiB as hex, where corosync's
 * libraries send at most 1 MiB. A longer one is a bad line, skipped unread.
 */
export const CAPTURE_MAX_LINE = 16 * 1024 * 1024;

export const SCAN_DIRS = ['req', 'res', 'evt', 'setup'] as const;

/**
 * Where a later piece of a capture starts: the header read from the first, and the lines before
 * it; the rest as the last piece's CaptureScanResult says (absent: none read yet).
 */
export interface CaptureScanFrom {
  header: CaptureHeader;
  lines: number;
  /** Frame lines read. */
  frames?: number;
  /** The end line, once read (none: cut off, or still being written), and its line number. */
  end?: CaptureEnd | undefined;
  endLine?: number;
  /** The largest `t` read: how long the recording is known to have lasted. */
  lastT?: number;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const K_T = enc('{"t":');
const K_CONN = enc(',"conn":');
const K_PID = enc('"pid":');
const K_PROC = enc('"proc":"');
const K_SERVICE = enc('"service":"');
const K_TRANSPORT = enc(',"transport":"');
const K_DIR = enc(',"dir":"');
const K_HEX = enc(',"hex":"');
// hex pair (first char << 8 | second char) -> byte, or 256 when either char is not lowercase hex.
// 128 KB, built on the first scan rather than at import: most importers never read a capture.
let hexPairTable: Uint16Array | undefined;
function hexPairs(): Uint16Array {
  if (hexPairTable) return hexPairTable;
  const v = new Int16Array(128).fill(-1);
  for (let i = 0; i < 10; i++) v[48 + i] = i;
  for (let i = 0; i < 6; i++) v[97 + i] = 10 + i;
  const t = new Uint16Array(65536).fill(256);
  for (let a = 0; a < 128; a++) for (let b = 0; b < 128; b++) if (v[a]! >= 0 && v[b]! >= 0) t[(a << 8) | b] = (v[a]! << 4) | v[b]!;
  return (hexPairTable = t);
}

/**
 * Reads a whole plain (not gzip) capture held in memory, and writes the bytes of every frame
 * into `out` back to back, in line order: what the CaptureParser reads, without a string per
 * line. Lines in the exact shape the recorders write (keys in their order, no escapes, printable
 * ASCII strings) are read byte by byte; any other line is validated as CaptureParser does, so the
 * outcome never depends on the shortcut (the tests hold the two to the same answers).
 * `out` must hold bytes.length / 2 bytes (frames are at most half of their lines).
 * Throws CaptureFormatError for a bad or missing header.
 *
 * A capture read piece by piece (streamed, cut at line ends): the first piece without `from`,
 * each later one with the result of the piece before it (the header, the lines, frames and end
 * line read so far), so that its lines are records, bad ones are reported with their line number
 * in the whole file, and the result's `complete` is the whole file's.
 */
export function scanCapture(bytes: Uint8Array, out: Uint8Array, sink: CaptureScanSink, from?: CaptureScanFrom): CaptureScanResult {
  const HEX_PAIR = hexPairs();
  if (out.length < bytes.length >> 1) throw new RangeError(`scanCapture: out holds ${out.length} bytes, needs ${bytes.length >> 1}`);
  const b = bytes;
  const n = b.length;
  const lineDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const services: { raw: Uint8Array; s: string }[] = [];
  // per connection: the proc bytes last seen and their string, so a name is decoded once
  const procs = new Map<number, { raw: Uint8Array; s: string }>();
  const matches = (p: number, k: Uint8Array): boolean => {
    if (p + k.length > n) return false;
    for (let i = 0; i < k.length; i++) if (b[p + i] !== k[i]) return false;
    return true;
  };
  const same = (raw: Uint8Array, s: number, e: number): boolean => {
    if (raw.length !== e - s) return false;
    for (let i = 0; i < raw.length; i++) if (raw[i] !== b[s + i]) return false;
    return true;
  };
  // end (exclusive) of a JSON string of printable ASCII without escapes starting at p, or -1
  const plainString = (p: number): number => {
    for (; p < n; p++) {
      const c = b[p]!;
      if (c === 0x22) return p;
      if (c < 0x20 || c > 0x7e || c === 0x5c) return -1;
    }
    return -1;
  };
  let header: CaptureHeader | undefined = from?.header;
  const ending = new Ending();
  if (from) Object.assign(ending, { frames: from.frames ?? 0, end: from.end, endLine: from.endLine ?? 0, lastT: from.lastT ?? 0 });
  let at = 0;
  let lineNo = from?.lines ?? 0;
  let pos = !from && n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0; // the BOM TextDecoder drops
  let num = 0;
  // a JSON integer without sign, fraction or leading zero at p; its value in `num`; end or -1
  const integer = (p: number): number => {
    let v = 0;
    const s = p;
    while (p < n) {
      const c = b[p]! - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      p++;
    }
    if (p === s || p - s > 16 || (b[s] === 48 && p - s > 1) || v > Number.MAX_SAFE_INTEGER) return -1;
    num = v;
    return p;
  };
  // The canonical frame line starting at p, ending at the newline `nl` (or a \r before it); false when it is not one.
  const fast = (p: number, nl: number): boolean => {
    if (!matches(p, K_T)) return false;
    p = integer(p + K_T.length);
    if (p < 0) return false;
    const t = num;
    if (!matches(p, K_CONN)) return false;
    p = integer(p + K_CONN.length);
    if (p < 0 || num < 1 || num > CAPTURE_MAX_CONN) return false;
    const conn = num;
    if (b[p] !== 0x2c) return false;
    p++;
    let pid = -1;
    if (matches(p, K_PID)) {
      p = integer(p + K_PID.length);
      if (p < 0 || b[p] !== 0x2c) return false;
      pid = num;
      p++;
    }
    let procS = -1;
    let procE = -1;
    if (matches(p, K_PROC)) {
      procS = p + K_PROC.length;
      procE = plainString(procS);
      if (procE < 0 || b[procE + 1] !== 0x2c) return false;
      p = procE + 2;
    }
    if (!matches(p, K_SERVICE)) return false;
    const svcS = p + K_SERVICE.length;
    const svcE = plainString(svcS);
    if (svcE <= svcS) return false; // empty service or not plain
    p = svcE + 1;
    if (!matches(p, K_TRANSPORT)) return false;
    p += K_TRANSPORT.length;
    let transport: CaptureTransport;
    if (b[p] === 0x73 && b[p + 1] === 0x68 && b[p + 2] === 0x6d && b[p + 3] === 0x22) {
      transport = 'shm';
      p += 4;
    } else if (matches(p, K_SOCKET)) {
      transport = 'socket';
      p += K_SOCKET.length;
    } else return false;
    if (!matches(p, K_DIR)) return false;
    p += K_DIR.length;
    let dir: number;
    const c0 = b[p];
    const c1 = b[p + 1];
    const c2 = b[p + 2];
    if (c0 === 0x72 && c1 === 0x65 && c2 === 0x71) dir = 0; // req
    else if (c0 === 0x72 && c1 === 0x65 && c2 === 0x73) dir = 1; // res
    else if (c0 === 0x65 && c1 === 0x76 && c2 === 0x74) dir = 2; // evt
    else return matchesSetup(p) ? setupLine(p, nl, t, conn, pid, procS, procE, svcS, svcE, transport) : false;
    if (b[p + 3] !== 0x22) return false;
    return hexTail(p + 4, nl, t, conn, pid, procS, procE, svcS, svcE, transport, dir);
  };
  const K_SOCKET = enc('socket"');
  const K_SETUP = enc('setup"');
  const matchesSetup = (p: number) => matches(p, K_SETUP);
  const setupLine = (p: number, nl: number, t: number, conn: number, pid: number, procS: number, procE: number, svcS: number, svcE: number, transport: CaptureTransport) =>
    hexTail(p + K_SETUP.length, nl, t, conn, pid, procS, procE, svcS, svcE, transport, 3);
  const hexTail = (p: number, nl: number, t: number, conn: number, pid: number, procS: number, procE: number, svcS: number, svcE: number, transport: CaptureTransport, dir: number): boolean => {
    if (!matches(p, K_HEX)) return false;
    p += K_HEX.length;
    const start = at;
    let o = at;
    for (;;) {
      if (p + 1 >= nl) return false;
      const c = b[p]!;
      if (c === 0x22) break;
      const v = HEX_PAIR[(c << 8) | b[p + 1]!]!;
      if (v > 255) return false;
      out[o++] = v;
      p += 2;
    }
    // the quote is at p: the line must end right after the closing brace (a \r may precede the newline)
    if (b[p + 1] !== 0x7d) return false;
    const end = p + 2;
    if (!(end === nl || (end + 1 === nl && b[end] === 0x0d))) return false;
    let service: string | undefined;
    for (const x of services) {
      if (same(x.raw, svcS, svcE)) {
        service = x.s;
        break;
      }
    }
    if (service === undefined) {
      service = lineDecoder.decode(b.subarray(svcS, svcE));
      // A file of a million service names must not make this search quadratic: past the few
      // a recorder writes, names are decoded line by line.
      if (services.length < MAX_CACHED_SERVICES) services.push({ raw: b.slice(svcS, svcE), s: service });
    }
    let proc: string | undefined;
    if (procS >= 0) {
      const known = procs.get(conn);
      if (known && same(known.raw, procS, procE)) proc = known.s;
      else {
        proc = lineDecoder.decode(b.subarray(procS, procE));
        procs.set(conn, { raw: b.slice(procS, procE), s: proc });
      }
    }
    at = o;
    ending.frames++;
    if (t > ending.lastT) ending.lastT = t;
    sink.frame(t, conn, pid, proc, service, transport, dir, start, o - start, lineNo);
    return true;
  };
  const slow = (s: number, e: number): void => {
    let line = lineDecoder.decode(b.subarray(s, e));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') return;
    if (!header) {
      header = parseCaptureHeader(line, lineNo);
      return;
    }
    const after = ending.after(lineNo);
    if (after) return sink.bad?.(after);
    let r: CaptureRecord | undefined;
    try {
      r = ending.read(parseObject(line, lineNo), lineNo);
    } catch (e) {
      if (e instanceof CaptureFormatError) {
        sink.bad?.(e);
        return;
      }
      throw e;
    }
    if (!r) return sink.end?.(ending.end!, lineNo);
    if (r.kind === 'state') {
      sink.state?.(r, lineNo);
      return;
    }
    const start = at;
    for (let i = 0; i < r.hex.length; i += 2) out[at++] = HEX_PAIR[(r.hex.charCodeAt(i) << 8) | r.hex.charCodeAt(i + 1)]!;
    sink.frame(r.t, r.conn, r.pid ?? -1, r.proc, r.service, r.transport, SCAN_DIRS.indexOf(r.dir), start, at - start, lineNo);
  };
  while (pos < n) {
    let nl = b.indexOf(0x0a, pos);
    if (nl < 0) nl = n;
    lineNo++;
    if (!header || ending.end !== undefined || !fast(pos, nl)) slow(pos, nl);
    pos = nl + 1;
  }
  if (!header) throw new CaptureFormatError('empty capture: no header line', Math.max(1, lineNo));
  return { header, lines: lineNo, size: at, frames: ending.frames, end: ending.end, endLine: ending.endLine, lastT: ending.lastT, complete: ending.complete };
}
