import { readFileSync } from 'node:fs';

/**
 * The codec's WASM module for this package's bundle, which puts it in dist/codec.wasm instead of
 * codec-wasm's 65 kB base64 string literal (package.json "bundle": "replace", "copy"): every import
 * decodes and scans a literal, and only a process that makes a call needs the bytes. Read on the
 * first codec call; the codec checks the module against its generated addresses when it loads it.
 */
export function wasmBytes(): Uint8Array<ArrayBuffer> {
  const b = readFileSync(new URL('./codec.wasm', import.meta.url));
  return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.length);
}
