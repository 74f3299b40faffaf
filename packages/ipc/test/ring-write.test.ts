// The native halves of a shm request and its answer on the common path: ringWrite (chunk, post
// and doorbell in one call, through the ring ringWriter registered) and waiterWaitTake's read of
// the first chunk with its token. What they leave (no room, broken pointers) must be left
// untouched for the JS path to report.
import { ftruncateSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native, type Mapping, type RingWriterHandle, type WaiterHandle } from '../src/native.js';
import { until } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const n = native();
const OFF_SEM = 8208;
const HEADER_FILE_SIZE = 8252;
const DATA = 4096;
const WORDS = DATA / 4;
const RW_NOT_WRITTEN = 0;
const RW_DONE = 1;
const RW_UNRUNG = 2;
const MAGIC_COMMITTED = 0xa1a1a1a1 | 0;

let dir: string;
const maps: Mapping[] = [];
beforeEach(() => {
  dir = mkdtempSync('/dev/shm/cts-ring-write-test-');
});
afterEach(() => {
  for (const m of maps.splice(0)) n.munmap(m);
  rmSync(dir, { recursive: true, force: true });
});

function map(name: string, size: number, dbl: boolean, keep = true): Mapping {
  const fd = openSync(`${dir}/${name}`, 'w+');
  ftruncateSync(fd, size);
  const m = n.mmap(fd, size, dbl);
  closeSync(fd);
  if (typeof m === 'number') throw new Error(`mmap: ${m}`);
  if (keep) maps.push(m);
  return m;
}

function ring(): { hdr: Mapping; data: Mapping; h: Int32Array; w: Int32Array; wr: RingWriterHandle } {
  const hdr = map('header', HEADER_FILE_SIZE, false);
  const data = map('data', DATA, true);
  const h = new Int32Array(hdr.buffer);
  h[2] = WORDS;
  expect(n.semInit(hdr.buffer, OFF_SEM)).toBe(0);
  return { hdr, data, h, w: new Int32Array(data.buffer), wr: n.ringWriter(hdr, OFF_SEM, data) };
}

const frame = (len: number, seed: number) => new Uint8Array(len).map((_, i) => (i * 7 + seed) & 0xff);

/** Reads every published chunk with ringReadMany: their bytes, in order. */
function drain(r: ReturnType<typeof ring>): Uint8Array[] {
  const into = new Uint8Array(8192);
  const slots = new Int32Array(2 * 16 + 2);
  const k = n.semTakeMany(r.hdr.buffer, OFF_SEM, 16);
  const got = n.ringReadMany(r.hdr.buffer, r.data.buffer, into, 0, slots, k, 4096);
  expect(got).toBe(k);
  return Array.from({ length: got }, (_, i) => into.slice(slots[2 * i]!, slots[2 * i]! + slots[2 * i + 1]!));
}

function socketPair(tag: string): { rx: number; tx: number } {
  const name = `cts-ring-write-${tag}-${process.pid}`;
  const rx = n.socket(1);
  const tx = n.socket(1);
  expect(n.bind(rx, name)).toBe(0);
  expect(n.connect(tx, name)).toBe(0);
  return { rx, tx };
}

