/**
 * Build step 1 of 2 (step 2 is tsc): catalog -> AssemblyScript tables -> codec.wasm -> an ESM
 * module embedding the wasm as base64, so the package needs no fs or fetch at run time.
 *
 * Outputs (build products, never edited by hand, not committed):
 *   assembly/generated/tables.ts   the catalog as static data segments (encoder, lookups)
 *   assembly/generated/decoders.ts one straight-line decoder per catalog message: the layout
 *                                  checks and field extraction with every offset and size a
 *                                  constant, so the hot decode path reads no table at all
 *   build/codec.wasm               the compiled module
 *   src/generated/wasm.ts          export const WASM_BASE64 = '...'
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { messages } from '../src/catalog.js';
import {
  CPG_NAME_MAX, CS_NAME_MAX, DIR_CODE, DIR_NAMES, ERROR_KINDS, FIELD_TYPE_CODE, MAX_FIELDS, PSEUDO_FIELDS, SERVICE_CODE,
  SERVICE_NAMES, SLOT_BIG, SLOT_GIVEN, SLOT_LEN, SLOT_NUM, SLOT_OFF, SLOT_SIZE, VAR_TYPES, elementSize, fixedWidth,
  headerKindOf,
} from '../src/layout.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_ID = 32;

type AnyField = {
  name: string; type: keyof typeof FIELD_TYPE_CODE; offset: number;
  len?: number; capacity?: number; count?: string; optional?: boolean; lenient?: boolean;
};
type AnyMessage = { name: string; size: number; errorSize?: number; tail?: string; fields: readonly AnyField[] };

/** What the tables, the decoders and the stream walkers all read of message m. */
function shapeOf(m: (typeof messages)[number]) {
  const fields = m.fields as readonly AnyField[];
  return {
    fields,
    /** the fixed part */
    base: m.size,
    /** zero fill may follow the variable part (`tail: 'capacity'`) */
    tail: 'tail' in m && m.tail === 'capacity',
    errorSize: (m as AnyMessage).errorSize,
    /** names of the fields that count another */
    counts: new Set(fields.filter((f) => f.count !== undefined).map((f) => f.count)),
    firstVar: fields.find((f) => VAR_TYPES.has(f.type)),
  };
}

const msgService: number[] = [];
const msgDir: number[] = [];
const msgId: number[] = [];
const msgHeader: number[] = [];
const msgSize: number[] = [];
const msgTail: number[] = [];
const msgErrSize: number[] = [];
const msgFieldStart: number[] = [];
const msgFieldCount: number[] = [];
const fType: number[] = [];
const fOffset: number[] = [];
const fLen: number[] = [];
const fCount: number[] = [];
const fCountFor: number[] = [];
const fOptional: number[] = [];
const fElem: number[] = [];
const fCap: number[] = [];
const lookup = new Array<number>(SERVICE_NAMES.length * DIR_NAMES.length * MAX_ID).fill(-1);
const errorMsg = new Array<number>(SERVICE_NAMES.length).fill(-1);
let setupRequest = -1;
let setupResponse = -1;

messages.forEach((m, i) => {
  const { fields, tail, errorSize } = shapeOf(m);
  const service = SERVICE_CODE[m.service];
  const dir = DIR_CODE[m.dir];
  msgService.push(service);
  msgDir.push(dir);
  msgId.push(m.id ?? 0);
  msgHeader.push(headerKindOf(m) === 'request' ? 16 : 24);
  msgSize.push(m.size);
  msgTail.push(tail ? 1 : 0);
  msgErrSize.push(errorSize ?? 0);
  msgFieldStart.push(fType.length);
  msgFieldCount.push(fields.length);
  if (fields.length > MAX_FIELDS) throw new Error(`${m.name}: more than ${MAX_FIELDS} fields`);
  fields.forEach((f) => {
    fType.push(FIELD_TYPE_CODE[f.type]);
    fOffset.push(f.offset);
    fLen.push(f.len ?? 0);
    const countIdx = f.count === undefined ? -1 : fields.findIndex((g) => g.name === f.count);
    if (f.count !== undefined && countIdx < 0) throw new Error(`${m.name}.${f.name}: no count field ${f.count}`);
    if (countIdx >= fields.indexOf(f)) throw new Error(`${m.name}.${f.name}: count field must come first`);
    fCount.push(countIdx);
    fCountFor.push(fields.findIndex((g) => g.count === f.name));
    fOptional.push(f.optional ? 1 : 0);
    fElem.push(elementSize(f));
    fCap.push(f.capacity ?? 0);
  });
  if (m.dir === 'setup') {
    if (m.name === 'qb.connectionRequest') setupRequest = i;
    else setupResponse = i;
  } else if (m.id === null) {
    errorMsg[service] = i;
  } else {
    if (m.id < 0 || m.id >= MAX_ID) throw new Error(`${m.name}: id out of table range`);
    const slot = (service * DIR_NAMES.length + dir) * MAX_ID + m.id;
    if (lookup[slot] !== -1) throw new Error(`${m.name}: duplicate id ${m.id}`);
    lookup[slot] = i;
  }
});

