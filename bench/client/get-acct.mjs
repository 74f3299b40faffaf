// Where a getUint32's CPU goes, libcmap against each given client build, interleaved round by round
// on one private corosync per transport (issue 13; bench/README.md "GET: what a call costs"):
//   node bench/client/get-acct.mjs [name=path/to/client/dist/index.js ...]   (default: this checkout's)
// Per side, medians over the rounds: calls/s, user and system CPU per call, voluntary and
// involuntary switches per call; for our client the same per thread (CPU run time, run-queue
// wait); with PERF=1, syscalls per call of the measured calls (perf stat on the syscall
// tracepoints: it adds their cost to the CPU figures, so read only the counts then).
// Env: N, W (measured and warm-up calls, default 3000 each), ROUNDS (3), TRANSPORTS (socket,shm),
// LOAD=k busy processes, PIN=same (client and corosync on vCPU 1) | apart (client on vCPU 0),
// CG=prefix (callgrind each run, one file per thread: instructions per call from two runs of
// different N), NODE_ARGS, TSENV (NAME=value ... for our side).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { busyLoops, la, med } from '../lib/ab.mjs';
const N = process.env.N ?? '3000', W = process.env.W ?? '3000', ROUNDS = Number(process.env.ROUNDS ?? 3);
const PERF = process.env.PERF === '1';
const here = (f) => new URL(f, import.meta.url).pathname;
const cacct = await compileC(readFileSync(here('./get-acct.c'), 'utf8'), ['cmap'], { cflags: ['-O2'] });
const given = process.argv.slice(2);
const sides = [['libcmap', null], ...(given.length ? given : [`ours=${here('../../packages/client/dist/index.js')}`]).map((s) => s.split('='))];
const busy = await busyLoops(Number(process.env.LOAD ?? 0));
try {
  for (const transport of (process.env.TRANSPORTS ?? 'socket,shm').split(',')) {
    const ns = await startNamespace({ name: `bench-get-acct-${transport}` });
    const load0 = la();
    const res = {};
    try {
      const cs = await ns.startCorosync({ transport });
      const PIN = process.env.PIN;
      if (PIN) await ns.execOk(['taskset', '-a', '-p', '-c', '1', String(cs.pid)]);
      const ctl = join(ns.dir, 'ctl'), ack = join(ns.dir, 'ack');
      if (PERF) await ns.execOk(['sh', '-c', `mkfifo ${ctl} ${ack}`]);
      for (let r = -1; r < ROUNDS; r++) {
        for (const [k, path] of sides) {
          let argv = path ? ['env', ...(process.env.TSENV ? process.env.TSENV.split(' ') : []), process.execPath, ...(process.env.NODE_ARGS ? process.env.NODE_ARGS.split(' ') : []), here('./get-acct-ts.mjs'), path, N, W] : [cacct, N, W];
          const pout = join(ns.dir, 'perf.out');
          if (process.env.CG) argv = ['valgrind', '--tool=callgrind', '--separate-threads=yes', '--trace-children=yes', `--callgrind-out-file=${process.env.CG}.${transport}.${k}.${N}.%p`, ...argv];
          if (PIN) argv = ['taskset', '-c', PIN === 'same' ? '1' : '0', ...argv];
          if (PERF) argv = ['perf', 'stat', '-x,', '-o', pout, '-D', '-1', `--control=fifo:${ctl},${ack}`, '-e', 'syscalls:sys_enter_*,context-switches,cpu-migrations,page-faults,task-clock', '--', 'env', `PERF_CTL=${ctl}`, `PERF_ACK=${ack}`, ...argv];
          const out = await ns.exec(argv, { timeout: 300_000 });
          if (out.code !== 0) throw new Error(`${k} failed: ${out.code} ${out.stdout} ${out.stderr}`);
          const j = JSON.parse(out.stdout.trim().split('\n').pop());
          if (PERF) {
            j.sc = {};
            for (const line of readFileSync(pout, 'utf8').split('\n')) {
              const f = line.split(',');
              if (f.length < 3 || !(Number(f[0]) > 0)) continue;
              j.sc[f[2].replace('syscalls:sys_enter_', '')] = Number(f[0]) / Number(N);
            }
          }
          if (r >= 0) (res[k] ??= []).push(j);
        }
      }
    } finally {
      await ns.close();
    }
    if (ROUNDS === 0) continue;
    console.log(`== ${transport}: N=${N} W=${W} rounds=${ROUNDS} busy=${busy.length} pin=${process.env.PIN} load before ${load0} after ${la()}`);
    for (const [k] of sides) {
      const xs = res[k];
      const m = (f) => med(xs.map(f));
      console.log(`  ${k}: ${(m((x) => x.opsps) / 1e3).toFixed(1)}k ops/s  cpu ${m((x) => x.user + x.sys).toFixed(2)} µs (user ${m((x) => x.user).toFixed(1)} sys ${m((x) => x.sys).toFixed(1)})  vol ${m((x) => x.vol).toFixed(2)} nonvol ${m((x) => x.nonvol).toFixed(2)}   cpu[${xs.map((x) => (x.user + x.sys).toFixed(2)).join(' ')}] ops[${xs.map((x) => (x.opsps / 1e3).toFixed(1)).join(' ')}]`);
      if (xs[0].threads) {
        const names = new Set(xs.flatMap((x) => Object.keys(x.threads)));
        for (const n of names) {
          const g = (f) => m((x) => (x.threads[n] ? f(x.threads[n]) : 0));
          const run = g((t) => t.run);
          if (run < 0.05 && g((t) => t.vol) < 0.01) continue;
          console.log(`     ${n.padEnd(16)} run ${run.toFixed(2)} µs  wait ${g((t) => t.wait).toFixed(2)}  vol ${g((t) => t.vol).toFixed(3)} nonvol ${g((t) => t.nonvol).toFixed(3)}  ut ${g((t) => t.ut).toFixed(1)} st ${g((t) => t.st).toFixed(1)} (x${xs[0].threads[n]?.n ?? 0})`);
        }
      }
      if (xs[0].sc) {
        const names = new Set(xs.flatMap((x) => Object.keys(x.sc)));
        console.log('     syscalls/call: ' + [...names].map((n) => `${n} ${m((x) => x.sc[n] ?? 0).toFixed(3)}`).join(', '));
      }
    }
  }
} finally {
  for (const b of busy) b.kill();
}