describe('ringWrite', () => {
  it('publishes chunks a reader takes in order, intact across the wrap, each with a post and one doorbell byte', () => {
    const r = ring();
    const { rx, tx } = socketPair('order');
    const bell = new Uint8Array(64);
    const sent: Uint8Array[] = [];
    // Chunks of odd lengths, read back after every third: the write pointer wraps several times.
    for (let i = 0; i < 60; i++) {
      const f = frame(100 + ((i * 37) % 300), i);
      expect(n.ringWrite(r.wr, f, tx)).toBe(RW_DONE);
      sent.push(f);
      if (i % 3 === 2) {
        // A datagram per doorbell, of one byte each.
        for (let k = 0; k < 3; k++) expect(n.recvInto(rx, bell)).toBe(1);
        expect(n.recvInto(rx, bell)).toBe(-11); // EAGAIN
        expect(drain(r)).toEqual(sent.splice(0));
      }
    }
    n.close(rx);
    n.close(tx);
  });

  it('without a doorbell fd, or with one that cannot take the byte, still publishes and says the doorbell is due', () => {
    const r = ring();
    expect(n.ringWrite(r.wr, frame(40, 1), -1)).toBe(RW_UNRUNG);
    const { rx, tx } = socketPair('closed');
    n.close(rx);
    expect(n.ringWrite(r.wr, frame(40, 2), tx)).toBe(RW_UNRUNG);
    expect(drain(r)).toEqual([frame(40, 1), frame(40, 2)]);
    n.close(tx);
  });

  it('writes nothing when the ring lacks room, or a pointer lies outside it', () => {
    const r = ring();
    let written = 0;
    while (n.ringWrite(r.wr, frame(500, written), -1) === RW_UNRUNG) written++;
    // 8 chunks of 127 words fill the 1,023 a 1,024-word ring holds; a ninth lacks its margin.
    expect(written).toBe(8);
    const before = Int32Array.from(r.w.subarray(0, WORDS));
    const ptrs = [r.h[0], r.h[1]];
    expect(n.ringWrite(r.wr, frame(500, 99), -1)).toBe(RW_NOT_WRITTEN);
    expect(Int32Array.from(r.w.subarray(0, WORDS))).toEqual(before);
    expect([r.h[0], r.h[1]]).toEqual(ptrs);
    expect(drain(r)).toEqual(Array.from({ length: 8 }, (_, i) => frame(500, i)));

    // A write pointer the peer put past the end: nothing written, the semaphore not posted.
    r.h[0] = WORDS + 5;
    expect(n.ringWrite(r.wr, frame(40, 1), -1)).toBe(RW_NOT_WRITTEN);
    expect(n.semTakeMany(r.hdr.buffer, OFF_SEM, 4)).toBe(0);
    r.h[0] = r.h[1]!;
    r.h[1] = -1;
    expect(n.ringWrite(r.wr, frame(40, 1), -1)).toBe(RW_NOT_WRITTEN);
  });

  it('rejects what is not a ring writer or a frame with a TypeError', () => {
    const r = ring();
    expect(() => n.ringWrite(r.wr, 'x' as unknown as Uint8Array, -1)).toThrow(TypeError);
    expect(() => n.ringWrite(r.wr, new Int32Array(4) as unknown as Uint8Array, -1)).toThrow(TypeError);
    expect(() => n.ringWrite(r.wr, frame(4, 1), 'x' as unknown as number)).toThrow(TypeError);
    // The addon's other handles are externals too: a mapping's, a waiter's.
    const w = n.semWaiter(r.hdr.buffer, OFF_SEM, () => {}) as WaiterHandle;
    const others = [r.hdr.handle, r.data.handle, w, r.hdr, r.hdr.buffer, {}, 0, undefined];
    for (const h of others) expect(() => n.ringWrite(h as unknown as RingWriterHandle, frame(4, 1), -1)).toThrow(TypeError);
    expect(n.waiterStop(w)).toBe(0);
    // Nothing was published by any of them.
    expect(n.semTakeMany(r.hdr.buffer, OFF_SEM, 4)).toBe(0);
    expect([r.h[0], r.h[1]]).toEqual([0, 0]);
  });

  it('registers only two mappings, both mapped, with the semaphore in the header', () => {
    const r = ring();
    expect(() => n.ringWriter({ buffer: r.hdr.buffer } as unknown as Mapping, OFF_SEM, r.data)).toThrow(TypeError);
    expect(() => n.ringWriter(r.hdr, OFF_SEM, r.data.buffer as unknown as Mapping)).toThrow(TypeError);
    expect(() => n.ringWriter(r.hdr, 'x' as unknown as number, r.data)).toThrow(TypeError);
    // A semaphore offset outside the header, or not aligned for a sem_t.
    for (const off of [-8, OFF_SEM + 32, OFF_SEM + 4]) expect(() => n.ringWriter(r.hdr, off, r.data)).toThrow(RangeError);
    // A header too short for the semaphore where the ring puts it.
    const short = map('short', 64, false);
    expect(() => n.ringWriter(short, OFF_SEM, r.data)).toThrow(RangeError);
    // Either mapping already unmapped.
    const gone = map('gone', HEADER_FILE_SIZE, false);
    n.munmap(gone);
    expect(() => n.ringWriter(gone, OFF_SEM, r.data)).toThrow(RangeError);
    expect(() => n.ringWriter(r.hdr, OFF_SEM, gone)).toThrow(RangeError);
  });

  it('refuses a write once either mapping is unmapped (the ring closed), touching nothing, even after the mappings are collected', async () => {
    for (const which of ['hdr', 'data'] as const) {
      // Mappings only this test holds: the writer must keep what it reads of them alive itself.
      let hdr: Mapping | undefined = map(`h-${which}`, HEADER_FILE_SIZE, false, false);
      let data: Mapping | undefined = map(`d-${which}`, DATA, true, false);
      new Int32Array(hdr.buffer)[2] = WORDS;
      expect(n.semInit(hdr.buffer, OFF_SEM)).toBe(0);
      const wr = n.ringWriter(hdr, OFF_SEM, data);
      expect(n.ringWrite(wr, frame(40, 1), -1)).toBe(RW_UNRUNG);
      const other = which === 'hdr' ? data : hdr;
      n.munmap(which === 'hdr' ? hdr : data);
      expect(() => n.ringWrite(wr, frame(40, 2), -1)).toThrow(RangeError);
      // What is still mapped is as the first write left it: one chunk, one post.
      const h = which === 'hdr' ? undefined : new Int32Array(hdr.buffer);
      if (h) {
        expect(h[0]).toBe(12);
        expect(n.semTakeMany(hdr.buffer, OFF_SEM, 4)).toBe(1);
      } else {
        expect(new Int32Array(other.buffer)[0]).toBe(40);
      }
      n.munmap(other);
      hdr = data = undefined;
      // Buffers and handles collected, their finalizers run: only the writer's references keep
      // what it looks at.
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((res) => setImmediate(res));
      }
      expect(() => n.ringWrite(wr, frame(40, 3), -1)).toThrow(RangeError);
    }
  });

  it('posts the semaphore at the offset it is given, and reads it there to tell a full ring from an empty one', () => {
    const r = ring();
    const other = 64;
    expect(n.semInit(r.hdr.buffer, other)).toBe(0);
    const wo = n.ringWriter(r.hdr, other, r.data);
    expect(n.ringWrite(wo, frame(40, 1), -1)).toBe(RW_UNRUNG);
    expect(n.semTakeMany(r.hdr.buffer, other, 4)).toBe(1);
    expect(n.semTakeMany(r.hdr.buffer, OFF_SEM, 4)).toBe(0);
    // Both pointers equal and this semaphore posted: full, whatever the other one says.
    r.h[0] = r.h[1]!;
    expect(n.semPost(r.hdr.buffer, other)).toBe(0);
    expect(n.ringWrite(wo, frame(40, 2), -1)).toBe(RW_NOT_WRITTEN);
    expect(n.ringWrite(r.wr, frame(40, 2), -1)).toBe(RW_UNRUNG);
  });
});

