import { CmapValueType as T, CMAP_VALUE_TYPE_SIZE } from '@corosync-ts/types';
import { MockError } from './errors.js';

/** A typed cmap value as the scripting API takes and returns it. */
export type CmapJsValue = number | bigint | string | Uint8Array;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** JS value → the bytes icmap stores (strings with their NUL, like the daemon). */
export function encodeStored(type: number, value: CmapJsValue): Uint8Array {
  const size = CMAP_VALUE_TYPE_SIZE[type];
  if (size !== undefined) {
    const b = new Uint8Array(size);
    const dv = new DataView(b.buffer);
    const asNum = () => {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw new MockError('EINVAL', `cmap type ${type} needs a number`);
      return Number(value);
    };
    const asBig = () => {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw new MockError('EINVAL', `cmap type ${type} needs a bigint`);
      return BigInt(value);
    };
    switch (type) {
      case T.INT8: dv.setInt8(0, asNum()); break;
      case T.UINT8: dv.setUint8(0, asNum()); break;
      case T.INT16: dv.setInt16(0, asNum(), true); break;
      case T.UINT16: dv.setUint16(0, asNum(), true); break;
      case T.INT32: dv.setInt32(0, asNum(), true); break;
      case T.UINT32: dv.setUint32(0, asNum(), true); break;
      case T.INT64: dv.setBigInt64(0, asBig(), true); break;
      case T.UINT64: dv.setBigUint64(0, asBig(), true); break;
      case T.FLOAT: dv.setFloat32(0, asNum(), true); break;
      case T.DOUBLE: dv.setFloat64(0, asNum(), true); break;
    }
    return b;
  }
  if (type === T.STRING) {
    if (typeof value !== 'string') throw new MockError('EINVAL', 'cmap STRING needs a string');
    const s = enc.encode(value);
    const nul = s.indexOf(0);
    const body = nul >= 0 ? s.subarray(0, nul) : s;
    const b = new Uint8Array(body.length + 1);
    b.set(body);
    return b;
  }
  if (type === T.BINARY) {
    if (!(value instanceof Uint8Array)) throw new MockError('EINVAL', 'cmap BINARY needs a Uint8Array');
    return value.slice();
  }
  throw new MockError('EINVAL', `unknown cmap type ${type}`);
}

/** Stored bytes → JS value. */
export function decodeStored(type: number, b: Uint8Array): CmapJsValue {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (type) {
    case T.INT8: return dv.getInt8(0);
    case T.UINT8: return dv.getUint8(0);
    case T.INT16: return dv.getInt16(0, true);
    case T.UINT16: return dv.getUint16(0, true);
    case T.INT32: return dv.getInt32(0, true);
    case T.UINT32: return dv.getUint32(0, true);
    case T.INT64: return dv.getBigInt64(0, true);
    case T.UINT64: return dv.getBigUint64(0, true);
    case T.FLOAT: return dv.getFloat32(0, true);
    case T.DOUBLE: return dv.getFloat64(0, true);
    case T.STRING: {
      const nul = b.indexOf(0);
      return dec.decode(nul >= 0 ? b.subarray(0, nul) : b);
    }
    default: return b.slice();
  }
}
