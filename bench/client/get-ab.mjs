// A/B of the getUint32 figures only (throughput and CPU per call, run.mjs's `getu32` mode), both
// transports, libcmap and each given tsbench.mjs interleaved round by round:
//   node bench/client/get-ab.mjs N ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]
// WARM=w: warm-up calls of each side before the measured ones (default N, as run.mjs).
// LOAD=k starts k busy processes (normal priority, like report.mjs's loaded regime) for the run.
// TRANSPORTS=socket or shm to measure one. PIN=together or apart: run.mjs's shapes (corosync's
// threads on the last vCPU, each side's process on that vCPU or on vCPU 0); unset, unpinned.
// Prints medians per side with the load averages.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { busyLoops, la, med } from '../lib/ab.mjs';

const [nArg, roundsArg, ...tsbenches] = process.argv.slice(2);
const N = Number(nArg ?? 5000);
const ROUNDS = Number(roundsArg ?? 5);
const here = (f) => new URL(f, import.meta.url).pathname;
const cbench = await compileC(readFileSync(here('./cbench.c'), 'utf8'), ['cmap'], { cflags: ['-O2'] });
const busy = await busyLoops(Number(process.env.LOAD ?? 0));
try {
  for (const transport of (process.env.TRANSPORTS ?? 'socket,shm').split(',')) {
    const load0 = la();
    const ns = await startNamespace({ name: `bench-get-ab-${transport}` });
    // A side is a tsbench.mjs path, optionally followed by ?NAME=value&... for its environment.
    const WARM = process.env.WARM ?? String(N);
    const csVcpu = cpus().length - 1;
    const PIN = process.env.PIN;
    if (PIN && PIN !== 'together' && PIN !== 'apart') throw new Error(`PIN=${PIN}: together or apart`);
    const pin = PIN ? ['taskset', '-c', PIN === 'together' ? String(csVcpu) : '0'] : [];
    const sides = [['libcmap', [...pin, cbench, 'getu32', String(N), WARM]], ...tsbenches.map((f) => [f, [...pin, 'env', ...(f.split('?')[1]?.split('&') ?? []), process.execPath, f.split('?')[0], 'getu32', String(N), WARM]])];
    const res = Object.fromEntries(sides.map(([k]) => [k, []]));
    try {
      const cs = await ns.startCorosync({ transport });
      if (PIN) await ns.execOk(['taskset', '-a', '-p', '-c', String(csVcpu), String(cs.pid)]);
      for (let r = -1; r < ROUNDS; r++) {
        for (const [k, argv] of sides) {
          const out = await ns.exec(argv, { timeout: 300_000 });
          const [elapsed, cpu] = out.stdout.trim().split(' ').map(Number);
          if (out.code !== 0 || !(elapsed > 0)) throw new Error(`${k} failed: ${out.code} ${out.stdout} ${out.stderr}`);
          if (r >= 0) res[k].push({ ops: N / (elapsed / 1e9), cpu: cpu / 1e3 / N });
        }
      }
    } finally {
      await ns.close();
    }
    console.log(`${transport}: N=${N} rounds=${ROUNDS} busy=${busy.length} warm=${WARM} pin=${PIN ?? 'none'} load before ${load0} after ${la()}`);
    const c = res.libcmap;
    for (const [k] of sides) {
      const ops = med(res[k].map((x) => x.ops));
      const cpu = med(res[k].map((x) => x.cpu));
      console.log(
        `  ${k}: ${(ops / 1000).toFixed(1)}k ops/s (${(ops / med(c.map((x) => x.ops))).toFixed(2)}x libcmap), ${cpu.toFixed(1)} µs CPU/call (${(cpu / med(c.map((x) => x.cpu))).toFixed(2)}x)  ops [${res[k].map((x) => (x.ops / 1000).toFixed(1)).join(' ')}] cpu [${res[k].map((x) => x.cpu.toFixed(1)).join(' ')}]`,
      );
    }
  }
} finally {
  for (const b of busy) b.kill();
}
