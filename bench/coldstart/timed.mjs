// Fork-to-exit timing of a command inside a namespace by timer.c, for run.mjs and ab.mjs.
import { readFileSync } from 'node:fs';
import { compileC } from '@corosync-ts/nstest/core';

/** Compiles timer.c once; the function it gives runs argv under it in `ns`: the output (without the timing line) and ms. */
export async function namespaceTimer() {
  const timer = await compileC(readFileSync(new URL('./timer.c', import.meta.url), 'utf8'), [], { cflags: ['-O2'] });
  return async function timed(ns, argv) {
    const r = await ns.exec([timer, ...argv], { timeout: 120_000 });
    const lines = r.stdout.trimEnd().split('\n');
    const ns_ = Number(lines.pop());
    if (r.code !== 0 || !Number.isFinite(ns_)) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stdout}${r.stderr}`);
    return { out: lines.join('\n'), ms: ns_ / 1e6 };
  };
}
