// TypeScript side of bench/client/get-acct.mjs: node get-acct-ts.mjs CLIENT_INDEX_JS N W
// W warm-up getUint32 calls, then N measured, through one function (see tsbench.mjs); prints one
// JSON line: rate, user and system CPU per call (process.cpuUsage), context switches per call, and
// per thread (the loop thread as "main", the others by name) CPU run time and run-queue wait per
// call (/proc/self/task/*/schedstat) and switches. With PERF_CTL / PERF_ACK (perf stat --control
// fifos), perf counts only the measured calls.
import { readFileSync, readdirSync, openSync, writeSync, readSync } from 'node:fs';
const [clientPath, nArg, wArg] = process.argv.slice(2);
const N = Number(nArg), W = Number(wArg);
const { CmapHandle } = await import(clientPath);
const h = await CmapHandle.initialize();
const ctl = process.env.PERF_CTL ? openSync(process.env.PERF_CTL, 'w') : -1;
const ack = process.env.PERF_ACK ? openSync(process.env.PERF_ACK, 'r') : -1;
const perf = (cmd) => {
  if (ctl < 0) return;
  writeSync(ctl, cmd + '\n');
  const b = Buffer.alloc(16);
  readSync(ack, b);
};
const threads = () => {
  const out = {};
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const comm = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      const ss = readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').trim().split(' ').map(Number);
      const st = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
      const nonvol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[t] = { comm, run: ss[0], wait: ss[1], slices: ss[2], vol, nonvol, ut: Number(f[11]), st: Number(f[12]) };
    } catch {}
  }
  return out;
};
const get = async (k) => {
  for (let i = 0; i < k; i++) await h.getUint32('runtime.votequorum.this_node_id');
};
await get(W);
const t0 = threads();
const c0 = process.cpuUsage();
const r0 = process.resourceUsage();
perf('enable');
const e0 = process.hrtime.bigint();
await get(N);
const el = Number(process.hrtime.bigint() - e0);
perf('disable');
const c = process.cpuUsage(c0);
const r1 = process.resourceUsage();
const t1 = threads();
const per = {};
for (const [tid, a] of Object.entries(t1)) {
  const b = t0[tid] ?? { run: 0, wait: 0, slices: 0, vol: 0, nonvol: 0, ut: 0, st: 0 };
  const name = tid === String(process.pid) ? 'main' : a.comm;
  const d = (per[name] ??= { n: 0, run: 0, wait: 0, vol: 0, nonvol: 0, ut: 0, st: 0 });
  d.n++;
  d.run += (a.run - b.run) / N / 1e3;
  d.wait += (a.wait - b.wait) / N / 1e3;
  d.vol += (a.vol - b.vol) / N;
  d.nonvol += (a.nonvol - b.nonvol) / N;
  d.ut += (a.ut - b.ut) * 1e4 / N; // µs/call, 10 ms ticks
  d.st += (a.st - b.st) * 1e4 / N;
}
console.log(JSON.stringify({ side: 'ts', N, opsps: N / (el / 1e9), user: c.user / N, sys: c.system / N, vol: (r1.voluntaryContextSwitches - r0.voluntaryContextSwitches) / N, nonvol: (r1.involuntaryContextSwitches - r0.involuntaryContextSwitches) / N, threads: per }));
await h.finalize();
process.exit(0);
