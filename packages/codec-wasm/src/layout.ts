/**
 * Numeric codes shared by the JS wrapper and the WASM: scripts/build-wasm.ts writes every
 * constant here into assembly/generated/tables.ts, so both sides read one definition. Also the
 * slot layout of the results struct in WASM memory.
 */
import { services, type MessageSpec } from './catalog.js';

type ServiceName = (typeof services)[number]['name'];

export const SERVICE_NAMES: readonly ServiceName[] = services.map((s) => s.name);
export const SERVICE_CODE = Object.fromEntries(SERVICE_NAMES.map((n, i) => [n, i])) as { readonly [K in ServiceName]: number };
export const DIR_CODE = { req: 0, res: 1, evt: 2, setup: 3 } as const;
export const DIR_NAMES = ['req', 'res', 'evt', 'setup'] as const;

/**
 * Codes 10..19 are the variable parts (packed after the fixed struct, `isVar` in the WASM);
 * 20 and up are fixed-size fields laid out by the JS side element by element.
 */
export const FIELD_TYPE_CODE = {
  u8: 1, u16: 2, u32: 3, i32: 4, u64: 5, i64: 6, name: 7, chars: 8, ringId: 9,
  bytes: 10, u32list: 11, nodeList: 12, addrList: 13, cpgAddrList: 14,
  cpgName: 20, csName: 21, cpgAddrArray: 22, charsArray: 23, linkStatusArray: 24,
} as const;

/** Wire bytes of one element of a list or array field (`charsArray`: its `len`). */
export const ELEMENT_SIZE = {
  bytes: 1, u32list: 4, nodeList: 8, addrList: 16, cpgAddrList: 24, cpgAddrArray: 24, linkStatusArray: 520,
} as const;

/** Wire layout of the fixed-size types (the lists are ELEMENT_SIZE times their count). */
export const CPG_NAME_SIZE = 136;
export const CPG_NAME_MAX = 128;
export const CS_NAME_SIZE = 258;
export const CS_NAME_MAX = 256;

/** Byte width of a fixed (non-variable) field. */
export function fixedWidth(f: { type: string; len?: number; capacity?: number }): number {
  switch (f.type) {
    case 'u8': return 1;
    case 'u16': return 2;
    case 'u32': case 'i32': return 4;
    case 'u64': case 'i64': return 8;
    case 'name': return 264;
    case 'chars': return f.len!;
    case 'ringId': return 16;
    case 'cpgName': return CPG_NAME_SIZE;
    case 'csName': return CS_NAME_SIZE;
    case 'cpgAddrArray': return 24 * f.capacity!;
    case 'charsArray': return f.len! * f.capacity!;
    case 'linkStatusArray': return 520 * f.capacity!;
    default: return 0;
  }
}

/** Element size of field `f` (0 for scalar fields). */
export function elementSize(f: { type: string; len?: number }): number {
  if (f.type === 'charsArray') return f.len!;
  return (ELEMENT_SIZE as Record<string, number>)[f.type] ?? 0;
}

export const VAR_TYPES: ReadonlySet<string> = new Set(['bytes', 'u32list', 'nodeList', 'addrList', 'cpgAddrList']);

export function headerKindOf(m: MessageSpec): 'request' | 'response' {
  if ('header' in m) return m.header;
  return m.dir === 'req' ? 'request' : 'response';
}

/**
 * One 32-byte slot per field of the current message (at most 16), written by the WASM decoder
 * and read by the WASM encoder:
 *   +0  f64  numeric value (every integer field; u64 fields as an approximate double too;
 *            ringId: nodeid)
 *   +8  i64  64-bit value (u64/i64 fields; ringId: seq)
 *   +16 u32  data offset (strings, bytes, lists; relative to the input/scratch region)
 *   +20 u32  data length (string/bytes: bytes; lists: element count)
 *   +24 u32  encoder only: 1 if the caller gave this field (count fields may be left out)
 */
export const SLOT_SIZE = 32;
export const MAX_FIELDS = 16;
export const SLOT_NUM = 0;
export const SLOT_BIG = 8;
export const SLOT_OFF = 16;
export const SLOT_LEN = 20;
export const SLOT_GIVEN = 24;

/** Error kinds the WASM reports, by code. */
export const ERROR_KINDS = [
  '',
  'truncated',
  'sizeMismatch',
  'badSize',
  'unknownMessage',
  'countOverrun',
  'nameTooLong',
  'outOfRange',
  'tooLong',
  'countMismatch',
  'badValue',
  'tooLarge',
  'badFrame',
] as const;

/** Pseudo field indices for errors in the frame header rather than a catalog field. */
export const PSEUDO_FIELDS = { header: -1, id: -2, size: -3 } as const;
