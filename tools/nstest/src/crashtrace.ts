// The environment for a test's fixture child with the crash trace (crashtrace.c) preloaded: a
// child that dies of a fatal signal writes where (signal, thread, backtrace, module + offset of
// each frame) to its stderr, which the tests put into their failure messages; CI keeps no core.
// Under the sanitizer runs the child inherits the sanitizer runtime's LD_PRELOAD and handlers
// instead (they report on their own, and the runtime must stay first in LD_PRELOAD). Under the
// arm64 run (scripts/arm64-test.mjs: this Node is arm64 under qemu-user) the system cc builds
// for the host: that object would go into qemu itself and its ld.so error into the child's
// stderr, so nothing is preloaded there. Without gcc (a machine that runs only the tests that
// need none) the children run untraced rather than failing tests that never needed a compiler.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { haveProgram } from './proc.js';
import { compileC } from './real.js';

// The source stays in src/ (published with it); '../src/' finds it from dist/ and from src/.
const source = fileURLToPath(new URL('../src/crashtrace.c', import.meta.url));

let built: Promise<string> | undefined;

/** The crash trace as a shared object, built once per source (cached by compileC). */
export function crashTraceLib(): Promise<string> {
  built ??= compileC(readFileSync(source, 'utf8'), [], { cflags: ['-shared', '-fPIC'] });
  return built;
}

// ELF e_machine of the objects this Node can load.
const MACHINE: Partial<Record<string, number>> = { x64: 62, arm64: 183, ia32: 3, arm: 40, riscv64: 243, ppc64: 21, s390x: 22 };

let loadable: Promise<string | undefined> | undefined;

/**
 * `env` (default: this process's) with the crash trace preloaded, unless a sanitizer is, the
 * object is not for this Node's architecture or there is no gcc to build it. A full environment: pass it as `env` to
 * child_process, `run` or a namespace's `exec`/`spawn`.
 */
export async function crashTraceEnv(env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  if (/lib[at]san/.test(env.LD_PRELOAD ?? '')) return { ...env };
  // The object's architecture, read once per process (a fixture test asks for every child it runs).
  loadable ??= haveProgram('gcc')
    ? crashTraceLib().then((lib) => (readFileSync(lib).readUInt16LE(18) === MACHINE[process.arch] ? lib : undefined))
    : Promise.resolve(undefined);
  const lib = await loadable;
  if (lib === undefined) return { ...env };
  return { ...env, LD_PRELOAD: env.LD_PRELOAD ? `${lib}:${env.LD_PRELOAD}` : lib };
}
