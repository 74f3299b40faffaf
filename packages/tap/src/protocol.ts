// Messages between the tap's two threads. The main thread lives in the program's network
// namespace and serves it; the upstream worker stays in the daemon's and owns one real
// connection per program connection. Frames travel transferred, not copied (see owned()).

export type Transport = 'socket' | 'shm';

export interface Cred {
  pid: number;
  uid: number;
  gid: number;
}

/** main → worker */
export type ToUpstream =
  | { op: 'probe' }
  | { op: 'open'; id: number; seq: number; service: string; cred: Cred }
  | { op: 'req'; id: number; frame: Uint8Array }
  | { op: 'close'; id: number }
  | { op: 'stop' };

/** worker → main */
export type FromUpstream =
  | { op: 'probe'; transport: Transport; maxMessageSize: number }
  | { op: 'probe'; error: string; code: string }
  | { op: 'probe'; refused: string }
  | { op: 'denied'; id: number; service: string; cred: Cred; reason: string }
  | { op: 'res'; id: number; frame: Uint8Array }
  | { op: 'evt'; id: number; frame: Uint8Array }
  | { op: 'flow'; id: number; level: 0 | 1 | 2 }
  | { op: 'gone'; id: number; by: 'server' | 'error'; error: string };

/**
 * The worker answers an 'open' through shared memory, because the main thread waits for it
 * synchronously inside the libqb server's authorize callback (its verdict goes into the
 * program's setup reply). One BigInt64 holds (seq << 32) | (verdict as uint32): a single
 * atomic store, and a late answer to an older seq never overwrites a newer one.
 */
export const VERDICT_BYTES = 8;

/**
 * The verdict for a daemon that did not answer within handshakeTimeout (the connection or the
 * access check): the main thread refuses the program as when it gives up waiting itself. Not
 * an errno: those are 0 or negative, so no answer of corosync's can be taken for it.
 */
export const NO_ANSWER = 1;

export function packVerdict(seq: number, verdict: number): bigint {
  return (BigInt(seq) << 32n) | BigInt(verdict >>> 0);
}

export function unpackVerdict(v: bigint): { seq: number; verdict: number } {
  return { seq: Number(v >> 32n), verdict: Number(BigInt.asIntN(32, v & 0xffffffffn)) };
}

/**
 * The frame as one the other thread can be given (postMessage's transfer list): itself when it is
 * all of its own ArrayBuffer, as @corosync-ts/ipc hands every frame above 4 KiB that it does not
 * lend (the listener's own), else a copy (a small frame is a view into a pool other frames share).
 * A 1 MiB multicast was copied once more per hop: each copy a fresh megabyte whose pages fault in,
 * ~0.5 ms on this project's VMs, several per message (bench/README.md "tap"). The copy is made
 * with the Uint8Array constructor: a Buffer's slice() is a view of the same memory.
 */
export function owned(frame: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = frame.buffer;
  return b instanceof ArrayBuffer && frame.byteOffset === 0 && frame.byteLength === b.byteLength ? (frame as Uint8Array<ArrayBuffer>) : new Uint8Array(frame);
}
