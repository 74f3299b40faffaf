import { describe, expect, it } from 'vitest';
import { encoders, encodeCmapValue } from '@corosync-ts/codec-wasm';
import { decodeCmapGet, decodeCmapGetValue, fixedGetValue, getAnswer, getRequest, parseCmapGet, parseCmapGetValue } from '../src/wire.js';

// The typed getters read a usual GET answer in JavaScript (wire.ts fixedGetValue) and leave every
// other frame to the codec. Whatever the fast path takes, the codec must read the same value.

const SAMPLES: [type: number, value: number | bigint][] = [
  [1, -5], [2, 200], [3, -30000], [4, 60000], [5, -2000000000], [6, 4000000000],
  [7, -(2n ** 62n)], [8, 2n ** 64n - 1n], [9, 1.5], [10, -1e300],
];

function answer(type: number, value: number | bigint): Uint8Array {
  const bytes = encodeCmapValue(type, value);
  return encoders.cmap.res.get({ valueLen: BigInt(bytes.length), type, value: bytes }).slice();
}

function codecResult(frame: Uint8Array, want: number): unknown {
  try {
    return { value: decodeCmapGetValue(frame, 'op', want) };
  } catch (e) {
    return { error: (e as { code?: unknown }).code ?? String(e) };
  }
}

describe('typed GET answers read without the codec', () => {
  it('takes a usual answer of every fixed-size type, with the value the codec reads', () => {
    for (const [type, value] of SAMPLES) {
      const frame = answer(type, value);
      const fast = fixedGetValue(frame, type);
      expect(fast).toEqual(value);
      expect(codecResult(frame, type)).toEqual({ value: fast });
      expect(parseCmapGetValue(frame, 'op', type)).toEqual(value);
    }
  });

  it('never takes a frame the codec reads otherwise: every byte of the head changed, trailing bytes, cut frames', () => {
    let taken = 0;
    let left = 0;
    for (const [type, value] of SAMPLES) {
      const base = answer(type, value);
      const variants: Uint8Array[] = [];
      for (let i = 0; i < base.length; i++) {
        for (const b of [0, 1, 2, 4, 8, 0x80, 0xff]) {
          const f = base.slice();
          f[i] = b;
          variants.push(f);
        }
      }
      for (let cut = 0; cut < base.length; cut++) variants.push(base.slice(0, cut));
      const longer = new Uint8Array(base.length + 8);
      longer.set(base);
      longer[8] = longer.length;
      variants.push(longer);
      for (const f of variants) {
        for (const want of [type, (type % 10) + 1]) {
          const fast = fixedGetValue(f, want);
          const ref = codecResult(f, want);
          if (fast === undefined) {
            left++;
            // The getter still answers (or fails) exactly as the codec says.
            let got: unknown;
            try {
              got = { value: parseCmapGetValue(f, 'op', want) };
            } catch (e) {
              got = { error: (e as { code?: unknown }).code ?? String(e) };
            }
            expect(got).toEqual(ref);
          } else {
            taken++;
            expect(ref).toEqual({ value: fast });
          }
        }
      }
    }
    // Both paths were exercised: changed value bytes stay on the fast path, bad heads leave it.
    expect(taken).toBeGreaterThan(100);
    expect(left).toBeGreaterThan(1000);
  });
});

describe('GET requests written without the codec', () => {
  const codecFrame = (keyName: string, valueLen: number) => encoders.cmap.req.get({ keyName, valueLen: BigInt(valueLen) }).slice();

  it('writes the bytes the codec writes, for every key length and capacities up to 2^53 - 1', () => {
    const capacities = [0, 1, 255, 256, 4096, 0xffff_ffff, 0x1_0000_0000, 0x1_2345_6789, Number.MAX_SAFE_INTEGER];
    const keys = ['', 'a', 'totem.cluster_name', 'runtime.config.totem.token', '~ !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}\x7f\x01'];
    for (let n = 0; n <= 256; n += 17) keys.push('k'.repeat(n));
    keys.push('x'.repeat(256));
    for (const key of keys) {
      for (const cap of capacities) {
        const fast = getRequest(key, cap);
        expect(fast, `${key.length} ${cap}`).toBeDefined();
        expect(fast).toEqual(codecFrame(key, cap));
      }
    }
  });

  it('leaves to the codec what it would encode otherwise or reject: non-ASCII, NUL, over 256 characters, capacities not a safe integer >= 0', () => {
    for (const key of ['caf\u00e9', 'a\u0000b', '\u{1F600}', 'x'.repeat(257)]) expect(getRequest(key, 16)).toBeUndefined();
    for (const cap of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity]) expect(getRequest('k', cap)).toBeUndefined();
    // The codec's own answers for those keys are unchanged: bytes for the valid ones, an error for the rest.
    expect(codecFrame('caf\u00e9', 16).length).toBe(288);
    expect(() => codecFrame('a\u0000b', 16)).toThrow();
    expect(() => codecFrame('x'.repeat(257), 16)).toThrow();
  });
});

describe('GET answers (get, getString) read without the codec', () => {
  const te = new TextEncoder();
  const answerOf = (type: number, value: Uint8Array, valueLen = value.length) =>
    encoders.cmap.res.get({ valueLen: BigInt(valueLen), type, value }).slice();
  const viaCodec = (frame: Uint8Array): unknown => {
    try {
      return decodeCmapGet(frame, 'op');
    } catch (e) {
      return { error: (e as { code?: unknown }).code ?? String(e) };
    }
  };
  const bases = [
    answerOf(10, te.encode('nstest\0')),
    answerOf(10, te.encode('x'.repeat(300))),
    answerOf(10, new Uint8Array(0)),
    answerOf(7, encodeCmapValue(7, -(2n ** 62n))),
    answerOf(11, new Uint8Array([0, 1, 2, 0xff])),
  ];

  it('takes usual answers, with what the codec reads', () => {
    for (const f of bases) {
      const fast = getAnswer(f);
      expect(fast).toBeDefined();
      expect(fast).toEqual(viaCodec(f));
      expect(parseCmapGet(f, 'op')).toEqual(fast);
    }
  });

  it('never takes a frame the codec reads otherwise: every byte of the head changed, trailing bytes, cut frames', () => {
    let taken = 0;
    let left = 0;
    for (const base of bases) {
      const variants: Uint8Array[] = [];
      for (let i = 0; i < Math.min(base.length, 48); i++) {
        for (const b of [0, 1, 2, 4, 8, 40, 0x80, 0xff]) {
          const f = base.slice();
          f[i] = b;
          variants.push(f);
        }
      }
      for (let cut = 0; cut < base.length; cut++) variants.push(base.slice(0, cut));
      for (const extra of [1, 8]) {
        const longer = new Uint8Array(base.length + extra);
        longer.set(base);
        new DataView(longer.buffer).setInt32(8, longer.length, true);
        variants.push(longer);
      }
      for (const f of variants) {
        const fast = getAnswer(f);
        const ref = viaCodec(f);
        if (fast === undefined) {
          left++;
          let got: unknown;
          try {
            got = parseCmapGet(f, 'op');
          } catch (e) {
            got = { error: (e as { code?: unknown }).code ?? String(e) };
          }
          expect(got).toEqual(ref);
        } else {
          taken++;
          expect(ref).toEqual(fast);
        }
      }
    }
    expect(taken).toBeGreaterThan(100);
    expect(left).toBeGreaterThan(500);
  });
});
