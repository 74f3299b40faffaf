// Capture writer: records libqb IPC frames to a capture file (format v1, see
// packages/codec-wasm/capture/FORMAT.md). Node-only; the reader lives in codec-wasm.
import { closeSync, constants as fsc, fchmodSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Worker } from 'node:worker_threads';

// zlib and worker_threads are only needed once a capture is written; loading them at import cost
// every user of the package several ms of cold start (process.getBuiltinModule is synchronous).
const gzipSync = (data: string): Buffer => process.getBuiltinModule('node:zlib').gzipSync(data);

export type CaptureMode = 'client' | 'mock' | 'tap';
export type CaptureTransport = 'socket' | 'shm';
export type CaptureDir = 'req' | 'res' | 'evt' | 'setup';

export interface CaptureOpenOptions {
  /** Who records: our client (its own traffic), the mock (every client it serves) or a tap. */
  mode: CaptureMode;
  /** The recording program or package, and its version. */
  name: string;
  version: string;
  /** The corosync version, where known. */
  corosync?: string;
  /** Defaults to os.hostname(). */
  host?: string;
  /**
   * Called once if writing fails (disk full, file removed...); the writer then stops recording
   * so that the traffic it watches is never disturbed. Default: a process warning.
   */
  onError?: (err: Error) => void;
}

interface CaptureCommon {
  conn: number;
  service: string;
  transport: CaptureTransport;
  pid?: number;
  proc?: string;
}

export interface CaptureFrame extends CaptureCommon {
  dir: CaptureDir;
  /** When the frame was seen (from now()); default: now. */
  t?: number;
  /** The whole frame as it crossed the transport, libqb header included. */
  bytes: Uint8Array;
}

export interface CaptureState extends CaptureCommon {
  /** open: after the handshake; closed: ended (or refused at the handshake); flow: the server's flow control changed. */
  state: 'open' | 'closed' | 'flow';
  by?: 'client' | 'server' | 'error';
  error?: string;
  /** For 'flow': libqb's flow-control level, 0 (off), 1 or 2 (the client must not send). */
  level?: number;
  /** When it happened (from now()); default: now. */
  t?: number;
}

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 100;
/** How long a synchronous flush (and so close() and process exit) waits for the writer thread. */
const SYNC_WAIT_MS = 10_000;

// Entry kinds in a batch, besides a registered line middle (>= 0).
const INLINE = -1; // a frame whose line middle is the next of `texts`
const TEXT = -2; // a whole line, the next of `texts`

