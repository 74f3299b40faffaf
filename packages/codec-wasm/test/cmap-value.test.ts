import { describe, expect, it } from 'vitest';
import { CmapValueType as T } from '@corosync-ts/types';
import { decode, decodeCmapValue, encodeCmapValue, encoders, fixedCmapValueAt, fixedCmapValueSize, isDecodeError, isEncodeError, type CmapValue } from '../src/index.js';
import { hex } from './helpers.js';

const cases: [string, number, CmapValue, string][] = [
  ['INT8 -128', T.INT8, -128, '80'],
  ['INT8 127', T.INT8, 127, '7f'],
  ['UINT8 255', T.UINT8, 255, 'ff'],
  ['INT16 -2', T.INT16, -2, 'feff'],
  ['UINT16 65535', T.UINT16, 65535, 'ffff'],
  ['INT32 -2147483648', T.INT32, -2147483648, '00000080'],
  ['UINT32 4294967295', T.UINT32, 4294967295, 'ffffffff'],
  ['UINT32 1', T.UINT32, 1, '01000000'],
  ['INT64 min', T.INT64, -(2n ** 63n), '0000000000000080'],
  ['INT64 -1', T.INT64, -1n, 'ffffffffffffffff'],
  ['UINT64 max', T.UINT64, 2n ** 64n - 1n, 'ffffffffffffffff'],
  ['UINT64 0x0102', T.UINT64, 0x0102n, '0201000000000000'],
  ['FLOAT 1.5', T.FLOAT, 1.5, '0000c03f'],
  ['DOUBLE -0.1', T.DOUBLE, -0.1, '9a9999999999b9bf'],
  ['STRING abc (no NUL on the wire)', T.STRING, 'abc', '616263'],
  ['STRING empty', T.STRING, '', ''],
  ['STRING UTF-8', T.STRING, 'é', 'c3a9'],
  ['BINARY', T.BINARY, new Uint8Array([0, 1, 0xff]), '0001ff'],
  ['BINARY empty', T.BINARY, new Uint8Array(0), ''],
];

