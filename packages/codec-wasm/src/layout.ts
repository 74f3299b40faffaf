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

export const FIELD_TYPE_CODE = {
  u8: 1, u16: 2, u32: 3, i32: 4, u64: 5, i64: 6, name: 7, chars: 8, ringId: 9,
  bytes: 10, u32list: 11, nodeList: 12, addrList: 13,
} as const;

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
