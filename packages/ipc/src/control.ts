// The socket transport's control file (libqb ipc_socket.c: three `struct ipc_us_control`,
// 24 bytes in /dev/shm, mapped by both sides). Each channel has a `sent` counter, which its
// writer increments per frame and its reader decrements, and a flow-control word, of which
// only the request channel's is used: the server sets it, the client reads it before each send.
import { closeSync, constants as fsc, fchownSync, ftruncateSync, openSync } from 'node:fs';
import { IpcError } from './errors.js';
import { native, type Mapping } from './native.js';
import { closePeerFile, openPeerFile, ownShmPath, removeShmPath, type PeerFileRules } from './peerfile.js';

export type Channel = 'request' | 'response' | 'event';

/**
 * Word index of each channel's `sent` counter; its flow-control word follows it. Compares, not a
 * lookup in a record: one site reading the record with all three names went megamorphic in V8
 * (`KeyedLoadIC_Megamorphic`, ~300 instructions per socket GET by callgrind), where the compares
 * fold away wherever the channel is a constant.
 */
const sentWord = (channel: Channel): number => (channel === 'request' ? 0 : channel === 'response' ? 2 : 4);
const REQUEST_FLOW_CONTROL = 1;

export const CONTROL_FILE_SIZE = 24;

export class ControlFile {
  private readonly words: Int32Array;
  private mapped = true;

  private constructor(
    private readonly map: Mapping,
    readonly path: string,
  ) {
    this.words = new Int32Array(map.buffer, 0, CONTROL_FILE_SIZE >> 2);
  }

  /** @internal the mapping, for a native answer that keeps the counters itself */
  get mapping(): Mapping {
    return this.map;
  }

  /** Server side: create it (O_EXCL, 0600, zeroed) and give it to the client's uid. */
  static create(path: string, owner: { uid: number; gid: number }): ControlFile {
    const fd = openSync(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR | fsc.O_TRUNC, 0o600);
    try {
      ownShmPath(path);
      ftruncateSync(fd, CONTROL_FILE_SIZE);
      try {
        fchownSync(fd, owner.uid, owner.gid);
      } catch {
        // Not root: only clients of our own uid can use it, as with libqb.
      }
      const m = native().mmap(fd, CONTROL_FILE_SIZE, false);
      if (typeof m === 'number') throw IpcError.fromErrno(m, 'mmap control file');
      return new ControlFile(m, path);
    } catch (e) {
      removeShmPath(path);
      throw e;
    } finally {
      closeSync(fd);
    }
  }

  /** Client side: map the file the server named, once it passed the peer file checks. */
  static open(path: string, rules: PeerFileRules): ControlFile {
    const fd = openPeerFile(path, 'control file', rules, (s) => s === CONTROL_FILE_SIZE, `${CONTROL_FILE_SIZE} bytes`);
    try {
      const m = native().mmap(fd, CONTROL_FILE_SIZE, false);
      if (typeof m === 'number') throw IpcError.fromErrno(m, `mmap ${path}`);
      return new ControlFile(m, path);
    } finally {
      closePeerFile(fd);
    }
  }

  // One call per batch where a batch is known (a sendmmsg's frames, a wake-up's datagrams):
  // each is a call into V8's Atomics builtin, ~115 instructions (callgrind), where a 64-byte cpg
  // message in a burst costs ~9k on the loop thread.

  /** The writer of `channel` sent `n` frames. */
  sent(channel: Channel, n = 1): void {
    Atomics.add(this.words, sentWord(channel), n);
  }

  /** The reader of `channel` took `n` frames. */
  taken(channel: Channel, n = 1): void {
    Atomics.sub(this.words, sentWord(channel), n);
  }

  // The two reads below are plain loads, as the shm ring's counts (shm.ts checkSurplus): one
  // aligned word each, nothing read in an order against it. Atomics.load is a builtin call in V8
  // (~140 instructions); these ran two or three times per socket GET (callgrind: ~370 of ~10.3k).

  /** Frames sent on `channel` and not taken yet, by the counter (a hint: the peer keeps it). */
  queued(channel: Channel): number {
    return this.words[sentWord(channel)]!;
  }

  /** Where `channel`'s counter is, for the addon to read (FdWatch's budget). */
  counterWord(channel: Channel): { mapping: Mapping; offset: number } {
    return { mapping: this.map, offset: 4 * sentWord(channel) };
  }

  /** 0 = go; 1 stops libqb clients (EAGAIN); 2 stops only those that raised fc_enable_max (cpg). */
  get flowControl(): number {
    return this.words[REQUEST_FLOW_CONTROL]!;
  }

  set flowControl(level: number) {
    Atomics.store(this.words, REQUEST_FLOW_CONTROL, level);
  }

  /** Unmap it, and remove the file when `remove` (both sides do: whoever is first wins). Idempotent. */
  close(remove: boolean): void {
    if (!this.mapped) return;
    this.mapped = false;
    native().munmap(this.map);
    if (remove) removeShmPath(this.path);
  }
}