// The writer thread: it turns batches of raw frames into lines (hex, JSON), gzips them and writes
// them, so that the recorded program's thread only copies bytes. Plain CommonJS in a string (an
// eval worker), because the package's tests and its consumers both load capture.ts as it is.
// status[0] counts the batches done (written or dropped after a failure), status[1] is 1 after
// a write failed, its message in the bytes after the two counters.
const WRITER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, writeSync } = require('node:fs');
const { gzipSync } = require('node:zlib');
const { fd, gzip } = workerData;
const status = new Int32Array(workerData.status, 0, 2);
const message = new Uint8Array(workerData.status, 8);
const prefixes = [];
parentPort.on('message', (b) => {
  if (b === 'end') {
    // The fd is the thread's once it started: closed here, after every batch before 'end', so
    // its number is never reused while a write to it is still queued.
    try {
      closeSync(fd);
    } catch {}
    return parentPort.close();
  }
  for (const p of b.prefixes) prefixes.push(p);
  if (Atomics.load(status, 1) === 0) {
    try {
      const pool = Buffer.from(b.pool.buffer, b.pool.byteOffset, b.pool.byteLength);
      const out = [];
      let start = 0;
      let text = 0;
      for (let i = 0; i < b.n; i++) {
        const k = b.kind[i];
        if (k === ${TEXT}) {
          out.push(b.texts[text++]);
          continue;
        }
        const mid = k >= 0 ? prefixes[k] : b.texts[text++];
        const end = b.end[i];
        out.push('{"t":' + b.t[i] + mid + pool.toString('hex', start, end) + '"}\\n');
        start = end;
      }
      const s = out.join('');
      const data = gzip ? gzipSync(s) : Buffer.from(s, 'utf8');
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const m = Buffer.from(String(e && e.message || e));
      message.set(m.subarray(0, message.length - 1));
      message[Math.min(m.length, message.length - 1)] = 0;
      Atomics.store(status, 1, 1);
    }
  }
  Atomics.add(status, 0, 1);
  Atomics.notify(status, 0);
});
`;

// One 'exit' listener for every open writer (one each would trip MaxListenersExceeded).
const openWriters = new Set<CaptureWriter>();
let exitHooked = false;
function flushAllAtExit(): void {
  for (const w of openWriters) w.flush();
}

const sepStr = (s: string) => JSON.stringify(s);

/**
 * Writes a capture file. On the recorded program's thread a frame costs a copy of its bytes
 * into a batch buffer and its time; every 100 ms or 64 KiB the batch goes, as it is, to a
 * writer thread that builds the lines (hex, JSON), gzips them and writes them.
 */
export class CaptureWriter {
  readonly path: string;
  readonly gzip: boolean;
  private fd: number;
  private readonly startMs: number;
  private readonly onError: (err: Error) => void;
  // The batch being filled: frame bytes back to back in `pool`, and per entry its time, kind
  // (a registered line middle, INLINE or TEXT) and where its bytes end.
  private pool = new Uint8Array(FLUSH_BYTES);
  private poolUsed = 0;
  private t = new Float64Array(256);
  private kind = new Int32Array(256);
  private end = new Int32Array(256);
  private n = 0;
  private texts: string[] = [];
  private pending = 0;
  /** Line middles registered by connections; the writer thread has the first `prefixesSent`. */
  private readonly prefixes: string[] = [];
  private prefixesSent = 0;
  private worker: Worker | undefined;
  private readonly status = new SharedArrayBuffer(1024);
  private readonly done = new Int32Array(this.status, 0, 2);
  private posted = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextConn = 1;
  private readonly flushSoon = () => {
    this.timer = undefined;
    this.post();
  };

  private constructor(path: string, fd: number, opts: CaptureOpenOptions) {
    this.path = path;
    this.fd = fd;
    this.gzip = path.endsWith('.gz');
    this.onError = opts.onError ?? ((err) => process.emitWarning(`capture to ${path} stopped: ${err.message}`, 'CorosyncCaptureWarning'));
    this.startMs = performance.now();
    // Wall clock with the µs precision performance offers; hrtime has no epoch.
    const unixUs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
    const header: Record<string, unknown> = {
      corosyncCapture: 1,
      start: { unixNs: String(unixUs * 1000n), iso: new Date(Number(unixUs / 1000n)).toISOString() },
      host: opts.host ?? hostname(),
      recorder: { mode: opts.mode, name: opts.name, version: opts.version },
    };
    if (opts.corosync !== undefined) header.corosync = opts.corosync;
    // The header goes out at once, from here, so that even a capture of a process that dies
    // early is a valid file. open() closes the fd if this throws.
    const text = JSON.stringify(header) + '\n';
    const data = this.gzip ? gzipSync(text) : Buffer.from(text, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    openWriters.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushAllAtExit);
    }
  }

  /**
   * Create (or truncate) a capture file. A path ending in `.gz` is written gzip compressed, one
   * member per flush. Refuses symlinks and anything but a regular file; the file is made mode 0600.
   */
  static open(path: string, opts: CaptureOpenOptions): CaptureWriter {
    if (!['client', 'mock', 'tap'].includes(opts.mode)) throw new TypeError(`invalid capture mode ${String(opts.mode)}`);
    // No O_TRUNC here: truncation waits until fstat shows a regular file. O_NONBLOCK keeps a
    // FIFO from blocking the open (libuv adds O_CLOEXEC to every open).
    const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK, 0o600);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw Object.assign(new Error(`capture path ${path} is not a regular file`), { code: 'EINVAL' });
      ftruncateSync(fd, 0);
      fchmodSync(fd, 0o600);
      return new CaptureWriter(path, fd, opts);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** A connection id, unique within this file. */
  newConnection(): number {
    return this.nextConn++;
  }

  /** Nanoseconds since the header's start (monotonic: performance.now() has ns resolution in Node). */
  now(): number {
    return Math.round((performance.now() - this.startMs) * 1e6);
  }

  frame(f: CaptureFrame): void {
    if (this.fd < 0) return;
    this.texts.push(`,"conn":${f.conn}${who(f)},"service":${sepStr(f.service)},"transport":"${f.transport}","dir":"${f.dir}","hex":"`);
    this.add(INLINE, f.bytes, f.t ?? this.now());
  }

  /** @internal registers the constant middle of a connection's frame lines (conn to dir, up to the hex) */
  linePrefix(middle: string): number {
    return this.prefixes.push(middle) - 1;
  }

  /** @internal a frame line whose middle was registered with linePrefix() */
  framePrefixed(prefix: number, b: Uint8Array): void {
    if (this.fd >= 0) this.add(prefix, b, this.now());
  }

  state(s: CaptureState): void {
    if (this.fd < 0) return;
    let tail = '';
    if (s.level !== undefined) tail += `,"level":${s.level}`;
    if (s.by !== undefined) tail += `,"by":"${s.by}"`;
    if (s.error !== undefined) tail += `,"error":${sepStr(s.error)}`;
    this.texts.push(`{"t":${s.t ?? this.now()},"conn":${s.conn}${who(s)},"service":${sepStr(s.service)},"transport":"${s.transport}","state":"${s.state}"${tail}}\n`);
    this.add(TEXT, undefined, 0);
  }

  /** Write out everything buffered, synchronously (waiting for the writer thread if it is busy). */
  flush(): void {
    this.post();
    if (!this.worker || this.fd < 0) return;
    const deadline = Date.now() + SYNC_WAIT_MS;
    for (;;) {
      const got = Atomics.load(this.done, 0);
      if (got >= this.posted) break;
      const left = deadline - Date.now();
      if (left <= 0) return this.fail(new Error(`the capture writer thread did not write within ${SYNC_WAIT_MS} ms`));
      Atomics.wait(this.done, 0, got, left);
    }
    this.checkFailed();
  }

  /** Flush and close the file; later frames are ignored. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    if (this.fd < 0) return; // the flush failed and closed it
    this.stop();
  }

  private add(kind: number, b: Uint8Array | undefined, t: number): void {
    if (this.n === this.t.length) {
      const cap = this.n * 2;
      const grow = <A extends Float64Array | Int32Array>(a: A, mk: (k: number) => A): A => {
        const x = mk(cap);
        x.set(a as never);
        return x;
      };
      this.t = grow(this.t, (k) => new Float64Array(k));
      this.kind = grow(this.kind, (k) => new Int32Array(k));
      this.end = grow(this.end, (k) => new Int32Array(k));
    }
    let size = 120;
    if (b) {
      const end = this.poolUsed + b.length;
      if (end > this.pool.length) {
        const bigger = new Uint8Array(Math.max(end, this.pool.length * 2));
        bigger.set(this.pool.subarray(0, this.poolUsed));
        this.pool = bigger;
      }
      this.pool.set(b, this.poolUsed);
      this.poolUsed = end;
      size += 2 * b.length;
    }
    const i = this.n++;
    this.t[i] = t;
    this.kind[i] = kind;
    this.end[i] = this.poolUsed;
    this.pending += size;
    if (this.pending >= FLUSH_BYTES) this.post();
    else if (!this.timer) {
      this.timer = setTimeout(this.flushSoon, FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Hands the batch to the writer thread (started on the first), without waiting. */
  private post(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.fd < 0) return;
    this.checkFailed();
    if (this.n === 0 || this.fd < 0) return;
    if (!this.worker) {
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      this.worker = new Worker(WRITER_THREAD, {
        eval: true,
        workerData: { fd: this.fd, gzip: this.gzip, status: this.status },
        // It closes an fd the main thread opened: not a leak to warn about.
        trackUnmanagedFds: false,
      });
      // Never what keeps a process alive: exit and close() wait for it instead.
      this.worker.unref();
      this.worker.on('error', (e) => this.fail(e, true));
    }
    const batch = {
      prefixes: this.prefixes.slice(this.prefixesSent),
      pool: this.pool.subarray(0, this.poolUsed),
      t: this.t.subarray(0, this.n),
      kind: this.kind.subarray(0, this.n),
      end: this.end.subarray(0, this.n),
      n: this.n,
      texts: this.texts,
    };
    this.prefixesSent = this.prefixes.length;
    this.worker.postMessage(batch, [this.pool.buffer, this.t.buffer, this.kind.buffer, this.end.buffer]);
    this.posted++;
    this.pool = new Uint8Array(FLUSH_BYTES);
    this.t = new Float64Array(256);
    this.kind = new Int32Array(256);
    this.end = new Int32Array(256);
    this.poolUsed = 0;
    this.n = 0;
    this.texts = [];
    this.pending = 0;
  }

  private checkFailed(): void {
    if (Atomics.load(this.done, 1) === 0) return;
    const msg = new Uint8Array(this.status, 8);
    this.fail(new Error(Buffer.from(msg.subarray(0, Math.max(0, msg.indexOf(0)))).toString('utf8')));
  }

  /** Stops recording for good (once), so the traffic it watches is never disturbed. */
  private fail(err: Error, threadDied = false): void {
    if (this.fd < 0) return;
    // Batches still queued for the thread are dropped, not written.
    Atomics.store(this.done, 1, 1);
    if (threadDied) this.worker = undefined;
    this.stop();
    this.onError(err);
  }

  private stop(): void {
    openWriters.delete(this);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const fd = this.fd;
    this.fd = -1;
    if (this.worker) {
      // The writer thread closes it after what is queued before 'end' (a timed-out flush leaves
      // batches there): closing it here could hand its number to another file meanwhile.
      this.worker.postMessage('end');
      return;
    }
    try {
      closeSync(fd);
    } catch {
      // Already closed behind our back (the failure being reported, if any).
    }
  }
}