describe('encodeCmapValue / decodeCmapValue', () => {
  it.each(cases)('%s', (_, type, value, wire) => {
    const b = encodeCmapValue(type, value);
    expect(hex(b)).toBe(wire);
    expect(decodeCmapValue(type, b)).toEqual(value);
  });

  it('decodes strings up to the first NUL, as the daemon returns them', () => {
    expect(decodeCmapValue(T.STRING, new TextEncoder().encode('hello\0'))).toBe('hello');
    expect(decodeCmapValue(T.STRING, new Uint8Array([0]))).toBe('');
    expect(decodeCmapValue(T.STRING, new TextEncoder().encode('ab\0cd\0'))).toBe('ab');
    expect(decodeCmapValue(T.STRING, new Uint8Array(0))).toBe('');
  });

  it('rounds FLOAT to binary32 and keeps DOUBLE exact', () => {
    expect(decodeCmapValue(T.FLOAT, encodeCmapValue(T.FLOAT, 0.1))).toBe(Math.fround(0.1));
    expect(decodeCmapValue(T.DOUBLE, encodeCmapValue(T.DOUBLE, 0.1))).toBe(0.1);
    expect(Number.isNaN(decodeCmapValue(T.DOUBLE, encodeCmapValue(T.DOUBLE, NaN)))).toBe(true);
    expect(decodeCmapValue(T.FLOAT, encodeCmapValue(T.FLOAT, Infinity))).toBe(Infinity);
  });

  it('copies BINARY both ways', () => {
    const src = new Uint8Array([1, 2]);
    const enc = encodeCmapValue(T.BINARY, src);
    src[0] = 9;
    expect(enc[0]).toBe(1);
    const dec = decodeCmapValue(T.BINARY, enc) as Uint8Array;
    enc[0] = 7;
    expect(dec[0]).toBe(1);
  });

  const rangeErrors: [string, number, CmapValue][] = [
    ['INT8 128', T.INT8, 128], ['INT8 -129', T.INT8, -129], ['UINT8 -1', T.UINT8, -1], ['UINT8 256', T.UINT8, 256],
    ['INT16 32768', T.INT16, 32768], ['UINT16 65536', T.UINT16, 65536], ['INT32 2^31', T.INT32, 2 ** 31],
    ['UINT32 2^32', T.UINT32, 2 ** 32], ['UINT32 -1', T.UINT32, -1], ['UINT32 1.5', T.UINT32, 1.5], ['INT32 NaN', T.INT32, NaN],
    ['INT64 2^63', T.INT64, 2n ** 63n], ['INT64 -2^63-1', T.INT64, -(2n ** 63n) - 1n], ['UINT64 -1', T.UINT64, -1n], ['UINT64 2^64', T.UINT64, 2n ** 64n],
  ];
  it.each(rangeErrors)('rejects %s as outOfRange', (_, type, value) => {
    try {
      encodeCmapValue(type, value);
      expect.unreachable();
    } catch (e) {
      expect(isEncodeError(e) && e.kind).toBe('outOfRange');
    }
  });

  const typeErrors: [string, number, unknown][] = [
    ['bigint for INT32', T.INT32, 1n], ['number for UINT64', T.UINT64, 1], ['string for UINT8', T.UINT8, '1'],
    ['number for STRING', T.STRING, 1], ['string for BINARY', T.BINARY, 'x'], ['array for BINARY', T.BINARY, [1]],
    ['string for DOUBLE', T.DOUBLE, '1.0'], ['null for FLOAT', T.FLOAT, null],
  ];
  it.each(typeErrors)('rejects %s as badType', (_, type, value) => {
    try {
      encodeCmapValue(type, value as CmapValue);
      expect.unreachable();
    } catch (e) {
      expect(isEncodeError(e) && e.kind).toBe('badType');
    }
  });

  it('rejects a NUL inside a string and unknown types', () => {
    for (const [type, value] of [[T.STRING, 'a\0b'], [0, 1], [13, 1], [-1, 1]] as [number, CmapValue][]) {
      try {
        encodeCmapValue(type, value);
        expect.unreachable();
      } catch (e) {
        expect(isEncodeError(e) && e.kind).toBe('badValue');
      }
    }
  });

  it('rejects wrong lengths and unknown types when decoding', () => {
    const bad: [number, number][] = [[T.INT8, 0], [T.UINT8, 2], [T.INT16, 1], [T.UINT32, 3], [T.INT64, 4], [T.UINT64, 16], [T.FLOAT, 8], [T.DOUBLE, 4]];
    for (const [type, len] of bad) {
      try {
        decodeCmapValue(type, new Uint8Array(len));
        expect.unreachable();
      } catch (e) {
        expect(isDecodeError(e) && e.kind).toBe('badValue');
      }
    }
    for (const type of [0, 13, 1.5]) {
      expect(() => decodeCmapValue(type, new Uint8Array(0))).toThrow(/cannot be decoded/);
    }
  });

  it('composes with messages: cmap_set_string sends strlen bytes, the reply carries the NUL', () => {
    const set = encoders.cmap.req.set({ keyName: 'test.str', type: T.STRING, value: encodeCmapValue(T.STRING, 'abc') });
    expect(set.length).toBe(299);
    const reply = encoders.cmap.res.get({ type: T.STRING, value: new TextEncoder().encode('abc\0') });
    const d = decode(reply, { service: 'cmap', dir: 'res' });
    if (d.name !== 'cmap.get' || d.dir !== 'res') throw new Error('unexpected');
    expect(d.fields.valueLen).toBe(4n);
    expect(decodeCmapValue(d.fields.type, d.fields.value)).toBe('abc');
  });
});

describe('fixedCmapValueAt', () => {
  it('reads every fixed-size type in place as decodeCmapValue reads its bytes, at any offset', () => {
    const buf = new Uint8Array(64);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 151 + 7) & 0xff;
    const dv = new DataView(buf.buffer);
    for (let type = 1; type <= 10; type++) {
      const size = fixedCmapValueSize(type)!;
      for (let at = 0; at + size <= buf.length; at += 3) {
        const got = fixedCmapValueAt(dv, at, type);
        const want = decodeCmapValue(type, buf.subarray(at, at + size));
        expect(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))).toBe(true);
      }
    }
    expect([0, 11, 12, 13, -1, 1.5].map(fixedCmapValueSize)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('text details', () => {
  it('keeps a leading BOM in names and string values (TextDecoder would strip it by default)', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
    expect(decodeCmapValue(T.STRING, bom)).toBe('\ufeffa');
    const d = decode(encoders.cmap.req.delete({ keyName: '\ufeffa.b' }), { service: 'cmap', dir: 'req' });
    expect(d.fields).toEqual({ keyName: '\ufeffa.b' });
  });
  it('parses hex strictly', async () => {
    const { fromHex } = await import('../src/index.js');
    expect([...fromHex('00fFa0')!]).toEqual([0, 255, 160]);
    expect([...fromHex(' 0a 0B\n')!]).toEqual([10, 11]);
    for (const bad of ['0', 'zz', '0g', '+1', 'é0']) expect(fromHex(bad)).toBeUndefined();
  });
});
