import { describe, expect, it } from 'vitest';
import { encoders, encodeCmapValue } from '@corosync-ts/codec-wasm';
import { decodeCmapGetValue, fixedGetValue, parseCmapGetValue } from '../src/wire.js';

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
