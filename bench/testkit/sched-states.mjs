// Where the C client's and the daemon loop thread's wall time goes, from a system-wide
// `perf sched record` (sched_switch, sched_waking, sched_migrate_task) taken over one client run:
// for each of the two tasks, the time spent running, runnable after a wake-up (waiting for a CPU
// once woken), runnable after a preemption, and asleep; how often each is preempted or sleeps;
// which vCPU it runs on; and whether its wake-ups come from its partner on the same vCPU or from
// the other one. Time in a state per GET does not move with the machine's other work the way
// ops/s does, and it tells the scheduler's modes apart (bench/README.md, "shm under load").
import { spawnSync } from 'node:child_process';

const LINE = /^\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)$/;

/**
 * @param {string} file perf.data written by `perf sched record -a`
 * @param {{ clientComm: string, daemonTid: number }} who the client's comm (15 characters at
 *   most, as the kernel keeps it) and the daemon thread to follow (its loop thread: the pid)
 */
export function schedStates(file, { clientComm, daemonTid }) {
  const r = spawnSync('perf', ['script', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`perf script: ${r.stderr}`);
  const comm = clientComm.slice(0, 15);
  let client;
  const role = new Map([[daemonTid, 'daemon']]);
  const state = new Map();
  const since = new Map();
  const stats = { client: newStats(), daemon: newStats() };
  let first;
  let last;
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
        enter(next, 'running', t);
        const s = stats[role.get(next)];
        s.cpus[cpu] = (s.cpus[cpu] ?? 0) + 1;
      }
      if (next === client) last = t;
    } else if (m[5] === 'sched_waking') {
      const tid = Number(kv.pid);
      if (!role.has(tid) || state.get(tid) !== 'asleep') continue;
      enter(tid, 'woken', t);
      const s = stats[role.get(tid)];
      const byPartner = role.has(Number(m[2])) && Number(m[2]) !== tid;
      const same = Number(kv.target_cpu) === cpu;
      s.n[`${byPartner ? 'woken by partner' : 'woken by other'} ${same ? 'same vCPU' : 'other vCPU'}`]++;
    } else if (m[5] === 'sched_migrate_task' && role.has(Number(kv.pid))) {
      stats[role.get(Number(kv.pid))].n.migrations++;
    }
  }
  if (client === undefined) throw new Error(`no task named ${comm} in ${file}`);
  // the client's last switch-in ends the window: what either task was doing after it is not the run's
  for (const [tid, s] of state) if (since.get(tid) < last) stats[role.get(tid)].ns[s] += last - since.get(tid);
  return { windowNs: last - first, ...stats };
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
  return out;
}
