// A large message's fragments are framed from a template (wire.ts cpgPartialMcastView) and their
// answers read at the header's offsets (parsePartialMcastAnswer): both must give what the codec
// gives, frame for frame, and leave to the codec every answer that is not the plain one.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codec, decode, encode } from '@corosync-ts/codec-wasm';
import { CS_ERR_TRY_AGAIN, CS_OK, isCsError } from '@corosync-ts/types';
import { cpgPartialMcastView, parsePartialMcastAnswer } from '../src/cpg-wire.js';

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
    parsePartialMcastAnswer(res, 'cpg.mcastJoined');
    return { ok: true };
  } catch (e) {
    expect(isCsError(e)).toBe(true);
    const code = (e as { code: number }).code;
    return reference(res).refused ? { refused: true } : { error: code };
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

  it('reads a plain answer without the codec: CS_OK, or its error thrown', () => {
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
    // the bare error answer still throws its error
    expect(ours(poke(answer(CS_ERR_TRY_AGAIN), 0, 0))).toEqual({ error: CS_ERR_TRY_AGAIN });
  });
});
