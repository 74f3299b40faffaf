// Where the C client's and the daemon loop thread's wall time goes, from a system-wide
// `perf sched record` (sched_switch, sched_waking, sched_migrate_task) taken over one client run:
// for each of the two tasks, the time spent running, runnable after a wake-up (waiting for a CPU
// once woken), runnable after a preemption, and asleep; how often each is preempted or sleeps;
// which vCPU it runs on; and whether its wake-ups come from its partner on the same vCPU or from
// the other one. Time in a state per GET does not move with the machine's other work the way
// ops/s does, and it tells the scheduler's modes apart (bench/README.md, "shm under load").
// Also every move of either task that puts the two on one vCPU ("together") or on two ("apart"),
// with what moved it (bench/README.md, "Together or apart"): a stopper thread's active balance,
// another CPU's load balancing, or the placement at a wake-up (for the daemon, an RT task
// running on its last vCPU: one of its own threads or another process's).
import { spawnSync } from 'node:child_process';

const LINE = /^\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)$/;

/**
 * @param {string} file perf.data written by `perf sched record -a`
 * @param {{ clientComm: string, daemonTid: number, daemonThreads?: Iterable<number> }} who the
 *   client's comm (15 characters at most, as the kernel keeps it), the daemon thread to follow
 *   (its loop thread: the pid) and the daemon's other threads (to tell its own RT threads from
 *   another process's when one displaces the loop thread)
 */
export function schedStates(file, { clientComm, daemonTid, daemonThreads = [] }) {
  const r = spawnSync('perf', ['script', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`perf script: ${r.stderr}`);
  const comm = clientComm.slice(0, 15);
  let client;
  const role = new Map([[daemonTid, 'daemon']]);
  const state = new Map();
  const since = new Map();
  const stats = { client: newStats(), daemon: newStats(), shape: new Proxy({}, { get: (o, k) => o[k] ?? 0 }) };
  let startShape;
  let first;
  let last;
  const own = new Set(daemonThreads);
  // where each of the two tasks is (its last switch-in or migration), what runs on each vCPU,
  // and the last sched_waking of each task (a migration at that moment is its wake placement)
  const cpuOf = new Map();
  const onCpu = new Map();
  const wokenAt = new Map();
  const together = () => {
    const c = cpuOf.get(client);
    return c !== undefined && c === cpuOf.get(daemonTid);
  };
  const enter = (tid, s, t) => {
    const prev = state.get(tid);
    if (prev) stats[role.get(tid)].ns[prev] += t - since.get(tid);
    state.set(tid, s);
    since.set(tid, t);
  };
  for (const line of r.stdout.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const cpu = Number(m[3]);
    const t = Math.round(Number(m[4]) * 1e9);
    const kv = Object.fromEntries([...m[6].matchAll(/(\w+)=(\S+)/g)].map((x) => [x[1], x[2]]));
    if (m[5] === 'sched_switch') {
      const prev = Number(kv.prev_pid);
      const next = Number(kv.next_pid);
      onCpu.set(cpu, { pid: next, prio: Number(kv.next_prio) });
      if (client === undefined && kv.next_comm === comm) {
        client = next;
        role.set(client, 'client');
      }
      if (role.has(prev)) {
        // R (or R+): still runnable, so preempted; anything else is a sleep
        const preempted = kv.prev_state.startsWith('R');
        enter(prev, preempted ? 'preempted' : 'asleep', t);
        stats[role.get(prev)].n[preempted ? 'preempted' : 'slept']++;
      }
      if (role.has(next)) {
        first ??= t;
        const was = together();
        cpuOf.set(next, cpu);
        // a move whose migration event was not seen (the trace starts mid-run)
        if (startShape !== undefined && was !== together()) stats.shape[`${together() ? 'together' : 'apart'} <- switch-in elsewhere`]++;
        enter(next, 'running', t);
        const s = stats[role.get(next)];
        s.cpus[cpu] = (s.cpus[cpu] ?? 0) + 1;
      }
      if (next === client) last = t;
      if (startShape === undefined && cpuOf.has(client) && cpuOf.has(daemonTid)) startShape = together();
    } else if (m[5] === 'sched_waking') {
      const tid = Number(kv.pid);
      if (role.has(tid)) wokenAt.set(tid, t);
      if (!role.has(tid) || state.get(tid) !== 'asleep') continue;
      enter(tid, 'woken', t);
      const s = stats[role.get(tid)];
      const byPartner = role.has(Number(m[2])) && Number(m[2]) !== tid;
      const same = Number(kv.target_cpu) === cpu;
      s.n[`${byPartner ? 'woken by partner' : 'woken by other'} ${same ? 'same vCPU' : 'other vCPU'}`]++;
    } else if (m[5] === 'sched_migrate_task' && role.has(Number(kv.pid))) {
      const tid = Number(kv.pid);
      stats[role.get(tid)].n.migrations++;
      const was = together();
      cpuOf.set(tid, Number(kv.dest_cpu));
      if (startShape === undefined || was === together()) continue;
      let cause;
      if (m[1].startsWith('migration/')) cause = 'active balance (stopper)';
      else if (wokenAt.get(tid) !== undefined && t - wokenAt.get(tid) < 100_000) {
        const there = onCpu.get(Number(kv.orig_cpu));
        // a CFS client is placed by load, not by what runs where it slept
        const rt = role.get(tid) === 'daemon' && there !== undefined && there.prio < 100;
        cause = `wake placement${rt ? `, RT task on its vCPU (${there.pid === daemonTid || own.has(there.pid) ? 'own thread' : 'other process'})` : ''}`;
      } else cause = `load balance (from ${m[1].replace(/\/\d+$/, '')})`;
      stats.shape[`${together() ? 'together' : 'apart'} <- ${role.get(tid)}: ${cause}`]++;
    }
  }
  if (client === undefined) throw new Error(`no task named ${comm} in ${file}`);
  // the client's last switch-in ends the window: what either task was doing after it is not the run's
  for (const [tid, s] of state) if (since.get(tid) < last) stats[role.get(tid)].ns[s] += last - since.get(tid);
  return { windowNs: last - first, ...stats, startedTogether: startShape };
}

function newStats() {
  const n = new Proxy({}, { get: (o, k) => o[k] ?? 0 });
  return { ns: { running: 0, woken: 0, preempted: 0, asleep: 0 }, n, cpus: {} };
}

/** Lines for threads.mjs: per GET, µs in each state and counts. */
export function formatSchedStates(s, gets) {
  const out = [`  perf sched, per GET over the client's run (${(s.windowNs / 1e6).toFixed(1)} ms):`];
  for (const who of ['client', 'daemon']) {
    const x = s[who];
    const us = Object.entries(x.ns).map(([k, v]) => `${k} ${(v / 1e3 / gets).toFixed(1)}`).join(', ');
    const n = Object.entries({ ...x.n }).map(([k, v]) => `${k} ${(v / gets).toFixed(3)}`).join(', ');
    const cpus = Object.entries(x.cpus).map(([c, v]) => `vCPU${c} ${v}`).join(' ');
    out.push(`    ${who.padEnd(6)} µs: ${us}`, `           /GET: ${n}; switch-ins: ${cpus}`);
  }
  const moves = Object.entries({ ...s.shape }).map(([k, v]) => `${v} × ${k}`);
  out.push(`    shape: ${s.startedTogether ? 'together' : 'apart'} at the start; ${moves.length ? moves.join(', ') : 'no change'}`);
  return out;
}