const arr = (t: string, name: string, v: number[]) =>
  `export const ${name}: usize = memory.data<${t}>([${v.join(', ')}]);\n`;
const constants = (t: string, prefix: string, entries: [string, number][]) =>
  entries.map(([k, v]) => `export const ${prefix}${snake(k)}: ${t} = ${v};\n`).join('');
const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

const tables =
  '// GENERATED by scripts/build-wasm.ts from src/catalog.ts. Do not edit.\n' +
  `export const NUM_MESSAGES: i32 = ${messages.length};\n` +
  `export const NUM_SERVICES: i32 = ${SERVICE_NAMES.length};\n` +
  `export const NUM_DIRS: i32 = ${DIR_NAMES.length};\n` +
  `export const MAX_ID: i32 = ${MAX_ID};\n` +
  `export const SETUP_REQUEST: i32 = ${setupRequest};\n` +
  `export const SETUP_RESPONSE: i32 = ${setupResponse};\n` +
  arr('i32', 'M_SERVICE', msgService) +
  arr('i32', 'M_DIR', msgDir) +
  arr('i32', 'M_ID', msgId) +
  arr('u32', 'M_HEADER', msgHeader) +
  arr('u32', 'M_SIZE', msgSize) +
  arr('u32', 'M_TAIL', msgTail) +
  arr('u32', 'M_ERRSIZE', msgErrSize) +
  arr('i32', 'M_FSTART', msgFieldStart) +
  arr('i32', 'M_FCOUNT', msgFieldCount) +
  arr('i32', 'F_TYPE', fType) +
  arr('u32', 'F_OFFSET', fOffset) +
  arr('u32', 'F_LEN', fLen) +
  arr('i32', 'F_COUNT', fCount) +
  arr('i32', 'F_COUNT_FOR', fCountFor) +
  arr('i32', 'F_OPTIONAL', fOptional) +
  arr('u32', 'F_ELEM', fElem) +
  arr('u32', 'F_CAP', fCap) +
  arr('i32', 'LOOKUP', lookup) +
  arr('i32', 'ERROR_MSG', errorMsg) +
  Object.entries(FIELD_TYPE_CODE).map(([k, v]) => `export const T_${k.toUpperCase()}: i32 = ${v};\n`).join('') +
  constants('i32', 'DIR_', Object.entries(DIR_CODE)) +
  constants('i32', 'E_', ERROR_KINDS.flatMap((k, i): [string, number][] => (k ? [[k, i]] : []))) +
  constants('i32', 'F_', Object.entries(PSEUDO_FIELDS)) +
  `export const CPG_NAME_MAX: u32 = ${CPG_NAME_MAX};\n` +
  `export const CS_NAME_MAX: u32 = ${CS_NAME_MAX};\n` +
  Object.entries({ SLOT_SIZE, MAX_FIELDS, SLOT_NUM, SLOT_BIG, SLOT_OFF, SLOT_LEN, SLOT_GIVEN })
    .map(([k, v]) => `export const ${k}: usize = ${v};\n`).join('');

mkdirSync(join(root, 'assembly/generated'), { recursive: true });
writeFileSync(join(root, 'assembly/generated/tables.ts'), tables);
writeFileSync(join(root, 'assembly/generated/decoders.ts'), decoders());

