import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The real-daemon suites run Node scripts inside namespaces that import dist/: build it from the
// current src once, before any worker starts (parallel workers must not run tsc over each other).
export default function setup(): void {
  const pkgDir = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: pkgDir, stdio: 'pipe' });
  } catch (e) {
    // Type errors still emit; only a missing build stops the run.
    if (!existsSync(`${pkgDir}/dist/index.js`)) throw e;
    process.emitWarning(`tsc reported errors while building dist/: ${String((e as { stdout?: unknown }).stdout ?? e)}`);
  }
}
