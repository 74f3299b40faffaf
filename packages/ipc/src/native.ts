import { existsSync, readFileSync } from 'node:fs';
import type { createRequire as CreateRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Errno } from '@corosync-ts/types';
import { IpcError } from './errors.js';

/** The addon's surface (native/ipc.c). Syscall wrappers return -errno on failure. */
export interface Native {
  socket(kind: 0 | 1): number;
  bind(fd: number, name: string): number;
  connect(fd: number, name: string): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number): number;
  close(fd: number): number;
  shutdown(fd: number): number;
  setPassCred(fd: number, on: number): number;
  setBufSize(fd: number, size: number): number;
  peerCred(fd: number): [number, number, number] | number;
  send(fd: number, bytes: Uint8Array): number;
  /** One datagram (or stream write) of head then body, gathered by one sendmsg: bytes sent or -errno. */
  sendv(fd: number, head: Uint8Array, body: Uint8Array): number;
  /** Frames packed as an Outbox chunk holds them (length word, frame, padding to 4), bytes[from, to), in one sendmmsg: how many went (> 0), or the first one's -errno. */
  sendBatch(fd: number, bytes: Uint8Array, from: number, to: number): number;
  recvInto(fd: number, into: Uint8Array): number;
  recvDgramInto(fd: number, into: Uint8Array): number;
  recvCred(fd: number, into: Uint8Array): [number, number, number, number] | number;
  fallocate(fd: number, len: number): number;
  mmap(fd: number, len: number, double: boolean): Mapping | number;
  /** 1 if a SIGBUS had replaced the mapping with zero pages, else 0. */
  munmap(m: Mapping): number;
  mappingFaulted(m: Mapping): number;
  /** Process-wide count of SIGBUS faults the addon absorbed (Int32Array view, index 0). */
  sigbusCounter(): ArrayBuffer;
  /**
   * Open /dev/shm/<rel> O_RDWR without following any symlink; a regular file only. fd or -errno.
   * `stat` (3 or more): the opened file's link count, owner uid and size, written on success.
   */
  openShm(rel: string, stat?: Float64Array): number;
  /** unlink (or rmdir) /dev/shm/<rel> without following any symlink on the way. 0 or -errno. */
  unlinkShm(rel: string, dir: boolean): number;
  /** Record /dev/shm/<rel>, just created by this env, as its own: removed with the env unless unlinkShm removed it first. 0 or -errno. */
  shmOwn(rel: string): number;
  semInit(ab: ArrayBuffer, off: number): number;
  semPost(ab: ArrayBuffer, off: number): number;
  semTryWait(ab: ArrayBuffer, off: number): number;
  semTakeMany(ab: ArrayBuffer, off: number, max: number): number;
  /** Copy out and reclaim up to `max` published chunks of a ring into `into` (see Ring.readMany); how many. */
  ringReadMany(header: ArrayBuffer, data: ArrayBuffer, into: Uint8Array, from: number, slots: Int32Array, max: number, maxLen: number): number;
  /**
   * The ring ringWrite publishes in: its header (the semaphore at `semOffset`) and data mappings,
   * held by the handle; a RangeError once either is unmapped.
   */
  ringWriter(header: Mapping, semOffset: number, data: Mapping): RingWriterHandle;
  /**
   * Publish `frame` as one chunk of the writer's ring, post its semaphore and send one doorbell
   * byte on `doorbellFd` (-1: none): RW_* (see Ring.writeRung), or -errno of a failed sem_post;
   * a RangeError once the ring is unmapped.
   */
  ringWrite(writer: RingWriterHandle, frame: Uint8Array, doorbellFd: number): number;
  /**
   * The same, then, the doorbell rung, the reply's token taken if a reply is published already and
   * its chunk read as waiterWaitTake(w, 1, 0, into, from) reads it: RW_ANSWERED then.
   */
  ringWrite(writer: RingWriterHandle, frame: Uint8Array, doorbellFd: number, w: WaiterHandle, into: ArrayBuffer, from: number): number;
  semWaiter(ab: ArrayBuffer, off: number, cb: (n: number) => void): WaiterHandle | number;
  waiterWant(w: WaiterHandle, n: number): number;
  waiterStop(w: WaiterHandle): number;
  /** Tokens taken on the loop thread (0..max), sleeping in sem_timedwait at most timeoutNs when none is there yet. */
  waiterWaitTake(w: WaiterHandle, max: number, timeoutNs: number): number;
  /**
   * The same, then, when a token was taken, the first chunk read from the ring waiterRing
   * registered, as ringReadMany(header, data, new Uint8Array(into), from, slots, 1, maxLen) reads it.
   */
  waiterWaitTake(w: WaiterHandle, max: number, timeoutNs: number, into: ArrayBuffer, from: number): number;
  /**
   * The ring waiterWaitTake reads (its header is the one the waiter's semaphore lies in), the
   * slots it reports in (4 at least) and the longest chunk it reads; once per waiter. 0.
   */
  waiterRing(w: WaiterHandle, data: Mapping, slots: Int32Array, maxLen: number): number;
  poll(fd: number, cb: (status: number, events: number, count: number) => void): PollHandle | number;
  /** `len` zeroed bytes the addon may keep using between calls (see pollDgram), or -errno. */
  pinned(len: number): Pinned | number;
  /**
   * area: maxLen + 1 bytes at least; slots: 2 * DGRAM_BATCH int32; budget: one int32. Without
   * `budget`, the int32 at byte `budgetOffset` of `budgetMapping` serves as one (read again before each recv).
   */
  pollDgram(
    fd: number,
    cb: (status: number, events: number, count: number) => void,
    area: Pinned,
    slots: Pinned,
    maxLen: number,
    budget: Pinned | undefined,
    budgetMapping?: Mapping,
    budgetOffset?: number,
  ): PollHandle | number;
  pollStart(p: PollHandle, events: number): number;
  /**
   * Arms the watcher to answer a request of exactly `request`'s bytes with `response` itself,
   * without calling back (socket: mappings [control file]; shm: [request header, request data,
   * response header, response data] and the semaphores' offset), until answerInvalidate(), the
   * next pollAnswer or pollClose; pollAnswer(p) disarms. 0, or -errno when nothing was armed.
   * A shm watcher's callback gets as `count` the doorbell bytes it read for requests it left.
   */
  pollAnswer(p: PollHandle, request?: Uint8Array, response?: Uint8Array, mappings?: Mapping[], semOffset?: number): number;
  /** Requests the watcher answered since the last call. */
  pollAnswered(p: PollHandle): number;
  /** Disarms every watcher's answer in the process. */
  answerInvalidate(): number;
  /**
   * Datagrams received into the watcher's area, sleeping in ppoll at most timeoutNs when none is
   * queued yet; recvFirst false (default true) skips the recv before the ppoll.
   */
  pollWait(p: PollHandle, timeoutNs: number, recvFirst?: boolean): number;
  /**
   * Into mode of a pollDgram watcher (min 0: off): each datagram is peeked (its first `head`
   * bytes into the area) before it is received, and one longer than `min` (and not above maxLen)
   * is left queued as the batch's last slot, its offset -1 - where its head was put: the caller
   * receives it where it wants it. 0, or -EINVAL.
   */
  pollInto(p: PollHandle, min: number, head: number): number;
  pollClose(p: PollHandle): number;
  /** An int32 (index 0) that this env's loop raises once per iteration, after its poll phase (turns.ts), or -errno. */
  loopTurns(): ArrayBuffer | number;
  /** unshare(CLONE_NEWNET) for the calling thread (corosync-tap). */
  netnsUnshare(): number;
  /** setns(fd, CLONE_NEWNET) for the calling thread (corosync-tap). */
  netnsEnter(fd: number): number;
  /** sched_setscheduler(SCHED_RR) for the calling thread: the priority set (<= 0 asks the highest), or -errno. */
  schedRoundRobin(priority: number): number;
}
export interface Mapping { readonly buffer: ArrayBuffer; readonly handle: unknown }
/** Memory allocated by the addon, which keeps it while it uses it, whatever JS does with `buffer`. */
export interface Pinned { readonly buffer: ArrayBuffer; readonly handle: unknown }
export type WaiterHandle = { readonly __waiter: unique symbol };
export type PollHandle = { readonly __poll: unique symbol };
export type RingWriterHandle = { readonly __ringWriter: unique symbol };