// decodeBody reaches each message's decoder through a table (call_indirect), not a switch of
// direct calls: binaryen inlines a function called from one place into its caller (up to asc's
// size limit), which made decodeBody one function holding ~100 of the decoders (8,573 of the
// module's 17,750 WAT lines). V8 compiles a WASM function whole on its first call, so a process's
// first decode (its connection response) compiled all of them: wasm::CompileLazy 3.7 M
// instructions in the one-call cmap script, 1.0 M with the table. A function in a table is never
// inlined; a first decode compiles that message's decoder alone. streamBody keeps its switch: one
// decodeStream() call walks many frames, where a call per frame would add up, and only bulk
// readers use it, not a client's first call.

/**
 * The decoders: for message m, exactly the rules of the catalog's header comment: fixed part
 * present (else `truncated`, naming the first fixed field that does not fit), names within their
 * field, counted arrays within their capacity, variable parts packed from the first variable
 * field's offset, each count within the bytes left (`countOverrun`), nothing left over unless the
 * message has capacity fill (`badSize`). A response with `errorSize` may instead be exactly that
 * long when it carries an error: the fields past it are then empty. Results go to the slots
 * (layout in src/layout.ts), data offsets relative to region A.
 */
function decoders(): string {
  const out: string[] = [
    '// GENERATED by scripts/build-wasm.ts from src/catalog.ts. Do not edit.',
    "import { SLOT_BIG, SLOT_OFF, SLOT_LEN, E_TRUNCATED, E_BAD_SIZE, E_UNKNOWN_MESSAGE, E_COUNT_OVERRUN, E_NAME_TOO_LONG, F_HEADER, F_SIZE, CPG_NAME_MAX, CS_NAME_MAX } from './tables';",
    "import { MAR_NAME_MAX, slot, fail, strnlen, sumWords } from '../common';",
    '',
    'type Decoder = (p: usize, start: u32, len: u32, errorReply: bool) => i32;',
    `const DECODERS: StaticArray<Decoder> = [${messages.map((_, i) => `d${i}`).join(', ')}];`,
    '',
    '/** Checks the layout of message `m` (frame at `p`, `start` bytes into region A) and fills the slots. */',
    'export function decodeBody(m: i32, p: usize, start: u32, len: u32, errorReply: bool): i32 {',
    '  if (<u32>m >= <u32>DECODERS.length) return fail(E_UNKNOWN_MESSAGE, -1, F_HEADER, 0);',
    '  return unchecked(DECODERS[m])(p, start, len, errorReply);',
    '}',
  ];
  messages.forEach((m, mi) => {
    const { fields, base, tail, errorSize, counts, firstVar } = shapeOf(m);
    /** The extraction of field i into its slot (for variable parts: `room`/`varBytes` in scope). */
    const emit = (f: AnyField, i: number): string[] => {
      const o = f.offset;
      const isCount = counts.has(f.name);
      if (isCount && f.type !== 'u32' && f.type !== 'u64') throw new Error(`${m.name}.${f.name}: counts must be u32 or u64`);
      switch (f.type) {
        case 'u8':
        case 'u16':
        case 'u32':
        case 'i32':
          return [
            `  const v${i} = load<${f.type}>(p + ${o});`,
            `  store<f64>(slot(${i}), <f64>v${i});`,
            ...(isCount ? [`  const c${i}: u64 = <u64>v${i};`] : []),
          ];
        case 'u64':
        case 'i64':
          return [
            `  const v${i} = load<${f.type}>(p + ${o});`,
            `  store<${f.type}>(slot(${i}) + SLOT_BIG, v${i});`,
            `  store<f64>(slot(${i}), <f64>v${i});`,
            ...(isCount ? [`  const c${i}: u64 = v${i};`] : []),
          ];
        case 'name':
          return [
            `  const n${i} = <u32>load<u16>(p + ${o});`,
            `  if (n${i} > MAR_NAME_MAX) return fail(E_NAME_TOO_LONG, ${mi}, ${i}, ${o});`,
            `  store<u32>(slot(${i}) + SLOT_OFF, start + ${o + 8});`,
            `  store<u32>(slot(${i}) + SLOT_LEN, strnlen(p + ${o + 8}, n${i}));`,
          ];
        case 'cpgName':
          // any bytes, no NUL: exactly `length` of them
          return [
            f.lenient
              ? `  const n${i} = load<u32>(p + ${o}) > CPG_NAME_MAX ? 0 : load<u32>(p + ${o});`
              : `  const n${i} = load<u32>(p + ${o});`,
            ...(f.lenient ? [] : [`  if (n${i} > CPG_NAME_MAX) return fail(E_NAME_TOO_LONG, ${mi}, ${i}, ${o});`]),
            `  store<u32>(slot(${i}) + SLOT_OFF, start + ${o + 8});`,
            `  store<u32>(slot(${i}) + SLOT_LEN, n${i});`,
          ];
        case 'csName':
          return [
            `  const n${i} = <u32>load<u16>(p + ${o});`,
            `  if (n${i} > CS_NAME_MAX) return fail(E_NAME_TOO_LONG, ${mi}, ${i}, ${o});`,
            `  store<u32>(slot(${i}) + SLOT_OFF, start + ${o + 2});`,
            `  store<u32>(slot(${i}) + SLOT_LEN, strnlen(p + ${o + 2}, n${i}));`,
          ];
        case 'chars':
          return [`  store<u32>(slot(${i}) + SLOT_OFF, start + ${o});`, `  store<u32>(slot(${i}) + SLOT_LEN, strnlen(p + ${o}, ${f.len}));`];
        case 'ringId':
          return [`  store<f64>(slot(${i}), <f64>load<u32>(p + ${o}));`, `  store<u64>(slot(${i}) + SLOT_BIG, load<u64>(p + ${o + 8}));`];
        case 'linkStatusArray':
          return [`  store<u32>(slot(${i}) + SLOT_OFF, start + ${o});`, `  store<u32>(slot(${i}) + SLOT_LEN, ${f.capacity});`];
        case 'cpgAddrArray':
        case 'charsArray': {
          const ci = fields.findIndex((g) => g.name === f.count);
          return [
            `  if (c${ci} > ${f.capacity}) return fail(E_COUNT_OVERRUN, ${mi}, ${ci}, ${fields[ci]!.offset});`,
            `  store<u32>(slot(${i}) + SLOT_OFF, start + ${o});`,
            `  store<u32>(slot(${i}) + SLOT_LEN, <u32>c${ci});`,
          ];
        }
        default: {
          const ci = fields.findIndex((g) => g.name === f.count);
          const es = elementSize(f);
          const zero = f.optional ? `len == ${base}` : `len == ${base} && errorReply`;
          return [
            `  const k${i}: u64 = ${zero} ? 0 : c${ci};`,
            `  const at${i} = <u32>(<u64>${firstVar!.offset} + varBytes);`,
            `  if (k${i} > (room - varBytes) / ${es}) return fail(E_COUNT_OVERRUN, ${mi}, ${i}, at${i});`,
            `  store<u32>(slot(${i}) + SLOT_OFF, start + at${i});`,
            `  store<u32>(slot(${i}) + SLOT_LEN, <u32>k${i});`,
            `  varBytes += k${i} * ${es};`,
          ];
        }
      }
    };
    const b: string[] = [];
    b.push('', `// ${m.name} (${m.dir})`, `function d${mi}(p: usize, start: u32, len: u32, errorReply: bool): i32 {`);
    if (errorSize !== undefined) {
      b.push(`  if (errorReply && len == ${errorSize}) {`);
      fields.forEach((f, i) => {
        if (VAR_TYPES.has(f.type)) throw new Error(`${m.name}: errorSize with variable parts`);
        if (f.offset + fixedWidth(f) <= errorSize) b.push(...emit(f, i).map((l) => `  ${l}`));
        else {
          b.push(
            `    store<f64>(slot(${i}), 0);`,
            `    store<u64>(slot(${i}) + SLOT_BIG, 0);`,
            `    store<u32>(slot(${i}) + SLOT_OFF, start + ${errorSize});`,
            `    store<u32>(slot(${i}) + SLOT_LEN, 0);`,
          );
        }
      });
      b.push(`    return ${mi};`, '  }');
    }
    b.push(`  if (len < ${base}) {`);
    fields.forEach((f, i) => {
      if (!VAR_TYPES.has(f.type)) b.push(`    if (len < ${f.offset + fixedWidth(f)}) return fail(E_TRUNCATED, ${mi}, ${i}, ${f.offset});`);
    });
    b.push(`    return fail(E_TRUNCATED, ${mi}, F_SIZE, len);`, '  }');
    if (firstVar) b.push(`  const room: u64 = <u64>(len - ${base});`, '  let varBytes: u64 = 0;');
    fields.forEach((f, i) => b.push(...emit(f, i)));
    if (!tail) b.push(firstVar ? '  if (varBytes != room) return fail(E_BAD_SIZE, ' + mi + ', F_SIZE, 8);' : `  if (len != ${base}) return fail(E_BAD_SIZE, ${mi}, F_SIZE, 8);`);
    b.push(`  return ${mi};`, '}');
    out.push(...b);
  });
  out.push(...streamers());
  return out.join('\n') + '\n';
}