function who(c: CaptureCommon): string {
  let s = '';
  if (c.pid !== undefined) s += `,"pid":${c.pid}`;
  if (c.proc !== undefined) s += `,"proc":${sepStr(c.proc)}`;
  return s;
}

/** `/proc/PID/comm` (the process name the kernel knows), or undefined when it cannot be read. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/**
 * The lines of one libqb connection in a capture: the client and the server hooks hold one
 * each (or none, which is the whole cost of capturing when it is off).
 */
export class ConnectionCapture {
  readonly conn: number;
  private readonly base: CaptureCommon;
  /** The registered middle of this connection's frame lines, per direction. */
  private readonly prefix: Record<'req' | 'res' | 'evt', number>;
  private ended = false;

  constructor(
    private readonly writer: CaptureWriter,
    service: string,
    transport: CaptureTransport,
    pid: number | undefined,
  ) {
    this.conn = writer.newConnection();
    this.base = { conn: this.conn, service, transport };
    if (pid !== undefined && pid > 0) {
      this.base.pid = pid;
      const proc = processName(pid);
      if (proc !== undefined) this.base.proc = proc;
    }
    const mid = `,"conn":${this.conn}${who(this.base)},"service":${sepStr(service)},"transport":"${transport}","dir":"`;
    this.prefix = { req: writer.linePrefix(`${mid}req","hex":"`), res: writer.linePrefix(`${mid}res","hex":"`), evt: writer.linePrefix(`${mid}evt","hex":"`) };
  }

