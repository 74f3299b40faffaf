import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mapShared, unmapShared, type SharedMapping } from '@corosync-ts/ipc';
import { CS_ERR_LIBRARY, CsError, csErrorFromErrno } from '@corosync-ts/types';

/**
 * struct coroipcs_zc_header (map_size int @0, server_address u64 @8) and the 40-byte
 * struct req_lib_cpg_mcast (@16) precede the payload in a zero-copy file.
 */
export const ZC_HEADER = 56;
const MCAST_AT = 16;
const MSGLEN_AT = 48;
const SERVER_ADDRESS_AT = 8;
const MESSAGE_REQ_CPG_MCAST = 2;
/** libcpg's places for the file: /dev/shm, else LOCALSTATEDIR/run (/var/run on Debian). */
const ZC_DIRS = ['/dev/shm', '/var/run'];
const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** mkstemp's attempts at a free name (glibc tries 62^3). */
const NAME_TRIES = 1000;
const ZEROS = new Uint8Array(65536);

function fsError(e: unknown, operation: string, what: string): CsError {
  const errno = (e as { errno?: unknown }).errno;
  const code = typeof errno === 'number' ? csErrorFromErrno(Math.abs(errno)) : CS_ERR_LIBRARY;
  return new CsError(code, `${what}: ${(e as Error).message}`, { operation, cause: e });
}

/**
 * node:crypto loads the whole streams stack, so it is read when a zero-copy buffer is made, not
 * when the client is imported (test/import-cost.test.ts).
 */
const randomInt = (max: number): number => process.getBuiltinModule('node:crypto').randomInt(max);

function exclusiveCreate(dir: string): { fd: number; path: string } {
  for (let i = 0; ; i++) {
    let name = 'corosync_zerocopy-';
    for (let k = 0; k < 6; k++) name += NAME_CHARS[randomInt(NAME_CHARS.length)];
    const path = `${dir}/${name}`;
    try {
      // mkstemp with libcpg's umask 077: a new file only, never through a symlink.
      return { fd: openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600), path };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i >= NAME_TRIES) throw e;
    }
  }
}

/**
 * One cpg zero-copy file: created and zero-filled as libcpg does (so a full /dev/shm fails here,
 * not later with SIGBUS), mapped shared, its fd closed. corosync opens it by path at ZC_ALLOC and
 * unlinks it; unlink() here covers a daemon that did not, and only ever removes this very file.
 */
export class ZcFile {
  readonly path: string;
  readonly mapSize: number;
  readonly #mapping: SharedMapping;
  readonly #view: DataView;
  readonly #dev: bigint;
  readonly #ino: bigint;
  #released = false;

  private constructor(path: string, mapSize: number, mapping: SharedMapping, dev: bigint, ino: bigint) {
    this.path = path;
    this.mapSize = mapSize;
    this.#mapping = mapping;
    this.#view = new DataView(mapping.buffer);
    this.#dev = dev;
    this.#ino = ino;
  }

  static create(operation: string, mapSize: number): ZcFile {
    let created: { fd: number; path: string } | undefined;
    let first: unknown;
    for (const dir of ZC_DIRS) {
      try {
        created = exclusiveCreate(dir);
        break;
      } catch (e) {
        first ??= e;
      }
    }
    if (!created) throw fsError(first, operation, 'cannot create a zero-copy file');
    const { fd, path } = created;
    let mapping: SharedMapping | undefined;
    try {
      for (let at = 0; at < mapSize; ) at += writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, mapSize - at), at);
      const st = fstatSync(fd, { bigint: true });
      mapping = mapShared(fd, mapSize);
      return new ZcFile(path, mapSize, mapping, st.dev, st.ino);
    } catch (e) {
      try {
        unlinkSync(path);
      } catch {
        // it was just created by us: only a concurrent rm -rf of /dev/shm gets here
      }
      throw e instanceof CsError ? e : fsError(e, operation, `cannot prepare ${path}`);
    } finally {
      closeSync(fd);
    }
  }

  get buffer(): ArrayBuffer {
    return this.#mapping.buffer;
  }

  /** What corosync wrote at ZC_ALLOC: its own address of the mapping (0 if it never mapped it). */
  serverAddress(): bigint {
    return this.#released ? 0n : this.#view.getBigUint64(SERVER_ADDRESS_AT, true);
  }

  /** libcpg's hdr->map_size, written once corosync has answered. */
  writeMapSize(): void {
    this.#view.setInt32(0, this.mapSize, true);
  }

  /** The MCAST request corosync reads from the file at ZC_EXECUTE (its id, size, guarantee, msglen). */
  writeMcastHeader(guarantee: number, len: number): void {
    this.#view.setInt32(MCAST_AT, MESSAGE_REQ_CPG_MCAST, true);
    this.#view.setInt32(MCAST_AT + 8, 40 + len, true);
    this.#view.setUint32(MCAST_AT + 24, guarantee, true);
    this.#view.setUint32(MSGLEN_AT, len, true);
  }

  /** Removes the path if it still names this file (corosync normally unlinked it already). */
  unlink(): void {
    try {
      const st = lstatSync(this.path, { bigint: true });
      if (st.dev === this.#dev && st.ino === this.#ino) unlinkSync(this.path);
    } catch {
      // ENOENT: corosync unlinked it, as it does at ZC_ALLOC
    }
  }

  /** Unlinks and unmaps (every view of the buffer then has length 0); repeat calls do nothing. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.unlink();
    unmapShared(this.#mapping);
  }
}
