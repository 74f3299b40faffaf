// capture.schema.json is what other tools validate our captures with; the reader in capture.ts is
// what our tools read them with. Two descriptions of one format drift apart unless something
// holds them together: here the schema must accept exactly the lines the reader accepts (for the
// header, and for every later line: frame, state or end), on FORMAT.md's examples and on lines
// generated around the format's edges.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCaptureEnd, parseCaptureHeader, parseCaptureRecord } from '../src/capture.js';

const schema = JSON.parse(readFileSync(new URL('../capture/capture.schema.json', import.meta.url), 'utf8')) as { $id: string };
// strictSchema: a keyword the validator does not know is an error in the schema, not silently
// nothing (strictTypes and strictRequired are off: they ask for a "type" beside every "required",
// and a "properties" entry beside a "not": {"required"}, a style, not a meaning).
// `format` stays an annotation (draft 2020-12's default): the reader takes `iso` as text for people.
const ajv = new Ajv2020({ strictSchema: true, strictTypes: false, strictRequired: false, allErrors: true, validateFormats: false });
ajv.addSchema(schema);
const validateLine = ajv.getSchema(schema.$id)!;
const validateHeader = ajv.getSchema(`${schema.$id}#/$defs/header`)!;
const validateLater = ajv.compile({ oneOf: ['frame', 'state', 'end'].map((d) => ({ $ref: `${schema.$id}#/$defs/${d}` })) });

function readerAccepts(line: string, first: boolean): boolean {
  try {
    if (first) parseCaptureHeader(line);
    else if ((JSON.parse(line) as { end?: unknown }).end !== undefined) parseCaptureEnd(line, 2);
    else parseCaptureRecord(line, 2);
    return true;
  } catch {
    return false;
  }
}

function agree(line: string, first: boolean): void {
  const o: unknown = JSON.parse(line);
  const bySchema = (first ? validateHeader : validateLater)(o) as boolean;
  const errors = ajv.errorsText((first ? validateHeader : validateLater).errors);
  expect({ line, bySchema, errors: bySchema ? '' : errors }).toEqual({ line, bySchema: readerAccepts(line, first), errors: bySchema ? '' : errors });
}

describe('capture.schema.json', () => {
  it('FORMAT.md: every example line is valid, by the schema and by the reader', () => {
    const md = readFileSync(new URL('../capture/FORMAT.md', import.meta.url), 'utf8');
    const lines = [...md.matchAll(/```json\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n').filter((l) => l !== ''));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      const first = line.includes('"corosyncCapture"');
      expect(validateLine(JSON.parse(line)), `${line}\n${ajv.errorsText(validateLine.errors)}`).toBe(true);
      expect(readerAccepts(line, first), line).toBe(true);
    }
  });

  it('a header that is also a frame is refused by the whole-line schema (a line is one kind)', () => {
    const both = { corosyncCapture: 1, start: { unixNs: '1', iso: 'x' }, host: 'h', recorder: { mode: 'mock', name: 'n', version: '1' }, t: 0, conn: 1, service: 'cmap', transport: 'shm', dir: 'req', hex: '' };
    expect(validateLine(both)).toBe(false);
  });

  // Values around each field's edges: the right type and the wrong ones, in range and just out.
  const nums = [0, 1, -1, 2, 0.5, 2147483647, 2147483648, Number.MAX_SAFE_INTEGER, 2 ** 53, 1e300];
  const anyValue = fc.oneof(fc.constantFrom<unknown>(...nums, '', '0', 'x', null, true, [], {}), fc.string({ maxLength: 4 }));
  const field = <T>(valid: fc.Arbitrary<T>) => fc.option(fc.oneof({ weight: 4, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue }), { freq: 6, nil: undefined });
  const digits = fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.constantFrom('', '0'.repeat(21), '-1', '1.5', '١٢'));
  const instant = fc.record({ unixNs: field(digits), iso: field(fc.constantFrom('2026-12-07T19:00:00.000Z', 'not a date')) }, { requiredKeys: [] });
  const hex = fc.oneof(fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('hex')), fc.constantFrom('0', 'AB', 'zz', '0a0'));
  const int = fc.oneof(fc.constantFrom(...nums), fc.nat());
  const later = fc.record(
    {
      t: field(int), conn: field(int), pid: field(int), proc: field(fc.string({ maxLength: 3 })),
      service: field(fc.constantFrom('cmap', 'cpg', '')), transport: field(fc.constantFrom('socket', 'shm', 'udp')),
      dir: field(fc.constantFrom('req', 'res', 'evt', 'setup', 'out')), hex: field(hex),
      state: field(fc.constantFrom('open', 'closed', 'flow', 'dropped', 'gone')), by: field(fc.constantFrom('client', 'server', 'error', 'close', 'exit', 'signal')),
      signal: field(fc.constantFrom('SIGTERM', 'SIGINT', 'SIGHUP', 'TERM', 'SIG', 'sigterm', `SIG${'X'.repeat(14)}`)),
      error: field(fc.string({ maxLength: 3 })), level: field(int), lines: field(int),
      end: field(instant), frames: field(int), dropped: field(int),
    },
    { requiredKeys: [] },
  );
  const header = fc.record(
    {
      corosyncCapture: field(fc.constantFrom(1, 2, '1')), start: field(instant), host: field(fc.string({ maxLength: 3 })),
      recorder: field(fc.record({ mode: field(fc.constantFrom('client', 'mock', 'tap', 'strace')), name: field(fc.constantFrom('n')), version: field(fc.constantFrom('1')) }, { requiredKeys: [] })),
      corosync: field(fc.constantFrom('3.1.7')),
    },
    { requiredKeys: [] },
  );
  const noUndefined = (o: object) => JSON.stringify(o);

  it('the schema and the reader accept the same later lines (frame, state, end)', () => {
    fc.assert(fc.property(later, (o) => agree(noUndefined(o), false)), { numRuns: 20_000 });
  });

  it('the schema and the reader accept the same headers', () => {
    fc.assert(fc.property(header, (o) => agree(noUndefined(o), true)), { numRuns: 5_000 });
  });
});
