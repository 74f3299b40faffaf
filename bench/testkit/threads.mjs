// Per-thread view of corosync-mock (or corosync) serving libcmap GETs from bench/testkit/cmap-gets.c:
// every thread's scheduling policy, CPU, run-queue wait (schedstat) and context switches per GET
// over the run, and the client's own CPU per GET; `loaded` starts one busy process per vCPU.
// Figures per GET do not depend on the machine's load the way ops/s do.
//   node bench/testkit/threads.mjs [socket|shm] [mock|mock-rr|corosync] [idle|loaded] [gets=5000]
// Environment: WARM (GETs before the measured run, by two clients one after the other, default 2000), NODE_FLAGS (node options for the mock, e.g. --trace-gc), MOCK_STDOUT=1 (show the
// mock's stdout), STRACE=1 (syscalls per GET, all threads) or STRACE=ff (one strace -ttt file per
// thread in /tmp/mockrr-strace.<tid>), SCHED=file (perf sched record -a over the measured run: the client's and
// the daemon loop thread's time running, runnable after a wake-up or a preemption, and asleep, per GET, and every move that put the
// two on one vCPU or on two, with its cause; sched-states.mjs), PERF=file (perf record -e cpu-clock -g of the daemon; give the mock
// NODE_FLAGS=--perf-basic-prof for JS names), CALLGRIND=file (the mock under callgrind: instructions of the
// measured run; slow, so use small counts and WARM), COROSYNC_TS_IPC_ADDON (an addon build to compare),
// PIN=d,c (every daemon thread on vCPU d, the client on vCPU c; either may be empty): the pair on one vCPU or apart;
// NUDGE=n (the daemon's loop thread moved to vCPU n before the run, its mask given back), PERFSTAT=1 (perf stat of the
// daemon's process and of the client over the measured run: every syscall, context switches, migrations and page faults
// per GET, counted in the kernel, so the counts are exact and strace's slowing down does not change the shape).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { taskStats } from '../lib/tasks.mjs';
import { formatSchedStates, schedStates } from './sched-states.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const [transport = 'shm', who = 'mock', regime = 'idle', getsArg = '5000'] = process.argv.slice(2);
const gets = Number(getsArg);
// cmap-gets.c makes 1000 untimed GETs before the timed ones, inside the window measured here:
// every per-GET figure is over all of them (dividing by `gets` alone overstated each by 20% at 5000)
const perGet = gets + 1000;

