// libqb ring buffer (ringbuffer.c) over files in /dev/shm: header file with the
// shared struct + a glibc process-shared semaphore, data file mapped twice back to
// back so a chunk that wraps past the end reads and writes contiguously.
import { closeSync, constants as fsc, ftruncateSync, fchownSync, openSync } from 'node:fs';
import { Errno } from '@corosync-ts/types';
import { IpcError } from './errors.js';
import { POOLED_MAX, copyFrame, framePool, native, poolView, type Mapping, type RingWriterHandle, type WaiterHandle } from './native.js';
import { assertShmPath, closePeerFile, openPeerFile, ownShmPath, removeShmPath, type PeerFileRules } from './peerfile.js';
import { EVENT_INTO_HEAD, type EventInto } from './transport.js';

const OFF_WRITE_PT = 0;
const OFF_READ_PT = 4;
const OFF_WORD_SIZE = 8;
const OFF_HDR_PATH = 12;
const OFF_DATA_PATH = 4108;
const OFF_REF_COUNT = 8204;
const OFF_SEM = 8208;
/** Request ring only: the flow-control flag (same meaning as the socket control file). */
const OFF_USER_DATA = 8240;
const PATH_MAX = 4096;
const HEADER_SIZE = 8248;
const HEADER_FILE_SIZE = HEADER_SIZE + 4;
const PAGE = 4096;

const MAGIC_COMMITTED = 0xa1a1a1a1 | 0;
const MAGIC_ALLOC = 0xa110ced0 | 0;
const MAGIC_DEAD = 0xd0d0d0d0 | 0;
/** QB_RB_CHUNK_MARGIN: two header words plus one so that full and empty differ. */
const CHUNK_MARGIN = 12;

/** The header file of the ring a server named `base` (2.0.6 clients still accept the relative names of libqb <= 1.0.3 servers). */
export function ringHeaderPath(base: string): string {
  return assertShmPath(base.includes('/') ? `${base}-header` : `/dev/shm/qb-${base}-header`, 'ring header');
}

export function ringDataSize(maxMsgSize: number, page = PAGE): number {
  return Math.ceil((maxMsgSize + 13) / page) * page;
}

// Shared by every ring: how many SIGBUS faults the addon has absorbed (see ipc.c). A ring
// compares it with what it saw before, one load per access instead of a native call.
let sigbusFaults: Int32Array | undefined;

// ringWrite's outcomes (ipc.c): nothing written; published and rung; published, the doorbell
// byte not sent; committed unposted while a SIGBUS was absorbed somewhere.
const RW_NOT_WRITTEN = 0;
const RW_DONE = 1;
const RW_UNRUNG = 2;
const RW_FAULTED = 3;
/** RW_DONE, and the reply's token taken with its chunk read (writeRung's `replies`). */
const RW_ANSWERED = 4;

/** readPooled()'s slots for readMany: one chunk and the stop reason. */
const ONE_SLOT = new Int32Array(4);

function cString(bytes: Uint8Array, off: number, max: number): string {
  const view = bytes.subarray(off, off + max);
  const nul = view.indexOf(0);
  if (nul < 0) throw new IpcError('EBADMSG', 'ring header path is not NUL-terminated');
  return Buffer.from(view.subarray(0, nul)).toString('utf8');
}

function mapOrThrow(fd: number, len: number, double: boolean, what: string): Mapping {
  const m = native().mmap(fd, len, double);
  if (typeof m === 'number') throw IpcError.fromErrno(m, `mmap ${what}`);
  return m;
}

export class Ring {
  private readonly hdr: Int32Array;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  readonly wordSize: number;
  private closed = false;

  private constructor(
    private readonly hdrMap: Mapping,
    private readonly dataMap: Mapping,
    readonly hdrPath: string,
    readonly dataPath: string,
  ) {
    this.hdr = new Int32Array(hdrMap.buffer, 0, HEADER_FILE_SIZE >> 2);
    this.wordSize = this.hdr[OFF_WORD_SIZE >> 2]! >>> 0;
    this.words = new Int32Array(dataMap.buffer);
    this.bytes = new Uint8Array(dataMap.buffer);
    sigbusFaults ??= new Int32Array(native().sigbusCounter(), 0, 1);
    this.faultsSeen = Atomics.load(sigbusFaults, 0);
  }

