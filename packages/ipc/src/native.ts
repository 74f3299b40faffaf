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
  recvDgram(fd: number): Buffer | number;
  recvInto(fd: number, into: Uint8Array): number;
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
  pollRef(p: PollHandle, on: boolean): number;
}
export interface Mapping { readonly buffer: ArrayBuffer; readonly handle: unknown }
export type WaiterHandle = { readonly __waiter: unique symbol };
export type PollHandle = { readonly __poll: unique symbol };

export const READABLE = 1;
export const WRITABLE = 2;
export const DISCONNECT = 4;

let loaded: Native | undefined;
let loadError: IpcError | undefined;

/** The addon, loaded on first use so that importing the package never throws. */
export function native(): Native {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  if (process.platform !== 'linux') {
    loadError = new IpcError(
      'ENOTSUP',
      `@corosync-ts/ipc needs Linux (abstract AF_UNIX sockets, /dev/shm, glibc semaphores); this is ${process.platform}`,
    );
    throw loadError;
  }
  const require = createRequire(import.meta.url);
  try {
    loaded = require('../native/build/Release/corosync_ts_ipc.node') as Native;
    return loaded;
  } catch (cause) {
    loadError = new IpcError(
      'ENOTSUP',
      'the native addon of @corosync-ts/ipc is not built. Install a C toolchain (e.g. `apt-get install build-essential python3`) ' +
        'and run `pnpm rebuild @corosync-ts/ipc` (or `node scripts/build-native.mjs` in the package)',
      { cause },
    );
    throw loadError;
  }
}
