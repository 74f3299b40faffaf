import { DecodeError, EncodeError } from './errors.js';

/** A typed cmap value: INT8..UINT32, FLOAT, DOUBLE -> number; INT64/UINT64 -> bigint; STRING -> string; BINARY -> Uint8Array. */
export type CmapValue = number | bigint | string | Uint8Array;

const INT_RANGE: Record<number, [number, number, number]> = {
  1: [1, -0x80, 0x7f],
  2: [1, 0, 0xff],
  3: [2, -0x8000, 0x7fff],
  4: [2, 0, 0xffff],
  5: [4, -0x8000_0000, 0x7fff_ffff],
  6: [4, 0, 0xffff_ffff],
};
const TYPE_NAME = ['', 'INT8', 'UINT8', 'INT16', 'UINT16', 'INT32', 'UINT32', 'INT64', 'UINT64', 'FLOAT', 'DOUBLE', 'STRING', 'BINARY'];
const FIXED_SIZE = [0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8];

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8enc = new TextEncoder();

function typeName(type: unknown): string {
  return typeof type === 'number' && TYPE_NAME[type] ? TYPE_NAME[type] : `type ${String(type)}`;
}

function encErr(kind: 'badType' | 'outOfRange' | 'badValue', type: number, text: string): EncodeError {
  return new EncodeError(`cmap ${typeName(type)} value: ${text}`, { kind, field: 'value' });
}

/**
 * The wire bytes of a cmap value of `type` (cmap_value_types_t, 1..12), as cmap_set sends them:
 * native little-endian integers and IEEE floats (FLOAT is rounded to binary32), strings as UTF-8
 * WITHOUT a NUL (the daemon stores one), binary as is. Throws EncodeError for a wrong JS type, an
 * integer out of range, a string containing NUL, or an unknown type.
 */
export function encodeCmapValue(type: number, value: CmapValue): Uint8Array {
  const range = INT_RANGE[type];
  if (range) {
    if (typeof value !== 'number') throw encErr('badType', type, `expected a number, got ${typeof value}`);
    const [size, lo, hi] = range;
    if (!Number.isInteger(value) || value < lo || value > hi) throw encErr('outOfRange', type, `${value} is not an integer in ${lo}..${hi}`);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    if (size === 1) dv.setUint8(0, value & 0xff);
    else if (size === 2) dv.setUint16(0, value & 0xffff, true);
    else dv.setUint32(0, value >>> 0, true);
    return out;
  }
  switch (type) {
    case 7:
    case 8: {
      if (typeof value !== 'bigint') throw encErr('badType', type, `expected a bigint, got ${typeof value}`);
      const ok = type === 7 ? value >= -(2n ** 63n) && value < 2n ** 63n : value >= 0n && value < 2n ** 64n;
      if (!ok) throw encErr('outOfRange', type, `${value} is out of range`);
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
      return out;
    }
    case 9:
    case 10: {
      if (typeof value !== 'number') throw encErr('badType', type, `expected a number, got ${typeof value}`);
      const out = new Uint8Array(type === 9 ? 4 : 8);
      const dv = new DataView(out.buffer);
      if (type === 9) dv.setFloat32(0, value, true);
      else dv.setFloat64(0, value, true);
      return out;
    }
    case 11: {
      if (typeof value !== 'string') throw encErr('badType', type, `expected a string, got ${typeof value}`);
      // The daemon stores a C string: a NUL inside would silently truncate the stored value.
      if (value.includes('\0')) throw encErr('badValue', type, 'a string value cannot contain NUL');
      return utf8enc.encode(value);
    }
    case 12:
      if (!(value instanceof Uint8Array)) throw encErr('badType', type, `expected a Uint8Array, got ${typeof value}`);
      return value.slice();
    default:
      throw encErr('badValue', type, 'unknown cmap value type');
  }
}

/** The size of a value of fixed-size cmap `type` (1..10), or undefined for another type. */
export function fixedCmapValueSize(type: number): number | undefined {
  return type >= 1 && type <= 10 ? FIXED_SIZE[type] : undefined;
}

/**
 * The value of fixed-size cmap `type` (1..10) whose fixedCmapValueSize() bytes are at `at` in `dv`
 * (the caller checked the type and the room): a value read in place, without a view of its bytes.
 */
export function fixedCmapValueAt(dv: DataView, at: number, type: number): number | bigint {
  switch (type) {
    case 1: return dv.getInt8(at);
    case 2: return dv.getUint8(at);
    case 3: return dv.getInt16(at, true);
    case 4: return dv.getUint16(at, true);
    case 5: return dv.getInt32(at, true);
    case 6: return dv.getUint32(at, true);
    case 7: return dv.getBigInt64(at, true);
    case 8: return dv.getBigUint64(at, true);
    case 9: return dv.getFloat32(at, true);
    default: return dv.getFloat64(at, true);
  }
}

/**
 * The typed value of cmap value bytes of `type` (as in a GET response or a notification).
 * Fixed-size types need exactly their size; STRING is cut at the first NUL (the daemon returns
 * strings with their NUL) and decoded as UTF-8; BINARY is copied. Throws DecodeError kind
 * 'badValue' for a wrong length or an unknown type (including 0, "no value").
 */
export function decodeCmapValue(type: number, bytes: Uint8Array): CmapValue {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('decodeCmapValue: bytes must be a Uint8Array', { kind: 'badArgument' });
  if (Number.isInteger(type) && type >= 1 && type <= 10) {
    const size = FIXED_SIZE[type]!;
    if (bytes.length !== size) {
      throw new DecodeError(`cmap ${typeName(type)} value must be ${size} bytes, got ${bytes.length}`, {
        kind: 'badValue', field: 'value', offset: 0,
      });
    }
    return fixedCmapValueAt(new DataView(bytes.buffer, bytes.byteOffset, size), 0, type);
  }
  if (type === 11) {
    const nul = bytes.indexOf(0);
    return utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }
  if (type === 12) return bytes.slice();
  throw new DecodeError(`cmap value of ${typeName(type)} cannot be decoded`, { kind: 'badValue', field: 'type' });
}