  private faultsSeen: number;

  /**
   * After touching the mappings: if the addon absorbed a SIGBUS (the peer truncated a
   * file under us) and it was in one of ours, what we read or wrote was zero pages.
   */
  private checkFaults(): void {
    const now = Atomics.load(sigbusFaults!, 0);
    if (now === this.faultsSeen) return;
    this.faultsSeen = now;
    const n = native();
    if (n.mappingFaulted(this.hdrMap) || n.mappingFaulted(this.dataMap)) {
      throw new IpcError('EBADMSG', `ring ${this.hdrPath}: a ring file was truncated under us (SIGBUS absorbed)`);
    }
  }

  /** write_pt and read_pt, both checked to lie inside the ring. */
  private pointers(): [number, number] {
    const w = Atomics.load(this.hdr, OFF_WRITE_PT >> 2) >>> 0;
    const r = Atomics.load(this.hdr, OFF_READ_PT >> 2) >>> 0;
    if (w >= this.wordSize || r >= this.wordSize) {
      throw new IpcError('EBADMSG', `ring ${this.hdrPath}: write pointer ${w} or read pointer ${r} outside its ${this.wordSize} words`);
    }
    return [w, r];
  }

  /**
   * Server side: create `<base>-header` / `<base>-data` (O_EXCL, 0600). With `owner` (a server
   * connection's ring) they are given to the client and removed with this thread's env if it
   * ends first (ownShmPath).
   */
  static create(base: string, maxMsgSize: number, owner?: { uid: number; gid: number }): Ring {
    const n = native();
    const hdrPath = `${base}-header`;
    const dataPath = `${base}-data`;
    const size = ringDataSize(maxMsgSize);
    const flags = fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR | fsc.O_TRUNC;
    let hdrMap: Mapping | undefined;
    let dataMap: Mapping | undefined;
    const fds: number[] = [];
    try {
      const hfd = openSync(hdrPath, flags, 0o600);
      fds.push(hfd);
      if (owner) ownShmPath(hdrPath);
      const dfd = openSync(dataPath, flags, 0o600);
      fds.push(dfd);
      if (owner) ownShmPath(dataPath);
      for (const [fd, len] of [[hfd, HEADER_FILE_SIZE], [dfd, size]] as const) {
        ftruncateSync(fd, len);
        // Reserve tmpfs pages now: a full /dev/shm then fails here, not as SIGBUS later.
        const r = n.fallocate(fd, len);
        if (r < 0) throw IpcError.fromErrno(r, `fallocate ${len} bytes in /dev/shm`);
        if (owner) {
          try {
            fchownSync(fd, owner.uid, owner.gid);
          } catch {
            // Not root: the client can still open the files if it runs as our uid.
          }
        }
      }
      hdrMap = mapOrThrow(hfd, HEADER_FILE_SIZE, false, hdrPath);
      dataMap = mapOrThrow(dfd, size, true, dataPath);
      const hb = new Uint8Array(hdrMap.buffer);
      const hv = new DataView(hdrMap.buffer);
      hv.setUint32(OFF_WORD_SIZE, size / 4, true);
      const hp = Buffer.from(hdrPath, 'utf8');
      const dp = Buffer.from(dataPath, 'utf8');
      if (hp.length >= PATH_MAX || dp.length >= PATH_MAX) throw new IpcError('ENAMETOOLONG', 'ring path too long');
      hb.set(hp, OFF_HDR_PATH);
      hb.set(dp, OFF_DATA_PATH);
      hv.setInt32(OFF_REF_COUNT, 1, true);
      const r = n.semInit(hdrMap.buffer, OFF_SEM);
      if (r < 0) throw IpcError.fromErrno(r, 'sem_init');
      const ring = new Ring(hdrMap, dataMap, hdrPath, dataPath);
      return ring;
    } catch (e) {
      if (hdrMap) n.munmap(hdrMap);
      if (dataMap) n.munmap(dataMap);
      for (const p of [hdrPath, dataPath]) removeShmPath(p);
      throw e;
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /**
   * Client side: open a ring the server created and take a reference on it. Every file
   * is checked (openPeerFile) before it is mapped, and the data file must be exactly the
   * size its header announces, which must fit `maxMsgSize` as libqb computes it.
   */
  static open(base: string, maxMsgSize: number, rules: PeerFileRules): Ring {
    const n = native();
    const hdrPath = ringHeaderPath(base);
    let hdrMap: Mapping | undefined;
    let hfd = -1;
    let dfd = -1;
    try {
      // libqb servers make it 8252 bytes; a libqb client truncates response and event headers to 8248.
      hfd = openPeerFile(hdrPath, 'ring header', rules, (s) => s === HEADER_SIZE || s === HEADER_FILE_SIZE, `${HEADER_SIZE} or ${HEADER_FILE_SIZE}`);
      hdrMap = mapOrThrow(hfd, HEADER_FILE_SIZE, false, hdrPath);
      const hb = new Uint8Array(hdrMap.buffer);
      const wordSize = new DataView(hdrMap.buffer).getUint32(OFF_WORD_SIZE, true);
      const dataPath = assertShmPath(cString(hb, OFF_DATA_PATH, PATH_MAX), 'ring data');
      const size = wordSize * 4;
      // ROUNDUP(max + 13, page size): 4 KiB here, up to 64 KiB pages elsewhere.
      if (size % PAGE !== 0 || size < ringDataSize(maxMsgSize) || size > ringDataSize(maxMsgSize, 65536)) {
        throw new IpcError('EBADMSG', `${hdrPath}: ring of ${wordSize} words does not match the negotiated maximum message size ${maxMsgSize}`);
      }
      dfd = openPeerFile(dataPath, 'ring data', rules, (s) => s === size, `the ${size} bytes its header announces`);
      const dataMap = mapOrThrow(dfd, size, true, dataPath);
      const ring = new Ring(hdrMap, dataMap, hdrPath, dataPath);
      Atomics.add(ring.hdr, OFF_REF_COUNT >> 2, 1);
      return ring;
    } catch (e) {
      if (hdrMap) n.munmap(hdrMap);
      throw e instanceof IpcError ? e : IpcError.fromErrno(-Math.abs((e as NodeJS.ErrnoException).errno ?? Errno.EIO) || -Errno.EIO, `open ring ${hdrPath}: ${(e as Error).message}`);
    } finally {
      if (hfd >= 0) closePeerFile(hfd);
      if (dfd >= 0) closePeerFile(dfd);
    }
  }

  // The reference count and the flow-control word are read once per request, each a lone word
  // nothing else is read against: a plain load (aligned, so whole, and fresh, a native call
  // between any two) sees what an Atomics.load would, without its builtin call (~140
  // instructions, twice per request).
  get refCount(): number {
    return this.closed ? 0 : this.hdr[OFF_REF_COUNT >> 2]!;
  }

  /** @internal the header and data mappings (a native answer writes and reads the ring itself) */
  get mappings(): [Mapping, Mapping] {
    return [this.hdrMap, this.dataMap];
  }

  /** @internal where the header's semaphore is */
  static get semOffset(): number {
    return OFF_SEM;
  }

  get userData(): number {
    return this.closed ? 0 : this.hdr[OFF_USER_DATA >> 2]!;
  }

  set userData(v: number) {
    if (!this.closed) Atomics.store(this.hdr, OFF_USER_DATA >> 2, v);
  }

  get semBuffer(): ArrayBuffer {
    return this.hdrMap.buffer;
  }

  static readonly SEM_OFFSET = OFF_SEM;

  private semValue(): number {
    return Atomics.load(this.hdr, OFF_SEM >> 2);
  }

  /** qb_rb_space_free, in bytes. */
  spaceFree(): number {
    const [w, r] = this.pointers();
    return this.freeWords(w, r) * 4;
  }

  /** qb_rb_space_free in words, for write and read pointers read once by the caller. */
  private freeWords(w: number, r: number): number {
    let words: number;
    if (w > r) words = r - w + this.wordSize - 1;
    else if (w < r) words = r - w - 1;
    else words = this.semValue() > 0 ? 0 : this.wordSize;
    return words;
  }

  /** Whether a frame of this length could ever fit (only into an empty ring). */
  fits(len: number): boolean {
    return len + CHUNK_MARGIN <= (this.wordSize - 1) * 4;
  }

  private next(w: number, len: number): number {
    let n = w + 2 + (len >>> 2) + (len & 3 ? 1 : 0);
    if (n > this.wordSize - 1) n %= this.wordSize;
    return n;
  }

  /**
   * Set once write() found the ring corrupt (pointers outside it) or a file truncated
   * under it: the ring is unusable and its connection must end.
   */
  failure: IpcError | undefined;

  /**
   * Publish one chunk and post the semaphore (unless `post` is false: then postDue() does).
   * Returns false (nothing written) when the ring lacks space, and the caller retries once the
   * reader has reclaimed; or when the ring is broken (`failure`), which no retry will mend.
   * Never throws for what the peer did to the ring, so a retry loop or a server's respond()
   * cannot be made to throw by a hostile peer.
   */
  write(frame: Uint8Array, post = true, body?: Uint8Array): boolean {
    if (this.closed || this.failure) return false;
    try {
      return this.writeChunk(frame, post, body);
    } catch (e) {
      this.failure = e instanceof IpcError ? e : new IpcError('EBADMSG', String(e));
      return false;
    }
  }

  /**
   * Chunks written with write(frame, false): committed in the ring, their semaphore posts still
   * due (postDue). A libqb reader takes chunks only against tokens, in ring order: until the post
   * such a chunk is, to it, one whose writer has not finished yet.
   */
  unposted = 0;

  /** Post the semaphore for every chunk write(frame, false) left unposted. False once the ring is broken (`failure`). */
  postDue(): boolean {
    if (this.closed || this.failure) return false;
    const n = native();
    for (; this.unposted > 0; this.unposted--) {
      const r = n.semPost(this.hdrMap.buffer, OFF_SEM);
      if (r < 0) {
        this.failure = IpcError.fromErrno(r, 'sem_post');
        return false;
      }
    }
    return true;
  }

  /**
   * With `body`, the chunk is `frame` then `body`, each copied once into the ring (libqb's
   * qb_rb_chunk_alloc, then one memcpy per iovec): a frame that runs past the ring's end
   * continues at its start through the second mapping, as a libqb reader reads it.
   */
  private writeChunk(frame: Uint8Array, post: boolean, body: Uint8Array | undefined): boolean {
    const len = frame.length + (body === undefined ? 0 : body.length);
    // One read of the pointers for the room and the write (each Atomics.load is a builtin call);
    // the reader only moves read_pt on, which can only add room.
    const [w, r] = this.pointers();
    if (this.freeWords(w, r) * 4 < len + CHUNK_MARGIN) {
      this.checkFaults();
      return false;
    }
    const ws = this.wordSize;
    const magicIdx = (w + 1) % ws;
    this.words[w] = 0;
    Atomics.store(this.words, magicIdx, MAGIC_ALLOC);
    const at = ((w + 2) % ws) * 4;
    this.bytes.set(frame, at);
    if (body !== undefined) this.bytes.set(body, at + frame.length);
    this.words[w] = len;
    Atomics.store(this.hdr, OFF_WRITE_PT >> 2, this.next(w, len));
    Atomics.store(this.words, magicIdx, MAGIC_COMMITTED);
    this.checkFaults();
    if (!post) {
      this.unposted++;
      return true;
    }
    const posted = native().semPost(this.hdrMap.buffer, OFF_SEM);
    if (posted < 0) throw IpcError.fromErrno(posted, 'sem_post');
    return true;
  }

  /** This ring's mappings and semaphore as writeRung's native call takes them, registered at its first call (native ringWriter). */
  private writer: RingWriterHandle | undefined;

  /**
   * write(frame) and the chunk's doorbell byte on `doorbellFd` in one native call (ringWrite),
   * where write() and the doorbell's send were two, plus seven Atomics builtin calls for the
   * pointers, the commit and the fault check (callgrind: ~1.5k of a shm GET's instructions).
   * 1: published and rung. 0: published, its doorbell byte still to send. -1: nothing written,
   * or the ring broke (`failure`): write(frame) then does what it does for that ring (no room:
   * false; broken: false with the same `failure` as its own checks give).
   * With `replies` (the response ring, its waiter registered by a waitTake): 2, published and
   * rung, and a reply was published already; its token is the caller's and replies.readPooled()
   * reads it, as after a waitTake that took one.
   */
  writeRung(frame: Uint8Array, doorbellFd: number, replies?: Ring): number {
    if (this.closed || this.failure) return -1;
    const n = native();
    const writer = (this.writer ??= n.ringWriter(this.hdrMap, OFF_SEM, this.dataMap));
    // A chunk read with a token and not yet taken by readPooled() is at the pool's end: a second
    // read there would overwrite it.
    const w = replies === undefined || replies.closed || replies.ready !== undefined ? undefined : replies.waiter;
    const r = w === undefined ? n.ringWrite(writer, frame, doorbellFd) : n.ringWrite(writer, frame, doorbellFd, w, framePool.buffer, framePool.used);
    if (r === RW_ANSWERED) {
      replies!.readWithToken(framePool.buffer);
      return 2;
    }
    if (r === RW_DONE) return 1;
    if (r === RW_UNRUNG) return 0;
    if (r === RW_NOT_WRITTEN) return -1;
    try {
      // A fault in another mapping moved the shared counter: this chunk is whole, post it.
      if (r === RW_FAULTED) this.checkFaults();
      const posted = r === RW_FAULTED ? native().semPost(this.hdrMap.buffer, OFF_SEM) : r;
      if (posted < 0) throw IpcError.fromErrno(posted, 'sem_post');
      return 0;
    } catch (e) {
      this.failure = e as IpcError;
      return -1;
    }
  }

  /** sem_trywait: true when a published chunk was there and its token is now ours. */
  tryTake(): boolean {
    return !this.closed && native().semTryWait(this.hdrMap.buffer, OFF_SEM) === 0;
  }

  /** Take up to `max` tokens in one call; how many were taken (each one a chunk to read). */
  takeMany(max: number): number {
    if (this.closed) return 0;
    const r = native().semTakeMany(this.hdrMap.buffer, OFF_SEM, max);
    if (r < 0) throw IpcError.fromErrno(r, 'sem_trywait');
    return r;
  }

  /**
   * read() for up to `max` chunks in one native call (the caller owns their tokens): chunk i
   * becomes framePool.slab.subarray(slots[2i], slots[2i] + slots[2i + 1]), carved from the pool
   * like read()'s copies. Returns how many were read; fewer than `max` when the next chunk does
   * not fit the slab's free part, is longer than the pool takes (POOLED_MAX) or fails a check:
   * it is then still in the ring, and read() takes it (a fresh slab, or a buffer of its own) or
   * throws read()'s error for it. `slots` holds 2 * max + 2 entries.
   */
  readMany(slots: Int32Array, max: number): number {
    if (this.closed) throw new IpcError('ENOTCONN', 'ring closed');
    const n = native().ringReadMany(this.hdrMap.buffer, this.dataMap.buffer, framePool.slab, framePool.used, slots, max, POOLED_MAX);
    if (n > 0) framePool.used = Math.min((slots[2 * n - 2]! + slots[2 * n - 1]! + 7) & ~7, framePool.slab.length);
    return n;
  }

  /** The waiter this ring is registered with (native waiterRing): waitTake's reads go through it. */
  private waiter: WaiterHandle | undefined;

  /** The chunk at read_pt, read by waitTake with its token: what the next readPooled() returns. */
  private ready: Uint8Array | undefined;

  /**
   * The semaphore waiter `w`'s tokens, up to `max`, sleeping at most `ns` for the first (native
   * waiterWaitTake); the first chunk is read in the same crossing, as readPooled() would read it,
   * and the next readPooled() returns it: the caller owns the tokens taken and reads that many.
   * A chunk the read leaves (a fresh slab needed, or failing a check) readPooled() takes itself.
   */
  waitTake(w: WaiterHandle, max: number, ns: number): number {
    // Closed, or a chunk read with a token (writeRung's) still to be taken by readPooled(): take
    // tokens only, and readPooled() reads their chunks after it.
    if (this.closed || this.ready !== undefined) return native().waiterWaitTake(w, max, ns);
    if (this.waiter !== w) {
      native().waiterRing(w, this.dataMap, ONE_SLOT, POOLED_MAX);
      this.waiter = w;
    }
    const buffer = framePool.buffer;
    const got = native().waiterWaitTake(w, max, ns, buffer, framePool.used);
    if (got > 0) this.readWithToken(buffer);
    return got;
  }

  /** The chunk the addon read with its token into `buffer` (the pool's), if it did: what the next readPooled() returns. */
  private readWithToken(buffer: ArrayBuffer): void {
    if (ONE_SLOT[2] !== 0) return;
    const at = ONE_SLOT[0]!;
    const len = ONE_SLOT[1]!;
    framePool.used = Math.min((at + len + 7) & ~7, framePool.slab.length);
    // poolView() without its `slab.buffer`.
    this.ready = new Uint8Array(buffer, at, len);
  }

  /**
   * read() for a chunk the pool takes: one native call (readMany) in place of read()'s pointer
   * checks, copy and reclaim in JavaScript, whose Atomics are each a builtin call (callgrind: a
   * GET answer's read() was ~3.5k instructions on the loop thread, the native call under 1k).
   * A chunk readMany leaves (a fresh slab needed, above POOLED_MAX, or failing a check) goes
   * through read(), which takes it or throws its error.
   */
  readPooled(): Uint8Array {
    const ready = this.ready;
    if (ready !== undefined) {
      this.ready = undefined;
      return ready;
    }
    if (this.readMany(ONE_SLOT, 1) === 0) return this.read();
    const at = ONE_SLOT[0]!;
    return poolView(framePool.slab, at, ONE_SLOT[1]!);
  }

  /**
   * The chunk at read_pt, checked: its word index and length. It must be committed and lie
   * wholly in what the writer has published (read_pt up to write_pt).
   */
  private chunk(): [number, number] {
    if (this.closed) throw new IpcError('ENOTCONN', 'ring closed');
    const ws = this.wordSize;
    const [w, r] = this.pointers();
    if (Atomics.load(this.words, (r + 1) % ws) !== MAGIC_COMMITTED) {
      this.checkFaults();
      throw new IpcError('EBADMSG', 'ring chunk not committed');
    }
    const len = this.words[r]! >>> 0;
    const published = (w - r + ws) % ws;
    if (len > (ws - 3) * 4 || 2 + Math.ceil(len / 4) > published) {
      throw new IpcError('EBADMSG', `ring chunk length ${len} at word ${r} runs past the published part of the ring (${published} words)`);
    }
    return [r, len];
  }

  /** Hands the chunk of `len` bytes at word `r` back to the writer (moves read_pt past it). */
  private reclaim(r: number, len: number): void {
    this.words[r] = 0;
    Atomics.store(this.words, (r + 1) % this.wordSize, MAGIC_DEAD);
    Atomics.store(this.hdr, OFF_READ_PT >> 2, this.next(r, len));
  }

  /**
   * Copy out and reclaim the chunk at read_pt. The caller must already own its
   * semaphore token (tryTake or the waiter thread). A chunk above POOLED_MAX goes where `into`
   * says (ConnectOptions.eventInto), else into `lend` when given (the result is then a view of
   * it), else into a buffer of its own.
   */
  read(lend?: Uint8Array, into?: EventInto): Uint8Array {
    const [r, len] = this.chunk();
    const start = ((r + 2) % this.wordSize) * 4;
    return this.copyOut(r, start, len, this.askInto(start, len, into), lend);
  }

  /** The chunk borrow() lent and giveBack() reclaims: its word index (-1: none) and length. */
  private lentAt = -1;
  private lentLen = 0;

  /**
   * read() without the copy for a chunk above POOLED_MAX that `into` does not take: a view of
   * the chunk in the ring itself (the data is mapped twice back to back, so one that wraps past
   * the ring's end is contiguous), left unreclaimed until giveBack(). Until then read_pt stays
   * before it, so a writer that keeps libqb's rules never writes over it; nothing else may read
   * this ring meanwhile (the chunk is still at read_pt). Once the ring is closed the view is
   * detached (empty), never unmapped memory. The caller owns the chunk's token and calls
   * giveBack() after its last use of the view, even when that use threw.
   */
  borrow(into?: EventInto): Uint8Array {
    const [r, len] = this.chunk();
    const start = ((r + 2) % this.wordSize) * 4;
    const target = this.askInto(start, len, into);
    if (len <= POOLED_MAX || target !== undefined) return this.copyOut(r, start, len, target);
    this.checkFaults();
    this.lentAt = r;
    this.lentLen = len;
    return this.bytes.subarray(start, start + len);
  }

  /** eventInto's buffer for a chunk above POOLED_MAX starting at byte `start`, when it gives one of the chunk's length. */
  private askInto(start: number, len: number, into: EventInto | undefined): Uint8Array | undefined {
    if (into === undefined || len <= POOLED_MAX) return undefined;
    const target = into(this.bytes.subarray(start, start + Math.min(len, EVENT_INTO_HEAD)), len);
    return target !== undefined && target.length === len ? target : undefined;
  }

  /** Copies the chunk at word `r` (its bytes at `start`) into `target`, else `lend`, else a buffer of its own, and reclaims it. */
  private copyOut(r: number, start: number, len: number, target: Uint8Array | undefined, lend?: Uint8Array): Uint8Array {
    let out: Uint8Array;
    if (target !== undefined) {
      out = target;
      out.set(this.bytes.subarray(start, start + len));
    } else if (lend !== undefined && len > POOLED_MAX && len <= lend.length) {
      out = lend.subarray(0, len);
      out.set(this.bytes.subarray(start, start + len));
    } else out = copyFrame(this.bytes, start, len, this.words);
    this.checkFaults();
    this.reclaim(r, len);
    return out;
  }

  /**
   * Reclaims what borrow() lent, if anything. Throws EBADMSG when a ring file was truncated
   * meanwhile (what was read through the view may have been the addon's zero pages).
   */
  giveBack(): void {
    const r = this.lentAt;
    if (r < 0) return;
    this.lentAt = -1;
    if (this.closed) return;
    // The length borrow() checked, not the word in the ring, which the writer could have changed.
    this.reclaim(r, this.lentLen);
    this.checkFaults();
  }

  /** Client close: drop our reference; `unlinkFiles` when the server is known dead. */
  close(unlinkFiles = false): void {
    if (this.closed) return;
    Atomics.sub(this.hdr, OFF_REF_COUNT >> 2, 1);
    this.release(unlinkFiles);
  }

  /** Server close: like qb_rb_close for the creator (ref_count 1 then --), then unlink. */
  destroy(): void {
    if (this.closed) return;
    Atomics.store(this.hdr, OFF_REF_COUNT >> 2, 1);
    Atomics.sub(this.hdr, OFF_REF_COUNT >> 2, 1);
    this.release(true);
  }

  private release(unlinkFiles: boolean): void {
    this.closed = true;
    const n = native();
    n.munmap(this.hdrMap);
    n.munmap(this.dataMap);
    if (unlinkFiles) for (const p of [this.hdrPath, this.dataPath]) removeShmPath(p);
  }
}