describe('waiterWaitTake with the ring', () => {
  it('reads the first chunk with its token, as ringReadMany would, and leaves the others to the caller', async () => {
    const r = ring();
    const seen: number[] = [];
    const w = n.semWaiter(r.hdr.buffer, OFF_SEM, (k) => seen.push(k)) as WaiterHandle;
    const into = new Uint8Array(1024);
    const slots = new Int32Array(4);
    // No ring registered yet: a read is refused, a wait without one is not.
    expect(() => n.waiterWaitTake(w, 1, 0, into.buffer, 16)).toThrow(RangeError);
    expect(n.waiterWaitTake(w, 1, 0)).toBe(0);
    expect(n.waiterRing(w, r.data, slots, 4096)).toBe(0);
    // Once per waiter.
    expect(() => n.waiterRing(w, r.data, slots, 4096)).toThrow(RangeError);
    // Nothing published: no token, nothing read (a short sleep, then 0).
    expect(n.waiterWaitTake(w, 1, 1000, into.buffer, 16)).toBe(0);
    for (const i of [1, 2]) expect(n.ringWrite(r.wr, frame(44, i), -1)).toBe(RW_UNRUNG);
    expect(n.waiterWaitTake(w, 2, 1000, into.buffer, 16)).toBe(2);
    expect(Array.from(slots)).toEqual([16, 44, 0, 0]);
    expect(into.slice(16, 60)).toEqual(frame(44, 1));
    // The second chunk is still in the ring, committed, its token taken.
    const r1 = r.h[1]!;
    expect(r.w[(r1 + 1) % WORDS]).toBe(MAGIC_COMMITTED);
    const rest = new Int32Array(4);
    expect(n.ringReadMany(r.hdr.buffer, r.data.buffer, into, 64, rest, 1, 4096)).toBe(1);
    expect(into.slice(64, 108)).toEqual(frame(44, 2));
    // A chunk longer than maxLen is left in the ring, its token taken: the caller reads it another way.
    expect(n.ringWrite(r.wr, frame(4000, 3), -1)).toBe(RW_UNRUNG);
    expect(n.waiterWaitTake(w, 1, 1000, into.buffer, 0)).toBe(1);
    expect(slots[2]).toBe(1); // RING_NEED_ROOM: 4000 bytes do not fit the 1024 of `into`
    expect(slots[3]).toBe(4000);
    const big = new Uint8Array(4096);
    expect(n.ringReadMany(r.hdr.buffer, r.data.buffer, big, 0, rest, 1, 4096)).toBe(1);
    expect(big.slice(0, 4000)).toEqual(frame(4000, 3));
    // `from` outside `into`, or not an ArrayBuffer: refused before any token is taken.
    expect(() => n.waiterWaitTake(w, 1, 0, into.buffer, 1025)).toThrow(RangeError);
    expect(() => n.waiterWaitTake(w, 1, 0, into.buffer, -1)).toThrow(RangeError);
    expect(() => n.waiterWaitTake(w, 1, 0, into as unknown as ArrayBuffer, 0)).toThrow(TypeError);
    expect(n.waiterStop(w)).toBe(0);
    await until(() => seen.includes(-1));
    // A stopped waiter takes nothing, with or without a read.
    expect(n.ringWrite(r.wr, frame(44, 4), -1)).toBe(RW_UNRUNG);
    expect(n.waiterWaitTake(w, 1, 1000, into.buffer, 0)).toBe(0);
    expect(n.waiterWaitTake(w, 1, 1000)).toBe(0);
  });

  it('refuses bad slots and mappings, and reads nothing once the data mapping is unmapped', async () => {
    const r = ring();
    const seen: number[] = [];
    const w = n.semWaiter(r.hdr.buffer, OFF_SEM, (k) => seen.push(k)) as WaiterHandle;
    expect(() => n.waiterRing(w, r.data, new Int32Array(2), 4096)).toThrow(RangeError);
    expect(() => n.waiterRing(w, r.data, new Uint8Array(16) as unknown as Int32Array, 4096)).toThrow(TypeError);
    expect(() => n.waiterRing(w, r.data, new Int32Array(4), -1)).toThrow(RangeError);
    expect(() => n.waiterRing(w, { buffer: r.data.buffer } as unknown as Mapping, new Int32Array(4), 4096)).toThrow(TypeError);
    const slots = new Int32Array(4);
    expect(n.waiterRing(w, r.data, slots, 4096)).toBe(0);
    expect(n.ringWrite(r.wr, frame(44, 1), -1)).toBe(RW_UNRUNG);
    // The data mapping goes (a ring closed while its waiter runs): no read of freed memory, and
    // the published token stays where it was.
    n.munmap(r.data);
    const into = new Uint8Array(256);
    expect(() => n.waiterWaitTake(w, 1, 0, into.buffer, 0)).toThrow(RangeError);
    expect(n.semTakeMany(r.hdr.buffer, OFF_SEM, 4)).toBe(1);
    // A mapping already unmapped cannot be registered.
    const w2 = n.semWaiter(r.hdr.buffer, OFF_SEM, () => {}) as WaiterHandle;
    expect(() => n.waiterRing(w2, r.data, new Int32Array(4), 4096)).toThrow(RangeError);
    expect(n.waiterStop(w2)).toBe(0);
    expect(n.waiterStop(w)).toBe(0);
    await until(() => seen.includes(-1));
  });
});
