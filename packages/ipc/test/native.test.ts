// The addon's own contract, for the paths that used to touch freed memory or wrap lengths
// (issue 9, item 9). Run under AddressSanitizer + UBSan by `pnpm test:asan`, where a
// use-after-free aborts the worker instead of passing by luck.
import { closeSync, ftruncateSync, linkSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { run } from '@corosync-ts/nstest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native, type Mapping, type Pinned, type PollHandle, type WaiterHandle } from '../src/native.js';
import { until } from './helpers.js';

const n = native();
const EINVAL = -22;
const ENOTCONN = -107;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync('/dev/shm/cts-native-test-');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, size: number): number {
  const fd = openSync(`${dir}/${name}`, 'w+');
  ftruncateSync(fd, size);
  return fd;
}

function mapping(fd: number, len: number, dbl = false): Mapping {
  const m = n.mmap(fd, len, dbl);
  if (typeof m === 'number') throw new Error(`mmap: ${m}`);
  return m;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Let the loop turn (uv close callbacks, threadsafe-function finalizers). */
const turns = async (k = 5) => {
  for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
};

/** Two datagram sockets, tx connected to rx (bound to an abstract name made of tag), and tx bound too if asked. */
function dgramPair(tag: string, bindTx = false): { rx: number; tx: number } {
  const name = `cts-native-${tag}-${process.pid}`;
  const rx = n.socket(1);
  const tx = n.socket(1);
  expect(n.bind(rx, `${name}-rx`)).toBe(0);
  if (bindTx) expect(n.bind(tx, `${name}-tx`)).toBe(0);
  expect(n.connect(tx, `${name}-rx`)).toBe(0);
  return { rx, tx };
}

describe('mappings', () => {
  it('munmap detaches the buffer, and a second munmap, after the buffer\'s finalizer ran, is harmless', async () => {
    const fd = file('a', 4096);
    const m = mapping(fd, 4096);
    closeSync(fd);
    new Uint8Array(m.buffer)[0] = 1;
    expect(n.munmap(m)).toBe(0);
    expect(m.buffer.byteLength).toBe(0);
    // The detached backing store goes at the next collection, and its finalizer with it.
    gc();
    await turns();
    expect(n.munmap(m)).toBe(0);
    expect(n.mappingFaulted(m)).toBe(0);
  });

  it('takes lengths beyond 32 bits and refuses negative, fractional or absurd ones', () => {
    const fd = file('b', 4096);
    for (const bad of [-1, 0, 1.5, Number.NaN, 2 ** 53]) expect(n.mmap(fd, bad, false)).toBe(EINVAL);
    expect(n.mmap(fd, 2 ** 52, true)).toBeLessThan(0); // ENOMEM, not a wrapped small mapping
    // 2 GiB + 4 KiB used to wrap to a negative int32 (EINVAL): beyond 4 GiB, a wrapped
    // length would have mapped a few pages instead of what was asked.
    const big = mapping(fd, 2 ** 31 + 4096);
    expect(big.buffer.byteLength).toBe(2 ** 31 + 4096);
    n.munmap(big);
    // Past what an ArrayBuffer may hold here: refused with an errno, nothing left mapped.
    const huge = n.mmap(fd, 2 ** 33, false);
    if (typeof huge !== 'number') {
      expect(huge.buffer.byteLength).toBe(2 ** 33);
      n.munmap(huge);
    } else {
      expect(huge).toBe(-12);
    }
    for (const bad of [-1, 0, 0.5, 2 ** 53]) expect(n.fallocate(fd, bad)).toBe(EINVAL);
    expect(n.fallocate(fd, 8192)).toBe(0);
    closeSync(fd);
  });

  it('survives a file truncated under its mapping: zeros instead of SIGBUS, and says so', () => {
    const counter = new Int32Array(n.sigbusCounter(), 0, 1);
    const fd = file('c', 8192);
    const m = mapping(fd, 8192, true);
    const words = new Int32Array(m.buffer);
    words[2048] = 42;
    ftruncateSync(fd, 0);
    closeSync(fd);
    const before = Atomics.load(counter, 0);
    expect(words[2048]).toBe(0);
    expect(Atomics.load(counter, 0)).toBe(before + 1);
    expect(n.mappingFaulted(m)).toBe(1);
    words[5] = 7; // writes go to private zero pages now, not to any file
    expect(Atomics.load(counter, 0)).toBe(before + 1);
    expect(n.munmap(m)).toBe(1);
  });

  it('leaves a SIGBUS that is not about our mappings fatal, as before', async () => {
    const addon = process.env.COROSYNC_TS_IPC_ADDON || new URL('../native/build/Release/corosync_ts_ipc.node', import.meta.url).pathname;
    const script = `
      const n = require(${JSON.stringify(addon)});
      const fs = require('node:fs');
      const fd = fs.openSync(${JSON.stringify(`${dir}/d`)}, 'w+');
      fs.ftruncateSync(fd, 4096);
      n.mmap(fd, 4096, false); // installs the handler
      process.kill(process.pid, 'SIGBUS');
      setTimeout(() => {}, 1000);
    `;
    const r = await run([process.execPath, '-e', script], { timeout: 60_000 });
    expect(r.signal, r.stderr).toBe('SIGBUS');
  });
});

describe('handles used after their native side finished', () => {
  it('a poller closed (and its close callback run) refuses further calls instead of touching freed memory', async () => {
    const fd = n.socket(1);
    const p = n.poll(fd, () => {}) as PollHandle;
    expect(n.pollStart(p, 1)).toBe(0);
    expect(n.pollClose(p)).toBe(0);
    await turns();
    expect(n.pollClose(p)).toBe(0);
    expect(() => n.pollStart(p, 1)).toThrow(/already closed/);
    n.close(fd);
  });

  it('a semaphore waiter whose thread has ended answers calls without touching freed memory', async () => {
    const fd = file('e', 4096);
    const m = mapping(fd, 4096);
    closeSync(fd);
    expect(n.semInit(m.buffer, 0)).toBe(0);
    const seen: number[] = [];
    const w = n.semWaiter(m.buffer, 0, (k) => seen.push(k)) as WaiterHandle;
    expect(n.waiterWant(w, 1)).toBe(0);
    expect(n.semPost(m.buffer, 0)).toBe(0);
    await until(() => seen.includes(1));
    expect(n.waiterStop(w)).toBe(0);
    await until(() => seen.includes(-1));
    await turns(); // the threadsafe function's finalizer (thread joined) runs on the loop
    expect(n.waiterWant(w, 1)).toBe(ENOTCONN);
    expect(n.waiterWaitTake(w, 1, 1000)).toBe(0);
    expect(n.waiterStop(w)).toBe(0);
    n.munmap(m);
  });
});

describe('pollDgram', () => {
  it('takes a backlog of datagrams larger than the spare room in one pass, as long as each next one fits', async () => {
    const { rx, tx } = dgramPair('dgram', true);
    n.setBufSize(tx, 1 << 20);
    const max = 100_000;
    // Room for one maximum-size datagram and 64 KiB more: 70,000-byte ones fit two at a time.
    const pa = n.pinned(max + 1 + 65536) as Pinned;
    const ps = n.pinned(128 * 4) as Pinned;
    const area = new Uint8Array(pa.buffer);
    const slots = new Int32Array(ps.buffer);
    const p = n.pollDgram(rx, () => {}, pa, ps, max, undefined) as PollHandle;
    expect(n.pollStart(p, 1)).toBe(0);
    for (let i = 0; i < 5; i++) expect(n.send(tx, new Uint8Array(70_000).fill(i + 1))).toBe(70_000);
    const got: number[] = [];
    for (let pass = 0; pass < 5 && got.length < 5; pass++) {
      const count = n.pollWait(p, 0);
      for (let i = 0; i < count; i++) {
        const [off, len] = [slots[2 * i]!, slots[2 * i + 1]!];
        expect(len).toBe(70_000);
        got.push(area[off]!);
        expect(area[off + len - 1]).toBe(area[off]);
      }
      // a pass takes what fits: the first two here, then the rest
      if (pass === 0) expect(count).toBe(2);
    }
    expect(got).toEqual([1, 2, 3, 4, 5]);
    n.pollClose(p);
    n.close(rx);
    n.close(tx);
    await turns();
  });
});

describe('pollDgram budget word', () => {
  /** A watcher whose budget is word 1 (byte 4) of a mapped file, as the socket client's event counter. */
  function counted(tag: string) {
    const { rx, tx } = dgramPair(tag);
    const fd = file(`${tag}-ctl`, 24);
    const m = mapping(fd, 24);
    closeSync(fd);
    const words = new Int32Array(m.buffer);
    const pa = n.pinned(1025) as Pinned;
    const ps = n.pinned(128 * 4) as Pinned;
    const slots = new Int32Array(ps.buffer);
    const p = n.pollDgram(rx, () => {}, pa, ps, 1024, undefined, m, 4) as PollHandle;
    const send = (k: number) => {
      for (let i = 0; i < k; i++) expect(n.send(tx, new Uint8Array(8 + i))).toBe(8 + i);
    };
    const close = async () => {
      n.pollClose(p);
      n.close(rx);
      n.close(tx);
      n.munmap(m);
      await turns();
    };
    return { m, words, slots, p, send, close };
  }

  it('stops the batch at the count the word holds, read before every recv', async () => {
    const { words, slots, p, send, close } = counted('bw');
    send(3);
    words[1] = 2;
    expect(n.pollWait(p, 0)).toBe(2);
    expect([slots[1], slots[3]]).toEqual([8, 9]);
    // The reader lowers it per datagram taken (ControlFile.taken): 0 left counted, one still
    // queued (its sender's count not in yet) is read to EAGAIN, as without a word.
    words[1] = 0;
    expect(n.pollWait(p, 0)).toBe(1);
    expect(slots[1]).toBe(10);
    // A count above what is queued ends at EAGAIN, without an error slot.
    send(2);
    words[1] = 50;
    expect(n.pollWait(p, 0)).toBe(2);
    expect([slots[1], slots[3]]).toEqual([8, 9]);
    // A negative count (a hostile peer) is no budget either.
    send(2);
    words[1] = -5;
    expect(n.pollWait(p, 0)).toBe(2);
    // Nothing left: the budget never makes a recv block.
    words[1] = 3;
    expect(n.pollWait(p, 0)).toBe(0);
    await close();
  });

  it('reads to EAGAIN once the mapping is unmapped, and keeps what it needs alive', async () => {
    const { m, slots, p, send, close } = counted('bu');
    n.munmap(m);
    gc();
    await turns();
    send(2);
    expect(n.pollWait(p, 0)).toBe(2);
    expect([slots[1], slots[3]]).toEqual([8, 9]);
    await close();
  });

  it('refuses a word outside the mapping, unaligned, or in an unmapped one', () => {
    const fd = n.socket(1);
    const ctl = file('bad-ctl', 24);
    const m = mapping(ctl, 24);
    closeSync(ctl);
    const area = () => n.pinned(1025) as Pinned;
    const slots = () => n.pinned(128 * 4) as Pinned;
    for (const off of [22, 24, 2, -4, 1.5]) expect(() => n.pollDgram(fd, () => {}, area(), slots(), 1024, undefined, m, off)).toThrow(RangeError);
    expect(() => n.pollDgram(fd, () => {}, area(), slots(), 1024, undefined, { buffer: new ArrayBuffer(8), handle: {} }, 0)).toThrow(TypeError);
    n.munmap(m);
    expect(() => n.pollDgram(fd, () => {}, area(), slots(), 1024, undefined, m, 0)).toThrow(RangeError);
    n.close(fd);
  });
});

describe('pollInto', () => {
  it('peeks each datagram; one over the threshold ends the batch unread, its head and length reported; off reads as before', async () => {
    const { rx, tx } = dgramPair('pi');
    // an area of maxLen + 1 + room for a head (the layout dgramArea gives)
    const pa = n.pinned(1024 + 1 + 64) as Pinned;
    const ps = n.pinned(128 * 4) as Pinned;
    const area = new Uint8Array(pa.buffer);
    const slots = new Int32Array(ps.buffer);
    const p = n.pollDgram(rx, () => {}, pa, ps, 1024, undefined) as PollHandle;
    const dg = (len: number, fill: number) => expect(n.send(tx, new Uint8Array(len).fill(fill))).toBe(len);
    expect(n.pollInto(p, 100, 16)).toBe(0);
    dg(50, 1);
    dg(100, 2);
    dg(101, 3);
    dg(60, 4);
    // 50 and 100 received, 101 left queued: its offset -1 - where its head went
    expect(n.pollWait(p, 0)).toBe(3);
    expect([slots[0], slots[1], slots[2], slots[3]]).toEqual([0, 50, 56, 100]);
    expect(slots[4]).toBeLessThan(0);
    const at = -1 - slots[4]!;
    expect(slots[5]).toBe(101);
    expect([...area.subarray(at, at + 16)]).toEqual(Array(16).fill(3));
    const into = new Uint8Array(101);
    expect(n.recvDgramInto(rx, into)).toBe(101);
    expect(into.every((b) => b === 3)).toBe(true);
    expect(n.pollWait(p, 0)).toBe(1);
    expect(slots[1]).toBe(60);
    // one above maxLen is received (truncated, its real length reported) so that a broken peer
    // fails the connection instead of being peeked forever; an empty one is received too
    dg(2000, 5);
    expect(n.pollWait(p, 0)).toBe(1);
    expect(slots[1]).toBe(2000);
    dg(0, 0);
    expect(n.pollWait(p, 0)).toBe(1);
    expect([slots[0], slots[1]]).toEqual([0, 0]);
    // no room left for the next one: the batch ends before it
    for (let i = 0; i < 11; i++) dg(100, 6);
    expect(n.pollWait(p, 0)).toBe(10);
    expect(n.pollWait(p, 0)).toBe(1);
    // off: a datagram over the threshold is received into the area
    expect(n.pollInto(p, 0, 16)).toBe(0);
    dg(500, 7);
    expect(n.pollWait(p, 0)).toBe(1);
    expect([slots[0], slots[1]]).toEqual([0, 500]);
    for (const [min, head] of [[-1, 16], [100, 0], [100, 1026]]) expect(n.pollInto(p, min!, head!)).toBe(-22);
    n.pollClose(p);
    expect(() => n.pollInto(p, 100, 16)).toThrow(/already closed/);
    const plain = n.poll(rx, () => {}) as PollHandle;
    expect(n.pollInto(plain, 100, 16)).toBe(-22);
    n.pollClose(plain);
    n.close(rx);
    n.close(tx);
    await turns();
  });
});

describe('pollWait', () => {
  it('without the first recv (queued false) still takes what is queued, or what comes while it sleeps', async () => {
    const { rx, tx } = dgramPair('pw');
    const pa = n.pinned(1025) as Pinned;
    const ps = n.pinned(128 * 4) as Pinned;
    const slots = new Int32Array(ps.buffer);
    const p = n.pollDgram(rx, () => {}, pa, ps, 1024, undefined) as PollHandle;
    // Queued before the call: ppoll returns at once and the recv takes both.
    expect(n.send(tx, new Uint8Array(10))).toBe(10);
    expect(n.send(tx, new Uint8Array(20))).toBe(20);
    expect(n.pollWait(p, 1_000_000, false)).toBe(2);
    expect([slots[1], slots[3]]).toEqual([10, 20]);
    // Nothing queued and no time to wait: nothing, without a syscall that could block.
    expect(n.pollWait(p, 0, false)).toBe(0);
    // A hint that is wrong the other way (queued true, nothing there) costs the recv, then sleeps as asked.
    const t0 = process.hrtime.bigint();
    expect(n.pollWait(p, 200_000, true)).toBe(0);
    expect(Number(process.hrtime.bigint() - t0)).toBeGreaterThanOrEqual(180_000);
    expect(() => n.pollWait(p, 0, 1 as unknown as boolean)).toThrow(/expected a boolean/);
    n.pollClose(p);
    n.close(rx);
    n.close(tx);
    await turns();
  });
});

describe('pinned', () => {
  it('a watcher keeps receiving into its own memory after JS detached and dropped the area', async () => {
    const { rx, tx } = dgramPair('pinned');
    let pa: Pinned | undefined = n.pinned(1025) as Pinned;
    const ps = n.pinned(128 * 4) as Pinned;
    const slots = new Int32Array(ps.buffer);
    const p = n.pollDgram(rx, () => {}, pa, ps, 1024, undefined) as PollHandle;
    // ArrayBuffer.prototype.transfer (Node 22+) detaches it and hands its memory to a new
    // buffer, here dropped at once: then nothing of JS holds the memory any more. (Node copies
    // instead of transferring an addon's buffer through structuredClone or postMessage.)
    const ab = pa.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
    if (ab.transfer) {
      expect(ab.transfer().byteLength).toBe(1025);
      expect(ab.byteLength).toBe(0);
    }
    pa = undefined;
    for (let i = 0; i < 3; i++) {
      gc();
      await turns();
    }
    expect(n.send(tx, new Uint8Array(1000).fill(7))).toBe(1000);
    expect(n.pollWait(p, 1_000_000)).toBe(1);
    expect([slots[0], slots[1]]).toEqual([0, 1000]);
    n.pollClose(p);
    n.close(rx);
    n.close(tx);
    await turns();
  });

  it('pollDgram refuses what pinned() did not make (TypeError), or one too small (RangeError)', () => {
    const fd = n.socket(1);
    const slots = n.pinned(128 * 4) as Pinned;
    const bad = [new Uint8Array(2000), { buffer: new ArrayBuffer(2000), handle: {} }];
    for (const area of bad) expect(() => n.pollDgram(fd, () => {}, area as unknown as Pinned, slots, 1024, undefined)).toThrow(TypeError);
    expect(() => n.pollDgram(fd, () => {}, n.pinned(1024) as Pinned, slots, 1024, undefined)).toThrow(RangeError);
    expect(() => n.pollDgram(fd, () => {}, n.pinned(1025) as Pinned, n.pinned(127 * 4) as Pinned, 1024, undefined)).toThrow(RangeError);
    expect([n.pinned(0), n.pinned(-1), n.pinned(1.5)]).toEqual([-22, -22, -22]);
    n.close(fd);
  });
});

describe('sendBatch', () => {
  /** Frames packed as an Outbox chunk holds them: a length word, the bytes, padding to 4. */
  const packed = (frames: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(frames.reduce((a, f) => a + ((f.length + 7) & ~3), 0));
    let at = 0;
    for (const f of frames) {
      new DataView(out.buffer).setUint32(at, f.length, true);
      out.set(f, at + 4);
      at += (f.length + 7) & ~3;
    }
    return out;
  };

  it('sends packed frames as datagrams, up to the receiver queue, and refuses a layout that overruns its range', () => {
    const { rx, tx } = dgramPair('batch');
    const frames = Array.from({ length: 100 }, (_, i) => new Uint8Array(1 + (i % 9)).fill(i));
    const bytes = packed(frames);
    expect(n.sendBatch(tx, bytes, 0, 0)).toBe(0);
    // Unaligned start, range beyond the array, a length word that runs past the range.
    expect(n.sendBatch(tx, bytes, 2, bytes.length)).toBe(EINVAL);
    expect(n.sendBatch(tx, bytes, 0, bytes.length + 4)).toBe(EINVAL);
    expect(n.sendBatch(tx, bytes, 0, 4)).toBe(EINVAL);
    const lying = packed([new Uint8Array(4)]);
    new DataView(lying.buffer).setUint32(0, 0xfffffff0, true);
    expect(n.sendBatch(tx, lying, 0, lying.length)).toBe(EINVAL);
    // The receiver holds net.unix.max_dgram_qlen datagrams: the batch stops there, then EAGAIN.
    const first = n.sendBatch(tx, bytes, 0, bytes.length);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(64);
    let at = 0;
    for (let i = 0; i < first; i++) at += (frames[i]!.length + 7) & ~3;
    const EAGAIN = -11;
    expect(n.sendBatch(tx, bytes, at, bytes.length)).toBe(EAGAIN);
    const buf = new Uint8Array(64);
    for (let i = 0; i < first; i++) {
      expect(n.recvDgramInto(rx, buf)).toBe(frames[i]!.length);
      expect(buf.subarray(0, frames[i]!.length)).toEqual(frames[i]);
    }
    expect(n.recvDgramInto(rx, buf)).toBe(EAGAIN);
    n.close(rx);
    n.close(tx);
  });
});

describe('openShm', () => {
  const rel = (p: string) => p.slice('/dev/shm/'.length);

  it('opens a regular file, read-write', () => {
    writeFileSync(`${dir}/ok`, 'x');
    const fd = n.openShm(rel(`${dir}/ok`));
    expect(fd).toBeGreaterThanOrEqual(0);
    n.close(fd);
  });

  it('writes the opened file\'s link count, owner and size into a given Float64Array, and nothing on a refusal', () => {
    writeFileSync(`${dir}/st`, 'x'.repeat(4097));
    const st = new Float64Array([-1, -1, -1]);
    const fd = n.openShm(rel(`${dir}/st`), st);
    expect(fd).toBeGreaterThanOrEqual(0);
    n.close(fd);
    expect([...st]).toEqual([1, process.geteuid!(), 4097]);
    linkSync(`${dir}/st`, `${dir}/st2`);
    const fd2 = n.openShm(rel(`${dir}/st2`), st);
    n.close(fd2);
    expect(st[0]).toBe(2);
    const none = new Float64Array([-1, -1, -1]);
    expect(n.openShm(rel(`${dir}/missing`), none)).toBe(-2);
    expect([...none]).toEqual([-1, -1, -1]);
    expect(() => n.openShm(rel(`${dir}/st`), new Float64Array(2))).toThrow(TypeError);
    expect(() => n.openShm(rel(`${dir}/st`), new Int32Array(3) as unknown as Float64Array)).toThrow(TypeError);
    const fd3 = n.openShm(rel(`${dir}/st`), undefined);
    expect(fd3).toBeGreaterThanOrEqual(0);
    n.close(fd3);
  });

  it('follows no symlink, neither the file nor a directory on the way', () => {
    writeFileSync(`${dir}/target`, 'x');
    symlinkSync(`${dir}/target`, `${dir}/link`);
    expect(n.openShm(rel(`${dir}/link`))).toBe(-40); // ELOOP
    const dlink = `${dir}-dirlink`;
    symlinkSync(dir, dlink);
    try {
      expect(n.openShm(`${rel(dlink)}/target`)).toBe(-40);
    } finally {
      unlinkSync(dlink);
    }
  });

  it('unlinkShm removes a file or directory, and nothing through a symlinked directory', () => {
    writeFileSync(`${dir}/gone`, 'x');
    expect(n.unlinkShm(rel(`${dir}/gone`), false)).toBe(0);
    const sub = mkdtempSync(`${dir}/sub-`);
    expect(n.unlinkShm(rel(sub), true)).toBe(0);
    writeFileSync(`${dir}/kept`, 'x');
    const dlink = `${dir}-dirlink2`;
    symlinkSync(dir, dlink);
    try {
      expect(n.unlinkShm(`${rel(dlink)}/kept`, false)).toBe(-40);
      expect(readFileSync(`${dir}/kept`, 'utf8')).toBe('x');
    } finally {
      unlinkSync(dlink);
    }
  });

  it('refuses ".", "..", empty components and anything not a regular file, without blocking', () => {
    writeFileSync(`${dir}/f`, 'x');
    expect(n.openShm(`${rel(dir)}/../${rel(dir)}/f`)).toBe(EINVAL);
    expect(n.openShm(`${rel(dir)}//f`)).toBe(EINVAL);
    expect(n.openShm(`./${rel(dir)}/f`)).toBe(EINVAL);
    execFileSync('mkfifo', [`${dir}/fifo`]);
    expect(n.openShm(rel(`${dir}/fifo`))).toBe(-74); // EBADMSG: never opened, so never blocks
    expect(n.openShm(rel(dir))).toBe(-74); // a directory
    expect(n.openShm(rel(`${dir}/missing`))).toBe(-2);
  });
});

/** The very addon binary this process loaded (the ASan build under test:asan), for a worker to dlopen. */
function loadedAddon(): string {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .find((l) => /corosync_ts_ipc[^/]*\.node$/.test(l))!
    .split(/\s+/)
    .pop()!;
}

describe('fd ownership', () => {
  const EBADF = -9;
  const links = () =>
    readdirSync('/proc/self/fd').flatMap((f) => {
      try {
        return [readlinkSync(`/proc/self/fd/${f}`)];
      } catch {
        return [];
      }
    });

  it("an fd is closed once, by JS or else with its env; close() of another env's fd is refused", async () => {
    const addon = loadedAddon();
    const mine = n.socket(0);
    let reused = -1;
    try {
      const w = new Worker(
        `
        const { parentPort, workerData } = require('node:worker_threads');
        const m = { exports: {} };
        process.dlopen(m, workerData.addon);
        const n = m.exports;
        const foreign = n.close(workerData.mine);
        const open = n.socket(1);
        const closed = n.socket(0);
        n.close(closed);
        parentPort.postMessage({ foreign, closed, open: require('node:fs').readlinkSync('/proc/self/fd/' + open) });
        // Ends once the main thread holds the closed fd's number.
        parentPort.once('message', () => parentPort.close());
        `,
        { eval: true, workerData: { addon, mine } },
      );
      const [{ foreign, closed, open }] = (await once(w, 'message')) as [{ foreign: number; closed: number; open: string }];
      // The number JS closed in the worker, now a file of the main thread's that the worker's
      // teardown must leave alone. (Files fs opens in a worker, Node closes with it.)
      const others: number[] = [];
      for (let i = 0; i < 64 && reused < 0; i++) {
        const f = openSync('/dev/null', 'r');
        if (f === closed) reused = f;
        else others.push(f);
      }
      for (const f of others) closeSync(f);
      w.postMessage('end');
      await once(w, 'exit');
      expect(foreign).toBe(EBADF);
      expect(readlinkSync(`/proc/self/fd/${mine}`)).toMatch(/^socket:/);
      expect(reused).toBe(closed);
      expect(readlinkSync(`/proc/self/fd/${reused}`)).toBe('/dev/null');
      // What the worker left open went with it.
      expect(open).toMatch(/^socket:/);
      expect(links()).not.toContain(open);
    } finally {
      if (reused >= 0) closeSync(reused);
      expect(n.close(mine)).toBe(0);
    }
  });
});

describe('/dev/shm file ownership', () => {
  it("what an env recorded (shmOwn) and still owns goes with it: never through a symlink, never a path since re-created", async () => {
    const addon = loadedAddon();
    const w = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const fs = require('node:fs');
      const m = { exports: {} };
      process.dlopen(m, workerData.addon);
      const n = m.exports;
      const d = workerData.dir;
      const rel = (p) => p.slice('/dev/shm/'.length);
      const own = (p) => n.shmOwn(rel(p));
      const r = {};
      fs.writeFileSync(d + '/kept', '');
      r.kept = own(d + '/kept');
      fs.mkdirSync(d + '/sub');
      r.sub = own(d + '/sub');
      fs.writeFileSync(d + '/sub/f', '');
      r.subf = own(d + '/sub/f');
      fs.writeFileSync(d + '/closed', '');
      r.closed = own(d + '/closed');
      r.unlinked = n.unlinkShm(rel(d + '/closed'), false);
      fs.writeFileSync(d + '/replaced', '');
      r.replaced = own(d + '/replaced');
      fs.mkdirSync(d + '/ld');
      r.ld = own(d + '/ld');
      fs.writeFileSync(d + '/ld/x', '');
      r.ldx = own(d + '/ld/x');
      fs.symlinkSync(d + '/kept', d + '/link');
      r.link = own(d + '/link');
      r.missing = own(d + '/missing');
      parentPort.postMessage(r);
      // Lives until terminate(), after the main thread's changes below.
      parentPort.on('message', () => {});
      `,
      { eval: true, workerData: { addon, dir } },
    );
    const [r] = (await once(w, 'message')) as [Record<string, number>];
    // Someone else's now: the path a clean close removed, one the peer removed and made again,
    // and a directory the peer swapped for a symlink to one holding a file of the same name.
    writeFileSync(`${dir}/closed`, 'theirs');
    unlinkSync(`${dir}/replaced`);
    writeFileSync(`${dir}/replaced`, 'theirs');
    execFileSync('mv', [`${dir}/ld`, `${dir}/ld2`]);
    symlinkSync(`${dir}/ld2`, `${dir}/ld`);
    await w.terminate();
    expect(r).toEqual({ kept: 0, sub: 0, subf: 0, closed: 0, unlinked: 0, replaced: 0, ld: 0, ldx: 0, link: -40, missing: -2 });
    expect(readdirSync(dir).sort()).toEqual(['closed', 'ld', 'ld2', 'link', 'replaced']);
    expect(readdirSync(`${dir}/ld2`)).toEqual(['x']);
    expect(readFileSync(`${dir}/closed`, 'utf8')).toBe('theirs');
    expect(readFileSync(`${dir}/replaced`, 'utf8')).toBe('theirs');
  });
});

describe('setRoundRobinScheduling', () => {
  it('refuses a bad priority with a typed error and leaves the thread as it was', async () => {
    const { setRoundRobinScheduling } = await import('../src/sched.js');
    const policy = () => readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[38];
    const before = policy();
    expect(() => setRoundRobinScheduling(-1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // above SCHED_RR's highest priority: the kernel's EINVAL
    expect(() => setRoundRobinScheduling(100)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/sched_setscheduler\(SCHED_RR, 100\)/) }));
    expect(policy()).toBe(before);
  });
});

describe('sendv', () => {
  const bytes = (len: number, seed: number) => new Uint8Array(len).map((_, i) => (i * 13 + seed) & 0xff);
  const EAGAIN = -11;

  it('sends head then body as one datagram, whole or not at all: EAGAIN at a full receiver queue leaves nothing half sent', () => {
    const { rx, tx } = dgramPair('sendv');
    const sent: Uint8Array[] = [];
    let r = 0;
    for (let i = 0; r !== EAGAIN; i++) {
      const head = bytes(24 + (i % 5), i);
      const body = bytes(i % 4 === 0 ? 0 : 1000 + i, i + 1);
      r = n.sendv(tx, head, body);
      if (r === EAGAIN) break;
      expect(r).toBe(head.length + body.length);
      sent.push(Buffer.concat([head, body]));
    }
    // The receiver holds net.unix.max_dgram_qlen datagrams (10 by default).
    expect(sent.length).toBeGreaterThan(1);
    const buf = new Uint8Array(4096);
    for (const f of sent) {
      expect(n.recvDgramInto(rx, buf)).toBe(f.length);
      expect(Buffer.from(buf.subarray(0, f.length)).equals(f)).toBe(true);
    }
    expect(n.recvDgramInto(rx, buf)).toBe(EAGAIN);
    // Larger than the send buffer can ever take: EMSGSIZE, nothing sent.
    n.setBufSize(tx, 65536);
    expect(n.sendv(tx, bytes(24, 0), new Uint8Array(1 << 20))).toBe(-90);
    expect(n.recvDgramInto(rx, buf)).toBe(EAGAIN);
    expect(() => n.sendv(tx, new Uint8Array(8), 'x' as unknown as Uint8Array)).toThrow(/expected a Uint8Array/);
    n.close(rx);
    n.close(tx);
  });

  it('on a stream socket reports the bytes a short sendmsg took: head first, then the start of body', () => {
    const name = `cts-native-sendv-stream-${process.pid}`;
    const l = n.socket(0);
    expect(n.bind(l, name)).toBe(0);
    expect(n.listen(l, 1)).toBe(0);
    const c = n.socket(0);
    expect(n.connect(c, name)).toBe(0);
    const s = n.accept(l);
    expect(s).toBeGreaterThan(0);
    n.setBufSize(c, 4096);
    n.setBufSize(s, 4096);
    const head = bytes(40, 1);
    const body = bytes(1 << 20, 2);
    const r = n.sendv(c, head, body);
    expect(r).toBeGreaterThan(head.length);
    expect(r).toBeLessThan(head.length + body.length);
    const want = Buffer.concat([head, body]).subarray(0, r);
    const got: Buffer[] = [];
    let have = 0;
    const buf = new Uint8Array(65536);
    while (have < r) {
      const k = n.recvInto(s, buf);
      expect(k).toBeGreaterThan(0);
      got.push(Buffer.from(buf.subarray(0, k)));
      have += k;
    }
    expect(have).toBe(r);
    expect(Buffer.concat(got).equals(want)).toBe(true);
    for (const fd of [c, s, l]) n.close(fd);
  });
});
