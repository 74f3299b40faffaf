import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const pkgDir = fileURLToPath(new URL('..', import.meta.url));
export const crefSource = () => readFileSync(new URL('./cref/cref.c', import.meta.url), 'utf8');
export const script = (name: string) => fileURLToPath(new URL(`./cref/${name}`, import.meta.url));

let built = false;
/** The namespaced Node scripts import the package's dist/: build it from the current src once. */
export function buildDist(): void {
  if (built) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: pkgDir, stdio: 'pipe' });
  built = true;
}
