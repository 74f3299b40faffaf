// IPC benchmarks, one run, side by side, all inside one private namespace:
//   client: our client vs libcmap (C) against the same private corosync 3.1.7
//   server: our server (ipc + codec) vs corosync 3.1.7, both serving the libcmap C bench
//   memory: RSS (and Node's `external`) per extra cmap handle, libcmap vs @corosync-ts/client
// Usage: node bench/ipc/run.mjs [iterations] [--load] [--write]   (root; needs corosync + gcc)
//   --load: one busy process per vCPU at normal priority for the whole run (started and stopped here)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { emitFigures } from '../lib/figures.mjs';
import { writeResultsSection } from '../lib/results.mjs';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20000);
const write = process.argv.includes('--write');
const loaded = process.argv.includes('--load');

const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
const cbench = await compileC(readFileSync(here('./cmap-get-bench.c'), 'utf8'), ['cmap']);
const chandles = await compileC(readFileSync(here('./cmap-handles.c'), 'utf8'), ['cmap']);
const hogs = loaded ? Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })) : [];
const ns = await startNamespace({ name: 'bench-ipc' });
const json = async (argv) => {
  const r = await ns.exec(argv, { timeout: 600_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    throw new Error(`${argv.join(' ')}: ${r.stdout} ${r.stderr}`);
  }
};
// The machine is shared and noisy: alternate the contenders over a few rounds and
// report each one's median round, so a burst of foreign load cannot favour one side.
const rounds = Number(process.env.BENCH_ROUNDS ?? (process.env.BENCH_QUICK ? 3 : 5));
const median = (runs) => {
  const pick = (k) => {
    const v = runs.map((r) => r[k]).sort((a, b) => a - b);
    return v[v.length >> 1];
  };
  const out = {};
  for (const k of Object.keys(runs[0])) out[k] = typeof runs[0][k] === 'number' ? pick(k) : runs[0][k];
  return out;
};
const raw = { client: {}, server: {}, memory: {} };
try {
  for (const transport of ['socket', 'shm']) {
    const runs = { c: [], ts: [], ours: [], oursRr: [] };
    for (let round = 0; round < rounds; round++) {
      await ns.startCorosync({ transport });
      runs.c.push(await json([cbench, String(n)]));
      runs.ts.push(await json([process.execPath, here('./client-bench.mjs'), String(n)]));
      if (round === 0) {
        raw.memory[transport] = {
          c: await json([chandles, '100']),
          ts: await json([process.execPath, '--expose-gc', here('./cmap-handles.mjs'), '100']),
        };
      }
      await ns.stopCorosync();
      // corosync runs itself SCHED_RR 99; ours is measured both that way and as a plain process.
      for (const [key, prefix] of [['ours', []], ['oursRr', ['chrt', '-r', '99']]]) {
        const srv = ns.spawn([...prefix, process.execPath, here('./cmap-get-server.mjs'), transport], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise((resolve) => createInterface({ input: srv.stdout }).once('line', resolve));
        runs[key].push(await json([cbench, String(n)]));
        const exited = new Promise((r) => srv.once('exit', r));
        srv.kill('SIGTERM');
        await exited;
      }
    }
    raw.client[transport] = runs;
  }
} finally {
  await ns.close();
  for (const h of hogs) h.kill('SIGKILL');
}
const results = { client: {}, server: {} };
for (const t of ['socket', 'shm']) {
  const r = raw.client[t];
  results.client[t] = { c: median(r.c), ts: median(r.ts) };
  results.server[t] = { corosync: median(r.c), ours: median(r.ours), oursRr: median(r.oursRr) };
}

const figures = [];
for (const t of ['socket', 'shm']) {
  const { c, ts } = results.client[t];
  const { corosync, ours, oursRr } = results.server[t];
  const fig = (id, label, unit, higherIsBetter, baseline, o, baselineName) =>
    figures.push({ id: `ipc.${id}.${t}`, area: 'ipc', label: `${label}, ${t}`, unit, higherIsBetter, baseline, ours: o, baselineName });
  fig('client.ops', `IpcClient GET throughput, ${n} sequential GETs (256-byte buffer)`, 'ops/s', true, c.opsPerSec, ts.opsPerSec, 'libcmap cmap_get');
  fig('client.cpu', 'IpcClient CPU per GET (user + system, all threads)', 'µs/call', false, c.cpuUsPerOp, ts.cpuUsPerOp, 'libcmap cmap_get');
  fig('client.p50', 'IpcClient GET latency p50', 'µs', false, c.p50, ts.p50, 'libcmap cmap_get');
  fig('server.ops', 'IpcServer (+ codec) serving the libcmap bench, plain process', 'ops/s', true, corosync.opsPerSec, ours.opsPerSec, 'corosync 3.1.7 (RR 99)');
  fig('server.rr.ops', 'IpcServer (+ codec) serving the libcmap bench, started `chrt -r 99`', 'ops/s', true, corosync.opsPerSec, oursRr.opsPerSec, 'corosync 3.1.7 (RR 99)');
}
emitFigures(figures);

const loadAfter = loadavg().map((x) => x.toFixed(2)).join(' ');
const f = (x) => x.toFixed(1);
const ratio = (ours, base) => (ours / base).toFixed(2);
const lines = [];
const regime = loaded ? `loaded (${hogs.length} busy processes, one per vCPU, at normal priority)` : 'idle (no background load started by the bench)';
lines.push(loaded ? '## ipc loaded (@corosync-ts/ipc)' : '## ipc (@corosync-ts/ipc)');
lines.push('');
lines.push(`Regime: ${regime}.`);
lines.push('');
lines.push(`Command: \`node bench/ipc/run.mjs ${n} --write\` (root; one run of ${rounds} alternating rounds, each figure the median round; ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; ${n} sequential cmap GETs of \`totem.cluster_name\` with a 256-byte buffer after 1,000 warm-up calls; private corosync 3.1.7 in its own namespace on a shared 2-core machine, load average ${loadBefore} before and ${loadAfter} after).`);
lines.push('');
lines.push('Client: our `IpcClient` vs libcmap `cmap_get()` (C), same daemon. Ratio = ours/C throughput (goal ≥0.9 socket, ≥0.8 shm).');
lines.push('');
lines.push('| transport | C p50 µs | C p99 µs | C ops/s | C CPU µs/call | ours p50 µs | ours p99 µs | ours ops/s | ours CPU µs/call | ratio | ours pipelined ×16 ops/s |');
lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
for (const t of ['socket', 'shm']) {
  const { c, ts } = results.client[t];
  lines.push(`| ${t} | ${f(c.p50)} | ${f(c.p99)} | ${c.opsPerSec} | ${f(c.cpuUsPerOp)} | ${f(ts.p50)} | ${f(ts.p99)} | ${ts.opsPerSec} | ${f(ts.cpuUsPerOp)} | ${ratio(ts.opsPerSec, c.opsPerSec)} | ${ts.pipelinedOpsPerSec} |`);
}
lines.push('');
lines.push('Server: the libcmap C bench against our `IpcServer` (+ codec decode/encode of each GET) vs against corosync 3.1.7. corosync runs itself SCHED_RR priority 99, which on a loaded machine shields it from every other process; ours is shown both as a plain process and started the same way (`chrt -r 99`). Ratio = ours/corosync throughput (goal ≥1.0).');
lines.push('');
lines.push('| transport | corosync (RR 99) p50 / p99 µs | corosync ops/s | ours plain p50 / p99 µs | ours plain ops/s | ratio | ours RR 99 p50 / p99 µs | ours RR 99 ops/s | ratio |');
lines.push('|---|---|---|---|---|---|---|---|---|');
for (const t of ['socket', 'shm']) {
  const { corosync: c, ours: o, oursRr: rr } = results.server[t];
  lines.push(`| ${t} | ${f(c.p50)} / ${f(c.p99)} | ${c.opsPerSec} | ${f(o.p50)} / ${f(o.p99)} | ${o.opsPerSec} | ${ratio(o.opsPerSec, c.opsPerSec)} | ${f(rr.p50)} / ${f(rr.p99)} | ${rr.opsPerSec} | ${ratio(rr.opsPerSec, c.opsPerSec)} |`);
}
lines.push('');
lines.push('Where the time goes (same syscalls per call as libqb; the differences are structural):');
lines.push('');
lines.push('- socket client: one send, one recv per reply (the datagram watcher knows how many replies are owed, so it does not probe for EAGAIN; libqb peeks then receives). Once per batch of requests it sleeps for the reply in `ppoll` on the loop thread, at most 200 µs (from a microtask after the caller\'s code has run, the loop turning at least once per ms), else `uv_poll` wakes it; the watcher receives every queued datagram natively before one call into JS. The rest is one event-loop turn, the promise and the caller\'s `await`.');
lines.push('- the bounded wait (at most 200 µs) stops only after 8 waits in a row missed their replies (`WaitPolicy`, packages/ipc/src/wait.ts); the next 16 replies then go without.');
lines.push('- shm client: libcmap sleeps in `sem_timedwait` and corosync\'s `sem_post` wakes it (a futex wake-up, slow when the machine is loaded). Ours sleeps the same way on its loop thread, but at most 200 µs as the policy allows, then polls from `setImmediate` up to 50 µs in all (the loop keeps turning), and then hands the wait to its waiter thread. Pipelining (last column) is what the C library cannot do.');
lines.push('- CPU µs/call: user + system time of the whole process (all threads) per sequential call, from `getrusage` / `process.cpuUsage()`; it includes the bounded waits (asleep: no CPU).');
lines.push('- server: the same work per request as libqb\'s server plus a JS turn and the codec\'s decode (its allocation-free fast path: validated in WASM, fields read from its slots) and encode of every reply. corosync gives itself SCHED_RR 99, so on a busy machine other processes never preempt it; the RR columns start ours the same way.');
lines.push('- the machine is shared with other builds and tests: rounds vary by 2x and more, hence alternating rounds and medians.');
lines.push('');
lines.push('Memory per extra cmap handle (100 handles after 10, one GET each; RSS from `/proc/self/statm` and `process.memoryUsage()` after a GC). Goal: ours ≤ libcmap + 50 kB.');
lines.push('');
lines.push('| transport | libcmap RSS kB/handle | ours RSS kB/handle | ours `external` kB/handle | verdict |');
lines.push('|---|---|---|---|---|');
for (const t of ['socket', 'shm']) {
  const { c, ts } = raw.memory[t];
  lines.push(`| ${t} | ${f(c.rss / 1024)} | ${f(ts.rss / 1024)} | ${f(ts.external / 1024)} | ${ts.rss <= c.rss + 50 * 1024 ? 'met' : 'missed'} |`);
}
lines.push('');
const verdict = (t, goal) => {
  const r = results.client[t].ts.opsPerSec / results.client[t].c.opsPerSec;
  return `${t} ${r.toFixed(2)}x (goal ≥${goal}): ${r >= goal ? 'met' : 'missed'}`;
};
lines.push(`Client goals in this run: ${verdict('socket', 0.9)}; ${verdict('shm', 0.8)}.`);
const serverVerdict = (t) => {
  const { corosync: c, ours: o, oursRr: rr } = results.server[t];
  const plain = o.opsPerSec / c.opsPerSec;
  return `${t} plain ${plain.toFixed(2)}x / RR 99 ${(rr.opsPerSec / c.opsPerSec).toFixed(2)}x (goal ≥1.0 plain): ${plain >= 1 ? 'met' : 'missed'}`;
};
lines.push(`Server goal in this run: ${serverVerdict('socket')}; ${serverVerdict('shm')}.`);
const section = lines.join('\n');
console.log(section);
console.log(JSON.stringify(raw));
if (write) {
  writeResultsSection(loaded ? 'ipc loaded (@corosync-ts/ipc)' : 'ipc (@corosync-ts/ipc)', section);
}
