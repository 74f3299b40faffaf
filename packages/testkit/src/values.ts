import { decodeCmapValue, encodeCmapValue, isEncodeError } from '@corosync-ts/codec-wasm';
import { CmapValueType as T, CMAP_VALUE_TYPE_SIZE } from '@corosync-ts/types';
import { MockError } from './errors.js';

/** A typed cmap value as the scripting API takes and returns it. */
export type CmapJsValue = number | bigint | string | Uint8Array;

/**
 * JS value → the bytes icmap stores: the codec's wire encoding, plus what the daemon side adds.
 * Where this differs from the codec's `encodeCmapValue` (a client's encoding):
 * - STRING is stored with its NUL; a NUL inside the string ends it (icmap keeps a C string),
 *   where the codec refuses a string containing NUL;
 * - any integer type takes a number or a bigint (the scripting API is loose about 64-bit keys).
 * An out-of-range or non-integer value is refused with EINVAL, as the codec refuses it.
 */
export function encodeStored(type: number, value: CmapJsValue): Uint8Array {
  if (type === T.STRING) {
    if (typeof value !== 'string') throw new MockError('EINVAL', 'cmap STRING needs a string');
    const nul = value.indexOf('\0');
    const body = encodeCmapValue(T.STRING, nul >= 0 ? value.slice(0, nul) : value);
    const b = new Uint8Array(body.length + 1);
    b.set(body);
    return b;
  }
  let v = value;
  if (type === T.INT64 || type === T.UINT64) {
    if (typeof v === 'number') v = BigInt(v);
  } else if (typeof v === 'bigint' && CMAP_VALUE_TYPE_SIZE[type] !== undefined) {
    v = Number(v);
  }
  try {
    return encodeCmapValue(type, v);
  } catch (e) {
    if (isEncodeError(e)) throw new MockError('EINVAL', e.message);
    throw e;
  }
}

/**
 * Stored bytes → JS value, by the codec's `decodeCmapValue`; a type the codec does not know
 * (icmap stores any type a client sends, with no value) comes back as its bytes.
 */
export function decodeStored(type: number, b: Uint8Array): CmapJsValue {
  if (type < T.INT8 || type > T.BINARY) return b.slice();
  return decodeCmapValue(type, b);
}