export const READABLE = 1;
export const WRITABLE = 2;
export const DISCONNECT = 4;

/** The addon's file name inside prebuilds/<platform>-<arch>/ (`<name>.<libc>.node`) and native/build/Release/. */
export const ADDON_NAME = 'corosync_ts_ipc';

/** Which C library this Node runs on: decides between the glibc and musl prebuilds. */
export function runtimeLibc(): 'glibc' | 'musl' {
  // The C library this process has mapped answers exactly, and reading the maps takes well under a
  // millisecond, where process.report.getReport() takes tens (it was a visible part of a short
  // script's first connect). The report is the fallback: no procfs, or a static Node.
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    // A search, not a /m regular expression: compiling that was ~50 µs of a short script's start.
    if (maps.includes('/libc.so.6\n') || maps.endsWith('/libc.so.6')) return 'glibc';
    if (/\/ld-musl-[^/]+\.so\.1$/m.test(maps)) return 'musl';
  } catch {
    // no /proc: ask the report
  }
  // A glibc Node reports the glibc it runs on; musl builds of Node report none.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

// Read only when resolving the hard way (packageRoot's last resort): node:module is not loaded by
// Node's bootstrap, and loading it (with its source-map support) cost a short script ~0.5 ms.
const createRequire: typeof CreateRequire = (path) => process.getBuiltinModule('node:module').createRequire(path);

