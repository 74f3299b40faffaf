import { createRequire } from 'node:module';
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
  /** Open /dev/shm/<rel> O_RDWR without following any symlink; a regular file only. fd or -errno. */
  openShm(rel: string): number;
  /** unlink (or rmdir) /dev/shm/<rel> without following any symlink on the way. 0 or -errno. */
  unlinkShm(rel: string, dir: boolean): number;
  semInit(ab: ArrayBuffer, off: number): number;
  semPost(ab: ArrayBuffer, off: number): number;
  semTryWait(ab: ArrayBuffer, off: number): number;
  semTakeMany(ab: ArrayBuffer, off: number, max: number): number;
  semWaiter(ab: ArrayBuffer, off: number, cb: (n: number) => void): WaiterHandle | number;
  waiterWant(w: WaiterHandle, n: number): number;
  waiterStop(w: WaiterHandle): number;
  waiterSpinTake(w: WaiterHandle, max: number, spinNs: number): number;
  poll(fd: number, cb: (status: number, events: number) => void): PollHandle | number;
  pollDgram(fd: number, cb: (status: number, events: number, count: number) => void, area: Uint8Array, slots: Int32Array, maxLen: number, budget: Int32Array | undefined): PollHandle | number;
  pollStart(p: PollHandle, events: number): number;
  pollSpin(p: PollHandle, spinNs: number): number;
  pollClose(p: PollHandle): number;
  /** unshare(CLONE_NEWNET) for the calling thread (corosync-tap). */
  netnsUnshare(): number;
  /** setns(fd, CLONE_NEWNET) for the calling thread (corosync-tap). */
  netnsEnter(fd: number): number;
}
export interface Mapping { readonly buffer: ArrayBuffer; readonly handle: unknown }
export type WaiterHandle = { readonly __waiter: unique symbol };
export type PollHandle = { readonly __poll: unique symbol };

export const READABLE = 1;
export const WRITABLE = 2;
export const DISCONNECT = 4;

function load(): Native {
  if (process.platform !== 'linux') {
    throw new IpcError(
      'ENOTSUP',
      `@corosync-ts/ipc needs Linux (abstract AF_UNIX sockets, /dev/shm, glibc semaphores); this is ${process.platform}`,
    );
  }
  const require = createRequire(import.meta.url);
  // An absolute path to another build of the addon (the sanitizer build in CI).
  const override = process.env.COROSYNC_TS_IPC_ADDON;
  try {
    return require(override || '../native/build/Release/corosync_ts_ipc.node') as Native;
  } catch (cause) {
    throw new IpcError(
      'ENOTSUP',
      'the native addon of @corosync-ts/ipc is not built. Install a C toolchain and Python ' +
        '(e.g. `apt-get install build-essential python3`), then run `pnpm rebuild @corosync-ts/ipc` ' +
        '(or `node scripts/build-native.mjs` in the package directory)',
      { cause },
    );
  }
}

// Loaded at import, as asked of a Linux-only package: a missing toolchain or the wrong
// platform surfaces as one clear IpcError when the package is imported.
const loaded: Native = load();

export function native(): Native {
  return loaded;
}

// One receive buffer for every datagram socket: JS is single-threaded, and a frame is
// copied out before the next receive. Grown to the largest negotiated maximum.
let scratch = new Uint8Array(65536);

/**
 * Receive one datagram of at most `max` bytes: a copy of it, -EAGAIN when there is
 * none, another negative errno on error, or -EMSGSIZE when it was longer than `max`.
 */
export function recvDatagram(fd: number, max: number): Uint8Array | number {
  if (scratch.length < max + 1) scratch = new Uint8Array(max + 1);
  const r = loaded.recvDgramInto(fd, scratch);
  if (r < 0) return r;
  if (r > max) return -90;
  return copyFrame(scratch, 0, r);
}

/** Datagrams a pollDgram watcher receives per wake-up at most (DGRAM_BATCH in ipc.c). */
export const DGRAM_BATCH = 64;
/** Room for small datagrams of a batch beyond the one maximum-size datagram. */
const BATCH_ROOM = 65536;

/**
 * The receive area pollDgram watchers fill before their callback runs: shared by every
 * socket (callbacks run one at a time on the loop thread and copy frames out), grown
 * for the largest negotiated maximum. A watcher keeps the area it was created with.
 */
let area: { bytes: Uint8Array; slots: Int32Array } = { bytes: new Uint8Array(65536 + 1 + BATCH_ROOM), slots: new Int32Array(2 * DGRAM_BATCH) };
export function dgramArea(max: number): { bytes: Uint8Array; slots: Int32Array } {
  if (area.bytes.length < max + 1 + BATCH_ROOM) area = { bytes: new Uint8Array(max + 1 + BATCH_ROOM), slots: new Int32Array(2 * DGRAM_BATCH) };
  return area;
}

// Frames handed to callers are carved out of shared slabs, as Node pools small Buffers:
// no allocation (malloc + ArrayBuffer + GC sweep) per message, ~4x cheaper than slice().
// A frame is never reused or overlapped once handed out; one that is kept keeps its
// slab (SLAB bytes) alive. Frames above POOLED_MAX get their own buffer.
const SLAB = 32768;
const POOLED_MAX = 4096;
let slab = new Uint8Array(SLAB);
let slabUsed = 0;

/** A copy of src[start, start + len) that the receiver owns (a view into a pool slab). */
export function copyFrame(src: Uint8Array, start: number, len: number): Uint8Array {
  if (len > POOLED_MAX) return src.slice(start, start + len);
  if (slabUsed + len > SLAB) {
    slab = new Uint8Array(SLAB);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + len);
  out.set(src.subarray(start, start + len));
  slabUsed = (slabUsed + len + 7) & ~7;
  return out;
}
