// What the hand-written codec (index.ts) and the decoders generated from the catalog
// (generated/decoders.ts) share: the result slots, the error state and the string scan.
// Slot layout and error codes come from src/layout.ts through the generated tables.

import { SLOT_SIZE, MAX_FIELDS } from './generated/tables';

export const MAR_NAME_MAX: u32 = 256;

export const slots: usize = memory.data(<i32>(SLOT_SIZE * MAX_FIELDS), 16);

/** Error state: kind, message index, field index (or F_*), byte offset in the frame. */
export const errs: usize = memory.data(16, 16);

@inline export function slot(i: i32): usize { return slots + (<usize>i) * SLOT_SIZE; }

@inline export function fail(kind: i32, msg: i32, field: i32, offset: u32): i32 {
  store<i32>(errs, kind);
  store<i32>(errs, msg, 4);
  store<i32>(errs, field, 8);
  store<u32>(errs, offset, 12);
  return -1;
}

export function clearError(msg: i32): void {
  store<i32>(errs, 0);
  store<i32>(errs, msg, 4);
  store<i64>(errs, 0, 8);
}

/**
 * Index of the first NUL in [p, p+n), or n. Sixteen bytes at a time while a whole vector fits,
 * never reading outside [p, p+n).
 */
export function strnlen(p: usize, n: u32): u32 {
  let i: u32 = 0;
  while (i + 16 <= n) {
    const z = i8x16.bitmask(i8x16.eq(v128.load(p + <usize>i), i8x16.splat(0)));
    if (z != 0) return i + <u32>ctz(z);
    i += 16;
  }
  for (; i < n; i++) if (load<u8>(p + <usize>i) == 0) return i;
  return n;
}

/** Sum (mod 2^32) of the 32-bit words in [p, p+bytes); `bytes` is a multiple of 4. */
export function sumWords(p: usize, bytes: usize): u32 {
  let acc = i32x4.splat(0);
  let k: usize = 0;
  for (; k + 16 <= bytes; k += 16) acc = i32x4.add(acc, v128.load(p + k));
  let h = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; k < bytes; k += 4) h += load<i32>(p + k);
  return <u32>h;
}