const PACKAGE_NAME = '@corosync-ts/ipc';

// true where scripts/bundle.mjs compiled this file into another package's bundle (the client's),
// whose own package root is not ipc's; undefined when run from source.
declare const COROSYNC_TS_IPC_INLINED: boolean | undefined;
const INLINED = typeof COROSYNC_TS_IPC_INLINED === 'boolean' && COROSYNC_TS_IPC_INLINED;

/** Whether dir holds the package.json of @corosync-ts/ipc. */
function isPackageRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/**
 * The root of the @corosync-ts/ipc package, where prebuilds/ and native/ are. This code runs from
 * ipc's own dist/index.js or src/native.ts (one level below the root), or inlined into the
 * bundle of @corosync-ts/client, which depends on ipc: found in a node_modules/ folder above the
 * bundle, as Node's resolver would (import.meta.url is already the real path). Looked up by hand:
 * require.resolve through the package's exports map took ~3-5 ms of a short script's first
 * connect (the resolver's first run in the process), a few stats take well under one.
 */
function packageRoot(): string {
  // Node (20.11+) sets import.meta.dirname; the walk joins by hand: node:path compiles its
  // functions on first use (~50 µs of a short script's first connect for join alone).
  const here = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url));
  const own = parentDir(here);
  if (!INLINED && isPackageRoot(own)) return own;
  for (let dir = here; ; dir = parentDir(dir)) {
    const candidate = `${dir === '/' ? '' : dir}/node_modules/${PACKAGE_NAME}`;
    if (existsSync(`${candidate}/package.json`)) return candidate;
    if (dir === '/') break;
  }
  try {
    // Anything else Node's resolver knows (NODE_PATH, a loader hook's layout).
    return dirname(createRequire(import.meta.url).resolve(`${PACKAGE_NAME}/package.json`));
  } catch {
    // Bundled by someone else's bundler with nothing installed beside it: the file's own parent.
    return own;
  }
}

/** The parent of an absolute, normalized path ('/' for '/'): node:path's dirname for those. */
export function parentDir(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** Where the loader looks, in order: COROSYNC_TS_IPC_ADDON, the shipped prebuild, a source build. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env['COROSYNC_TS_IPC_ADDON'];
  if (override) return [override];
  const root = packageRoot();
  return [
    `${root}/prebuilds/${process.platform}-${process.arch}/${ADDON_NAME}.${runtimeLibc()}.node`,
    `${root}/native/build/Release/${ADDON_NAME}.node`,
  ];
}

