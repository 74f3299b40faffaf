import { describe, expect, it } from 'vitest';

// Cold start (issue 13): a client sends the connection request before the WASM module is
// compiled, and compiles it (codec.load()) while the server sets the connection up. This file
// counts compilations from a fresh module registry (vitest isolates each test file).
describe('the WASM module is compiled on first need or codec.load(), not for the connection request', () => {
  it('encodeConnectionRequest compiles nothing; codec.load() compiles once; calls then reuse it', async () => {
    const Real = WebAssembly.Module;
    let compiled = 0;
    const Counting = new Proxy(Real, {
      construct(target, args: [BufferSource]) {
        compiled++;
        return new target(...args);
      },
    });
    WebAssembly.Module = Counting;
    try {
      const { codec, encode, encodeConnectionRequest } = await import('../src/index.js');
      const frame = encodeConnectionRequest(1048576);
      expect(compiled).toBe(0);
      codec.load();
      expect(compiled).toBe(1);
      codec.load();
      expect(encode('qb.connectionRequest', { maxMsgSize: 1048576 })).toEqual(frame);
      expect(compiled).toBe(1);
    } finally {
      WebAssembly.Module = Real;
    }
  });
});

// V8 compiles a WASM function whole on its first call. A switch of direct calls let binaryen
// inline each decoder called only from there, making decodeBody one function of ~100 decoders that
// a process's first decode compiled entirely (scripts/build-wasm.ts). Through a table, every
// message keeps a decoder of its own and decodeBody stays a dispatch.
describe('each message decoder is a WASM function of its own', () => {
  it('the module has one decoder function per catalog message (none inlined into the dispatch)', async () => {
    const { readFileSync } = await import('node:fs');
    const { messages } = await import('../src/catalog.js');
    const wat = readFileSync(new URL('../build/codec.wat', import.meta.url), 'utf8');
    const funcs = [...wat.matchAll(/^ \(func \$assembly\/generated\/decoders\/(\w+)/gm)].map((m) => m[1]!);
    expect(funcs.filter((f) => /^d\d+$/.test(f)).sort()).toEqual(messages.map((_, i) => `d${i}`).sort());
  });
});
