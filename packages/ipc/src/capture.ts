// Capture writer: records libqb IPC frames to a capture file (format v1, see
// packages/codec-wasm/capture/FORMAT.md). Node-only; the reader lives in codec-wasm.
import { closeSync, constants as fsc, fchmodSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';

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
  state: 'open' | 'closed';
  by?: 'client' | 'server' | 'error';
  error?: string;
}

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 100;

// One 'exit' listener for every open writer (one each would trip MaxListenersExceeded).
const openWriters = new Set<CaptureWriter>();
let exitHooked = false;
function flushAllAtExit(): void {
  for (const w of openWriters) w.flush();
}

const sepStr = (s: string) => JSON.stringify(s);

export class CaptureWriter {
  readonly path: string;
  readonly gzip: boolean;
  private fd: number;
  private readonly startMs: number;
  private readonly onError: (err: Error) => void;
  // Lines waiting for the next flush, in order. A frame line is not built on the call path: its
  // bytes are copied to `pool` and the queue holds its middle (which starts with ',', where a
  // built line starts with '{'); its time and where its bytes end wait in frameT / frameEnd.
  // Hex and the line itself are made at flush, a batch at a time.
  private queue: string[] = [];
  private frameT: number[] = [];
  private frameEnd: number[] = [];
  private pool = Buffer.allocUnsafe(FLUSH_BYTES);
  private poolUsed = 0;
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextConn = 1;
  private readonly flushSoon = () => {
    this.timer = undefined;
    this.flush();
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
    openWriters.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushAllAtExit);
    }
    this.push(JSON.stringify(header) + '\n');
    // The header goes out at once, so that even a capture of a process that dies early is a valid file.
    this.flush();
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
    this.framePrefixed(`,"conn":${f.conn}${who(f)},"service":${sepStr(f.service)},"transport":"${f.transport}","dir":"${f.dir}","hex":"`, f.bytes, f.t);
  }

  /** @internal a frame line whose middle (conn to dir, up to the hex) a recorder built once */
  framePrefixed(prefix: string, b: Uint8Array, t?: number): void {
    if (this.fd < 0) return;
    const end = this.poolUsed + b.length;
    if (end > this.pool.length) {
      const bigger = Buffer.allocUnsafe(Math.max(end, this.pool.length * 2));
      this.pool.copy(bigger, 0, 0, this.poolUsed);
      this.pool = bigger;
    }
    this.pool.set(b, this.poolUsed);
    this.poolUsed = end;
    this.frameT.push(t ?? this.now());
    this.frameEnd.push(end);
    this.queued(prefix, prefix.length + 2 * b.length + 24);
  }

  state(s: CaptureState): void {
    if (this.fd < 0) return;
    let tail = '';
    if (s.by !== undefined) tail += `,"by":"${s.by}"`;
    if (s.error !== undefined) tail += `,"error":${sepStr(s.error)}`;
    this.push(`{"t":${this.now()},"conn":${s.conn}${who(s)},"service":${sepStr(s.service)},"transport":"${s.transport}","state":"${s.state}"${tail}}\n`);
  }

  /** Write out everything buffered, synchronously. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.fd < 0 || this.queue.length === 0) return;
    const q = this.queue;
    let k = 0;
    let start = 0;
    for (let i = 0; i < q.length; i++) {
      const s = q[i]!;
      if (s.charCodeAt(0) !== 0x7b) {
        const end = this.frameEnd[k]!;
        q[i] = `{"t":${this.frameT[k]}${s}${this.pool.toString('hex', start, end)}"}\n`;
        start = end;
        k++;
      }
    }
    const text = q.length === 1 ? q[0]! : q.join('');
    this.queue = [];
    this.frameT = [];
    this.frameEnd = [];
    this.poolUsed = 0;
    this.pending = 0;
    try {
      const data = this.gzip ? gzipSync(text) : Buffer.from(text, 'utf8');
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      openWriters.delete(this);
      const fd = this.fd;
      this.fd = -1;
      try {
        closeSync(fd);
      } catch {
        // The write already failed; that error is the one worth reporting.
      }
      this.onError(e as Error);
    }
  }

  /** Flush and close the file; later frames are ignored. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    openWriters.delete(this);
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }

  private push(line: string): void {
    this.queued(line, line.length);
  }

  private queued(entry: string, size: number): void {
    this.queue.push(entry);
    this.pending += size;
    if (this.pending >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(this.flushSoon, FLUSH_MS);
      this.timer.unref();
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
  /** The constant middle of this connection's frame lines, per direction. */
  private readonly prefix: Record<'req' | 'res' | 'evt', string>;
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
    this.prefix = { req: `${mid}req","hex":"`, res: `${mid}res","hex":"`, evt: `${mid}evt","hex":"` };
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

  closed(by?: 'client' | 'server' | 'error', error?: string): void {
    if (this.ended) return;
    this.ended = true;
    const s: CaptureState = { ...this.base, state: 'closed' };
    if (by !== undefined) s.by = by;
    if (error !== undefined) s.error = error;
    this.writer.state(s);
  }
}
