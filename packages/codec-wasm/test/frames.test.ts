import { describe, expect, it } from 'vitest';
import {
  FrameSplitter, QB_CONNECTION_RESPONSE_SIZE, decode, decodeAll, encode, encodeConnectionRequest, isDecodeError, readRequestHeader,
  readResponseHeader, splitFrames,
} from '../src/index.js';
import { cases } from './cases.js';
import { Frame, hex } from './helpers.js';

describe('encodeConnectionRequest', () => {
  it('writes what encode() makes of qb.connectionRequest, across the u32 range', () => {
    for (const maxMsgSize of [0, -0, 1, 12328, 1048576, 0x4000_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff]) {
      const frame = encodeConnectionRequest(maxMsgSize);
      expect(frame).toEqual(encode('qb.connectionRequest', { maxMsgSize }));
      expect(decode(frame, { dir: 'setup' })).toMatchObject({ name: 'qb.connectionRequest', id: -1, size: 24, fields: { maxMsgSize: maxMsgSize >>> 0 } });
    }
  });
  it('throws the EncodeError encode() throws for what a u32 does not hold', () => {
    for (const bad of [-1, 0x1_0000_0000, 1.5, Number.NaN, Infinity, '1024' as unknown as number, undefined as unknown as number]) {
      let want: unknown;
      try {
        encode('qb.connectionRequest', { maxMsgSize: bad });
      } catch (e) {
        want = e;
      }
      expect(want, String(bad)).toBeInstanceOf(Error);
      expect(() => encodeConnectionRequest(bad)).toThrow(want as Error);
      try {
        encodeConnectionRequest(bad);
      } catch (e) {
        expect(e).toMatchObject({ kind: (want as { kind: string }).kind, field: (want as { field: string }).field });
      }
    }
  });
});

describe('header readers', () => {
  it('read request and response headers at an offset', () => {
    const buf = new Uint8Array(64);
    buf.set(Frame.req(7, 296).bytes.subarray(0, 16), 8);
    expect(readRequestHeader(buf, 8)).toEqual({ id: 7, size: 296 });
    buf.set(Frame.res(-1, 12328, -13).bytes.subarray(0, 24), 30);
    expect(readResponseHeader(buf, 30)).toEqual({ id: -1, size: 12328, error: -13 });
    expect(readResponseHeader(Frame.res(0, 24, 7).bytes)).toEqual({ id: 0, size: 24, error: 7 });
  });
  it('respect the byteOffset of a subarray', () => {
    const big = new Uint8Array(100);
    big.set(Frame.req(4, 280).bytes.subarray(0, 16), 50);
    expect(readRequestHeader(big.subarray(50))).toEqual({ id: 4, size: 280 });
  });
  it('throw DecodeError truncated when short or past the end', () => {
    for (const f of [() => readRequestHeader(new Uint8Array(15)), () => readResponseHeader(new Uint8Array(30), 7), () => readRequestHeader(new Uint8Array(16), -1)]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isDecodeError(e) && e.kind).toBe('truncated');
      }
    }
  });
});

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

describe('stream splitting', () => {
  const responses = cases.filter((c) => c.dir === 'res' || c.dir === 'evt');

  it('splits concatenated frames and every frame decodes as if alone', () => {
    const stream = concat(responses.map((c) => c.bytes));
    const frames = splitFrames(stream, { minFrameSize: 24 });
    expect(frames.length).toBe(responses.length);
    frames.forEach((f, i) => {
      const c = responses[i]!;
      expect(hex(f)).toBe(hex(c.bytes));
      expect(decode(f, { service: c.service as 'cmap', dir: c.dir }).fields).toEqual(c.fields);
    });
  });

  it('gives the same frames whatever the chunking (byte by byte, odd chunks)', () => {
    const stream = concat(responses.map((c) => c.bytes));
    for (const chunk of [1, 7, 23, 1000]) {
      const s = new FrameSplitter({ minFrameSize: 24 });
      const got: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += chunk) got.push(...s.push(stream.subarray(i, i + chunk)));
      s.end();
      expect(got.map(hex)).toEqual(responses.map((c) => hex(c.bytes)));
    }
  });

  it('returns copies, so the caller may reuse its chunk buffer', () => {
    const chunk = Frame.req(0, 16).bytes;
    const s = new FrameSplitter();
    const [f] = s.push(chunk);
    chunk[0] = 9;
    expect(f![0]).toBe(0);
  });

  it('reports garbage as badFrame and stays failed', () => {
    const s = new FrameSplitter({ minFrameSize: 24 });
    const garbage = new Uint8Array(40).fill(0xff);
    try {
      s.push(concat([Frame.res(0, 24).bytes, garbage]));
      expect.unreachable();
    } catch (e) {
      expect(isDecodeError(e) && e.kind).toBe('badFrame');
      expect(isDecodeError(e) && e.offset).toBe(32);
    }
    expect(() => s.push(Frame.res(0, 24).bytes)).toThrow(/not a frame boundary/);
  });

  it('rejects a size field beyond maxFrameSize without buffering it', () => {
    const s = new FrameSplitter({ maxFrameSize: 1024 });
    expect(() => s.push(Frame.req(0, 16).i32(8, 0x7fffffff).bytes)).toThrow(/outside 16\.\.1024/);
    expect(() => splitFrames(new Frame(16).i32(8, 0).bytes)).toThrow(/size 0/);
  });

  it('accepts the 12328-byte setup response under the default limit and flags a partial tail', () => {
    const frames = splitFrames(concat([Frame.req(-1, 24).bytes, Frame.res(-1, QB_CONNECTION_RESPONSE_SIZE).bytes]));
    expect(frames.map((f) => decode(f, { dir: 'setup' }).name)).toEqual(['qb.connectionRequest', 'qb.connectionResponse']);
    try {
      splitFrames(Frame.req(0, 24).bytes.subarray(0, 20));
      expect.unreachable();
    } catch (e) {
      expect(isDecodeError(e) && e.kind).toBe('truncated');
    }
    const s = new FrameSplitter();
    expect(s.push(Frame.req(0, 24).bytes.subarray(0, 20))).toEqual([]);
    expect(s.pending).toBe(20);
  });
});

describe('decodeAll', () => {
  it('decodes a stream of golden-style vectors of one service and direction', () => {
    const evts = cases.filter((c) => c.service === 'quorum' && c.dir === 'evt');
    const all = decodeAll(concat(evts.map((c) => c.bytes)), { service: 'quorum', dir: 'evt' });
    expect(all.map((d) => d.fields)).toEqual(evts.map((c) => c.fields));
  });
  it('reports a bad frame inside the stream', () => {
    const bad = Frame.res(3, 52).u32(40, 9).bytes;
    expect(() => decodeAll(concat([Frame.res(3, 48).bytes, bad]), { service: 'quorum', dir: 'evt' })).toThrow(/countOverrun|count runs past/);
  });
});
