// The code blocks of the READMEs, as the tests that typecheck and run them see them: every
// ```ts / ```js block is an example to compile and run as written. A block whose info string adds
// `api` (```ts api) is a signature listing, not code, and is left out; sh, text and json blocks are not code.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The READMEs whose examples users copy: the repository's and each published package's. */
export const READMES = ['README.md', ...['types', 'codec-wasm', 'ipc', 'client', 'testkit'].map((p) => `packages/${p}/README.md`)];

const LANGS = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' };

/**
 * @param {string} readme path relative to the repository root
 * @returns {{ readme: string, line: number, lang: 'ts' | 'js', code: string, name: string, usesVitest: boolean }[]}
 */
export function codeBlocks(readme) {
  const text = readFileSync(join(root, readme), 'utf8');
  const out = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (let m; (m = fence.exec(text)); ) {
    const [first, ...rest] = m[1].trim().split(/\s+/);
    const lang = LANGS[first];
    if (!lang || rest.includes('api')) continue;
    const line = text.slice(0, m.index).split('\n').length;
    const base = readme.replace(/\/README\.md$|README\.md$/, '').replace(/^packages\//, '').replace(/\W+/g, '-') || 'root';
    const code = m[2];
    out.push({ readme, line, lang, code, name: `${base}-L${line}`, usesVitest: /from 'vitest'/.test(code) });
  }
  return out;
}

export function allCodeBlocks() {
  return READMES.flatMap(codeBlocks);
}
