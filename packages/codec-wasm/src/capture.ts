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
  state: 'open' | 'closed';
  by?: 'client' | 'server' | 'error';
  error?: string;
}

export type CaptureRecord = CaptureFrameRecord | CaptureStateRecord;

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
const int = (o: Obj, k: string, lineNo: number, min: number): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new CaptureFormatError(`"${k}" must be an integer >= ${min}`, lineNo, k);
  return v;
};
function oneOf<T extends string>(o: Obj, k: string, lineNo: number, allowed: readonly T[]): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new CaptureFormatError(`"${k}" must be one of ${allowed.join(', ')}`, lineNo, k);
  }
  return v as T;
}

/** Validates the first line of a capture. Throws CaptureFormatError (also for an unknown version). */
export function parseCaptureHeader(line: string, lineNo = 1): CaptureHeader {
  const o = parseObject(line, lineNo);
  const version = o.corosyncCapture;
  if (version === undefined) throw new CaptureFormatError('not a corosync capture: the header has no "corosyncCapture"', lineNo, 'corosyncCapture');
  if (version !== CAPTURE_FORMAT_VERSION) {
    throw new CaptureFormatError(`capture format version ${JSON.stringify(version)} is not supported (this reader knows version ${CAPTURE_FORMAT_VERSION})`, lineNo, 'corosyncCapture');
  }
  const start = o.start as Obj | undefined;
  if (typeof start !== 'object' || start === null) throw new CaptureFormatError('"start" must be an object', lineNo, 'start');
  const unixNs = str(start, 'unixNs', lineNo);
  if (!/^[0-9]{1,20}$/.test(unixNs)) throw new CaptureFormatError('"start.unixNs" must be a string of digits', lineNo, 'unixNs');
  const iso = str(start, 'iso', lineNo);
  const rec = o.recorder as Obj | undefined;
  if (typeof rec !== 'object' || rec === null) throw new CaptureFormatError('"recorder" must be an object', lineNo, 'recorder');
  const header: CaptureHeader = {
    corosyncCapture: version,
    start: { unixNs, iso },
    host: str(o, 'host', lineNo),
    recorder: { mode: oneOf(rec, 'mode', lineNo, ['client', 'mock', 'tap'] as const), name: str(rec, 'name', lineNo), version: str(rec, 'version', lineNo) },
  };
  const corosync = optStr(o, 'corosync', lineNo);
  if (corosync !== undefined) header.corosync = corosync;
  return header;
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** Validates a frame or connection-state line (any line after the header). Throws CaptureFormatError. */
export function parseCaptureRecord(line: string, lineNo: number): CaptureRecord {
  return recordFromObject(parseObject(line, lineNo), lineNo);
}

export function recordFromObject(o: Obj, lineNo: number): CaptureRecord {
  const common: CaptureCommon = {
    t: int(o, 't', lineNo, 0),
    conn: int(o, 'conn', lineNo, 1),
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
  const rec: CaptureStateRecord = { kind: 'state', ...common, state: oneOf(o, 'state', lineNo, ['open', 'closed'] as const) };
  if (o.by !== undefined) rec.by = oneOf(o, 'by', lineNo, ['client', 'server', 'error'] as const);
  const error = optStr(o, 'error', lineNo);
  if (error !== undefined) rec.error = error;
  return rec;
}

export interface CaptureParserEvents {
  header?(h: CaptureHeader): void;
  record?(r: CaptureRecord, lineNo: number): void;
  /** A bad line after the header; parsing goes on with the next line. */
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
  #lineNo = 0;
  #header: CaptureHeader | undefined;
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

  push(chunk: Uint8Array | string): void {
    const text = this.#carry + (typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      this.#line(text.slice(pos, nl));
      pos = nl + 1;
    }
    this.#carry = pos === 0 ? text : text.slice(pos);
  }

  end(): void {
    const rest = this.#carry + this.#decoder.decode();
    this.#carry = '';
    if (rest !== '') this.#line(rest);
    if (!this.#header) throw new CaptureFormatError('empty capture: no header line', Math.max(1, this.#lineNo));
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
    let r: CaptureRecord;
    try {
      r = parseCaptureRecord(line, this.#lineNo);
    } catch (e) {
      if (e instanceof CaptureFormatError) {
        this.#on.bad?.(e);
        return;
      }
      throw e;
    }
    this.#on.record?.(r, this.#lineNo);
  }
}

/** True when bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function inflateMember(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Gunzips a whole file of one or more concatenated gzip members (RFC 1952 §2.2). Chromium's
 * DecompressionStream rejects anything after the first member, and a deflate stream cannot be
 * cut without inflating it, so members are found by trial: each later gzip magic
 * (1f 8b 08, flags < 32) is a candidate end, and a candidate is the end when the bytes before
 * it inflate as one complete member (CRC and length checked). Rejects with an Error on a
 * corrupt or truncated file.
 */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  try {
    return await inflateMember(bytes);
  } catch (first) {
    // Every candidate boundary at once (inflating runs off the main thread), then the rare
    // false candidate (a magic inside deflate data) merged with the segment after it.
    const cuts = [0];
    for (let p = 18; p + 3 < bytes.length; p++) {
      if (bytes[p] === 0x1f && bytes[p + 1] === 0x8b && bytes[p + 2] === 8 && bytes[p + 3]! < 32 && p - cuts[cuts.length - 1]! >= 18) cuts.push(p);
    }
    cuts.push(bytes.length);
    const tries = await Promise.allSettled(cuts.slice(0, -1).map((c, k) => inflateMember(bytes.subarray(c, cuts[k + 1]))));
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
          lastErr = e;
        }
      }
      if (!done) throw new Error(`corrupt or truncated gzip data at byte ${cuts[k]}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`);
    }
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
}

export interface ParsedCapture {
  header: CaptureHeader;
  records: CaptureRecord[];
  /** Lines after the header that break the format (they are left out of `records`). */
  bad: CaptureFormatError[];
}

/** Reads a whole capture held in memory, plain or gzip (told by magic). Throws CaptureFormatError for a bad header. */
export async function readCapture(bytes: Uint8Array): Promise<ParsedCapture> {
  const text = isGzip(bytes) ? await gunzip(bytes) : bytes;
  const records: CaptureRecord[] = [];
  const bad: CaptureFormatError[] = [];
  const p = new CaptureParser({ record: (r) => records.push(r), bad: (e) => bad.push(e) });
  p.push(text);
  p.end();
  return { header: p.header!, records, bad };
}
