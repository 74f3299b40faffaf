import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const pkgDir = fileURLToPath(new URL('..', import.meta.url));
export const crefSource = (name = 'cref.c') => readFileSync(new URL(`./cref/${name}`, import.meta.url), 'utf8');
export const script = (name: string) => fileURLToPath(new URL(`./cref/${name}`, import.meta.url));
/** Where the C drivers' `#include "diff-common.h"` is: compileC's includeDir. */
export const crefDir = fileURLToPath(new URL('./cref/', import.meta.url));

/** dist/ is built once per run by test/global-setup.ts; this only checks it is there. */
export function buildDist(): void {
  if (!existsSync(join(pkgDir, 'dist/index.js'))) throw new Error('dist/ missing: test/global-setup.ts should have built it');
}

/**
 * The stdout lines of a script run in a namespace, as they come. `waitLine` waits (bounded) for a
 * line matching `re`; a line that never comes fails with everything the script printed so far.
 */
export function watchLines(child: ChildProcess, ms = 60_000) {
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) {
      if (w.re.test(l)) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const output = () => `${lines.join('\n')}\n${stderr}`;
  const waitLine = (re: RegExp) =>
    lines.some((l) => re.test(l))
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no line ${re} within ${ms / 1000} s; so far:\n${output()}`)), ms);
          waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
        });
  return { lines, exited, output, waitLine };
}
