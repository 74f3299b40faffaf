// Every handle the addon lends JS (a mapping's, a pinned buffer's, a ring writer, a semaphore
// waiter, a poller) is a pointer to a struct of its own kind. A function given a handle of
// another kind used to read it as its own struct: past the end of a shorter one, through its
// pointers, or freeing and unmapping what they pointed at. Each must refuse it with a TypeError
// naming the kind it expected, before touching anything. Run under AddressSanitizer by
// `pnpm test:asan`, where such a read aborts instead of passing by luck.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, type Mapping, type Pinned, type PollHandle, type RingWriterHandle, type WaiterHandle } from '../src/native.js';

const n = native();
const OFF_SEM = 8208;
const HEADER_FILE_SIZE = 8252;
const DATA = 4096;
const RW_UNRUNG = 2;

let dir: string;
let hdr: Mapping;
let data: Mapping;
let wr: RingWriterHandle;
let w: WaiterHandle;
let pa: Pinned;
let ps: Pinned;
let p: PollHandle;
let rx: number;
let tx: number;
const waiters: WaiterHandle[] = [];

function map(name: string, size: number, dbl: boolean): Mapping {
  const fd = openSync(`${dir}/${name}`, 'w+');
  ftruncateSync(fd, size);
  const m = n.mmap(fd, size, dbl);
  closeSync(fd);
  if (typeof m === 'number') throw new Error(`mmap: ${m}`);
  return m;
}

/** A waiter on the header's semaphore that no test has registered a ring with yet. */
function freshWaiter(): WaiterHandle {
  const v = n.semWaiter(hdr.buffer, OFF_SEM, () => {});
  if (typeof v === 'number') throw new Error(`semWaiter: ${v}`);
  waiters.push(v);
  return v;
}

beforeAll(() => {
  dir = mkdtempSync('/dev/shm/cts-handle-kinds-test-');
  hdr = map('header', HEADER_FILE_SIZE, false);
  data = map('data', DATA, true);
  new Int32Array(hdr.buffer)[2] = DATA / 4;
  expect(n.semInit(hdr.buffer, OFF_SEM)).toBe(0);
  wr = n.ringWriter(hdr, OFF_SEM, data);
  w = freshWaiter();
  pa = n.pinned(1025) as Pinned;
  ps = n.pinned(128 * 4) as Pinned;
  const name = `cts-handle-kinds-${process.pid}`;
  rx = n.socket(1);
  tx = n.socket(1);
  expect(n.bind(rx, name)).toBe(0);
  expect(n.connect(tx, name)).toBe(0);
  p = n.pollDgram(rx, () => {}, pa, ps, 1024, undefined) as PollHandle;
});

afterAll(async () => {
  for (const v of waiters) n.waiterStop(v);
  n.pollClose(p);
  n.close(rx);
  n.close(tx);
  n.munmap(hdr);
  n.munmap(data);
  rmSync(dir, { recursive: true, force: true });
  await new Promise((r) => setImmediate(r));
});

type Kind = 'mapping' | 'pinned buffer' | 'ring writer' | 'semaphore waiter' | 'poller';
/** One handle of each kind, and values that are no handle at all. */
const handles = (): Record<Kind, unknown> => ({
  mapping: hdr.handle,
  'pinned buffer': pa.handle,
  'ring writer': wr,
  'semaphore waiter': w,
  poller: p,
});
const notHandles = (): unknown[] => [{}, hdr, hdr.buffer, 0, 'x', null, undefined];
/** Every value but the handles of `kind`. */
const allBut = (kind: Kind): unknown[] => [
  ...Object.entries(handles())
    .filter(([k]) => k !== kind)
    .map(([, v]) => v),
  ...notHandles(),
];

const frame = new Uint8Array(24).fill(7);
const as = <T>(v: unknown) => v as T;

/** The ring and the watcher are as they were: nothing published, posted or armed, each handle still usable. */
function untouched(): void {
  const h = new Int32Array(hdr.buffer);
  expect([h[0], h[1], h[2]]).toEqual([0, 0, DATA / 4]);
  expect(n.semTakeMany(hdr.buffer, OFF_SEM, 4)).toBe(0);
  expect(n.mappingFaulted(hdr)).toBe(0);
  expect(n.pollAnswered(p)).toBe(0);
  expect(n.pollStart(p, 0)).toBe(0);
  expect(n.waiterWant(w, 0)).toBe(0);
}

