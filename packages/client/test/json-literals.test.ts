import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/json-literals.mjs: with "minify", the bundle compiles a large top-level data literal as
// JSON.parse of the same value (the client's message catalog). The value must be the very one the
// literal makes, and anything JSON cannot say exactly must stay a literal.
type JsonLiterals = (tsModule: typeof ts, file: string, source: string, min: number) => { contents: string; names: string[] } | undefined;
const { jsonLiterals } = (await import(pathToFileURL(fileURLToPath(new URL('../../../scripts/json-literals.mjs', import.meta.url))).href)) as { jsonLiterals: JsonLiterals };

const dir = mkdtempSync(join(tmpdir(), 'json-literals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** The exports of TypeScript `source` run as a module. */
async function run(source: string): Promise<Record<string, unknown>> {
  const file = join(dir, `m${n++}.mjs`);
  writeFileSync(file, (await transform(source, { loader: 'ts', format: 'esm' })).code);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

describe('bundle: data literals as JSON.parse', () => {
  it('the codec catalog: messages becomes JSON.parse, every export keeps its value, and catalog still holds the very arrays', async () => {
    const path = fileURLToPath(new URL('../../codec-wasm/src/catalog.ts', import.meta.url));
    const source = readFileSync(path, 'utf8');
    const r = jsonLiterals(ts, path, source, 2048);
    expect(r?.names).toEqual(['messages']);
    expect(r!.contents).toContain('JSON.parse(');
    const [before, after] = [await run(source), await run(r!.contents)];
    expect(Object.keys(after)).toEqual(Object.keys(before));
    for (const k of Object.keys(before)) expect(after[k], k).toStrictEqual(before[k]);
    const catalog = after.catalog as { messages: unknown; services: unknown };
    expect(catalog.messages).toBe(after.messages);
    expect(catalog.services).toBe(after.services);
  });

  it('a pure literal keeps its value: numeric keys, negative and exponent numbers, nesting, as const, satisfies', async () => {
    const source = `
      export const a = { 2: 'two', 1: 'one', 1e3: [-1, 0.5, 2e-3, 1_000], s: "q'uote\\"\\n\\u2028", t: \`plain\`, n: null, b: [true, false], o: {} } as const;
      export const b = [[{ x: 1 }], [], 'x'] as const satisfies readonly unknown[];`;
    const r = jsonLiterals(ts, 'x.ts', source, 10);
    expect(r?.names).toEqual(['a', 'b']);
    expect(await run(r!.contents)).toStrictEqual(await run(source));
  });

  it('what JSON cannot say exactly stays a literal: -0, a non-finite number, __proto__, a duplicate, computed or shorthand key, a spread, a hole, a method, undefined, a bigint, a substitution, an identifier', () => {
    const cases = [
      '[-0]', '[1e999]', '{ __proto__: null }', "{ '__proto__': {} }", '{ a: 1, a: 2 }', "{ ['a']: 1 }", '{ x }', '{ ...{} }', '[...[]]',
      '[1, , 2]', '{ m() { return 1; } }', '{ get g() { return 1; } }', '[undefined]', '[void 0]', '[1n]', '[`${x}`]', '[x]', '[Infinity]', '[NaN]', '[-x]', '[+1]', '[!0]',
    ];
    for (const c of cases) {
      const source = `const x = 1;\nexport const v = ${c};`;
      expect(jsonLiterals(ts, 'x.ts', source, 1), c).toBeUndefined();
    }
    // Only top-level consts of objects and arrays, and only from the size given.
    expect(jsonLiterals(ts, 'x.ts', "export let v = [1, 2, 3];\nfunction f() { const w = [1, 2, 3]; return w; }\nexport const s = 'long string';", 1)).toBeUndefined();
    expect(jsonLiterals(ts, 'x.ts', 'export const v = [1, 2, 3];', 100)).toBeUndefined();
  });
});
