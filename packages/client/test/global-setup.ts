import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// What dist/ is built from: the client's sources, those of the packages its bundle inlines, and
// the build's configuration and scripts.
const INPUTS = ['src', '../ipc/src', '../codec-wasm/src', '../types/src', 'package.json', 'tsconfig.build.json', '../../tsconfig.base.json', '../../scripts'];

/** The modification times of the files at `path` (a file, or every file below a directory). */
function mtimes(path: string): number[] {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).flatMap((f) => mtimes(join(path, f))) : [st.mtimeMs];
}

/** The oldest modification time of dist/'s files, 0 without dist/ or its entry. */
function oldestBuilt(dist: string): number {
  return existsSync(join(dist, 'index.js')) ? Math.min(...mtimes(dist)) : 0;
}

// The real-daemon suites run Node scripts inside namespaces that import dist/: build it from the
// current src once, before any worker starts (parallel workers must not run tsc over each other).
// Not when every file of dist/ is newer than every input: `pnpm test` (turbo) has just built it,
// and the two steps cost 10-30 s of each CI pass.
export default function setup(): void {
  const pkgDir = fileURLToPath(new URL('..', import.meta.url));
  if (oldestBuilt(join(pkgDir, 'dist')) > Math.max(...INPUTS.flatMap((p) => mtimes(join(pkgDir, p))))) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // Under qemu (scripts/arm64-test.mjs) the tests' node is arm64 but esbuild's binary is the
  // host's: the build runs on the node named here, without the test run's NODE_OPTIONS.
  const buildNode = process.env.COROSYNC_TS_BUILD_NODE ?? process.execPath;
  const env = { ...process.env, NODE_OPTIONS: process.env.COROSYNC_TS_BUILD_NODE ? '' : (process.env.NODE_OPTIONS ?? '') };
  // The same two steps as the package's build script: declarations from tsc, the JS bundled.
  try {
    execFileSync(buildNode, [tsc, '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], { cwd: pkgDir, stdio: 'pipe', env });
  } catch (e) {
    // Type errors still emit; they do not stop the run.
    process.emitWarning(`tsc reported errors while building dist/: ${String((e as { stdout?: unknown }).stdout ?? e)}`);
  }
  execFileSync(buildNode, [fileURLToPath(new URL('../../../scripts/bundle.mjs', import.meta.url))], { cwd: pkgDir, stdio: 'pipe', env });
  if (!existsSync(`${pkgDir}/dist/index.js`)) throw new Error('client test setup: dist/index.js was not built');
}