/** Why the install-time source build failed, as scripts/build-native.mjs recorded it. */
function installFailure(root: string): string | undefined {
  try {
    return readFileSync(join(root, 'native', 'install-error.txt'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function load(): Native {
  if (process.platform !== 'linux') {
    throw new IpcError(
      'ENOTSUP',
      `@corosync-ts/ipc needs Linux (abstract AF_UNIX sockets, /dev/shm, glibc semaphores); this is ${process.platform}`,
    );
  }
  const override = process.env['COROSYNC_TS_IPC_ADDON'] || undefined;
  if (override !== undefined && !isAbsolute(override)) {
    throw new IpcError('ENOTSUP', `COROSYNC_TS_IPC_ADDON must be the absolute path of a .node file, got '${override}'`);
  }
  const tried: string[] = [];
  let firstCause: unknown;
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (absent)`);
      continue;
    }
    try {
      // process.dlopen is what require() of a .node file ends in, minus loading node:module and
      // the CommonJS loader's resolution and caching (~1 ms of a short script's first connect).
      const module = { exports: {} as Native };
      process.dlopen(module, path);
      // A copy: the object the addon fills is in dictionary mode, so every `native().fn` on a hot
      // path was a LoadIC builtin's hash lookup (callgrind: ~150 instructions each, ~900 per shm
      // GET); a spread literal has fast properties, and optimized code loads them in place.
      return { ...module.exports };
    } catch (cause) {
      // Present but unloadable (wrong architecture or libc, too old a glibc, a truncated copy): the real cause.
      tried.push(`${path} (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)})`);
      firstCause ??= cause;
    }
  }
  throw loadFailure(tried, firstCause, override);
}

/**
 * Why no addon could be loaded, with what to do about it. A function of its own so that the
 * first connection of every process does not parse this text with load() (V8 fully parses a
 * function on its first call, its own cold branches included).
 */
function loadFailure(tried: readonly string[], firstCause: unknown, override: string | undefined): IpcError {
  const root = packageRoot();
  const target = `${process.platform}-${process.arch} ${runtimeLibc()}`;
  const lines = [`the native addon of @corosync-ts/ipc could not be loaded on ${target}. Tried:`, ...tried.map((t) => `  - ${t}`)];
  if (override) {
    lines.push('COROSYNC_TS_IPC_ADDON names that file: unset it to use the shipped binary.');
  } else {
    const failure = installFailure(root);
    if (failure) lines.push(`The install script tried to build it from source and failed: ${failure}`);
    else if (firstCause === undefined) {
      lines.push(
        `No binary for ${target} ships in the package, and the install script that builds one from source did not run ` +
          '(pnpm 10 skips install scripts until allowed: `pnpm approve-builds`, or add "@corosync-ts/ipc" to ' +
          '`onlyBuiltDependencies`; npm skips them with --ignore-scripts).',
      );
    }
    lines.push(
      `To build it from source (needs a C compiler, make and python3): node ${join(root, 'scripts', 'build-native.mjs')}`,
      'If @corosync-ts/ipc was bundled (esbuild, webpack, ncc...), keep it external, or copy its prebuilds/ directory ' +
        'next to the bundle, or set COROSYNC_TS_IPC_ADDON to the absolute path of the .node file.',
    );
  }
  return new IpcError('ENOTSUP', lines.join('\n'), firstCause === undefined ? undefined : { cause: firstCause });
}

// Loaded on first use, not at import: importing never throws; the first call that needs the
// addon fails with the reason (and every later call with the same error).
let loaded: Native | undefined;
let loadError: unknown;

export function native(): Native {
  if (loaded) return loaded;
  if (loadError !== undefined) throw loadError;
  try {
    loaded = load();
  } catch (e) {
    loadError = e;
    throw e;
  }
  return loaded;
}

// One receive buffer for every datagram socket: JS is single-threaded, and a frame is
// copied out before the next receive. Grown to the largest negotiated maximum.
let scratch = new Uint8Array(65536);

/**
 * Receive one datagram of at most `max` bytes: a copy of it, -EAGAIN when there is
 * none, another negative errno on error, or -EMSGSIZE when it was longer than `max`.
 * `lend`: one above POOLED_MAX comes as a view of the receive buffer instead, valid until the
 * next receive (a fresh buffer per large frame cost more than its use: page faults, GC).
 */
export function recvDatagram(fd: number, max: number, lend = false): Uint8Array | number {
  if (scratch.length < max + 1) scratch = new Uint8Array(max + 1);
  const r = native().recvDgramInto(fd, scratch);
  if (r < 0) return r;
  if (r > max) return -Errno.EMSGSIZE;
  return lend && r > POOLED_MAX ? scratch.subarray(0, r) : copyFrame(scratch, 0, r);
}

/** Datagrams a pollDgram watcher receives per wake-up at most (DGRAM_BATCH in ipc.c). */
export const DGRAM_BATCH = 64;
/** Room for small datagrams of a batch beyond the one maximum-size datagram. */
const BATCH_ROOM = 65536;

/** `len` bytes of pinned memory (native.pinned); throws ENOMEM or EINVAL when refused. */
export function pinned(len: number): Pinned {
  const p = native().pinned(len);
  if (typeof p === 'number') throw IpcError.fromErrno(p, `allocate ${len} bytes of receive memory`);
  return p;
}

/** A pollDgram watcher's receive area: the bytes and the (offset, length) slots, both pinned. */
export interface DgramArea {
  readonly bytes: Uint8Array;
  readonly slots: Int32Array;
  readonly pinnedBytes: Pinned;
  readonly pinnedSlots: Pinned;
}

/**
 * The receive area pollDgram watchers fill before their callback runs: shared by every
 * socket (callbacks run one at a time on the loop thread and copy frames out), grown
 * for the largest negotiated maximum. A watcher keeps the area it was created with.
 */
let area: DgramArea | undefined;
export function dgramArea(max: number): DgramArea {
  const want = Math.max(max, 65536) + 1 + BATCH_ROOM;
  if (!area || area.bytes.length < want) {
    const pinnedBytes = pinned(want);
    const pinnedSlots = pinned(2 * DGRAM_BATCH * 4);
    area = { bytes: new Uint8Array(pinnedBytes.buffer), slots: new Int32Array(pinnedSlots.buffer), pinnedBytes, pinnedSlots };
  }
  return area;
}

// Frames handed to callers are carved out of shared slabs, as Node pools small Buffers:
// no allocation (malloc + ArrayBuffer + GC sweep) per message, ~4x cheaper than slice().
// A frame is never reused or overlapped once handed out; one that is kept keeps its
// slab (SLAB bytes) alive. Frames above POOLED_MAX get their own buffer.
const SLAB = 32768;
export const POOLED_MAX = 4096;
/** Frames up to this size are copied by a loop, not set(). */
const SMALL_COPY = 128;
/**
 * The slab frames are carved from (`words`: the same bytes as int32; `buffer`: its ArrayBuffer,
 * kept here because a typed array's `buffer` getter stayed a LoadIC call in optimized code, ~200
 * instructions per shm GET by callgrind), and where its free part starts (8-byte aligned).
 */
export const framePool = { slab: new Uint8Array(SLAB), words: new Int32Array(0) as Int32Array, buffer: new ArrayBuffer(0), used: 0 };
framePool.buffer = framePool.slab.buffer;
framePool.words = new Int32Array(framePool.buffer);

/** Room for `len` more bytes in the pool slab: a fresh slab when the current one lacks it. */
export function framePoolRoom(len: number): void {
  if (framePool.used + len > SLAB) {
    framePool.slab = new Uint8Array(SLAB);
    framePool.buffer = framePool.slab.buffer;
    framePool.words = new Int32Array(framePool.buffer);
    framePool.used = 0;
  }
}

/**
 * The frame at slab[at, at + len): a view made by the constructor, not slab.subarray(), whose
 * species lookup and argument clamping cost ~40% more per frame (a GET answer's view per call).
 */
export function poolView(slab: Uint8Array, at: number, len: number): Uint8Array {
  return new Uint8Array(slab.buffer, at, len);
}

/**
 * A copy of src[start, start + len) that the receiver owns (a view into a pool slab). `srcWords`,
 * when given, is `src` as int32 (same buffer and offset): a small frame at an aligned start is then
 * copied a word at a time.
 */
export function copyFrame(src: Uint8Array, start: number, len: number, srcWords?: Int32Array): Uint8Array {
  if (len > POOLED_MAX) return src.slice(start, start + len);
  framePoolRoom(len);
  const slab = framePool.slab;
  const at = framePool.used;
  // A small frame (a GET answer) is copied in a loop: cheaper than the view of the source that
  // set() needs, which costs an allocation; by words where it can (a 44-byte answer: 11
  // iterations, not 44, each with its bounds checks).
  if (len <= SMALL_COPY) {
    let i = 0;
    if (srcWords !== undefined && (start & 3) === 0) {
      const words = framePool.words;
      const n = len >> 2;
      const from = start >> 2;
      const to = at >> 2;
      for (let k = 0; k < n; k++) words[to + k] = srcWords[from + k]!;
      i = n << 2;
    }
    for (; i < len; i++) slab[at + i] = src[start + i]!;
  } else slab.set(src.subarray(start, start + len), at);
  framePool.used = (at + len + 7) & ~7;
  return poolView(slab, at, len);
}

/**
 * A read-write MAP_SHARED mapping of the first `len` bytes of `fd`, for a file another layer
 * shares with corosync (cpg's zero-copy buffers). Guarded like the rings: a peer that truncates
 * the file turns the pages into zeros instead of killing the process with SIGBUS. The fd may be
 * closed right after. Throws an IpcError (EINVAL, ENOMEM, ...) when the kernel refuses.
 */
export function mapShared(fd: number, len: number): Mapping {
  const m = native().mmap(fd, len, false);
  if (typeof m === 'number') throw IpcError.fromErrno(m, `cannot map ${len} bytes of fd ${fd}`);
  return m;
}

/** Unmaps a mapShared() mapping and detaches its buffer (every view then has length 0); repeat calls do nothing. */
export function unmapShared(m: Mapping): void {
  native().munmap(m);
}
