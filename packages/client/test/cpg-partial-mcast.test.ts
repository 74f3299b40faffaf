// A large message's fragments are framed from a template (wire.ts cpgPartialMcastView) and their
// answers read at the header's offsets (partialMcastAnswerError): both must give what the codec
// gives, frame for frame, and leave to the codec every answer that is not the plain one.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codec, decode, encode } from '@corosync-ts/codec-wasm';
import { CS_ERR_TRY_AGAIN, CS_OK, isCsError } from '@corosync-ts/types';
import { CpgHandle } from '../src/cpg.js';
import { cpgMcastHead, cpgMcastView, cpgPartialMcastHead, cpgPartialMcastView, partialMcastAnswerError } from '../src/cpg-wire.js';
import { fakeConnector, res } from './fake.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function answer(error: number): Uint8Array {
  const f = new Uint8Array(24);
  const w = new DataView(f.buffer);
  w.setInt32(0, 18, true);
  w.setInt32(8, 24, true);
  w.setInt32(16, error, true);
  return f;
}

function poke(frame: Uint8Array, at: number, value: number): Uint8Array {
  const f = frame.slice();
  new DataView(f.buffer).setUint32(at, value >>> 0, true);
  return f;
}

/** The default answer parse (session.ts): the codec decodes it, a header error is thrown. */
function reference(res: Uint8Array) {
  try {
    const d = decode(res, { service: 'cpg', dir: 'res' });
    return d.error !== undefined && d.error !== CS_OK ? { error: d.error } : { ok: true };
  } catch {
    return { refused: true };
  }
}

function ours(res: Uint8Array) {
  try {
    const error = partialMcastAnswerError(res, 'cpg.mcastJoined');
    return error === CS_OK ? { ok: true } : { error };
  } catch (e) {
    expect(isCsError(e)).toBe(true);
    return { refused: true };
  }
}