async function startSched(file) {
  const dir = mkdtempSync(join(tmpdir(), 'sched-'));
  const [ctl, ack] = ['ctl', 'ack'].map((f) => join(dir, f));
  execFileSync('mkfifo', [ctl, ack]);
  const perf = spawn('perf', ['sched', 'record', '-a', '-D', '-1', '--control', `fifo:${ctl},${ack}`, '-o', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  // read-write opens of a fifo do not block waiting for the other end (Linux): a perf that fails
  // to start leaves no open pending, and its exit ends the wait for the ack
  const w = await open(ctl, 'r+');
  const r = await open(ack, 'r+');
  await w.write('enable\n');
  const buf = Buffer.alloc(16);
  const exited = new Promise((_, reject) => perf.once('exit', (code) => reject(new Error(`perf sched record exited (${code})`))));
  const { bytesRead } = await Promise.race([r.read(buf, 0, 16), exited]);
  if (!buf.subarray(0, bytesRead).toString().startsWith('ack')) throw new Error('perf did not acknowledge enable');
  await w.close();
  await r.close();
  rmSync(dir, { recursive: true });
  return { perf };
}


const BUSY = 'for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid === 1) process.exit(0); }';
const load = regime === 'loaded' ? Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', BUSY], { stdio: 'ignore' })) : [];
const cbench = await compileC(readFileSync(here('./cmap-gets.c'), 'utf8'), ['cmap']);
const conf = readFileSync(here('../../packages/testkit/test/fixtures/three-nodes.conf'), 'utf8').replace(/qb_ipc_type: \w+/, `qb_ipc_type: ${transport}`);
const ns = await startNamespace({ name: 'bench-mock-threads' });
try {
  let pid;
  let stop;
  if (who === 'corosync') {
    const c = await ns.startCorosync({ conf });
    pid = c.pid;
    stop = () => ns.stopCorosync();
  } else {
    const confPath = join(ns.dir, 'mock.conf');
    writeFileSync(confPath, conf);
    // CALLGRIND=file: the mock under callgrind, instructions counted over the measured run only
    // one dump per thread: the loop thread's count (its first) moves far less from run to run than
    // the total, where V8's compiler and GC threads come and go
    const wrap = process.env.CALLGRIND ? ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${process.env.CALLGRIND}`] : [];
    const child = ns.spawn([...wrap, process.execPath, ...(process.env.NODE_FLAGS?.split(' ').filter(Boolean) ?? []), here('../../packages/testkit/dist/cli.js'), '--config', confPath, ...(who === 'mock-rr' ? ['--rr'] : [])], { stdio: ['ignore', process.env.MOCK_STDOUT ? 'inherit' : 'ignore', 'pipe'] });
    let err = '';
    await new Promise((resolve) => child.stderr.setEncoding('utf8').on('data', (d) => { err += d; if (/serving/.test(err)) resolve(); }));
    pid = child.pid;
    stop = async () => { const e = new Promise((r) => child.once('exit', r)); child.kill('SIGTERM'); await e; };
  }
  // warm-up run (WARM=n GETs, default 2000; WARM=0 measures a cold mock as bench/testkit/run.mjs does), then the measured one
  const warm = Number(process.env.WARM ?? 2000);
  // Two warm-up clients: the first one's disconnect deoptimizes the request path compiled while
  // it ran (V8 makes the connection's isClosed field mutable: --trace-generalization,
  // --trace-deopt-verbose) and the second one's GETs compile it again
  if (warm > 0) for (const n of [Math.ceil(warm / 2), Math.floor(warm / 2)]) await ns.exec([cbench, String(n)]);
  // STRACE=1: syscall counts of the measured run (strace slows every call down; counts only)
  const tracer = process.env.STRACE ? spawn('strace', [...(process.env.STRACE === 'ff' ? ['-ff', '-ttt', '-o', '/tmp/mockrr-strace'] : ['-c']), '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] }) : undefined;
  // PERF=file: perf record (cpu-clock, call graphs) of the daemon over the measured run
  // SCHED=file: every CPU's scheduler events over the measured run (sched-states.mjs reads them),
  // recording from the moment perf acknowledges 'enable' on its control fifo: a perf that starts
  // late under load would otherwise miss the run's start
  const sched = process.env.SCHED ? await startSched(process.env.SCHED) : undefined;
  // the syscalls a GET makes on either side, not syscalls:sys_enter_* (hundreds of tracepoints slowed the mock ~8x and
  // changed the shape: the next request was then queued at every wait)
  const statEvents = [...['recvfrom', 'sendto', 'writev', 'futex', 'poll', 'epoll_wait', 'epoll_pwait'].map((s) => `syscalls:sys_enter_${s}`), 'context-switches', 'cpu-migrations', 'page-faults'].join(',');
  const statOut = join(ns.dir, 'client-stat');
  const dstat = process.env.PERFSTAT ? spawn('perf', ['stat', '-x,', '-e', statEvents, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] }) : undefined;
  let dstatOut = '';
  dstat?.stderr.setEncoding('utf8').on('data', (d) => { dstatOut += d; });
  if (dstat) await new Promise((r) => setTimeout(r, 500));
  const perf = process.env.PERF ? spawn('perf', ['record', '-e', 'cpu-clock', '-F', '20000', '-g', '-o', process.env.PERF, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'inherit'] }) : undefined;
  if (perf) await new Promise((r) => setTimeout(r, 500));
  let traced = '';
  tracer?.stderr.setEncoding('utf8').on('data', (d) => { traced += d; });
  if (tracer) await new Promise((r) => setTimeout(r, 500));
  if (process.env.CALLGRIND) await ns.exec(['callgrind_control', '-i', 'on', String(pid)]);
  if (process.env.MOCK_STDOUT) console.log('--- measured run starts');
  // PIN=d,c: the daemon's every thread on vCPU d and the client on vCPU c for the measured run
  // (same vCPU or apart: the two shapes a GET's round trip takes)
  const pin = process.env.PIN?.split(',');
  if (pin?.[0]) execFileSync('taskset', ['-a', '-p', '-c', pin[0], String(pid)], { stdio: 'ignore' });
  // NUDGE=n: the daemon's loop thread moved to vCPU n and its CPU mask given back at once (an RT
  // thread then stays where it is woken): which vCPU it starts the measured run on
  if (process.env.NUDGE) {
    const all = readFileSync(`/proc/${pid}/status`, 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)[1];
    for (const c of [process.env.NUDGE, all]) execFileSync('taskset', ['-p', '-c', c, String(pid)], { stdio: 'ignore' });
  }
  const before = taskStats(pid);
  // the client's own CPU too (getrusage of the child, through bash's `times`)
  // and its context switches (GNU time: %w voluntary, %c involuntary)
  const cstat = dstat ? `perf stat -x, -o ${statOut} -e '${statEvents}' -- ` : '';
  const r = await ns.exec(['bash', '-c', `${pin?.[1] ? `taskset -c ${pin[1]} ` : ''}/usr/bin/time -f '%w %c' ${cstat}"$0" "$1"; times >&2`, cbench, String(gets)], { timeout: 600_000 });
  const after = taskStats(pid);
  if (process.env.CALLGRIND) {
    await ns.exec(['callgrind_control', '-d', String(pid)]);
    // the dump is the file's first part, one file per thread (<file>.1-01 is the loop thread's;
    // the ones written at exit are <file>-NN)
    const dir = join(process.env.CALLGRIND, '..');
    const parts = readdirSync(dir).filter((f) => f.startsWith(`${basename(process.env.CALLGRIND)}.1-`)).sort();
    const count = (f) => Number(/(?:summary|totals): (\d+)/.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? NaN);
    const ir = parts.reduce((a, f) => a + count(f), 0);
    const loop = parts.length ? count(parts[0]) : NaN;
    console.log(`  callgrind: ${ir} instructions, ${(ir / perGet).toFixed(0)} per GET (all threads, measured run), ${(loop / perGet).toFixed(0)} on the loop thread`);
  }
  for (const p of [perf, sched?.perf, dstat]) {
    if (!p) continue;
    const done = new Promise((res) => p.once('exit', res));
    p.kill('SIGINT');
    await done;
  }
  if (tracer) {
    const done = new Promise((res) => tracer.once('exit', res));
    tracer.kill('SIGINT');
    await done;
    console.log(traced.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l)).map((l) => { const f = l.trim().split(/\s+/); return `  ${f.at(-1)} ${(Number(f[3]) / perGet).toFixed(3)}/req`; }).join('\n'));
  }
  if (dstat) {
    // per GET of the measured run; the client's count includes its connect and the 1,000 untimed GETs, as perGet does
    const counts = (text) => text.split('\n').map((l) => l.split(',')).filter((f) => f.length > 2 && Number(f[0]) > 0).map((f) => `${f[2].replace('syscalls:sys_enter_', '')} ${(Number(f[0]) / perGet).toFixed(3)}`);
    console.log(`  perf stat, daemon (all threads), per GET: ${counts(dstatOut).join(', ')}`);
    console.log(`  perf stat, client, per GET: ${counts(readFileSync(statOut, 'utf8')).join(', ')}`);
  }
  const res = JSON.parse(r.stdout);
  const [cu, cs] = [...r.stderr.trim().split('\n').at(-1).matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const [cvcs, civcs] = r.stderr.trim().split('\n').at(-3).split(' ').map((x) => Number(x) / perGet);
  console.log(`${who} ${transport} ${regime}: ${res.opsPerSec} ops/s p50 ${res.p50} µs p99 ${res.p99} µs; client cpu ${(((cu + cs) * 1e6) / perGet).toFixed(1)} µs/req, cs ${cvcs.toFixed(3)} vol ${civcs.toFixed(3)} invol /req (load ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  let cpu = 0;
  let vcs = 0;
  let ivcs = 0;
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { runNs: 0, waitNs: 0, vcs: 0, ivcs: 0, utime: 0, stime: 0, mig: 0 };
    const ticks = a.utime - b.utime + a.stime - b.stime;
    const d = { user: ticks ? (a.utime - b.utime) / ticks : 0, run: (a.runNs - b.runNs) / 1e3 / perGet, wait: (a.waitNs - b.waitNs) / 1e3 / perGet, vcs: (a.vcs - b.vcs) / perGet, ivcs: (a.ivcs - b.ivcs) / perGet, mig: (a.mig - b.mig) / perGet };
    cpu += d.run;
    vcs += d.vcs;
    ivcs += d.ivcs;
    if (d.run > 0.01 || d.vcs > 0.001 || process.env.ALL) console.log(`  ${tid.padStart(7)} ${a.comm.padEnd(16)} ${a.policy}${a.policy === 'RR' ? a.prio : ''}\tcpu ${d.run.toFixed(2)} µs/req (${(100 * d.user).toFixed(0)}% user)\trunqueue wait ${d.wait.toFixed(2)} µs/req\tcs ${d.vcs.toFixed(3)} vol ${d.ivcs.toFixed(3)} invol /req\tmigrations ${d.mig.toFixed(4)} /req`);
  }
  console.log(`  threads: ${[...after.values()].map((t) => `${t.comm}:${t.policy}`).join(' ')}`);
  console.log(`  total: cpu ${cpu.toFixed(2)} µs/req, ${vcs.toFixed(3)} voluntary + ${ivcs.toFixed(3)} involuntary switches/req`);
  if (sched) for (const l of formatSchedStates(schedStates(process.env.SCHED, { clientComm: basename(cbench), daemonTid: pid, daemonThreads: [...after.keys()].map(Number) }), perGet)) console.log(l);
  await stop();
} finally {
  await ns.close();
  for (const c of load) c.kill('SIGKILL');
}
