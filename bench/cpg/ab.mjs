// A/B of the cpg figures: libcpg and each given tsbench.mjs interleaved round by round on one
// private corosync, for one mode and size at a time:
//   node bench/cpg/ab.mjs MODE SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]
// MODE tput or lat (tsbench.mjs's). LOAD=k starts k busy processes (normal priority, like
// report.mjs's loaded regime) for the run; TRANSPORTS=socket or shm to measure one; CHRT=p runs every
// side at SCHED_RR p (chrt -r p), so that the machine's CFS work does not take its CPU (corosync, at
// RR 99, still does); NICE=n runs them at that nice level instead (still CFS tasks). CWAITS=poll,
// epoll,poll:16 measures libcpg once per wait of its lat loop, :K with CBENCH_FLIP=K; CWAITS=poll,
// one,one:32 measures tput's libcpg with its two threads and on one thread (args.mjs cbenchSides). TS_FLAGS='--single-threaded' runs each tsbench also with those Node flags, as a
// side of its own. The order of the sides rotates every round. Prints each side's rounds and medians
// with the load averages; tput also the sends refused with TRY_AGAIN and sent again.
import { startNamespace } from '@corosync-ts/nstest/core';
import { busyLoops, la, med } from '../lib/ab.mjs';
import { cbenchSides, compileCbench, cpgArgs } from './args.mjs';

const { mode, n, rounds: ROUNDS, args, tsbenches } = cpgArgs('ab.mjs');
const cbench = await compileCbench();
const pre = process.env.CHRT ? ['chrt', '-r', process.env.CHRT] : process.env.NICE ? ['nice', '-n', process.env.NICE] : [];
const libcpg = cbenchSides().map(([name, env]) => [name, [...pre, 'env', ...env, cbench, ...args]]);
const flags = (process.env.TS_FLAGS ?? '').split(' ').filter(Boolean);
const ts = tsbenches.flatMap((f) => [[f, f, []], ...(flags.length ? [[`${f} ${flags.join(' ')}`, f, flags]] : [])]);
const sides = [...libcpg, ...ts.map(([k, f, fl]) => [k, [...pre, process.execPath, ...fl, f, ...args]])];
const busy = await busyLoops(Number(process.env.LOAD ?? 0));
try {
  for (const transport of (process.env.TRANSPORTS ?? 'socket,shm').split(',')) {
    const load0 = la();
    const ns = await startNamespace({ name: `bench-cpg-ab-${transport}` });
    const res = Object.fromEntries(sides.map(([k]) => [k, []]));
    try {
      await ns.startCorosync({ transport });
      for (let r = -1; r < ROUNDS; r++) {
        for (let i = 0; i < sides.length; i++) {
          const [k, argv] = sides[(i + Math.max(r, 0)) % sides.length];
          const out = await ns.exec(argv, { timeout: 600_000 });
          const [a, b, cpu] = out.stdout.trim().split(' ').map(Number);
          if (out.code !== 0 || !(a > 0)) throw new Error(`${k} failed: ${out.code} ${out.stdout} ${out.stderr}`);
          if (r < 0) continue;
          res[k].push(mode === 'tput' ? { msgs: n / (a / 1e9), cpu: cpu / 1e3 / n, retries: b } : { p50: a / 1e3, p99: b / 1e3 });
        }
      }
    } finally {
      await ns.close();
    }
    console.log(`${transport}: ${args.join(' ')} rounds=${ROUNDS} busy=${busy.length} load before ${load0} after ${la()}`);
    for (const [k] of sides) {
      const xs = res[k];
      const f = (key, d = 0) => `${med(xs.map((x) => x[key])).toFixed(d)} [${xs.map((x) => x[key].toFixed(d)).join(' ')}]`;
      console.log(mode === 'tput' ? `  ${k}: msgs/s ${f('msgs')}  cpu µs/msg ${f('cpu', 1)}  retries ${f('retries')}` : `  ${k}: p50 µs ${f('p50')}  p99 µs ${f('p99')}`);
    }
  }
} finally {
  for (const b of busy) b.kill();
}
