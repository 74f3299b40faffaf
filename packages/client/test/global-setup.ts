import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The real-daemon suites run Node scripts inside namespaces that import dist/: build it from the
// current src once, before any worker starts (parallel workers must not run tsc over each other).
export default function setup(): void {
  const pkgDir = fileURLToPath(new URL('..', import.meta.url));
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
