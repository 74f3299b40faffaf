import { existsSync, readFileSync } from 'node:fs';
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

export { watchLines } from '@corosync-ts/nstest';
