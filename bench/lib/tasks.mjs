// Per-thread scheduling figures of a process, from /proc (bench/testkit/threads.mjs, bench/cpg/acct.mjs).
import { readdirSync, readFileSync } from 'node:fs';

const POLICY = ['OTHER', 'FIFO', 'RR', 'BATCH', 'ISO', 'IDLE', 'DEADLINE'];

/**
 * Every thread of `pid` by tid: name, policy and priority, CPU ticks, run and run-queue wait (ns,
 * schedstat), voluntary and involuntary switches, and moves between CPUs. A thread that ends while
 * it is read is left out.
 */
export function taskStats(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const num = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)[1]);
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      // moves between CPUs (a waking RT task is moved off a CPU where an RT task of its priority runs)
      const mig = Number(/nr_migrations\s*:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'))?.[1] ?? 0);
      out.set(tid, { comm, policy: POLICY[Number(f[38])], prio: Number(f[37]), utime: Number(f[11]), stime: Number(f[12]), runNs: run, waitNs: wait, vcs: num('voluntary_ctxt_switches'), ivcs: num('nonvoluntary_ctxt_switches'), mig });
    } catch {}
  }
  return out;
}