describe('cpg fragment send', () => {
  afterEach(() => vi.restoreAllMocks());

  it('frames each fragment as the codec encodes it, the reused frame never showing an older one', () => {
    // a large fragment first, then smaller ones: the reused buffer's tail must not leak into them
    const cases = [[1, 3000000, 1, 1047552], [0, 3000000, 2, 1047552], [2, 3000000, 3, 904896], [1, 10, 1, 0], [0xffffffff, 0xffffffff, 0xffffffff, 5]] as const;
    const spy = vi.spyOn(codec, 'encodeView');
    const framed: Uint8Array[] = [];
    for (const [guarantee, msglen, type, fraglen] of cases) framed.push(cpgPartialMcastView(guarantee, msglen, type, bytes(fraglen, type)).slice());
    // only the template, once
    expect(spy.mock.calls.length).toBeLessThanOrEqual(1);
    cases.forEach(([guarantee, msglen, type, fraglen], i) => {
      const fragment = bytes(fraglen, type);
      const want = encode('cpg.partialMcast', { guarantee, msglen, fraglen, type, fragment }, { dir: 'req' });
      expect(framed[i]!.length).toBe(want.length);
      expect(Buffer.compare(framed[i]!, want)).toBe(0);
    });
  });

  it('a head and its piece (gather) are the codec\'s frame, whatever whole frames were framed in the same buffer before', () => {
    const join = (a: Uint8Array, b: Uint8Array) => Buffer.concat([a, b]);
    const frag = bytes(1047552, 3);
    cpgPartialMcastView(1, 3000000, 1, frag);
    for (const [guarantee, msglen, type, fraglen] of [[2, 3000000, 2, 1047552], [0, 3000000, 3, 904896], [1, 10, 1, 0]] as const) {
      const fragment = bytes(fraglen, type);
      const want = encode('cpg.partialMcast', { guarantee, msglen, fraglen, type, fragment }, { dir: 'req' });
      expect(Buffer.compare(join(cpgPartialMcastHead(guarantee, msglen, type, fraglen), fragment), want)).toBe(0);
    }
    cpgMcastView(1, bytes(70000, 1));
    for (const [guarantee, len] of [[2, 65536], [0, 4096], [1, 0]] as const) {
      const message = bytes(len, guarantee);
      const want = encode('cpg.mcastJoined', { guarantee, msglen: len, message }, { dir: 'req' });
      expect(Buffer.compare(join(cpgMcastHead(guarantee, len), message), want)).toBe(0);
      expect(Buffer.compare(cpgMcastView(guarantee, message), want)).toBe(0);
    }
  });

  it('mcastJoined puts the same bytes on the wire through a transport that gathers as through one that does not', async () => {
    const wire: Uint8Array[][] = [];
    for (const gather of [false, true]) {
      const fc = fakeConnector('cpg', (d) => (d.name === 'cpg.partialMcast' || d.name === 'cpg.finalize' ? res(d.name, {}, CS_OK) : undefined));
      const h = await CpgHandle.initialize({}, { connect: async (name, opts) => {
        const ipc = await fc.connect(name, opts);
        (ipc as { gather: boolean }).gather = gather;
        return ipc;
      } });
      // Atomic messages below and above the size that gathers, and fragmented ones, one of them
      // given in parts whose boundaries the fragments follow.
      for (const len of [64, 4095, 4096, 65536, 1047552]) await h.mcastJoined(1, bytes(len, len & 0xff));
      await h.mcastJoined(2, bytes(1048576 * 2 + 17, 9));
      await h.mcastJoined(0, [bytes(1000, 1), bytes(1047552 + 5, 2), bytes(3, 3)]);
      wire.push(fc.last.frames.slice());
      // 4096, 65536 and 1047552 bytes, and the 7 fragments.
      expect(fc.last.gathered).toBe(gather ? 10 : 0);
      await h.finalize();
    }
    const [plain, gathered] = wire as [Uint8Array[], Uint8Array[]];
    expect(gathered.length).toBe(plain.length);
    expect(plain.length).toBeGreaterThan(10);
    gathered.forEach((f, i) => expect(Buffer.compare(f, plain[i]!)).toBe(0));
  });

  it('reads a plain answer without the codec: its error', () => {
    const spy = vi.spyOn(codec, 'decodeFrame');
    const dec = vi.spyOn(codec, 'decodeInput');
    expect(ours(answer(CS_OK))).toEqual({ ok: true });
    expect(ours(answer(CS_ERR_TRY_AGAIN))).toEqual({ error: CS_ERR_TRY_AGAIN });
    expect(ours(answer(12))).toEqual({ error: 12 });
    for (const e of [CS_OK, CS_ERR_TRY_AGAIN, 12]) expect(ours(answer(e))).toEqual(reference(answer(e)));
    expect(spy).not.toHaveBeenCalled();
    expect(dec).not.toHaveBeenCalled();
  });

  it('leaves every other answer to the codec, which accepts or refuses it as before', () => {
    const base = answer(CS_OK);
    const cases = [
      poke(base, 8, 25), // size field past the answer
      poke(base, 8, 23),
      poke(answer(CS_ERR_TRY_AGAIN), 8, 0),
      poke(base, 0, 0), // id 0 without an error
      poke(answer(CS_ERR_TRY_AGAIN), 0, 0), // the daemon's bare error answer
      poke(base, 0, 1), // another answer's id
      poke(base, 0, 99),
      new Uint8Array([...answer(CS_OK), 0, 0, 0, 0]), // longer than the answer
      base.subarray(0, 23),
      new Uint8Array(0),
    ];
    for (const f of cases) expect(ours(f)).toEqual(reference(f));
    // the bare error answer still gives its error
    expect(ours(poke(answer(CS_ERR_TRY_AGAIN), 0, 0))).toEqual({ error: CS_ERR_TRY_AGAIN });
  });
});