  /** The handshake: both setup frames with the times they were seen, then the 'open' state. */
  opened(request: Uint8Array, tRequest: number, response: Uint8Array, tResponse: number): void {
    this.writer.frame({ ...this.base, dir: 'setup', bytes: request, t: tRequest });
    this.writer.frame({ ...this.base, dir: 'setup', bytes: response, t: tResponse });
    this.writer.state({ ...this.base, state: 'open' });
  }

  frame(dir: 'req' | 'res' | 'evt', bytes: Uint8Array): void {
    if (!this.ended) this.writer.framePrefixed(this.prefix[dir], bytes);
  }

  /** The server turned its flow control for this connection on (1, 2) or off (0). */
  flow(level: number): void {
    if (!this.ended) this.writer.state({ ...this.base, state: 'flow', level });
  }

  closed(by?: 'client' | 'server' | 'error', error?: string): void {
    if (this.ended) return;
    this.ended = true;
    const s: CaptureState = { ...this.base, state: 'closed' };
    if (by !== undefined) s.by = by;
    if (error !== undefined) s.error = error;
    this.writer.state(s);
  }
}

/**
 * Records a handshake the server refused (its setup response carries a negative errno): both
 * setup frames, then a 'closed' state by the server with the error. A refusal names no
 * transport (libqb sends connection type 0 with it), so the line says 'socket' unless the
 * response names shm. Returns `err`, for `throw recordRefusal(...)`.
 */
export function recordRefusal<E extends Error>(writer: CaptureWriter | undefined, service: string, request: Uint8Array, tRequest: number, response: Uint8Array, tResponse: number, err: E): E {
  if (!writer || writer.closed) return err;
  const type = response.length >= 32 ? new DataView(response.buffer, response.byteOffset, response.byteLength).getUint32(24, true) : 0;
  const base = { conn: writer.newConnection(), service, transport: type === 1 ? 'shm' : 'socket', pid: process.pid } as const;
  const proc = processName(process.pid);
  const common = proc === undefined ? base : { ...base, proc };
  writer.frame({ ...common, dir: 'setup', bytes: request, t: tRequest });
  writer.frame({ ...common, dir: 'setup', bytes: response, t: tResponse });
  writer.state({ ...common, state: 'closed', by: 'server', error: err.message });
  return err;
}
