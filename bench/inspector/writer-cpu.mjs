// bench/inspector: the capture writer thread's own cost per recorded call, without a client or a
// mock: CPU, page faults and context switches of that thread (from /proc/self/task/TID), which
// survive a loaded machine better than the wall-clock A/B of run.mjs --recorder.
//   node bench/inspector/writer-cpu.mjs [calls=100000] [rounds=3]
// Each call is what a recorded cmap.getUint32 puts in the ring: its request (288 bytes) and its
// response (56 bytes), through registered line middles as ConnectionCapture does. The recorded
// thread paces itself (~20 µs a call, in bursts of 100 calls with an event-loop turn between) so
// that the writer thread is woken as in a real capture (every 256 KiB of ring), not once at the end.
// Plain and gzip alternate, round by round. Copy it into another checkout to measure that build.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureWriter } from '@corosync-ts/ipc';

const CALLS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
// The frames of a getUint32('runtime.votequorum.this_node_id') as the client records them.
const key = Buffer.from('runtime.votequorum.this_node_id');
const req = Buffer.alloc(288);
req.writeInt32LE(2, 0); // CMAP_GET
req.writeInt32LE(288, 8);
req.writeUInt16LE(key.length, 16);
key.copy(req, 24);
req.writeUInt32LE(16, 280); // value_len: the room for the value
const res = Buffer.from('0200000000000000380000000000000001000000000000000400000000000000060000000000000001000000000000000000000000000000', 'hex');
const base = { conn: 1, service: 'cmap', transport: 'shm', pid: 4242, proc: 'node' };
const mid = `,"conn":1,"pid":4242,"proc":"node","service":"cmap","transport":"shm","dir":"`;

function threads() {
  const o = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const cpu = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const minflt = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[7]);
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const n = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
      o.set(tid, { cpu, minflt, vcs: n('voluntary_ctxt_switches'), ivcs: n('nonvoluntary_ctxt_switches') });
    } catch {
      // a thread that ended meanwhile
    }
  }
  return o;
}

async function feed(w, pq, ps, calls) {
  for (let i = 0; i < calls; i++) {
    w.framePrefixed(pq, req, 1, base);
    w.framePrefixed(ps, res, 1, base);
    if (i % 100 === 99) {
      const until = performance.now() + 2;
      while (performance.now() < until);
      await new Promise(setImmediate);
    }
  }
  w.flush();
}

async function once(gzip) {
  const path = join(tmpdir(), `writer-cpu-${process.pid}.jsonl${gzip ? '.gz' : ''}`);
  const w = CaptureWriter.open(path, { mode: 'client', name: 'bench', version: '0' });
  try {
    const pq = w.linePrefix(`${mid}req","hex":"`);
    const ps = w.linePrefix(`${mid}res","hex":"`);
    const before = new Set(threads().keys());
    // warm-up: starts the writer thread, and a pass over the whole (8 MiB) ring maps its pages in
    await feed(w, pq, ps, 20_000);
    const writer = [...threads().keys()].filter((t) => !before.has(t));
    const s0 = threads();
    await feed(w, pq, ps, CALLS);
    const s1 = threads();
    const sum = (k) => writer.reduce((n, t) => n + (s1.get(t)?.[k] ?? 0) - (s0.get(t)?.[k] ?? 0), 0);
    return { cpu: sum('cpu') / CALLS / 1000, minflt: (sum('minflt') / CALLS) * 1000, vcs: (sum('vcs') / CALLS) * 1000, ivcs: (sum('ivcs') / CALLS) * 1000 };
  } finally {
    w.close();
    rmSync(path, { force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { plain: [], gzip: [] };
const load0 = loadavg()[0].toFixed(1);
for (let r = 0; r < ROUNDS; r++) for (const kind of r % 2 ? ['gzip', 'plain'] : ['plain', 'gzip']) runs[kind].push(await once(kind === 'gzip'));
console.log(`writer thread per recorded call (2 frames), ${CALLS.toLocaleString('en')} calls, median of ${ROUNDS} rounds, load average ${load0} -> ${loadavg()[0].toFixed(1)}, Node ${process.version}`);
for (const [kind, rs] of Object.entries(runs)) {
  const m = (k) => median(rs.map((x) => x[k]));
  console.log(`  ${kind.padEnd(5)}  CPU ${m('cpu').toFixed(3)} µs/call (rounds: ${rs.map((x) => x.cpu.toFixed(2)).join(' ')})  page faults ${m('minflt').toFixed(2)}/1k calls  context switches ${m('vcs').toFixed(2)} + ${m('ivcs').toFixed(2)} involuntary /1k calls`);
}