describe('handles of the wrong kind', () => {
  it('ringWrite takes only a ring writer', () => {
    for (const v of allBut('ring writer')) expect(() => n.ringWrite(as(v), frame, -1)).toThrow(/expected a ring writer/);
    untouched();
  });

  it('the waiter functions take only a semaphore waiter', () => {
    for (const v of allBut('semaphore waiter')) {
      expect(() => n.waiterWant(as(v), 1)).toThrow(/expected a semaphore waiter/);
      expect(() => n.waiterWaitTake(as(v), 1, 0)).toThrow(/expected a semaphore waiter/);
      expect(() => n.waiterWaitTake(as(v), 1, 0, new ArrayBuffer(64), 0)).toThrow(/expected a semaphore waiter/);
      expect(() => n.waiterRing(as(v), data, new Int32Array(4), 4096)).toThrow(/expected a semaphore waiter/);
      expect(() => n.waiterStop(as(v))).toThrow(/expected a semaphore waiter/);
    }
    untouched();
  });

  it('the poller functions take only a poller', () => {
    for (const v of allBut('poller')) {
      expect(() => n.pollStart(as(v), 1)).toThrow(/expected a poller/);
      expect(() => n.pollWait(as(v), 0)).toThrow(/expected a poller/);
      expect(() => n.pollInto(as(v), 0, 1)).toThrow(/expected a poller/);
      expect(() => n.pollAnswer(as(v))).toThrow(/expected a poller/);
      expect(() => n.pollAnswered(as(v))).toThrow(/expected a poller/);
      expect(() => n.pollClose(as(v))).toThrow(/expected a poller/);
    }
    untouched();
  });

  it('what takes a mapping takes only a mapping handle', () => {
    for (const v of allBut('mapping')) {
      const hm = as<Mapping>({ buffer: hdr.buffer, handle: v });
      const dm = as<Mapping>({ buffer: data.buffer, handle: v });
      expect(() => n.munmap(hm)).toThrow(/expected a mapping/);
      expect(() => n.mappingFaulted(hm)).toThrow(/expected a mapping/);
      expect(() => n.ringWriter(hm, OFF_SEM, data)).toThrow(/expected a mapping/);
      expect(() => n.ringWriter(hdr, OFF_SEM, dm)).toThrow(/expected a mapping/);
      expect(() => n.waiterRing(freshWaiter(), dm, new Int32Array(4), 4096)).toThrow(/expected a mapping/);
      expect(() => n.pollDgram(rx, () => {}, pa, ps, 1024, undefined, hm, 0)).toThrow(/expected a mapping/);
      expect(() => n.pollAnswer(p, frame, frame, [hm])).toThrow(/expected a mapping/);
      expect(() => n.pollAnswer(p, frame, frame, [hdr, data, hdr, dm], OFF_SEM)).toThrow(/expected a mapping/);
    }
    // Both halves of the mapping still there.
    expect(hdr.buffer.byteLength).toBe(HEADER_FILE_SIZE);
    expect(data.buffer.byteLength).toBe(2 * DATA);
    untouched();
  });

  it('pollDgram takes only pinned buffers for its area, slots and budget', () => {
    for (const v of allBut('pinned buffer').filter((x) => x !== undefined)) {
      const pin = as<Pinned>({ buffer: pa.buffer, handle: v });
      expect(() => n.pollDgram(rx, () => {}, pin, ps, 1024, undefined)).toThrow(/expected a pinned buffer/);
      expect(() => n.pollDgram(rx, () => {}, pa, pin, 1024, undefined)).toThrow(/expected a pinned buffer/);
      expect(() => n.pollDgram(rx, () => {}, pa, ps, 1024, pin)).toThrow(/expected a pinned buffer/);
    }
    untouched();
  });

  it('each handle still works after all of that', () => {
    expect(n.ringWrite(wr, frame, -1)).toBe(RW_UNRUNG);
    expect(n.semTakeMany(hdr.buffer, OFF_SEM, 4)).toBe(1);
    expect(n.waiterWant(w, 0)).toBe(0);
    expect(n.pollStart(p, 0)).toBe(0);
  });
});

describe('a mapping object whose buffer is not its handle\'s', () => {
  it('munmap refuses it, unmapping nothing and detaching nothing', () => {
    const other = map('other', 4096, false);
    const stranger = new ArrayBuffer(4096);
    for (const buffer of [stranger, data.buffer, other.buffer.slice(0, 4096)]) {
      expect(() => n.munmap(as<Mapping>({ buffer, handle: other.handle }))).toThrow(/expected a mapping/);
      expect(buffer.byteLength).toBeGreaterThan(0);
    }
    // The mapping is still mapped and attached: readable, and unmapped by its own object.
    new Uint8Array(other.buffer)[0] = 1;
    expect(new Uint8Array(other.buffer)[0]).toBe(1);
    expect(n.munmap(other)).toBe(0);
    expect(other.buffer.byteLength).toBe(0);
    expect(data.buffer.byteLength).toBe(2 * DATA);
  });
});
