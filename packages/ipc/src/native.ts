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
  munmap(m: Mapping): number;
  semInit(ab: ArrayBuffer, off: number): number;
  semPost(ab: ArrayBuffer, off: number): number;
  semTryWait(ab: ArrayBuffer, off: number): number;
  semWaiter(ab: ArrayBuffer, off: number, cb: (n: number) => void): WaiterHandle | number;
  waiterWant(w: WaiterHandle, n: number): number;
  waiterStop(w: WaiterHandle): number;
  waiterTryTake(w: WaiterHandle): number;
  poll(fd: number, cb: (status: number, events: number) => void): PollHandle | number;
  pollStart(p: PollHandle, events: number): number;
  pollClose(p: PollHandle): number;
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
  try {
    return require('../native/build/Release/corosync_ts_ipc.node') as Native;
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
  return scratch.slice(0, r);
}
