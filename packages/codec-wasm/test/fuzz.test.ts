import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIR_CODES, SERVICE_CODES, catalog, codec, decode, encode, isDecodeError, isEncodeError, type Direction, type Service } from '../src/index.js';
import { cases } from './cases.js';
import { inSlices } from './helpers.js';

// Only DecodeError (or success) may come out of decode(), whatever the bytes: no RangeError, no
// WASM RuntimeError (trap), no hang. Successful decodes must re-encode or fail with EncodeError.
const SERVICES = Object.keys(SERVICE_CODES) as Service[];
const DIRS = Object.keys(DIR_CODES) as Direction[];
const RUNS = 60_000;

const stats = { ok: 0, kinds: new Map<string, number>(), decoded: new Set<string>() };

/**
 * decodeStream() validates with its own generated walkers: a frame whose size field is its
 * length must pass or fail there exactly as in decode(), with the same error kind.
 */
function checkStream(bytes: Uint8Array, service: Service, dir: Direction, kind: string | undefined): void {
  const min = dir === 'req' || dir === 'setup' ? 16 : 24;
  if (bytes.length < min || new DataView(bytes.buffer, bytes.byteOffset).getInt32(8, true) !== bytes.length) return;
  codec.inputBuffer(bytes.length).set(bytes);
  const n = codec.decodeStream(bytes.length, SERVICE_CODES[service], DIR_CODES[dir]);
  if (kind === undefined) {
    expect(n).toBe(1);
    expect(codec.streamConsumed()).toBe(bytes.length);
  } else {
    expect(n).toBe(-1);
    expect(codec.lastError().kind).toBe(kind);
  }
}

function check(bytes: Uint8Array, service: Service, dir: Direction): void {
  let d;
  try {
    d = decode(bytes, { service, dir });
  } catch (e) {
    if (!isDecodeError(e)) throw e;
    stats.kinds.set(e.kind, (stats.kinds.get(e.kind) ?? 0) + 1);
    checkStream(bytes, service, dir, e.kind);
    return;
  }
  checkStream(bytes, service, dir, undefined);
  stats.ok++;
  stats.decoded.add(`${d.dir} ${d.name}`);
  try {
    encode(d.name, d.fields, d);
  } catch (e) {
    if (!isEncodeError(e)) throw e;
  }
}

const setI32 = (b: Uint8Array, off: number, v: number) => {
  if (off + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setInt32(off, v, true);
};

describe('fuzz (fast-check)', () => {
  it(`random frames: ${RUNS} runs`, async () => {
    const frame = fc.record({
      service: fc.constantFrom(...SERVICES),
      dir: fc.constantFrom(...DIRS),
      id: fc.integer({ min: -3, max: 20 }),
      body: fc.uint8Array({ maxLength: 420 }),
      fixSize: fc.boolean(),
      pad: fc.integer({ min: 0, max: 3 }),
    });
    await inSlices(RUNS, (numRuns) => fc.assert(
      fc.property(frame, ({ service, dir, id, body, fixSize, pad }) => {
        const b = new Uint8Array(body.length + pad * 8);
        b.set(body);
        setI32(b, 0, id);
        if (fixSize) setI32(b, 8, b.length);
        check(b, service, dir);
      }),
      { numRuns },
    ));
  }, 120_000);

  it(`mutated valid frames: ${RUNS} runs`, async () => {
    stats.ok = 0;
    stats.kinds.clear();
    stats.decoded.clear();
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('u32' as const), at: fc.nat(), v: fc.integer({ min: -1, max: 0x7fffffff }) }),
      fc.record({ op: fc.constant('count' as const), at: fc.nat(), v: fc.oneof(fc.constantFrom(0, 1, 2, 255, 256, 257, 0xffff, -1), fc.nat()) }),
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), v: fc.constant(0) }),
      fc.record({ op: fc.constant('extend' as const), at: fc.nat({ max: 64 }), v: fc.integer({ min: 0, max: 255 }) }),
    );
    const input = fc.record({
      c: fc.nat({ max: cases.length - 1 }),
      muts: fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fixSize: fc.boolean(),
    });
    await inSlices(RUNS, (numRuns) => fc.assert(
      fc.property(input, ({ c, muts, fixSize }) => {
        const k = cases[c]!;
        let b = k.bytes.slice();
        for (const m of muts) {
          if (b.length === 0) break;
          const at = m.at % b.length;
          if (m.op === 'flip') b[at] = m.v;
          // Count and length fields sit on 4/8-byte boundaries: hit those on purpose.
          else if (m.op === 'u32' || m.op === 'count') setI32(b, at & ~3, m.v);
          else if (m.op === 'truncate') b = b.slice(0, at);
          else {
            const e = new Uint8Array(b.length + m.at);
            e.set(b);
            e.fill(m.v, b.length);
            b = e;
          }
        }
        if (fixSize) setI32(b, 8, b.length);
        check(b, k.service === 'qb' ? 'cmap' : k.service, k.dir);
      }),
      { numRuns },
    ));
    // Not vacuous: mutations reach both the success path and the deep validation errors.
    expect(stats.ok).toBeGreaterThan(RUNS / 20);
    for (const kind of ['truncated', 'sizeMismatch', 'badSize', 'unknownMessage', 'countOverrun', 'nameTooLong']) {
      expect(stats.kinds.get(kind) ?? 0, kind).toBeGreaterThan(10);
    }
    // every catalog message (cpg's and cfg's included) went through decode, stream and re-encode
    const missed = catalog.messages.map((m) => `${m.dir} ${m.name}`).filter((k) => !stats.decoded.has(k));
    expect(missed).toEqual([]);
  }, 120_000);

  it('fast path: decodeInput never throws and reports -1 with a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: -1, max: 5 }), fc.integer({ min: -1, max: 4 }), (body, svc, dir) => {
        const view = codec.inputBuffer(body.length);
        view.set(body);
        const r = codec.decodeInput(body.length, svc, dir);
        if (r < 0) expect(isDecodeError(codec.lastError())).toBe(true);
        else expect(codec.message(r)).toBeDefined();
      }),
      { numRuns: 5_000 },
    );
  });
});
