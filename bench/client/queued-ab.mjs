// A/B of the queued shm notification figure only (the slow part of run.mjs skipped):
//   node bench/client/queued-ab.mjs N ROUNDS tsbench-A.mjs [tsbench-B.mjs ...]
// Same tracker protocol as run.mjs (notifyRun, queued); C, then each TS tracker, interleaved.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { spawnLines } from '../lib/spawn-lines.mjs';

const [nArg, roundsArg, ...tsbenches] = process.argv.slice(2);
const N = Number(nArg ?? 5000);
const ROUNDS = Number(roundsArg ?? 7);
// run.mjs's warm-up (W there says why 20,000)
const W = 20000;
const here = (f) => new URL(f, import.meta.url).pathname;
const cbench = await compileC(readFileSync(here('./cbench.c'), 'utf8'), ['cmap'], { cflags: ['-O2'] });
const mode = process.env.MODE ?? 'track';

async function queued(ns, argv) {
  const t = spawnLines(ns, [...argv, String(W)]);
  await t.line(1);
  const warm = await ns.exec([cbench, 'write', String(W)], { timeout: 300_000 });
  if (warm.code !== 0) throw new Error(`writer ${warm.code}`);
  await t.line(2);
  process.kill(t.child.pid, 'SIGSTOP');
  const w = await ns.exec([cbench, 'write', String(N)], { timeout: 300_000 });
  if (w.code !== 0) throw new Error(`writer ${w.code}`);
  const t0 = process.hrtime.bigint();
  process.kill(t.child.pid, 'SIGCONT');
  const code = await t.exit;
  if (code !== 0 || !/^\d+$/.test(t.lines[2] ?? '')) throw new Error(`tracker ${argv.join(' ')} exited ${code} with lines ${JSON.stringify(t.lines)}`);
  return Number(BigInt(t.lines[2]) - t0) / 1e6;
}
const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
const ns = await startNamespace({ name: 'bench-queued-ab' });
const sides = [['C', [cbench, 'track', String(N)]], ...tsbenches.map((f) => [f, [process.execPath, ...(process.env.NODE_ARGS ? process.env.NODE_ARGS.split(' ') : []), f, mode, String(N)]])];
const res = Object.fromEntries(sides.map(([k]) => [k, []]));
try {
  await ns.startCorosync({ transport: 'shm' });
  for (const [, argv] of sides) await queued(ns, argv);
  for (let r = 0; r < ROUNDS; r++) for (const [k, argv] of sides) res[k].push(await queued(ns, argv));
} finally {
  await ns.close();
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`N=${N} rounds=${ROUNDS} load before ${load0} after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const [k] of sides) console.log(`${k}: median ${med(res[k]).toFixed(2)} ms, best ${Math.min(...res[k]).toFixed(2)} ms, C/this median ${(med(res.C) / med(res[k])).toFixed(2)}x  [${res[k].map((x) => x.toFixed(1)).join(' ')}]`);
