import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** libcpg creates its zero-copy files here (mkstemp of `corosync_zerocopy-XXXXXX`). */
const ZC_DIRS = new Set(['/dev/shm', '/var/run', '/run']);
const ZC_NAME = /^corosync_zerocopy-[A-Za-z0-9]{6}$/;
/** 16-byte zc header + the 40-byte MCAST header before the payload. */
const ZC_HEADER = 56;
const ZC_MAX_MAP = 1024 * 1024 + ZC_HEADER;

/**
 * How many mappings one connection, and all of them together, may hold. Each keeps a descriptor
 * open (corosync maps the file and closes it): without a bound a client allocating in a loop
 * would take every descriptor the mock process may open, and with them every other client's
 * connection. corosync has none, but its mmap()s end at vm.max_map_count, where it aborts.
 */
export const ZC_MAX_MAPS_PER_CONNECTION = 256;
export const ZC_MAX_MAPS = 4096;

/** Tokens are unique in the mock process, as corosync's mapping addresses are in the daemon. */
let next = 0x7f3c_0000_0000n;
/** Every live mapping by its token: ZC_EXECUTE reads any (corosync dereferences the address). */
const live = new Map<bigint, { fd: number; size: number; uid: number }>();

/**
 * The daemon side of cpg's zero-copy buffers (ZC_ALLOC / ZC_EXECUTE / ZC_FREE). corosync opens
 * the client's file, unlinks it and maps it, then writes its own mapping address into it; the
 * mock keeps the descriptor, writes a token instead and reads the message with pread. Only a
 * regular file named and placed as libcpg makes it, owned by the client, is touched: a hostile
 * client can not make the mock open or unlink anything else.
 */
export class ZeroCopyMaps {
  /** This connection's mappings: the ones ZC_FREE and the connection's end release. */
  private readonly maps = new Map<bigint, { fd: number; size: number; uid: number }>();

  alloc(mapSize: bigint, path: string, uid: number): void {
    if (!ZC_DIRS.has(dirname(path)) || !ZC_NAME.test(basename(path))) return;
    if (mapSize < BigInt(ZC_HEADER) || mapSize > BigInt(ZC_MAX_MAP)) return;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
    } catch {
      return;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || (uid !== 0 && st.uid !== uid) || st.size < Number(mapSize)) throw new Error('not a zero-copy file');
      unlinkSync(path);
      // past the bound the file is unlinked all the same, as corosync unlinks what it opened:
      // the client's free or exit then leaves nothing in /dev/shm; its send is NOT_EXIST
      if (this.maps.size >= ZC_MAX_MAPS_PER_CONNECTION || live.size >= ZC_MAX_MAPS) throw new Error('too many zero-copy mappings');
      const token = (next += 0x10_0000n);
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(token);
      writeSync(fd, b, 0, 8, 8);
      const m = { fd, size: Number(mapSize), uid };
      this.maps.set(token, m);
      live.set(token, m);
    } catch {
      closeSync(fd);
    }
  }

  /**
   * The message a ZC_EXECUTE sends: msglen at 48 of the file, the payload at 56. corosync reads
   * the address it is given whichever connection mapped it (libcpg lets any handle of the
   * process send a buffer another allocated); the mock only lets a client of the same uid.
   */
  message(token: bigint, uid: number): Uint8Array | undefined {
    const m = this.maps.get(token) ?? live.get(token);
    if (m === undefined || (uid !== 0 && m.uid !== uid)) return undefined;
    const len = Buffer.alloc(4);
    readSync(m.fd, len, 0, 4, 48);
    const n = Math.min(len.readUInt32LE(), m.size - ZC_HEADER);
    const out = Buffer.alloc(n);
    if (n > 0) readSync(m.fd, out, 0, n, ZC_HEADER);
    return new Uint8Array(out.buffer, out.byteOffset, n);
  }

  free(token: bigint): void {
    const m = this.maps.get(token);
    if (m === undefined) return;
    this.maps.delete(token);
    live.delete(token);
    closeSync(m.fd);
  }

  close(): void {
    for (const t of [...this.maps.keys()]) this.free(t);
  }
}
