// owned() decides which frames the tap hands to its other thread without a copy: transferring a
// buffer other frames still live in would empty them under their owners.
import { expect, test } from 'vitest';
import { owned } from '../src/protocol.js';

test('a frame that is all of its own ArrayBuffer goes as it is', () => {
  const frame = new Uint8Array(1 << 20).fill(5);
  expect(owned(frame)).toBe(frame);
});

test('a view into a larger buffer (a pool slab, a ring) is copied, and the buffer stays whole', () => {
  const slab = new Uint8Array(64 * 1024).fill(1);
  const view = new Uint8Array(slab.buffer, 4096, 100);
  const got = owned(view);
  expect(got).not.toBe(view);
  expect(got.buffer).not.toBe(slab.buffer);
  expect(got.buffer.byteLength).toBe(100);
  expect([...got]).toEqual([...view]);
  // transferring the copy leaves the slab as it was
  structuredClone(got, { transfer: [got.buffer] });
  expect(slab.buffer.byteLength).toBe(64 * 1024);
  // a view at offset 0 that does not cover its buffer is not the buffer's only view either
  expect(owned(new Uint8Array(slab.buffer, 0, 100)).buffer).not.toBe(slab.buffer);
});

test('a frame in shared memory (not transferable) is copied', () => {
  const frame = new Uint8Array(new SharedArrayBuffer(8192)).fill(3);
  const got = owned(frame);
  expect(got.buffer).toBeInstanceOf(ArrayBuffer);
  expect([...got]).toEqual([...frame]);
});

test("a small Buffer from Node's pool is copied", () => {
  const b = Buffer.from('0000000011111111', 'hex');
  const got = owned(b);
  expect(got.buffer).not.toBe(b.buffer);
  expect([...got]).toEqual([...b]);
});
