import fc from 'fast-check';

// Generated command sequences for the differential cmap drivers (test/cref/diff-cmap.c and
// diff-cmap.mjs; the language is in the C file's header). Values are drawn from a few keys so
// that commands meet each other's keys, and from the edges of every argument libcmap and the
// daemon check: lengths, types, names, capacities, flags.

/** An argument token: the text itself when it is printable ASCII without a space, else its UTF-8 in hex. */
const hexOf = (s: string) => (/^[!-~]+$/.test(s) ? `s${s}` : `x${Buffer.from(s, 'utf8').toString('hex')}`);
const P = 'test.diff.';

/** Keys a write may use: the test's own, and ones the library or the daemon refuses. */
const writeKeys: [number, string][] = [
  [8, hexOf(`${P}a`)],
  [8, hexOf(`${P}b`)],
  [6, hexOf(`${P}p.a`)],
  [6, hexOf(`${P}p.b`)],
  [3, hexOf(`${P}pa`)],
  [1, hexOf('')],
  [1, hexOf('t')],
  [1, hexOf('ab')],
  [2, hexOf(`${P}${'k'.repeat(245)}`)], // 255 bytes: icmap's longest
  [1, hexOf(`${P}${'k'.repeat(246)}`)], // 256: libcmap's CS_ERR_NAME_TOO_LONG
  [1, hexOf(`${P}${'k'.repeat(289)}`)],
  [1, hexOf(`${P}${'é'.repeat(123)}`)], // 256 bytes in 133 characters
  [1, hexOf(`${P}${'k'.repeat(243)}é`)], // 255 bytes, an invalid character
  [1, hexOf(`${P}a b`)],
  [1, hexOf(`${P}a#`)],
  [1, hexOf(`${P}\u0001`)],
  [1, hexOf(`${P}\u007f`)],
  [1, hexOf(`${P}é`)],
  [1, hexOf('runtime.config.totem.token')], // read-only
];
const readKeys: [number, string][] = [...writeKeys, [2, hexOf('totem.cluster_name')], [1, hexOf('runtime.config.totem.token')]];

const weighted = (l: [number, string][]) => fc.oneof(...l.map(([weight, v]) => ({ weight, arbitrary: fc.constant(v) })));
const writeKey = weighted(writeKeys);
const readKey = weighted(readKeys);
const slot = fc.oneof({ weight: 16, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(3) });
const small = fc.integer({ min: 0, max: 2 });

/** JavaScript's number text, with -0 kept (String(-0) is "0"); strtod reads it exactly. */
const num = (n: number) => (Object.is(n, -0) ? '-0' : String(n));

const intRange = (min: bigint, max: bigint) =>
  fc.oneof(
    fc.constantFrom(min, max, 0n, 1n, min + 1n, max - 1n, ...(min < 0n ? [-1n] : [])),
    fc.bigInt({ min, max }),
  ).map(String);

const typedValue = fc.oneof(
  intRange(-128n, 127n).map((v) => ['i8', v]),
  intRange(0n, 255n).map((v) => ['u8', v]),
  intRange(-32768n, 32767n).map((v) => ['i16', v]),
  intRange(0n, 65535n).map((v) => ['u16', v]),
  intRange(-(2n ** 31n), 2n ** 31n - 1n).map((v) => ['i32', v]),
  intRange(0n, 2n ** 32n - 1n).map((v) => ['u32', v]),
  intRange(-(2n ** 63n), 2n ** 63n - 1n).map((v) => ['i64', v]),
  intRange(0n, 2n ** 64n - 1n).map((v) => ['u64', v]),
  fc.float().map((v) => ['flt', num(v)]),
  fc.double().map((v) => ['dbl', num(v)]),
) as fc.Arbitrary<[string, string]>;

/** Strings cmap_set_string can carry (no NUL) that survive UTF-8 both ways, and the length edges. */
const stringValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !s.includes('\0')).map(hexOf) },
  { weight: 2, arbitrary: fc.constantFrom(hexOf(''), hexOf('a'), hexOf('\u0001\u007f\u00ff'), hexOf('é')) },
  // icmap keeps up to 16384 bytes, a string's NUL included
  { weight: 1, arbitrary: fc.constantFrom('r61:16382', 'r61:16383', 'r61:16384', 'r61:16385') },
);

