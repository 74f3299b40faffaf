import { CmapValueType as T } from '@corosync-ts/types';
import { describe, expect, test } from 'vitest';
import { CmapStore, decodeStored, encodeStored, isMockError } from '../src/index.js';

const einval = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return isMockError(e) && e.code === 'EINVAL';
  }
  return false;
};

describe('stored cmap values: the codec encoding plus what icmap adds', () => {
  test('strings are stored with their NUL, and end at a NUL inside them', () => {
    expect([...encodeStored(T.STRING, 'ab')]).toEqual([0x61, 0x62, 0]);
    expect([...encodeStored(T.STRING, 'a\0b')]).toEqual([0x61, 0]);
    expect(decodeStored(T.STRING, encodeStored(T.STRING, '\uFEFFbom'))).toBe('\uFEFFbom');
  });

  test('integer types take a number or a bigint; out of range or fractional is EINVAL', () => {
    expect([...encodeStored(T.UINT32, 7n)]).toEqual([7, 0, 0, 0]);
    expect(decodeStored(T.UINT64, encodeStored(T.UINT64, 7))).toBe(7n);
    expect(einval(() => encodeStored(T.UINT8, 256))).toBe(true);
    expect(einval(() => encodeStored(T.INT32, 1.5))).toBe(true);
    expect(einval(() => encodeStored(T.STRING, 5))).toBe(true);
  });

  test('a type the codec does not know, stored from the wire with no value, reads back as bytes', () => {
    const s = new CmapStore();
    expect(s.setRaw('x.unknown', 13, new Uint8Array(0))).toBe(1);
    expect(s.getValue('x.unknown')).toEqual(new Uint8Array(0));
  });
});
