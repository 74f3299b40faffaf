/// <reference types="node" />
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { CS_ERR_LIBRARY, CS_OK } from '@corosync-ts/types';
import { ByteReader } from './reader.js';
import { SAM_REPLY_ERROR, SAM_REPLY_OK, readInt32, readSize } from './protocol.js';

/**
 * The child's two ends (libsam's child_fd_out / child_fd_in). Commands are written with one
 * synchronous write(2) each, so a heartbeat can never land inside another command's payload;
 * replies are read asynchronously so that a sam_start() waiting for quorum does not freeze the
 * event loop. The reply socket is unref'd whenever nobody waits on it: like libsam's pipes, the
 * channel alone never keeps a process alive.
 */
export class ChildChannel {
  readonly #commandFd: number;
  readonly #socket: Socket;
  readonly #reader: ByteReader;
  #waiting = 0;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(commandFd: number, socket: Socket) {
    this.#commandFd = commandFd;
    this.#socket = socket;
    this.#reader = new ByteReader(socket);
    socket.unref();
  }

  /** Throws (EBADF, ERR_INVALID_FD_TYPE...) when the fds are not a SAM channel. */
  static open(commandFd: number, replyFd: number): ChildChannel {
    // node:net is loaded here, not at import: the client's index re-exports sam, and loading net
    // there cost every importer cold-start time for a module only a SAM child needs.
    const socket = new (process.getBuiltinModule('node:net').Socket)({ fd: replyFd, readable: true, writable: false });
    return new ChildChannel(commandFd, socket);
  }

  /** sam_safe_write: CS_OK, or CS_ERR_LIBRARY when the supervisor is gone. */
  write(bytes: Uint8Array): number {
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.#commandFd, bytes, off, bytes.length - off);
      } catch (e) {
        // The command fd is a blocking socketpair end; EAGAIN only if someone made it non-blocking.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR') continue;
        return CS_ERR_LIBRARY;
      }
    }
    return CS_OK;
  }

  /** Bytes from the supervisor, with the event loop kept alive while waiting. */
  async read(n: number): Promise<Buffer | null> {
    if (this.#waiting++ === 0) this.#socket.ref();
    try {
      return await this.#reader.read(n);
    } finally {
      if (--this.#waiting === 0) this.#socket.unref();
    }
  }

  /** sam_read_reply: CS_OK, the cs_error_t the supervisor sent, or CS_ERR_LIBRARY. */
  async readReply(): Promise<number> {
    const reply = await this.read(1);
    if (reply === null) return CS_ERR_LIBRARY;
    if (reply[0] === SAM_REPLY_OK) return CS_OK;
    if (reply[0] !== SAM_REPLY_ERROR) return CS_ERR_LIBRARY;
    const err = await this.read(4);
    return err === null ? CS_ERR_LIBRARY : readInt32(err);
  }

  /** The data the supervisor held when it started this child (what fork() would have copied). */
  async readInheritedData(): Promise<Uint8Array | null | undefined> {
    const size = await this.read(8);
    if (size === null) return undefined;
    const n = readSize(size);
    if (n === 0n) return null;
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const data = await this.read(Number(n));
    return data === null ? undefined : new Uint8Array(data);
  }

  /** libsam's sam_internal_data.lock: one command-with-reply at a time. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }
}
