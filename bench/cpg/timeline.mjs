// Where a cpg round trip's time goes, libcpg against the client, socket transport (TRANSPORT=shm:
// shared memory, where the sends and reads marked are the doorbell bytes on the setup socket):
//   node bench/cpg/timeline.mjs SIZE [N=200] [W=2000]   (root; perf on the PATH)
// Runs cbench.c and tsbench.mjs `lat SIZE N W` one after the other on one private corosync, each
// under `perf record -a` of the scheduler and system-call tracepoints, and prints for the last N
// round trips (medians, µs; tracing itself slows every system call by a few µs, so compare the
// two sides, not these figures with the report's):
//   send→read    the client's send of the MCAST until corosync's main thread has read it
//   read→write   corosync reads it until it writes the delivery (a totem token visit)
//   write→run    the delivery written until the client's main thread runs
//   run→send     from then until the next send (the client's turnaround, preemptions included)
//   preempt      times the client's main thread was switched out while runnable
//   rq wait      time it was runnable but not running
//   on main's    share of deliveries whose wake-up put the client on the vCPU corosync's main thread
//                ran on (the other one is where knet's thread runs)
//   of those     how many went to the waker's vCPU, how many to the one the client last ran on
//   lone waker   wake-ups from the other vCPU by a waker alone on its own (WF_SYNC's shortcut
//                applies), and how many of them moved the client to the waker's vCPU
//   by vCPU      the median send→next send of round trips sent from main's vCPU and the other
//   moves        the client's moves between vCPUs, at a wake-up or pulled while runnable
//   woke         whom the client's main thread woke per round trip, and how often that changed
// and the CPU per round trip of corosync's main and knet threads, the client's main thread and the
// client's other threads (V8's compiler and GC helpers); before those, the whole run in blocks of
// 250 sends: how many were sent from main's vCPU, and the client's moves. CWAITS (args.mjs
// cbenchSides) traces libcpg once per wait of its loop, e.g. CWAITS=poll,epoll,poll:16.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { cbenchSides } from './args.mjs';

