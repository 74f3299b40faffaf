// Capture writer: records libqb IPC frames to a capture file (format v1, see
// packages/codec-wasm/capture/FORMAT.md). Node-only; the reader lives in codec-wasm.
import { closeSync, existsSync, constants as fsc, fchmodSync, fstatSync, ftruncateSync, openSync, readdirSync, writeSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { CaptureCommon, CaptureFrame, CaptureOpenOptions, CaptureState } from './capture.js';
import { CAPTURE_WRITER_BRAND, isCaptureWriter, sepStr, stateMid, who } from './capture-lines.js';
import { IpcError } from './errors.js';
import { addonCandidates } from './native.js';

// zlib, os and worker_threads are only needed once a capture is written; loading them at import
// cost every user of the package (and of the client, which inlines this) milliseconds of cold
// start (process.getBuiltinModule is synchronous).
const gzipSync = (data: string): Buffer => process.getBuiltinModule('node:zlib').gzipSync(data);
const hostname = (): string => process.getBuiltinModule('node:os').hostname();

/**
 * Ring bytes after which the writer thread is woken before the timer (at most an eighth of the
 * ring): each wake-up of a sleeping thread costs more than its share of the lines.
 */
const FLUSH_BYTES = 256 * 1024;
const FLUSH_MS = 100;
/** How long a synchronous flush (and so close() and process exit) waits for the writer thread. */
const SYNC_WAIT_MS = 10_000;
/** How often a synchronous flush looks whether a writer thread that has not started yet still exists. */
const START_POLL_MS = 5;
/** The ring the recorded thread copies frames into and the writer thread drains. */
const RING_BYTES = 8 * 1024 * 1024;

// A ring entry: a 24-byte header (i32 kind, i32 bytes, i32 text, i32 spare, f64 t), `text` bytes
// of UTF-8, then `bytes` bytes of frame; 8-byte aligned. Kinds besides a registered line
// middle (>= 0):
const INLINE = -1; // a frame whose line middle is its text
const TEXT = -2; // a whole line
const PREFIX = -3; // registers the next line middle
const BIG = -4; // a frame too big for the ring: its bytes come by postMessage (spare: its kind)
const WRAP = -5; // the rest of the ring is unused: go on at 0
const HDR = 24;
/**
 * The writer thread writes (and gzips, one member each) at most about this many bytes of lines at
 * a time. A wake-up's 256 KiB of ring is about 700 KiB of lines: one member, not three. Each
 * member starts with an empty match table (cleared, and its first lines find fewer matches) and
 * adds 18 bytes of header and trailer.
 */
const OUT_CHUNK = 1024 * 1024;
/**
 * How far past the published HEAD the writer thread maps the ring's untouched pages in, on the
 * ring's first pass: as far as the recorded thread has come, up to this. A first write to a page
 * of the SharedArrayBuffer is a page fault (measured: 18 µs of CPU a page on this project's VMs,
 * 36 ms for 8 MiB), which the recorded thread paid on its call path for its first 8 MiB of
 * frames. A capture of a few frames maps in no more than it used.
 */
const PREFAULT_AHEAD = 1024 * 1024;
// Control words (Int32Array over a SharedArrayBuffer): HEAD is where the recorded thread writes
// next, as of its last wake-up of the writer thread, TAIL where the writer thread reads; SEQ
// counts the recorded thread's wake-ups, DONE the last one whose entries are written; FAILED is
// 1 once a write failed (its message after the words); ENDED is 1 once the writer thread's
// process.exit handlers ran, with its exit code in EXIT_CODE; STARTED is 1 once its exit handler
// is in place (from then on its end sets ENDED).
const HEAD = 0;
const TAIL = 1;
const SEQ = 2;
const DONE = 3;
const FAILED = 4;
const ENDED = 5;
const EXIT_CODE = 6;
const STARTED = 7;
const MSG_AT = 32;

// The writer thread: it turns the ring's entries into lines (hex, JSON: the addon's captureLines,
// at about half the thread's CPU of the same in JS), gzips them and writes them, so that the
// recorded program's thread only copies bytes. Plain CommonJS in a string (an eval worker),
// because the package's tests and its consumers both load capture-writer.ts as it is.
const WRITER_THREAD = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const { closeSync, writeSync } = require('node:fs');
const { fd, gzip, ring, addons } = workerData;
const ctl = new Int32Array(workerData.ctl);
const message = new Uint8Array(workerData.ctl, ${MSG_AT});
const u8 = new Uint8Array(ring);
const i32 = new Int32Array(ring);
const f64 = new Float64Array(ring);
const cap = ring.byteLength;
function fail(e) {
  if (Atomics.load(ctl, ${FAILED}) !== 0) return;
  const m = Buffer.from(String((e && e.message) || e));
  message.set(m.subarray(0, message.length - 1));
  message[Math.min(m.length, message.length - 1)] = 0;
  Atomics.store(ctl, ${FAILED}, 1);
}
// A flush waits in Atomics.wait on the recorded thread, where this Worker's 'exit' and 'error'
// events cannot come: the thread's end (process.exit, an uncaught error, even while loading the
// addon below) is told here, first thing, and wakes that wait. DONE steps back after ENDED is
// set: a flush that loaded DONE before then finds it changed instead of sleeping on it, and no
// wake-up reads as written.
process.on('exit', (code) => {
  Atomics.store(ctl, ${EXIT_CODE}, code | 0);
  Atomics.store(ctl, ${ENDED}, 1);
  Atomics.sub(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
});
Atomics.store(ctl, ${STARTED}, 1);
// The lines are built by the addon (captureLines): the same one the recorded thread loaded,
// found the same way.
let addon;
const whyNot = [];
for (const path of addons) {
  try {
    addon = require(path);
    break;
  } catch (e) {
    whyNot.push(path + ': ' + ((e && e.message) || e));
  }
}
if (addon && (typeof addon.captureLines !== 'function' || typeof addon.captureGzip !== 'function')) {
  // An addon older than this file.
  whyNot.push('no captureLines or captureGzip in the addon loaded');
  addon = undefined;
}
if (!addon) fail(new Error('the capture writer thread could not load the native addon (' + whyNot.join('; ') + ')'));
// The registered line middles, end to end, and their (start, length) pairs.
let prefixes = Buffer.allocUnsafe(4096);
let prefixAt = new Int32Array(64);
let nPrefixes = 0;
let prefixEnd = 0;
function addPrefix(src) {
  if (prefixEnd + src.length > prefixes.length) {
    const b = Buffer.allocUnsafe(Math.max(prefixes.length * 2, prefixEnd + src.length));
    prefixes.copy(b, 0, 0, prefixEnd);
    prefixes = b;
  }
  if (2 * nPrefixes + 2 > prefixAt.length) {
    const a = new Int32Array(prefixAt.length * 2);
    a.set(prefixAt);
    prefixAt = a;
  }
  prefixes.set(src, prefixEnd);
  prefixAt[2 * nPrefixes] = prefixEnd;
  prefixAt[2 * nPrefixes + 1] = src.length;
  prefixEnd += src.length;
  nPrefixes++;
}
const bigs = [];
// A chunk and a line past it: no doubling on the first chunk.
let out = Buffer.allocUnsafe(${OUT_CHUNK} + 65536);
let o = 0;
// A gzip member of out's lines (grown with out).
let gz = gzip && addon ? Buffer.allocUnsafe(addon.captureGzipBound(out.length)) : undefined;
let stalled = false;
function room(n) {
  if (o + n <= out.length) return;
  const b = Buffer.allocUnsafe(Math.max(out.length * 2, o + n));
  out.copy(b, 0, 0, o);
  out = b;
}
// pos, head, out offset, out limit, registered middles, room needed: captureLines' in and out.
const io = new Int32Array(6);
// Returns false when it stopped at a big frame whose bytes have not arrived yet.
function drain() {
  if (!addon) {
    // Failed (reported through FAILED): the entries are let go, so that the recorded thread never waits.
    Atomics.store(ctl, ${TAIL}, Atomics.load(ctl, ${HEAD}));
    return true;
  }
  io[0] = Atomics.load(ctl, ${TAIL});
  io[1] = Atomics.load(ctl, ${HEAD});
  for (;;) {
    io[2] = o;
    io[3] = ${OUT_CHUNK};
    io[4] = nPrefixes;
    const r = addon.captureLines(u8, io, out, prefixes, prefixAt);
    o = io[2];
    if (r === 0) break;
    if (r === 1) emit(io[0]);
    else if (r === 3) room(io[5]);
    else if (r === 2) {
      const pos = io[0];
      const w = pos >> 2;
      const tl = i32[w + 2];
      const p = pos + ${HDR};
      if (i32[w] === ${PREFIX}) addPrefix(u8.subarray(p, p + tl));
      else {
        if (bigs.length === 0) {
          emit(pos);
          return false;
        }
        const b = bigs.shift();
        const real = i32[w + 3];
        const mid = real >= 0 ? prefixes.subarray(prefixAt[2 * real], prefixAt[2 * real] + prefixAt[2 * real + 1]) : u8.subarray(p, p + tl);
        room(32 + mid.length + 2 * b.length);
        o = addon.captureLine(out, o, f64[(pos >> 3) + 2], mid, b);
      }
      io[0] = (pos + ((${HDR} + tl + 7) & ~7)) % cap;
      if (o >= ${OUT_CHUNK}) emit(io[0]);
    } else throw new Error('the capture ring holds a bad entry at ' + io[0] + ' (' + r + ')');
  }
  emit(io[0]);
  return true;
}
// A backlog goes out in pieces: the lines buffer keeps its size, and the ring frees up as it goes.
function emit(pos) {
  // The ring's room is the recorded thread's again before the (slow) write.
  Atomics.store(ctl, ${TAIL}, pos);
  if (o > 0 && Atomics.load(ctl, ${FAILED}) === 0) {
    try {
      let data = out.subarray(0, o);
      if (gzip) {
        if (gz.length < addon.captureGzipBound(o)) gz = Buffer.allocUnsafe(addon.captureGzipBound(out.length));
        const n = addon.captureGzip(out, o, gz);
        if (n < 0) throw new Error('captureGzip failed (' + n + ')');
        data = gz.subarray(0, n);
      }
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      fail(e);
    }
  }
  o = 0;
}
// The ring's bytes [0, mapped) have been written once, so their pages are in. The recorded
// thread fills the ring from 0 up, and its first pass would fault each page in on its call path;
// the thread does it ahead of it instead. Its own writes could land on a word at the same time:
// a compare-exchange of 0 with 0 is atomic, so it leaves whatever the recorded thread stored.
let mapped = 0;
function prefault() {
  const head = Atomics.load(ctl, ${HEAD});
  const until = Math.min(cap, head + Math.min(head, ${PREFAULT_AHEAD}));
  for (; mapped < until; mapped += 4096) Atomics.compareExchange(i32, mapped >> 2, 0, 0);
}
function run() {
  const seq = Atomics.load(ctl, ${SEQ});
  stalled = !drain();
  if (stalled) return;
  Atomics.store(ctl, ${DONE}, seq);
  Atomics.notify(ctl, ${DONE});
  // After DONE: a flush waiting for the lines does not wait for this too.
  if (mapped < cap) prefault();
}
// The thread sleeps in Atomics.wait, not in its event loop: a wake-up is the futex's, where
// Atomics.waitAsync went through the loop (the notify posted as a task, the loop woken, a
// promise settled), ~2x the thread's CPU per wake-up. Messages (a big frame's bytes, 'end') are
// taken here, synchronously: each is posted before the wake-up that announces it.
function messages() {
  for (let m; (m = receiveMessageOnPort(parentPort)) !== undefined; ) {
    if (m.message === 'end') {
      // The fd is the thread's once it started: closed here, after everything flushed before
      // 'end', so its number is never reused while a write to it is still queued.
      try {
        closeSync(fd);
      } catch {}
      process.exit(0);
    }
    bigs.push(m.message);
  }
}
let seen = 0;
for (;;) {
  // A big frame's bytes that are not in yet (stalled) are waited for a millisecond at a time.
  Atomics.wait(ctl, ${SEQ}, seen, stalled ? 1 : Infinity);
  seen = Atomics.load(ctl, ${SEQ});
  messages();
  try {
    run();
  } catch (e) {
    // The thread ends of it: its message goes with the end.
    fail(e);
    throw e;
  }
}
`;

const TASKS = '/proc/self/task';
/** This process's thread ids; empty where /proc is not there to tell. */
function threadIds(): string[] {
  try {
    return readdirSync(TASKS);
  } catch {
    return [];
  }
}

/**
 * A process whose NODE_OPTIONS preloads a module (--require, --import) would load it in the
 * writer thread too, before the thread's first statement: a preload that throws or exits there
 * ends the thread where nothing of it can say so. The thread runs its own source only.
 */
function threadEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

// One 'exit' listener for every open writer (one each would trip MaxListenersExceeded).
const openWriters = new Set<CaptureWriter>();
let exitHooked = false;
function flushAllAtExit(): void {
  for (const w of openWriters) w.end('exit');
}

// A process killed by a signal it has no listener for runs no 'exit' listener: its buffered lines
// and its end line would be lost, and a service stopped by systemd (SIGTERM) or a CLI by Ctrl-C
// or its terminal going would lose exactly its shutdown. While a writer is open, this listens
// for those signals, and when the application has no listener of its own, ends every writer and
// raises the signal again with none left, so that the process dies of it as it would have (Node
// sets every signal to its default action at startup, nohup's ignored SIGHUP included: with no
// listener, the default is what the signal did).
//
// Not the signal-exit package (4.1): it replaces process.emit and process.reallyExit for the whole
// process and listens for 18 signals; its listener, appended, counts the listeners after an
// application's `process.once('SIGTERM', gracefulStop)` has removed itself, and so kills the
// process under that graceful stop (the mock's CLI stops that way). This needs three signals and a
// few lines, and adds nothing to the client, which inlines this file.
const END_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/**
 * Marks the recorder's signal listeners process-wide: another copy of this file (the client's
 * inlined one next to this package's) listens too, and neither is the application's listener.
 */
const RECORDER_LISTENER = Symbol.for('corosync-ts.capture.signalListener');
type SignalListener = ((sig: NodeJS.Signals) => void) & { [RECORDER_LISTENER]?: true };
const onEndSignal: SignalListener = (sig) => {
  // Prepended, so this runs before the application's listeners: a `once` one is still counted.
  if (process.listeners(sig).some((l) => !(l as SignalListener)[RECORDER_LISTENER])) return;
  try {
    for (const w of openWriters) w.end('signal', sig);
  } finally {
    unhookSignals();
    // Another copy's listener is left only if it has not run yet in this emit: it sees no
    // application listener either, ends its own writers and raises the signal again itself.
    process.kill(process.pid, sig);
  }
};
onEndSignal[RECORDER_LISTENER] = true;
let signalsHooked = false;
function hookSignals(): void {
  // Signals come to the main thread only: a writer in a worker thread is cut off by one, as
  // before (no end line), unless the application handles it and exits.
  if (signalsHooked || !process.getBuiltinModule('node:worker_threads').isMainThread) return;
  signalsHooked = true;
  for (const s of END_SIGNALS) process.prependListener(s, onEndSignal);
}
function unhookSignals(): void {
  if (!signalsHooked) return;
  signalsHooked = false;
  for (const s of END_SIGNALS) process.off(s, onEndSignal);
}

/**
 * Writes a capture file. On the recorded program's thread a frame costs a copy of its bytes and
 * its time into a ring of shared memory (no allocation); every 100 ms or 256 KiB a writer thread
 * is woken, which has the addon build the lines (hex, JSON), gzips them and writes them.
 *
 * Overload: when the writer thread cannot keep up and the ring is full, the recorded thread
 * does not wait for it: a frame that does not fit is not recorded but counted, and the count
 * goes into the capture as a `dropped` state line of its connection as soon as there is room
 * again. State lines (open, closed, flow: rare, and what a reader needs to follow a connection)
 * and line registrations wait for room instead.
 */
export class CaptureWriter {
  /** True for a CaptureWriter of any copy of this package. */
  static [Symbol.hasInstance](value: unknown): value is CaptureWriter {
    return isCaptureWriter(value);
  }

  readonly path: string;
  readonly gzip: boolean;
  private fd: number;
  private readonly startMs: number;
  private readonly onError: (err: Error) => void;
  private readonly ring: SharedArrayBuffer;
  /** ring.byteLength (a SharedArrayBuffer's is a call into the runtime on every read). */
  private readonly cap: number;
  /**
   * The writer thread's TAIL as this thread last loaded it. Stale, it can only be behind: the
   * room it leaves is a part of the real room, so a frame that fits needs no load (a builtin
   * call per frame); one that does not loads it again.
   */
  private tail = 0;
  /** The global `performance` (a lazy accessor of Node's global object: a load through it costs a getter call). */
  private readonly perf = performance;
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly text: Buffer;
  private readonly ctlBuf = new SharedArrayBuffer(1024);
  private readonly ctl = new Int32Array(this.ctlBuf, 0, 8);
  private readonly flushBytes: number;
  private head = 0;
  /** Anything was put in the ring (the writer thread starts with the first wake-up after). */
  private used = false;
  /** Ring bytes written since the writer thread was last woken. */
  private pending = 0;
  private seq = 0;
  private nextPrefix = 0;
  /** Lines lost to a full ring, per connection: the line middle of its state lines and the count. */
  private readonly dropped = new Map<number, { mid: string; n: number }>();
  private worker: Worker | undefined;
  /**
   * The writer thread's id in /proc/self/task, while it has not started (STARTED): a thread that
   * ends before its first statement sets no word, and a flush waiting on the recorded thread
   * cannot get its Worker's 'error' or 'exit'; the thread's absence from /proc says it. Undefined
   * when the thread could not be told from others started at the same time.
   */
  private workerTid: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextConn = 1;
  /** The header's start, ns since the epoch: the end line's wall clock is it plus its `t`. */
  private readonly startNs: bigint;
  /** Frame lines in the ring (so written, unless the writer fails, which leaves no end line). */
  private framesPut = 0;
  /** Frames counted in dropped lines, and those still to be (`dropped`). */
  private droppedAll = 0;
  private readonly flushSoon = () => {
    this.timer = undefined;
    // Counts of frames the ring had no room for go in as soon as it has room, not with the
    // connection's next line: after a burst a program may send nothing for a long time, and a
    // reader tailing the file would not learn of the loss until then.
    if (this.fd >= 0 && this.dropped.size > 0) this.writeDropped();
    this.wake();
    if (this.fd >= 0 && this.dropped.size > 0) this.armTimer();
  };

  private constructor(path: string, fd: number, opts: CaptureOpenOptions) {
    this.path = path;
    this.fd = fd;
    // An own property, not a getter with a computed name: a class with a computed member is kept
    // in every bundle that imports its file, used or not.
    Object.defineProperty(this, CAPTURE_WRITER_BRAND, { value: true });
    this.gzip = path.endsWith('.gz');
    this.onError = opts.onError ?? ((err) => process.emitWarning(`capture to ${path} stopped: ${err.message}`, 'CorosyncCaptureWarning'));
    const size = opts.ringBytes ?? RING_BYTES;
    if (!Number.isInteger(size) || size < 4096 || size % 8 !== 0 || size > 1 << 30) throw new TypeError(`invalid capture ringBytes ${size}`);
    this.ring = new SharedArrayBuffer(size);
    this.cap = size;
    this.flushBytes = Math.min(FLUSH_BYTES, size >> 3);
    this.u8 = new Uint8Array(this.ring);
    this.i32 = new Int32Array(this.ring);
    this.f64 = new Float64Array(this.ring);
    this.text = Buffer.from(this.ring);
    this.startMs = performance.now();
    // Wall clock with the µs precision performance offers; hrtime has no epoch.
    const unixUs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
    this.startNs = unixUs * 1000n;
    const header: Record<string, unknown> = {
      corosyncCapture: 1,
      start: { unixNs: String(this.startNs), iso: new Date(Number(unixUs / 1000n)).toISOString() },
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
    hookSignals();
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushAllAtExit);
    }
  }

  /**
   * Create (or truncate) a capture file. A path ending in `.gz` is written gzip compressed, one
   * member per flush. Refuses symlinks, anything but a regular file, and an existing file owned
   * by another user or with other hard links; the file is made mode 0600.
   */
  static open(path: string, opts: CaptureOpenOptions): CaptureWriter {
    if (!['client', 'mock', 'tap'].includes(opts.mode)) throw new TypeError(`invalid capture mode ${String(opts.mode)}`);
    // No O_TRUNC here: truncation waits until fstat shows a regular file. O_NONBLOCK keeps a
    // FIFO from blocking the open (libuv adds O_CLOEXEC to every open).
    const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK, 0o600);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw Object.assign(new Error(`capture path ${path} is not a regular file`), { code: 'EINVAL' });
      // An existing file someone else owns (made ahead in /tmp by another user) would hand them
      // the cluster data written into it, whatever its mode; one with other hard links would be
      // written through them. Neither is this writer's own file.
      const euid = process.geteuid?.();
      if (euid !== undefined && st.uid !== euid) throw Object.assign(new Error(`capture path ${path} is owned by uid ${st.uid}, not this process's ${euid}: remove it or choose another`), { code: 'EPERM' });
      if (st.nlink > 1) throw Object.assign(new Error(`capture path ${path} has ${st.nlink} hard links: remove it or choose another`), { code: 'EMLINK' });
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
    return Math.round((this.perf.now() - this.startMs) * 1e6);
  }

  frame(f: CaptureFrame): void {
    if (this.fd < 0) return;
    const mid = `,"conn":${f.conn}${who(f)},"service":${sepStr(f.service)},"transport":"${f.transport}","dir":"${f.dir}","hex":"`;
    this.add(INLINE, f.conn, f.t ?? this.now(), mid, f.bytes, f);
  }

  /** @internal registers the constant middle of a connection's frame lines (conn to dir, up to the hex) */
  linePrefix(middle: string): number {
    // In the ring, so the writer thread has it before any line that uses it; never dropped.
    if (this.fd >= 0) this.put(PREFIX, 0, middle, undefined, true);
    return this.nextPrefix++;
  }

  /** @internal a frame line whose middle was registered with linePrefix(); `conn` and `common` name it in a dropped line */
  framePrefixed(prefix: number, b: Uint8Array, conn: number, common: CaptureCommon): void {
    if (this.fd >= 0) this.add(prefix, conn, this.now(), undefined, b, common);
  }

  state(s: CaptureState): void {
    if (this.fd < 0) return;
    let tail = '';
    if (s.level !== undefined) tail += `,"level":${s.level}`;
    if (s.by !== undefined) tail += `,"by":"${s.by}"`;
    if (s.error !== undefined) tail += `,"error":${sepStr(s.error)}`;
    this.add(TEXT, s.conn, 0, `{"t":${s.t ?? this.now()}${stateMid(s)},"state":"${s.state}"${tail}}\n`, undefined, s, true);
  }

  /** Write out everything recorded so far, synchronously (waiting for the writer thread if it is busy). */
  flush(): void {
    if (this.fd < 0) return;
    this.writeDropped();
    const seq = this.wake();
    if (!this.worker || this.fd < 0) return;
    this.waitDone(seq);
    this.checkFailed();
    // Lines dropped while the ring was full go out now that it has room.
    if (this.dropped.size > 0 && this.fd >= 0) {
      this.writeDropped();
      this.waitDone(this.wake());
      this.checkFailed();
    }
  }

  /** Flush, write the end line and close the file; later frames are ignored. */
  close(): void {
    this.end('close');
  }

  /**
   * @internal closes the file with its end line, once (by `close` from close(), `exit` from the
   * process's exit flush, `signal` when the process is stopped by `signal`). A writer that failed
   * has closed its file already: no end line says so.
   */
  end(by: 'close' | 'exit' | 'signal', signal?: NodeJS.Signals): void {
    if (this.fd < 0) return;
    this.flush();
    if (this.fd < 0) return;
    const t = this.now();
    // Counts the ring had no room for yet (still full after the flush) must come before the end.
    let text = '';
    for (const d of this.dropped.values()) text += `{"t":${t}${d.mid},"state":"dropped","lines":${d.n}}\n`;
    this.dropped.clear();
    const ns = this.startNs + BigInt(t);
    text += `{"end":{"unixNs":"${ns}","iso":"${new Date(Number(ns / 1_000_000n)).toISOString()}"},"t":${t},"frames":${this.framesPut},"dropped":${this.droppedAll},"by":"${by}"${signal === undefined ? '' : `,"signal":"${signal}"`}}\n`;
    // The flush waited until the writer thread wrote everything, and nothing is recorded now:
    // this thread writes the last line itself (a writer that never had a frame never starts its thread for it).
    try {
      const data = this.gzip ? gzipSync(text) : Buffer.from(text, 'utf8');
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      return this.fail(e instanceof Error ? e : new Error(String(e)));
    }
    this.stop();
  }

  private waitDone(seq: number): void {
    if (this.fd < 0) return;
    const deadline = Date.now() + SYNC_WAIT_MS;
    for (;;) {
      const got = Atomics.load(this.ctl, DONE);
      if (got - seq >= 0) return;
      if (Atomics.load(this.ctl, ENDED) !== 0) return this.threadEnded();
      const starting = Atomics.load(this.ctl, STARTED) === 0;
      if (starting && !this.threadExists()) {
        // Gone: it never started, or it started since and ended, which set ENDED first.
        if (Atomics.load(this.ctl, STARTED) === 0) return this.startFailed();
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return this.fail(new Error(`the capture writer thread did not write within ${SYNC_WAIT_MS} ms`));
      Atomics.wait(this.ctl, DONE, got, starting && this.workerTid !== undefined ? Math.min(left, START_POLL_MS) : left);
    }
  }

  private threadExists(): boolean {
    return this.workerTid === undefined || existsSync(`${TASKS}/${this.workerTid}`);
  }

  /**
   * One line of connection `conn`, or its count in a dropped line if the ring is full. A state
   * line (`keep`: rare, and the reader needs it to know the connection's life) waits for room.
   */
  private add(kind: number, conn: number, t: number, text: string | undefined, b: Uint8Array | undefined, common: CaptureCommon, keep = false): void {
    if (this.dropped.size > 0) this.writeDropped();
    if (this.dropped.size === 0 && this.put(kind, t, text, b)) {
      if (b) this.framesPut++;
      return;
    }
    if (keep) {
      this.waitDone(this.wake());
      if (this.fd < 0) return;
      this.writeDropped();
      if (this.dropped.size === 0 && this.put(kind, t, text, b)) return;
    }
    this.droppedAll++;
    const d = this.dropped.get(conn);
    if (d) d.n++;
    else this.dropped.set(conn, { mid: stateMid(common), n: 1 });
    // No room: the writer thread must run now, not at the next timer, which then writes the count.
    if (this.pending > 0) this.wake();
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(this.flushSoon, FLUSH_MS);
    this.timer.unref();
  }

  /** The dropped lines, while they fit (each one's count restarts once it is in). */
  private writeDropped(): void {
    for (const [conn, d] of this.dropped) {
      if (!this.put(TEXT, 0, `{"t":${this.now()}${d.mid},"state":"dropped","lines":${d.n}}\n`, undefined)) return;
      this.dropped.delete(conn);
    }
  }

  /**
   * Copies one entry into the ring: false if it has no room (nothing written). A frame too big
   * for the ring goes to the writer thread as a message, its place kept by a BIG entry.
   */
  private put(kind: number, t: number, text: string | undefined, b: Uint8Array | undefined, force = false): boolean {
    const cap = this.cap;
    const bytes = b?.length ?? 0;
    let big = false;
    let need = (HDR + (text ? text.length * 3 : 0) + bytes + 7) & ~7;
    if (need > cap >> 2 && b) {
      big = true;
      need = (HDR + (text ? text.length * 3 : 0) + 7) & ~7;
    }
    let at = this.head;
    let wrap = false;
    for (let tail = this.tail, loaded = false; ; loaded = true) {
      if (at >= tail) {
        if (at + need <= cap - (tail === 0 ? 8 : 0)) break;
        if (need <= tail - 8) {
          wrap = true;
          break;
        }
      } else if (at + need <= tail - 8) break;
      if (loaded) return force ? this.putWaiting(kind, t, text, b) : false;
      tail = this.tail = Atomics.load(this.ctl, TAIL);
    }
    if (wrap) {
      this.i32[at >> 2] = WRAP;
      at = 0;
    }
    this.used = true;
    const w = at >> 2;
    const tl = text === undefined ? 0 : this.text.write(text, at + HDR, 'utf8');
    this.i32[w] = big ? BIG : kind;
    this.i32[w + 1] = big ? 0 : bytes;
    this.i32[w + 2] = tl;
    this.i32[w + 3] = kind;
    this.f64[(at >> 3) + 2] = t;
    if (b && !big) this.u8.set(b, at + HDR + tl);
    let next = at + ((HDR + tl + (big ? 0 : bytes) + 7) & ~7);
    if (next === cap) next = 0;
    this.head = next;
    if (big) {
      // Not started: the writer has failed and said so (the frame is not written).
      if (!this.startWorker()) return true;
      const copy = b!.slice();
      this.worker!.postMessage(copy, [copy.buffer]);
    }
    this.pending += next > at ? next - at : cap - at;
    if (this.pending >= this.flushBytes || big) this.wake();
    else this.armTimer();
    return true;
  }

  /** A line middle must never be lost (later lines name it): wait for the writer to make room. */
  private putWaiting(kind: number, t: number, text: string | undefined, b: Uint8Array | undefined): boolean {
    this.waitDone(this.wake());
    return this.fd >= 0 && this.put(kind, t, text, b);
  }

  /** Starts the writer thread, once; false if it could not be (the writer has failed then). */
  private startWorker(): boolean {
    if (this.worker) return true;
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    const before = threadIds();
    let worker: Worker;
    try {
      worker = new Worker(WRITER_THREAD, {
        eval: true,
        workerData: { fd: this.fd, gzip: this.gzip, ring: this.ring, ctl: this.ctlBuf, addons: addonCandidates() },
        // It closes an fd the main thread opened: not a leak to warn about.
        trackUnmanagedFds: false,
        // Not the process's flags: under --input-type=module the thread's CommonJS source would not run.
        execArgv: [],
        env: threadEnv(),
      });
    } catch (e) {
      // A thread that cannot be made (no memory, a thread limit, a permission model without
      // worker threads): an error the recorded program's call must not see.
      this.startFailed(e);
      return false;
    }
    this.worker = worker;
    const known = new Set(before);
    const added = threadIds().filter((t) => !known.has(t));
    this.workerTid = added.length === 1 ? added[0] : undefined;
    // Never what keeps a process alive: exit and close() wait for it instead.
    worker.unref();
    worker.on('error', (e) => (Atomics.load(this.ctl, STARTED) === 0 ? this.startFailed(e) : this.fail(e, true)));
    // An end nobody asked for ('end' comes after stop()) that no error announced.
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      if (Atomics.load(this.ctl, STARTED) === 0) this.startFailed();
      else this.threadEnded();
    });
    return true;
  }

  /** Wakes the writer thread (started on the first), without waiting; the wake-up's number. */
  private wake(): number {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.fd < 0 || !this.used) return this.seq;
    this.checkFailed();
    if (this.fd < 0 || !this.startWorker()) return this.seq;
    this.pending = 0;
    this.seq = (this.seq + 1) | 0;
    // The entries up to head are complete: published with the wake-up, the only time the
    // writer thread reads HEAD (a store per frame costs the recorded thread a full fence).
    Atomics.store(this.ctl, HEAD, this.head);
    Atomics.store(this.ctl, SEQ, this.seq);
    Atomics.notify(this.ctl, SEQ);
    return this.seq;
  }

  private checkFailed(): void {
    if (Atomics.load(this.ctl, FAILED) === 0) return;
    this.fail(new Error(this.failedMessage()));
  }

  private failedMessage(): string {
    const msg = new Uint8Array(this.ctlBuf, MSG_AT);
    return Buffer.from(msg.subarray(0, Math.max(0, msg.indexOf(0)))).toString('utf8');
  }

  /** The writer thread ended with entries still to write: they never will be. */
  private threadEnded(): void {
    const why = Atomics.load(this.ctl, FAILED) !== 0 ? `: ${this.failedMessage()}` : '';
    const code = Atomics.load(this.ctl, EXIT_CODE);
    this.fail(new IpcError('EPIPE', `the capture writer thread ended (exit code ${code}) before writing what was recorded${why}`), true);
  }

  /** The writer thread could not be started, or ended before its first statement (`cause`, if known). */
  private startFailed(cause?: unknown): void {
    const why = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
    this.fail(new IpcError('EPIPE', `the capture writer thread did not start${why}; what was recorded is not written`, { cause }), true);
  }

  /** Stops recording for good (once), so the traffic it watches is never disturbed. */
  private fail(err: Error, threadDied = false): void {
    if (this.fd < 0) return;
    // What the thread has not written yet is dropped, not written.
    Atomics.store(this.ctl, FAILED, 1);
    if (threadDied) this.worker = undefined;
    this.stop();
    this.onError(err);
  }

  private stop(): void {
    openWriters.delete(this);
    // With no writer left the process's signals are its own again.
    if (openWriters.size === 0) unhookSignals();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const fd = this.fd;
    this.fd = -1;
    if (this.worker) {
      // The writer thread closes it after what was flushed before 'end' (a timed-out flush
      // leaves entries in the ring): closing it here could hand its number to another file meanwhile.
      this.worker.postMessage('end');
      // It sleeps until the next wake-up: this one is for the 'end'.
      this.seq = (this.seq + 1) | 0;
      Atomics.store(this.ctl, SEQ, this.seq);
      Atomics.notify(this.ctl, SEQ);
      return;
    }
    try {
      closeSync(fd);
    } catch {
      // Already closed behind our back (the failure being reported, if any).
    }
  }
}
