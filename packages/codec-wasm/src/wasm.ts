import { HEADER_PTR, LAST_CALL_PTR, SLOTS_PTR } from './generated/wasm.js';
import { wasmBytes } from './wasm-bytes.js';

export interface CodecExports {
  memory: WebAssembly.Memory;
  slotsPtr(): number;
  headerPtr(): number;
  lastCallPtr(): number;
  aPtr(): number;
  aCap(): number;
  bPtr(): number;
  bCap(): number;
  errorKind(): number;
  errorMessage(): number;
  errorField(): number;
  errorOffset(): number;
  headerId(): number;
  headerSize(): number;
  headerError(): number;
  reserve(a: number, b: number): number;
  lookup(service: number, dir: number, id: number): number;
  decode(len: number, service: number, dir: number): number;
  decodeAt(start: number, len: number, service: number, dir: number): number;
  decodeStream(len: number, service: number, dir: number): number;
  streamConsumed(): number;
  streamFieldSum(): number;
  encode(m: number, id: number, error: number, sizeOverride: number, skipBytes: number): number;
}

const FUNCTIONS: Record<Exclude<keyof CodecExports, 'memory'>, true> = {
  slotsPtr: true, headerPtr: true, lastCallPtr: true, aPtr: true, aCap: true, bPtr: true, bCap: true,
  errorKind: true, errorMessage: true, errorField: true, errorOffset: true,
  headerId: true, headerSize: true, headerError: true, reserve: true, lookup: true,
  decode: true, decodeAt: true, decodeStream: true, streamConsumed: true, streamFieldSum: true, encode: true,
};

/**
 * The module is compiled and instantiated on first use, not at import: most of a short script's
 * import time would otherwise go to it, and a process that only imports constants or types never
 * needs it. Until then `wasm` holds stand-ins that load the module and forward the call (a caller
 * that kept one keeps working); afterwards it is the instance's own exports object. Compiled
 * synchronously, from bytes embedded in the package (wasm-bytes.ts: no fs, no fetch, the same code
 * runs in Node and browsers; a 48 kB module is far below the browsers' limit for synchronous
 * compilation).
 */
export let wasm: CodecExports = Object.fromEntries(
  Object.keys(FUNCTIONS).map((name) => [
    name,
    (...args: number[]) => (load()[name as keyof typeof FUNCTIONS] as (...a: number[]) => number)(...args),
  ]),
) as unknown as CodecExports;

let m: Mem | undefined;
let capB = 0;

function load(): CodecExports {
  if (m) return wasm;
  const exports = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes()), {})
    .exports as unknown as CodecExports;
  if (exports.slotsPtr() !== SLOTS_PTR || exports.headerPtr() !== HEADER_PTR || exports.lastCallPtr() !== LAST_CALL_PTR) {
    throw new Error('codec-wasm: the embedded module does not match its generated addresses; rebuild');
  }
  if (exports.reserve(64 * 1024, 64 * 1024) !== 1) throw new Error('codec-wasm: cannot reserve initial memory');
  wasm = exports;
  capB = exports.bCap();
  m = new Mem().refresh();
  return exports;
}

/**
 * Views over the WASM memory. memory.grow() detaches every ArrayBuffer view; the memory only
 * grows inside reserve() below (the WASM code never grows it by itself), which re-creates the
 * views, so between reserve() calls they are always current. The slots' address never moves.
 */
class Mem {
  buffer: ArrayBuffer = new ArrayBuffer(0);
  u8: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(this.buffer);
  /** Word views of the whole memory, for the fast-path accessors (slots and header are aligned). */
  u32: Uint32Array = new Uint32Array(0);
  i32: Int32Array = new Int32Array(0);
  f64: Float64Array = new Float64Array(0);
  readonly slots = SLOTS_PTR;
  /** id, size, error (i32 each) of the last decoded frame. */
  readonly header = HEADER_PTR;
  /** frame length, service, dir of the last decode (for its error message). */
  readonly lastCall = LAST_CALL_PTR;
  a = 0;
  b = 0;
  /** Region A as a whole: what codec.inputBuffer() hands out, cached to avoid a view per call. */
  input: Uint8Array = new Uint8Array(0);
  /** Region A as a DataView: what codec.inputView() hands out. */
  inputDv: DataView = new DataView(this.buffer);
  /** Region B as a whole: the encoder's output, frame at its start. */
  output: Uint8Array = new Uint8Array(0);

  refresh(): this {
    const buf = wasm.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.u8 = new Uint8Array(buf);
      this.dv = new DataView(buf);
      this.u32 = new Uint32Array(buf);
      this.i32 = new Int32Array(buf);
      this.f64 = new Float64Array(buf);
    }
    this.a = wasm.aPtr();
    this.b = wasm.bPtr();
    this.input = this.u8.subarray(this.a, this.a + wasm.aCap());
    this.inputDv = new DataView(buf, this.a, wasm.aCap());
    this.output = this.u8.subarray(this.b, this.b + wasm.bCap());
    return this;
  }
}

/** The memory views; valid until the next reserve(). */
export function mem(): Mem {
  if (m === undefined) load();
  return m!;
}

/** Grows region A/B to at least the given sizes; false if memory cannot grow that far. */
export function reserve(a: number, b: number): boolean {
  const mm = mem();
  if (a <= mm.input.length && b <= capB) return true;
  if (wasm.reserve(a, b) !== 1) return false;
  capB = wasm.bCap();
  mm.refresh();
  return true;
}