const [sizeArg, nArg = '200', wArg = '2000'] = process.argv.slice(2);
const size = Number(sizeArg);
const N = Number(nArg);
if (!(size >= 4) || !(N > 0)) {
  process.stderr.write('usage: timeline.mjs SIZE [N] [W]\n');
  process.exit(2);
}
const here = (f) => new URL(f, import.meta.url).pathname;
const cbench = await compileC(readFileSync(here('./cbench.c'), 'utf8'), ['cpg', '-lpthread'], { cflags: ['-O2'] });
const dir = mkdtempSync(join(tmpdir(), 'cpg-timeline-'));
const EVENTS = ['sched:sched_switch', 'sched:sched_migrate_task', 'sched:sched_waking', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'];
// x86-64 system call numbers: the MCAST's send (libcpg writev, the client sendmsg; over shm both send a doorbell) and the reads.
// The client sends a request over socket with one sendmsg of two iovecs (ipc.c), a doorbell with send.
const NR = { writev: 20, sendto: 44, recvfrom: 45, sendmsg: 46 };
const SHM = process.env.TRANSPORT === 'shm';
// The MCAST request: its 40-byte head (qb request header, guarantee, msglen) and the message;
// over shm, its doorbell byte (the request is in the ring).
const REQ = SHM ? 1 : 40 + size;
// corosync's delivery: writev of the event datagram, over shm the event's doorbell (sendto).
const DELIVER_NR = SHM ? NR.sendto : NR.writev;

const ns = await startNamespace({ name: 'bench-cpg-timeline' });
try {
  const coro = await ns.startCorosync({ transport: SHM ? 'shm' : 'socket' });
  // CWAITS=poll,epoll,poll:1: libcpg once per wait of its lat loop (args.mjs cbenchSides).
  for (const [name, argv, sendNr] of [
    ...cbenchSides().map(([n, env]) => [n, ['env', ...env, cbench], SHM ? NR.sendto : NR.writev]),
    // TS_FLAGS: Node's flags for the client, e.g. --single-threaded (no V8 helper threads to wake).
    ['client', [process.execPath, ...(process.env.TS_FLAGS ?? '').split(' ').filter(Boolean), here('./tsbench.mjs')], SHM ? NR.sendto : NR.sendmsg],
  ]) {
    const data = join(dir, `${name}.data`);
    // The side's pid comes first on its stdout (exec keeps the shell's): system-wide, other
    // processes may send datagrams of the same size.
    const side = ['sh', '-c', 'echo $$; exec "$@"', 'side', ...argv, 'lat', String(size), nArg, wArg];
    const r = await ns.exec(['perf', 'record', '-q', '-a', '-m', '1024', ...EVENTS.flatMap((e) => ['-e', e]), '-o', data, '--', ...side], { timeout: 600_000 });
    if (r.code !== 0) throw new Error(`${name} failed: ${r.code} ${r.stdout} ${r.stderr}`);
    const [pid, out] = r.stdout.trim().split('\n');
    const [p50] = out.split(' ').map(Number);
    const script = execFileSync('perf', ['script', '-i', data, '-F', 'comm,pid,tid,cpu,time,event,trace'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    report(name, p50 / 1e3, parse(script), Number(pid), coro.pid, sendNr);
  }
} finally {
  await ns.close();
  rmSync(dir, { recursive: true, force: true });
}

function parse(text) {
  const re = /^\s*(\S.*?)\s+(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$/;
  const ev = [];
  for (const l of text.split('\n')) {
    const m = re.exec(l);
    if (m) ev.push({ comm: m[1], pid: +m[2], tid: +m[3], cpu: +m[4], t: +m[5] * 1e6, ev: m[6], rest: m[7] });
  }
  return ev;
}

function report(name, p50, ev, client, coroPid, sendNr) {
  const knet = busiestOtherThread(ev, coroPid);
  const starts = [];
  ev.forEach((e, i) => {
    if (e.tid === client && e.ev === 'raw_syscalls:sys_enter' && e.rest.startsWith(`NR ${sendNr} `)) starts.push(i);
  });
  if (starts.length < N + 1) throw new Error(`${name}: ${starts.length} sends traced, fewer than N + 1`);
  phases(ev, starts, client, coroPid);
  const rows = [];
  const where = new Map();
  // Whom the client's main thread and corosync's woke in the window (comm: count), and how often
  // each changed the CFS task it woke: the scheduler's wakee_flips, which wake_wide() compares
  // for waker and wakee (only a CFS task's wake-up records its waker's, in select_task_rq_fair;
  // a SCHED_RR wakee such as corosync's threads does not count).
  const woke = { client: wokeBy(), corosync: wokeBy() };
  // Where each thread last ran, up to the window; what each vCPU has runnable.
  const rqs = runQueues(ev, coroPid, client);
  for (let i = 0; i < starts[starts.length - 1 - N]; i++) {
    rqs.apply(ev[i]);
    if (ev[i].ev === 'sched:sched_switch') where.set(nextPid(ev[i]), ev[i].cpu);
  }
  for (let k = starts.length - 1 - N; k < starts.length - 1; k++) {
    const a = starts[k];
    const b = starts[k + 1];
    let read, write, run, wokeTarget, waking;
    const mainAtSend = where.get(coroPid);
    let preempt = 0;
    // The client's moves between vCPUs: placed so at a wake-up, or pulled while runnable (load
    // balancing), and where it sent from (on corosync main's vCPU or not).
    let wakeMoves = 0;
    let pulls = 0;
    let wakingAt;
    let rq = 0;
    let rqFrom;
    for (let i = a; i < b; i++) {
      const e = ev[i];
      rqs.apply(e);
      if (e.ev === 'sched:sched_migrate_task') {
        if (e.rest.includes(` pid=${client} `)) {
          // A wake-up's placement runs on the waker's vCPU right after its sched_waking.
          if (wakingAt && e.cpu === wakingAt.cpu && e.t - wakingAt.t < 50) wakeMoves++;
          else pulls++;
        }
      } else if (e.ev === 'sched:sched_waking') {
        const wakee = Number(/ pid=(\d+)/.exec(e.rest)[1]);
        if (e.tid === client) woke.client.add(e.rest, wakee);
        else if (e.tid === coroPid) woke.corosync.add(e.rest, wakee);
        // The waker runs this: its CPU, and where the client last ran (the kernel's prev_cpu).
        if (wakee === client) wakingAt = { cpu: e.cpu, t: e.t };
        if (wakee === client && write !== undefined && waking === undefined) waking = { cpu: e.cpu, prev: where.get(-client), besides: rqs.besides(e.cpu, e.tid) };
      } else if (e.ev === 'sched:sched_switch') {
        where.set(nextPid(e), e.cpu);
        if (e.rest.includes(`prev_pid=${client} `)) where.set(-client, e.cpu);
        if (e.rest.includes(`prev_pid=${client} `)) {
          if (e.rest.includes('prev_state=R')) {
            preempt++;
            rqFrom = e.t;
          }
        }
        if (nextPid(e) === client) {
          if (rqFrom !== undefined) rq += e.t - rqFrom;
          rqFrom = undefined;
          if (write !== undefined && run === undefined) run = e.t;
        }
      } else if (e.ev === 'sched:sched_wakeup') {
        if (e.rest.includes(`pid=${client} `)) {
          rqFrom = e.t;
          if (write !== undefined && wokeTarget === undefined) wokeTarget = { cpu: Number(/target_cpu=(\d+)/.exec(e.rest)[1]), main: where.get(coroPid), waker: waking?.cpu, prev: waking?.prev, alone: waking?.besides.length === 0, besides: waking?.besides };
        }
      } else if (e.tid === coroPid) {
        if (read === undefined && e.ev === 'raw_syscalls:sys_exit' && e.rest === `NR ${NR.recvfrom} = ${REQ}`) read = e.t;
        else if (read !== undefined && write === undefined && e.ev === 'raw_syscalls:sys_enter' && e.rest.startsWith(`NR ${DELIVER_NR} (`)) write = e.t;
      }
    }
    if (read === undefined || write === undefined) continue;
    // Still running (or runnable) when the delivery came: it runs on from where it was.
    run ??= write;
    rows.push({ wakeMoves, pulls, sentOnMain: Number(ev[a].cpu === mainAtSend), rtt: ev[b].t - ev[a].t, sendToRead: read - ev[a].t, readToWrite: write - read, writeToRun: run - write, runToSend: ev[b].t - run, preempt, rq, onMain: wokeTarget ? Number(wokeTarget.cpu === wokeTarget.main) : undefined, onWaker: wokeTarget ? Number(wokeTarget.cpu === wokeTarget.waker) : undefined, onPrev: wokeTarget ? Number(wokeTarget.cpu === wokeTarget.prev) : undefined, wakerPrev: wokeTarget ? Number(wokeTarget.waker === wokeTarget.prev) : undefined, aloneAway: wokeTarget ? Number(wokeTarget.alone && wokeTarget.waker !== wokeTarget.prev) : undefined, aloneAwayPulled: wokeTarget ? Number(wokeTarget.alone && wokeTarget.waker !== wokeTarget.prev && wokeTarget.cpu === wokeTarget.waker) : undefined, crowd: wokeTarget && wokeTarget.waker !== wokeTarget.prev ? wokeTarget.besides : undefined });
  }
  const cpu = cpuByThread(ev, ev[starts[starts.length - 1 - N]].t, ev[starts[starts.length - 1]].t, client, coroPid, knet);
  const med = (k) => {
    const xs = rows.map((r) => r[k]).filter((x) => x !== undefined).sort((x, y) => x - y);
    return xs[xs.length >> 1] ?? NaN;
  };
  const woken = rows.filter((r) => r.onMain !== undefined);
  console.log(`${name}: p50 ${p50.toFixed(0)} µs (traced), ${rows.length} round trips`);
  console.log(`  send→read ${med('sendToRead').toFixed(0)}  read→write ${med('readToWrite').toFixed(0)}  write→run ${med('writeToRun').toFixed(0)}  run→send ${med('runToSend').toFixed(0)}  preempt ${med('preempt')}  rq wait ${med('rq').toFixed(0)}`);
  console.log(`  woken by a delivery ${woken.length} times, ${woken.filter((r) => r.onMain).length} of them on corosync main's vCPU`);
  const sum = (k) => woken.filter((r) => r[k]).length;
  const total = (k) => rows.reduce((n, r) => n + r[k], 0);
  const medOf = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? NaN;
  const rttOn = (on) => medOf(rows.filter((r) => r.sentOnMain === on).map((r) => r.rtt)).toFixed(0);
  console.log(`  send→next send, median µs: sent from corosync main's vCPU ${rttOn(1)}, from the other ${rttOn(0)}`);
  console.log(`  sent from corosync main's vCPU ${total('sentOnMain')} of ${rows.length}; moved to the other vCPU at a wake-up ${total('wakeMoves')} times, pulled while runnable ${total('pulls')}`);
  console.log(`  of those: on the waker's vCPU ${sum('onWaker')}, on the vCPU it last ran on ${sum('onPrev')} (the two the same ${sum('wakerPrev')})`);
  // A synchronous wake-up (WF_SYNC) by a waker alone on its vCPU goes to the waker's vCPU when
  // the scheduler tries an affine wake-up at all (wake_affine_idle); wake_wide() skips it.
  console.log(`  woken from the other vCPU by a waker alone on its own: ${sum('aloneAway')}, of them moved to the waker's vCPU ${sum('aloneAwayPulled')}`);
  const crowd = new Map();
  for (const r of woken) for (const c of new Set(r.crowd ?? [])) crowd.set(c, (crowd.get(c) ?? 0) + 1);
  console.log(`  runnable beside such a waker (wake-ups with it, by name): ${[...crowd].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`);
  console.log(`  its main thread woke per round trip: ${woke.client.text()}`);
  console.log(`  corosync's main thread woke per round trip: ${woke.corosync.text()}`);
  console.log(`  CPU µs per round trip: ${Object.entries(cpu).map(([k, v]) => `${k} ${(v / N).toFixed(1)}`).join(', ')}`);
}

/**
 * The whole run in blocks of sends: how many the client's main thread sent from the vCPU corosync's
 * main thread last ran on, and how often the client moved between vCPUs in the block.
 */
function phases(ev, starts, client, coroPid) {
  const BLOCK = 250;
  const last = new Map();
  const out = [];
  let k = 0;
  let m = 0;
  let moves = 0;
  let sends = 0;
  for (let i = 0; i < ev.length && k < starts.length; i++) {
    const e = ev[i];
    if (e.ev === 'sched:sched_switch') last.set(nextPid(e), e.cpu);
    else if (e.ev === 'sched:sched_migrate_task' && e.rest.includes(` pid=${client} `)) moves++;
    if (i !== starts[k]) continue;
    k++;
    sends++;
    if (e.cpu === last.get(coroPid)) m++;
    if (sends === BLOCK || k === starts.length) {
      out.push(`${m}/${sends} ${moves}mv`);
      m = 0;
      moves = 0;
      sends = 0;
    }
  }
  console.log(`  per ${BLOCK} sends: sent from corosync main's vCPU / all, client moves: ${out.join(', ')}`);
}

/** Whom one thread woke (sched_waking's comm), and how often the CFS task it woke changed. */
function wokeBy() {
  const n = new Map();
  let flips = 0;
  let last;
  return {
    add(rest, wakee) {
      const comm = /comm=(.*?) pid=/.exec(rest)[1];
      n.set(comm, (n.get(comm) ?? 0) + 1);
      if (Number(/prio=(\d+)/.exec(rest)[1]) < 100) return;
      if (wakee !== last) flips++;
      last = wakee;
    },
    text() {
      return `${[...n].map(([k, v]) => `${k} ${(v / N).toFixed(2)}`).join(', ')}; changes of CFS wakee ${(flips / N).toFixed(2)}`;
    },
  };
}

/**
 * What each vCPU has runnable (its running task included), followed through the trace; named
 * by comm, this run's corosync and client threads as such.
 */
function runQueues(ev, coroPid, client) {
  const on = new Map();
  const comms = new Map();
  // Threads of this run's corosync and client by their process (other corosyncs may be running).
  const mine = new Map();
  for (const e of ev) if (e.pid === coroPid || e.pid === client) mine.set(e.tid, e.pid === coroPid ? 'corosync (ours)' : 'client');
  return {
    apply(e) {
      if (e.ev === 'sched:sched_switch') {
        const prev = Number(/prev_pid=(\d+)/.exec(e.rest)[1]);
        if (!/prev_state=R/.test(e.rest)) on.delete(prev);
        const next = nextPid(e);
        if (next !== 0) on.set(next, e.cpu);
        comms.set(next, /next_comm=(.*?) next_pid=/.exec(e.rest)[1]);
      } else if (e.ev === 'sched:sched_wakeup') {
        const pid = Number(/ pid=(\d+)/.exec(e.rest)[1]);
        on.set(pid, Number(/target_cpu=(\d+)/.exec(e.rest)[1]));
        comms.set(pid, /comm=(.*?) pid=/.exec(e.rest)[1]);
      } else if (e.ev === 'sched:sched_migrate_task') {
        const pid = Number(/ pid=(\d+)/.exec(e.rest)[1]);
        if (on.has(pid)) on.set(pid, Number(/dest_cpu=(\d+)/.exec(e.rest)[1]));
      }
    },
    /** Whether `tid`, running on `cpu`, is all that vCPU has runnable. */
    alone(cpu, tid) {
      return this.besides(cpu, tid).length === 0;
    },
    /** The names of what `cpu` has runnable besides `tid`. */
    besides(cpu, tid) {
      const out = [];
      for (const [t, c] of on) if (c === cpu && t !== tid) out.push(mine.get(t) ?? comms.get(t) ?? String(t));
      return out;
    },
  };
}

function nextPid(e) {
  return Number(/next_pid=(\d+)/.exec(e.rest)[1]);
}

/** corosync's knet thread: the one of its threads other than main that switched in most often. */
function busiestOtherThread(ev, pid) {
  const n = new Map();
  for (const e of ev) if (e.pid === pid && e.tid !== pid && e.ev === 'sched:sched_switch') n.set(e.tid, (n.get(e.tid) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Run time in [t0, t1) per class of thread, from the switches. */
function cpuByThread(ev, t0, t1, client, coroPid, knet) {
  const acc = { 'corosync main': 0, 'corosync knet': 0, 'client main': 0, 'client others': 0 };
  const cur = new Map();
  const classOf = (pid, tid) => (tid === client ? 'client main' : pid === client ? 'client others' : tid === coroPid ? 'corosync main' : tid === knet ? 'corosync knet' : undefined);
  const pidOf = new Map();
  for (const e of ev) pidOf.set(e.tid, e.pid);
  for (const e of ev) {
    if (e.ev !== 'sched:sched_switch') continue;
    const c = cur.get(e.cpu);
    if (c?.cls && e.t > t0) acc[c.cls] += Math.min(e.t, t1) - Math.max(c.since, t0);
    const tid = nextPid(e);
    cur.set(e.cpu, { cls: classOf(pidOf.get(tid), tid), since: e.t });
    if (e.t > t1) break;
  }
  return acc;
}
