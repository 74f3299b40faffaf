import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import { native } from '../src/native.js';
import { BLOCKED, DatagramOutbox, Outbox, QUEUE_OVERHEAD, SENT } from '../src/outbox.js';

// The outbox packs frames into shared chunks: what comes out must be what went in, in order,
// whatever the sizes (empty, odd, larger than a chunk) and however pushes and shifts interleave.

const frame = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 60_000, maxLength: 140_000 }) },
);
const step = fc.oneof(
  fc.record({ push: frame, cut: fc.option(fc.nat()) }),
  fc.record({ shift: fc.integer({ min: 1, max: 40 }) }),
);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const buf = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length);
// byte equality without vitest's deep diff, which is slow on 100 kB arrays
const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && buf(a).equals(buf(b));

describe('Outbox', () => {
  test.each([false, true])('gives back every frame, in order, byte for byte, under any mix of push and shift (keepFirst %s)', (keepFirst) => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const box = new Outbox(keepFirst);
        const model: Uint8Array[] = [];
        const check = () => {
          expect(box.length).toBe(model.length);
          expect(box.bytes).toBe(model.reduce((n, f) => n + f.length + QUEUE_OVERHEAD, 0));
          const head = box.peek();
          if (model.length === 0) expect(head).toBeUndefined();
          else expect(same(head, model[0]!)).toBe(true);
        };
        for (const s of steps) {
          if ('push' in s) {
            const f = s.push;
            // A frame in two pieces (a gathered request) is queued as the one frame.
            if (s.cut === null) box.push(f);
            else box.push(f.subarray(0, s.cut % (f.length + 1)), f.subarray(s.cut % (f.length + 1)));
            model.push(f.slice());
            // the queue holds a copy: the caller's buffer may be reused at once
            f.fill(0xee);
          } else {
            for (let i = 0; i < s.shift; i++) {
              box.shift();
              model.shift();
            }
          }
          check();
        }
        const rest: Uint8Array[] = [];
        expect(box.drain((f) => (rest.push(f.slice()), true))).toBe(true);
        expect(rest.length).toBe(model.length);
        expect(rest.every((f, i) => same(f, model[i]!))).toBe(true);
        model.length = 0;
        check();
      }),
      { numRuns: 150 },
    );
  });

  test('a backlog of frames above 64 KiB refills the chunk sent last instead of a fresh one each, and keeps none once empty', () => {
    const box = new Outbox();
    const chunks = () => (box as unknown as { chunks: { data: Uint8Array }[] }).chunks;
    const frame = (b: number) => new Uint8Array(70_000).fill(b);
    box.push(frame(1));
    box.push(frame(2));
    const first = chunks()[0]!.data;
    const seen: number[] = [];
    for (let i = 3; i < 10; i++) {
      seen.push(box.peek()![69_999]!);
      box.shift();
      // the next frame goes where the one just sent was
      box.push(frame(i));
      expect(chunks()).toHaveLength(2);
    }
    expect(chunks().some((c) => c.data === first)).toBe(true);
    expect(box.drain((f) => (seen.push(f[0]!), true))).toBe(true);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(chunks()).toEqual([]);
    expect((box as unknown as { spare: unknown }).spare).toBeUndefined();
  });

  test('drain stops where the writer refuses and resumes with the same frame', () => {
    const box = new Outbox();
    for (let i = 0; i < 1000; i++) box.push(new Uint8Array([i & 0xff, i >> 8, 7]));
    const got: number[] = [];
    let budget = 10;
    const take = (f: Uint8Array) => {
      if (budget-- <= 0) return false;
      got.push(f[0]! | (f[1]! << 8));
      return true;
    };
    while (!box.drain(take)) budget = 10;
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  test('30 000 small frames cost a few bytes each beyond their own, and nothing once sent', () => {
    const box = new Outbox();
    const f = new Uint8Array(120);
    // arrayBuffers is the process's: a GC inside the window that frees the dead buffers of the
    // tests before (fast-check's 140 kB frames) reads as negative growth. Collected first, and
    // twice: a full GC frees backing stores on a background sweeper after it returns (one gc()
    // left the window 3 MB short in 82 of 300 rounds), which the next GC waits for.
    gc();
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 30_000; i++) box.push(f);
    const held = process.memoryUsage().arrayBuffers - before;
    // 124 bytes a frame packed; chunks are at most 64 KiB, so less than one chunk of slack
    expect(held).toBeLessThan(30_000 * 124 + 64 * 1024);
    expect(held).toBeGreaterThanOrEqual(30_000 * 124);
    box.drain(() => true);
    expect(box.length).toBe(0);
    expect(box.peek()).toBeUndefined();
    expect((box as unknown as { chunks: unknown[] }).chunks).toEqual([]);
  });

  test('keepFirst: an emptied outbox keeps the chunk of its last batch up to 128 KiB and refills it, beyond that nothing', () => {
    const box = new Outbox(true);
    const chunks = () => (box as unknown as { chunks: { data: Uint8Array }[] }).chunks;
    const f = new Uint8Array(1024);
    const turn = (n: number) => {
      for (let i = 0; i < n; i++) box.push(f.fill(i));
      const got: number[] = [];
      box.drain((x) => (got.push(x[0]!), x.length === 1024));
      expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    };
    turn(32);
    const kept = chunks()[0]!.data;
    expect(chunks()).toHaveLength(1);
    expect(kept.length).toBeGreaterThanOrEqual(1028);
    expect(kept.length).toBeLessThanOrEqual(64 * 1024);
    // the next batch of the same size fits the kept chunk: no new one
    const fits = Math.floor(kept.length / 1028);
    turn(fits);
    expect(chunks()).toHaveLength(1);
    expect(chunks()[0]!.data).toBe(kept);
    // a frame larger than a chunk may hold gets a chunk of its own, not kept above 128 KiB
    box.push(new Uint8Array(200_000));
    box.shift();
    expect(chunks()).toEqual([]);
  });

  test('keepFirst: 64 KiB frames queued behind a backlog reuse the chunks the drained ones leave', () => {
    const box = new Outbox(true);
    const chunks = () => (box as unknown as { chunks: { data: Uint8Array }[] }).chunks;
    // A 64 KiB cpg MCAST: 40 bytes of header more than a chunk grows to.
    const f = new Uint8Array(65_576);
    const seen = new Set<Uint8Array>();
    for (let i = 0; i < 4; i++) box.push(f.fill(i));
    for (let i = 4; i < 200; i++) {
      expect(box.peek()![0]).toBe((i - 4) & 0xff);
      box.shift();
      box.push(f.fill(i & 0xff));
      for (const c of chunks()) seen.add(c.data);
    }
    // four in line, a fifth the drained one hands back: no fresh memory per frame
    expect(seen.size).toBeLessThanOrEqual(5);
    expect(box.drain(() => true)).toBe(true);
  });

  test('DatagramOutbox: a frame in two pieces that meets a full receiver queue waits whole, and goes out whole and in order', () => {
    const n = native();
    const name = `cts-outbox-gather-${process.pid}`;
    const rx = n.socket(1);
    const tx = n.socket(1);
    expect(n.bind(rx, `${name}-rx`)).toBe(0);
    expect(n.connect(tx, `${name}-rx`)).toBe(0);
    let sentCount = 0;
    const out = new DatagramOutbox(tx, (k) => (sentCount += k));
    const frames: Uint8Array[] = [];
    const results: number[] = [];
    for (let i = 0; i < 40; i++) {
      const f = new Uint8Array(24 + 500 + i).map((_, j) => (j * 3 + i) & 0xff);
      frames.push(f);
      const head = f.slice(0, 24);
      const body = f.slice(24);
      results.push(out.send(head, body));
      // What waits is a copy: the caller's pieces are free once send() returns.
      head.fill(0);
      body.fill(0);
    }
    // The queue (net.unix.max_dgram_qlen) took the first ones; the rest wait here, in order.
    expect(results[0]).toBe(SENT);
    expect(results.at(-1)).toBe(BLOCKED);
    const buf = new Uint8Array(4096);
    const got: Buffer[] = [];
    for (let rounds = 0; got.length < frames.length && rounds < 1000; rounds++) {
      for (let r = n.recvDgramInto(rx, buf); r > 0; r = n.recvDgramInto(rx, buf)) got.push(Buffer.from(buf.subarray(0, r)));
      out.flush();
    }
    expect(got.length).toBe(frames.length);
    expect(sentCount).toBe(frames.length);
    got.forEach((g, i) => expect(g.equals(Buffer.from(frames[i]!))).toBe(true));
    n.close(rx);
    n.close(tx);
  });
});