/**
 * decodeStream()'s per-message walkers: the same layout checks as the decoders above, but each
 * field goes straight into the stream's field sum (defined in assembly/index.ts) instead of the
 * slots. They return the new digest, or -1 when the frame is bad; decodeStream() then runs the
 * slot decoder on that frame to report the error exactly as decodeAt() would. Structured
 * elements add their count and each member (a cpg address: nodeid, pid, reason; a knet link:
 * its three flags, mtu and the lengths of its two strings; a string array: each length).
 */
function streamers(): string[] {
  const out: string[] = [
    '',
    '/** Validates the frame at `p` as message `m` and adds its fields to the sum `h`; -1 if it is bad. */',
    'export function streamBody(m: i32, h: u32, p: usize, len: u32, errorReply: bool): i64 {',
    '  switch (m) {',
    ...messages.map((_, i) => `    case ${i}: return s${i}(h, p, len, errorReply);`),
    '  }',
    '  return -1;',
    '}',
  ];
  const cpgAddrSum = (q: string, k: string, j: string) => [
    `  for (let ${j}: usize = 0; ${j} < <usize>${k}; ${j}++) {`,
    `    const e = ${q} + ${j} * 24;`,
    '    h += load<u32>(e) + load<u32>(e + 8) + load<u32>(e + 16);',
    '  }',
  ];
  messages.forEach((m, mi) => {
    const { fields, base, tail, errorSize, counts, firstVar } = shapeOf(m);
    const mix = (v: string) => `  h += ${v};`;
    const emit = (f: AnyField, i: number): string[] => {
      const o = f.offset;
      const isCount = counts.has(f.name);
      switch (f.type) {
        case 'u8':
        case 'u16':
          return [mix(`<u32>load<${f.type}>(p + ${o})`)];
        case 'u32':
        case 'i32':
          return [`  const v${i} = load<u32>(p + ${o});`, mix(`v${i}`), ...(isCount ? [`  const c${i}: u64 = <u64>v${i};`] : [])];
        case 'u64':
        case 'i64':
          return [
            `  const v${i} = load<u64>(p + ${o});`, mix(`<u32>v${i}`), mix(`<u32>(v${i} >>> 32)`),
            ...(isCount ? [`  const c${i}: u64 = v${i};`] : []),
          ];
        case 'name':
          return [`  const n${i} = <u32>load<u16>(p + ${o});`, `  if (n${i} > MAR_NAME_MAX) return -1;`, mix(`strnlen(p + ${o + 8}, n${i})`)];
        case 'cpgName':
          if (f.lenient) return [`  const n${i} = load<u32>(p + ${o});`, mix(`n${i} > CPG_NAME_MAX ? 0 : n${i}`)];
          return [`  const n${i} = load<u32>(p + ${o});`, `  if (n${i} > CPG_NAME_MAX) return -1;`, mix(`n${i}`)];
        case 'csName':
          return [`  const n${i} = <u32>load<u16>(p + ${o});`, `  if (n${i} > CS_NAME_MAX) return -1;`, mix(`strnlen(p + ${o + 2}, n${i})`)];
        case 'chars':
          return [mix(`strnlen(p + ${o}, ${f.len})`)];
        case 'ringId':
          return [mix(`load<u32>(p + ${o})`), mix(`load<u32>(p + ${o + 8})`), mix(`load<u32>(p + ${o + 12})`)];
        case 'linkStatusArray':
          return [
            mix(`${f.capacity}`),
            `  for (let j${i}: usize = 0; j${i} < ${f.capacity}; j${i}++) {`,
            `    const e = p + ${o} + j${i} * 520;`,
            '    h += <u32>load<u8>(e) + <u32>load<u8>(e + 1) + <u32>load<u8>(e + 2) + load<u32>(e + 4) + strnlen(e + 8, 256) + strnlen(e + 264, 256);',
            '  }',
          ];
        case 'cpgAddrArray':
        case 'charsArray': {
          const ci = fields.findIndex((g) => g.name === f.count);
          const b = [`  if (c${ci} > ${f.capacity}) return -1;`, mix(`<u32>c${ci}`)];
          if (f.type === 'cpgAddrArray') return [...b, ...cpgAddrSum(`(p + ${o})`, `c${ci}`, `j${i}`)];
          return [...b, `  for (let j${i}: usize = 0; j${i} < <usize>c${ci}; j${i}++) h += strnlen(p + ${o} + j${i} * ${f.len}, ${f.len});`];
        }
        default: {
          const ci = fields.findIndex((g) => g.name === f.count);
          const es = elementSize(f);
          const zero = f.optional ? `len == ${base}` : `len == ${base} && errorReply`;
          const b = [`  const k${i}: u64 = ${zero} ? 0 : c${ci};`, `  if (k${i} > (room - varBytes) / ${es}) return -1;`, mix(`<u32>k${i}`)];
          if (f.type === 'cpgAddrList') {
            b.push(`  const q${i} = p + <usize>(${firstVar!.offset} + varBytes);`, ...cpgAddrSum(`q${i}`, `k${i}`, `j${i}`));
          } else if (f.type !== 'bytes') {
            b.push(`  const q${i} = p + <usize>(${firstVar!.offset} + varBytes);`, `  h += sumWords(q${i}, <usize>k${i} * ${es});`);
          }
          b.push(`  varBytes += k${i} * ${es};`);
          return b;
        }
      }
    };
    const b = ['', `function s${mi}(h: u32, p: usize, len: u32, errorReply: bool): i64 {`, `  if (len < ${errorSize ?? base}) return -1;`];
    b.push(mix('load<u32>(p)'), mix('load<u32>(p + 8)'));
    if (headerKindOf(m) === 'response') b.push(mix('load<u32>(p + 16)'));
    if (errorSize !== undefined) {
      b.push(`  if (errorReply && len == ${errorSize}) {`);
      fields.forEach((f, i) => {
        if (f.offset + fixedWidth(f) <= errorSize) b.push(...emit(f, i).map((l) => `  ${l}`));
      });
      b.push('    return <i64>h;', '  }');
    }
    if (errorSize !== undefined) b.push(`  if (len < ${base}) return -1;`);
    if (firstVar) b.push(`  const room: u64 = <u64>(len - ${base});`, '  let varBytes: u64 = 0;');
    fields.forEach((f, i) => b.push(...emit(f, i)));
    if (!tail) b.push(firstVar ? '  if (varBytes != room) return -1;' : `  if (len != ${base}) return -1;`);
    b.push('  return <i64>h;', '}');
    out.push(...b);
  });
  return out;
}
mkdirSync(join(root, 'build'), { recursive: true });
const { error, stderr } = await asc.main([
  join(root, 'assembly/index.ts'),
  '--outFile', join(root, 'build/codec.wasm'),
  '--textFile', join(root, 'build/codec.wat'),
  '--runtime', 'stub',
  '--enable', 'simd',
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--noAssert',
  '--use', 'abort=',
  '--initialMemory', '1',
]);
if (error) {
  process.stderr.write(stderr.toString());
  throw error;
}
const wasm = readFileSync(join(root, 'build/codec.wasm'));
// The static addresses (slots, header, last call) are fixed by the module's data layout. Written
// here as constants, they let src/ build its accessors at import without compiling the module,
// which src/wasm.ts defers to the first call that needs it (import time of every dependant).
const probe = new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports as Record<string, () => number>;
mkdirSync(join(root, 'src/generated'), { recursive: true });
writeFileSync(
  join(root, 'src/generated/wasm.ts'),
  '// GENERATED by scripts/build-wasm.ts from assembly/ and src/catalog.ts. Do not edit.\n' +
    `export const SLOTS_PTR = ${probe.slotsPtr!()};\n` +
    `export const HEADER_PTR = ${probe.headerPtr!()};\n` +
    `export const LAST_CALL_PTR = ${probe.lastCallPtr!()};\n` +
    `export const WASM_BASE64 = '${wasm.toString('base64')}';\n`,
);
process.stdout.write(`codec.wasm: ${wasm.length} bytes, ${messages.length} messages\n`);
