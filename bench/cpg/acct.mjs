// Where a cpg run's CPU goes on both sides of the IPC: libcpg and each given tsbench.mjs,
// interleaved round by round on one private corosync per transport, with corosync's own threads
// read around every run (issue 14; bench/README.md "1 MiB: corosync's part"):
//   node bench/cpg/acct.mjs MODE SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]
// Per side, medians over the rounds: the bench's figure (msgs/s or p50), its own CPU per message
// (tput: over the measured burst), and corosync's CPU run time, run-queue wait and voluntary and
// involuntary switches per thread per message over the whole run (warm-up included: W + N
// messages), and totem's counters per message over the run (`corosync-cmapctl -m stats
// stats.srp.`, read before and after it: token visits, multicast packets, each carrying the
// messages corosync's main loop queued since the token's last visit). Env as ab.mjs: LOAD=k busy
// processes, TRANSPORTS=socket or shm, CHRT=p, CWAITS; NODE_ARGS.
import { startNamespace } from '@corosync-ts/nstest/core';
import { busyLoops, la, med } from '../lib/ab.mjs';
import { taskStats } from '../lib/tasks.mjs';
import { cbenchSides, compileCbench, cpgArgs } from './args.mjs';

const { mode, n, warmup, rounds: ROUNDS, args, tsbenches } = cpgArgs('acct.mjs');
const msgs = n + warmup;
const cbench = await compileCbench();
// NODE_ARGS (space-separated) go to every TS side's node, e.g. --single-threaded.
const nodeArgs = process.env.NODE_ARGS ? process.env.NODE_ARGS.split(' ') : [];
// CHRT=p runs every side at SCHED_RR p, as ab.mjs does.
const pre = process.env.CHRT ? ['chrt', '-r', process.env.CHRT] : [];
const sides = [...cbenchSides().map(([name, env]) => [name, [...pre, 'env', ...env, cbench, ...args]]), ...tsbenches.map((f) => [f, [...pre, process.execPath, ...nodeArgs, f, ...args]])];

/** corosync's figures per message between two taskStats() of it, by thread name (its own: main; primes when repeated). */
function perMessage(pid, before, after) {
  const out = {};
  for (const [tid, x] of after) {
    const y = before.get(tid) ?? { runNs: 0, waitNs: 0, vcs: 0, ivcs: 0 };
    let name = tid === String(pid) ? 'main' : x.comm;
    while (out[name]) name += "'";
    out[name] = { run: (x.runNs - y.runNs) / 1e3 / msgs, wait: (x.waitNs - y.waitNs) / 1e3 / msgs, vol: (x.vcs - y.vcs) / msgs, nonvol: (x.ivcs - y.ivcs) / msgs };
  }
  return out;
}

/** totem's counters (stats.srp.*) from corosync's stats map. */
async function srp(ns) {
  const out = await ns.execOk(['corosync-cmapctl', '-m', 'stats', 'stats.srp.']);
  return Object.fromEntries([...out.matchAll(/^stats\.srp\.(\w+) \(\w+\) = (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

const busy = await busyLoops(Number(process.env.LOAD ?? 0));
try {
  for (const transport of (process.env.TRANSPORTS ?? 'socket,shm').split(',')) {
    const load0 = la();
    const ns = await startNamespace({ name: `bench-cpg-acct-${transport}` });
    const res = Object.fromEntries(sides.map(([k]) => [k, []]));
    try {
      const cs = await ns.startCorosync({ transport });
      for (let r = -1; r < ROUNDS; r++) {
        for (let i = 0; i < sides.length; i++) {
          const [k, argv] = sides[(i + Math.max(r, 0)) % sides.length];
          const srp0 = await srp(ns);
          const before = taskStats(cs.pid);
          const log0 = cs.log().length;
          const out = await ns.exec(argv, { timeout: 600_000 });
          const after = taskStats(cs.pid);
          const srp1 = await srp(ns);
          // corosync logs "Q empty" each time a client's event queue (ipc_glue.c outq, where it
          // copies an event the client's socket or ring had no room for) drains again
          const qEmpty = cs.log().slice(log0).split('Q empty').length - 1;
          const [a, b, cpu] = out.stdout.trim().split(' ').map(Number);
          if (out.code !== 0 || !(a > 0)) throw new Error(`${k} failed: ${out.code} ${out.stdout} ${out.stderr}`);
          if (r < 0) continue;
          res[k].push({ ...(mode === 'tput' ? { msgs: n / (a / 1e9), cpu: cpu / 1e3 / n } : { p50: a / 1e3, p99: b / 1e3 }), cs: perMessage(cs.pid, before, after), qEmpty, tok: (srp1.orf_token_rx - srp0.orf_token_rx) / msgs, mcast: (srp1.mcast_tx - srp0.mcast_tx) / msgs });
        }
      }
    } finally {
      await ns.close();
    }
    console.log(`${transport}: ${args.join(' ')} rounds=${ROUNDS} busy=${busy.length} load before ${load0} after ${la()}`);
    for (const [k] of sides) {
      const xs = res[k];
      const f = (g, d = 0) => `${med(xs.map(g)).toFixed(d)} [${xs.map((x) => g(x).toFixed(d)).join(' ')}]`;
      console.log(mode === 'tput' ? `  ${k}: msgs/s ${f((x) => x.msgs)}  cpu µs/msg ${f((x) => x.cpu, 1)}` : `  ${k}: p50 µs ${f((x) => x.p50)}  p99 µs ${f((x) => x.p99)}`);
      const names = new Set(xs.flatMap((x) => Object.keys(x.cs)));
      for (const t of names) {
        const g = (h) => med(xs.map((x) => (x.cs[t] ? h(x.cs[t]) : 0)));
        if (g((c) => c.run) < 5) continue;
        console.log(`     corosync ${t.padEnd(16)} run ${g((c) => c.run).toFixed(1)} µs/msg  wait ${g((c) => c.wait).toFixed(1)}  vol ${g((c) => c.vol).toFixed(2)} nonvol ${g((c) => c.nonvol).toFixed(2)}`);
      }
      const total = xs.map((x) => Object.values(x.cs).reduce((s, c) => s + c.run, 0));
      console.log(`     corosync all threads run ${med(total).toFixed(1)} µs/msg [${total.map((v) => v.toFixed(0)).join(' ')}]  'Q empty' per run [${xs.map((x) => x.qEmpty).join(' ')}]`);
      console.log(`     totem per msg: token visits ${f((x) => x.tok, 3)}  mcast packets ${f((x) => x.mcast, 3)}`);
    }
  }
} finally {
  for (const b of busy) b.kill();
}
