// The libqb ring buffer on its own: chunk format across wrap-around, a full ring, the
// semaphore accounting, and hostile headers.
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertShmPath, type PeerFileRules } from '../src/peerfile.js';
import { Ring, ringDataSize } from '../src/ring.js';

describe('ring buffer', () => {
  let dir: string;
  let base: string;
  let rules: PeerFileRules;
  beforeEach(() => {
    dir = mkdtempSync('/dev/shm/cts-ring-test-');
    base = `${dir}/qb-request-test`;
    rules = { dir, owners: [process.geteuid!()] };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sizes the data file like libqb: ROUNDUP(max + 13, 4096)', () => {
    expect(ringDataSize(1048576)).toBe(1052672);
    expect(ringDataSize(12328)).toBe(16384);
    const server = Ring.create(base, 12328);
    expect(server.wordSize).toBe(4096);
    expect(server.refCount).toBe(1);
    const client = Ring.open(base, 12328, rules);
    expect(server.refCount).toBe(2);
    client.close();
    expect(server.refCount).toBe(1);
    server.destroy();
  });

  it('round-trips chunks over many laps, wrapping header and data at every offset', () => {
    const w = Ring.create(base, 12328);
    const r = Ring.open(base, 12328, rules);
    let seq = 0;
    for (let i = 0; i < 3000; i++) {
      // Lengths that are not multiples of 4 walk the chunk start across every word.
      const len = 16 + ((i * 37) % 3001);
      const frame = new Uint8Array(len).map((_, j) => (j + seq) & 0xff);
      expect(w.write(frame)).toBe(true);
      expect(r.tryTake()).toBe(true);
      const got = r.read();
      expect(got.length).toBe(len);
      // Buffer.equals: expect().toEqual on thousands of typed arrays is needlessly slow.
      if (!Buffer.from(got).equals(frame)) expect.fail(`chunk ${i} (${len} bytes) came back different`);
      seq++;
    }
    expect(r.tryTake()).toBe(false);
    r.close();
    w.destroy();
  });

  it('writeRung publishes as write() does through the ring it registers once, and writes nothing once the ring is closed', () => {
    const w = Ring.create(base, 12328);
    const r = Ring.open(base, 12328, rules);
    for (let i = 0; i < 50; i++) {
      const frame = new Uint8Array(100 + i * 97).map((_, j) => (j * 3 + i) & 0xff);
      // No doorbell fd: published and posted, the doorbell left to the caller.
      expect(r.writeRung(frame, -1)).toBe(0);
      expect(w.tryTake()).toBe(true);
      if (!Buffer.from(w.read()).equals(frame)) expect.fail(`chunk ${i} came back different`);
    }
    r.close();
    expect(r.writeRung(new Uint8Array(40), -1)).toBe(-1);
    expect(w.tryTake()).toBe(false);
    w.destroy();
  });

  it('writes a chunk given in two pieces as the one frame, wrapping at every offset, the cut anywhere', () => {
    const w = Ring.create(base, 12328);
    const r = Ring.open(base, 12328, rules);
    for (let i = 0; i < 3000; i++) {
      const len = 16 + ((i * 37) % 3001);
      const frame = new Uint8Array(len).map((_, j) => (j * 7 + i) & 0xff);
      // The cut walks across the frame, so over the laps the ring's end falls before the cut,
      // on it and after it, in the head and in the body.
      const cut = (i * 11) % (len + 1);
      expect(w.write(frame.subarray(0, cut), i % 2 === 0, frame.subarray(cut))).toBe(true);
      if (i % 2 === 1) expect(w.postDue()).toBe(true);
      expect(r.tryTake()).toBe(true);
      const got = r.read();
      if (!Buffer.from(got).equals(frame)) expect.fail(`chunk ${i} (${len} bytes, cut at ${cut}) came back different`);
    }
    expect(r.tryTake()).toBe(false);
    // Space is counted for both pieces: a frame that fits only whole is refused whole.
    const free = w.spaceFree();
    const body = new Uint8Array(free - 12 - 16 + 1);
    expect(w.write(new Uint8Array(16), true, body)).toBe(false);
    expect(w.spaceFree()).toBe(free);
    expect(w.write(new Uint8Array(16), true, body.subarray(1))).toBe(true);
    r.close();
    w.destroy();
  });

  it('reports a full ring (write returns false) until the reader reclaims', () => {
    const w = Ring.create(base, 12328);
    const r = Ring.open(base, 12328, rules);
    const frame = new Uint8Array(1000).fill(7);
    let n = 0;
    while (w.write(frame)) n++;
    // 16 KiB of ring, 1000-byte chunks + 8 bytes of chunk header, 12 bytes of margin.
    expect(n).toBe(16);
    expect(w.spaceFree()).toBeLessThan(1000 + 12);
    expect(r.tryTake()).toBe(true);
    r.read();
    expect(w.write(frame)).toBe(true);
    for (let i = 0; i < n; i++) {
      expect(r.tryTake()).toBe(true);
      expect(Buffer.from(r.read()).equals(frame)).toBe(true);
    }
    expect(r.tryTake()).toBe(false);
    // Empty again: the negotiated maximum fits, anything beyond the ring never will.
    expect(w.fits(12328)).toBe(true);
    expect(w.fits(16384)).toBe(false);
    expect(w.write(new Uint8Array(12328))).toBe(true);
    r.close();
    w.destroy();
  });

  it('treats read_pt == write_pt with a pending token as full, like qb_rb_space_free', () => {
    const w = Ring.create(base, 12328);
    const r = Ring.open(base, 12328, rules);
    // Fill exactly: the free-space rule keeps one word, so equal pointers only occur when empty.
    expect(w.spaceFree()).toBe(16384);
    w.write(new Uint8Array(64));
    expect(w.spaceFree()).toBe(16384 - 72 - 4);
    r.tryTake();
    r.read();
    expect(w.spaceFree()).toBe(16384);
    r.close();
    w.destroy();
  });

  it('refuses paths outside /dev/shm, including in a hostile ring header', () => {
    expect(() => assertShmPath('/etc/passwd', 'x')).toThrow(/not inside \/dev\/shm/);
    expect(() => assertShmPath('/dev/shm/../etc/passwd', 'x')).toThrow(/not inside/);
    expect(assertShmPath('/dev/shm/qb-1-2-3-abc/qb-cmap', 'x')).toBe('/dev/shm/qb-1-2-3-abc/qb-cmap');
    const w = Ring.create(base, 12328);
    const fd = openSync(`${base}-header`, 'r+');
    const evil = Buffer.from('/etc/hostname\0');
    writeSync(fd, evil, 0, evil.length, 4108);
    closeSync(fd);
    expect(() => Ring.open(base, 12328, rules)).toThrow(expect.objectContaining({ name: 'IpcError', code: 'EBADMSG' }));
    w.destroy();
  });

  it('assertShmPath accepts exactly the /dev/shm paths that node:path resolve() gives back unchanged', () => {
    const paths = [
      '/dev/shm/a', '/dev/shm/qb-1-2-3-abc/qb-cmap', '/dev/shm/', '/dev/shm//a', '/dev/shm/a/', '/dev/shm/a//b',
      '/dev/shm/.', '/dev/shm/..', '/dev/shm/./a', '/dev/shm/a/.', '/dev/shm/a/..', '/dev/shm/../shm/a',
      '/dev/shm/...', '/dev/shm/.a', '/dev/shm/..a', '/dev/shm/a.', '/dev/shm/a..', '/dev/shm/a/.b/..c', '/dev/shm/a/./b',
      '/dev/shm/a\\..', '/dev/shm/ ', '/dev/shm/a/../../etc', '/dev/shm/a/b/c/d', '/dev/shm/x/', '/dev/shm/x/.',
    ];
    for (const p of paths) {
      const ok = (() => {
        try {
          assertShmPath(p, 'x');
          return true;
        } catch {
          return false;
        }
      })();
      expect([p, ok]).toEqual([p, resolve(p) === p]);
    }
  });

  it('refuses a header with an implausible size or a missing data file', () => {
    const w = Ring.create(base, 12328);
    const fd = openSync(`${base}-header`, 'r+');
    const b = Buffer.alloc(4);
    b.writeUInt32LE(12345);
    writeSync(fd, b, 0, 4, 8);
    closeSync(fd);
    expect(() => Ring.open(base, 12328, rules)).toThrow(expect.objectContaining({ code: 'EBADMSG' }));
    w.destroy();
    expect(() => Ring.open(`${dir}/nothing-here`, 12328, rules)).toThrow(expect.objectContaining({ name: 'IpcError', code: 'ENOENT' }));
  });
});
