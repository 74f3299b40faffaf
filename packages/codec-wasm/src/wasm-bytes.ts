import { WASM_BASE64 } from './generated/wasm.js';

// The module's bytes, asked for once, on the first codec call. A module of its own so that a Node
// bundle can put them in a file beside itself instead (@corosync-ts/client: "bundle" "replace" in
// its package.json): a 65 kB string literal is text every importer decodes and scans.

// Node's atob is JavaScript that validates every character: ~10 ms for this module (longer than
// compiling it) in every process's first codec call. Node's Buffer decodes natively, and so does a
// browser's atob.
const NodeBuffer = (globalThis as { Buffer?: { from(s: string, encoding: 'base64'): Uint8Array } }).Buffer;

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  if (NodeBuffer) {
    const decoded = NodeBuffer.from(WASM_BASE64, 'base64');
    const out = new Uint8Array(new ArrayBuffer(decoded.length));
    out.set(decoded);
    return out;
  }
  const bin = atob(WASM_BASE64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