const rawBytes = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => `x${Buffer.from(b).toString('hex')}`) },
  { weight: 1, arbitrary: fc.constantFrom('x', 'x00', 'x6100', 'x610062', 'rff:16384', 'r00:16385', 'r41:4', 'r41:8') },
);
const rawType = fc.constantFrom(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 255, 256, 267);
const capacity = fc.constantFrom(-1, 0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 255, 1024, 16383, 16384, 16385);
const typeToken = fc.constantFrom('i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'flt', 'dbl');
const prefix = fc.constantFrom(
  hexOf(''), hexOf(P), hexOf(`${P}p.`), hexOf(`${P}a`), hexOf('test.nomatch.'), hexOf(`${P}${'k'.repeat(246)}`), hexOf(`${P}a b`),
);
const trackKey = fc.oneof(
  { weight: 4, arbitrary: writeKey },
  { weight: 3, arbitrary: fc.constantFrom(hexOf(P), hexOf(`${P}p.`), hexOf('')) },
);
const trackFlags = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 15 }) }, { weight: 1, arbitrary: fc.constantFrom(16, 31, -1, 0x7fffffff) });

export const cmapCommand: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: slot.map((s) => `init ${s}`) },
  { weight: 1, arbitrary: fc.tuple(slot, fc.constantFrom(0, 1, 2, 7, -1)).map(([s, m]) => `initmap ${s} ${m}`) },
  { weight: 1, arbitrary: slot.map((s) => `fin ${s}`) },
  { weight: 10, arbitrary: fc.tuple(slot, writeKey, typedValue).map(([s, k, [t, v]]) => `set ${s} ${t} ${k} ${v}`) },
  { weight: 5, arbitrary: fc.tuple(slot, writeKey, stringValue).map(([s, k, v]) => `sets ${s} ${k} ${v}`) },
  { weight: 4, arbitrary: fc.tuple(slot, rawType, writeKey, rawBytes).map(([s, t, k, v]) => `setraw ${s} ${t} ${k} ${v}`) },
  { weight: 6, arbitrary: fc.tuple(slot, readKey, capacity).map(([s, k, c]) => `get ${s} ${k} ${c}`) },
  { weight: 6, arbitrary: fc.tuple(slot, typeToken, readKey).map(([s, t, k]) => `gett ${s} ${t} ${k}`) },
  { weight: 4, arbitrary: fc.tuple(slot, readKey).map(([s, k]) => `gets ${s} ${k}`) },
  { weight: 3, arbitrary: fc.tuple(slot, writeKey).map(([s, k]) => `del ${s} ${k}`) },
  { weight: 4, arbitrary: fc.tuple(slot, fc.constantFrom('inc', 'dec'), writeKey).map(([s, op, k]) => `${op} ${s} ${k}`) },
  { weight: 2, arbitrary: fc.tuple(slot, small, prefix).map(([s, i, p]) => `iinit ${s} ${i} ${p}`) },
  { weight: 5, arbitrary: fc.tuple(slot, small).map(([s, i]) => `inext ${s} ${i}`) },
  { weight: 1, arbitrary: fc.tuple(slot, small).map(([s, i]) => `ifin ${s} ${i}`) },
  { weight: 3, arbitrary: fc.tuple(slot, small, trackKey, trackFlags).map(([s, t, k, f]) => `tadd ${s} ${t} ${k} ${f}`) },
  { weight: 1, arbitrary: fc.tuple(slot, small).map(([s, t]) => `tdel ${s} ${t}`) },
  { weight: 5, arbitrary: fc.tuple(slot, fc.constantFrom(1, 2, 4)).map(([s, m]) => `disp ${s} ${m}`) },
  { weight: 1, arbitrary: fc.constantFrom('qgq', 'vqinfo') },
);

/** A sequence: handles 0 and 1 opened first (most commands need one), then the generated commands. */
export const cmapSequence = (maxLength = 40): fc.Arbitrary<string[]> =>
  fc.array(cmapCommand, { minLength: 1, maxLength, size: 'max' }).map((l) => ['init 0', 'init 1', ...l]);
