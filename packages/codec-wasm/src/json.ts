import type { Decoded } from './types.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1; // a-f, A-F
}

/** Bytes of a hex string (even length, [0-9a-fA-F], whitespace ignored), or undefined if it is not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (typeof hex !== 'string') return undefined;
  const clean = /\s/.test(hex) ? hex.replace(/\s+/g, '') : hex;
  if (clean.length % 2 !== 0) return undefined;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(clean.charCodeAt(2 * i));
    const lo = nibble(clean.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** A field value as JSON: bigint -> decimal string, Uint8Array -> lowercase hex, recursively. */
export function toJsonValue(v: unknown): Json {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) o[k] = toJsonValue(x);
    return o;
  }
  if (v === undefined) return null;
  return v as Json;
}

/** `{name, id, size, error?, fields}` of a Decoded as plain JSON (error only for responses/events). */
export function decodedToJSON(d: Decoded): { name: string; id: number; size: number; error?: number; fields: { [k: string]: Json } } {
  const fields = toJsonValue(d.fields) as { [k: string]: Json };
  return d.error === undefined
    ? { name: d.name, id: d.id, size: d.size, fields }
    : { name: d.name, id: d.id, size: d.size, error: d.error, fields };
}
