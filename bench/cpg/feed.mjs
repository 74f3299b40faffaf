// How a cpg throughput run feeds corosync's totem, from the system calls of both sides (issue 14;
// bench/README.md "A small burst: the two regimes of the feed"): libcpg and each given tsbench.mjs,
// interleaved round by round on one private corosync (socket transport), each run under
// `perf record -a` of a few syscall exit tracepoints, kept for corosync's main thread and for
// refused sends (perf must be installed; root):
//   node bench/cpg/feed.mjs SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]
// The whole run (W + N messages) is cut into slices of SLICE (2000) requests read by corosync's
// main thread. Per slice: token visits per message (totem's token arriving at the main thread)
// and how many requests each main-loop wake-up read. A slice is "thick" below THICK (0.05) token
// visits per message (corosync finds a backlog and reads it 50 at a time), else "thin" (it reads
// the requests one per wake-up as they arrive, and the token goes round for about each one).
// Printed per side: the thick slices of all, one letter per slice and run (K thick, t thin; with
// W a multiple of SLICE the last is the measured burst), the token visits per message over each
// whole run (and their median), medians over the slices of each kind (token visits per message,
// messages per second within the slice, requests per wake-up that read any), and per run the
// client's send calls refused with EAGAIN (a full request socket).
// Env: CHRT=p runs every side at SCHED_RR p (chrt -r p), as ab.mjs; SLICE, THICK; TRACE_CLIENT=1
// records the clients' syscalls too (see events()).
// The tracing slows corosync's main thread: read the shares and the per-message figures, not the
// rates against other tools'.
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startNamespace } from '@corosync-ts/nstest/core';
import { la, med } from '../lib/ab.mjs';
import { compileCbench, parseCpgArgs } from './args.mjs';

const argv = process.argv.slice(2);
const parsed = argv[0] === '--help' || argv[0] === '-h' ? undefined : parseCpgArgs(['tput', ...argv]);
if (!parsed) {
  const help = argv[0] === '--help' || argv[0] === '-h';
  (help ? process.stdout : process.stderr).write('usage: feed.mjs SIZE N W ROUNDS A/tsbench.mjs [B/tsbench.mjs ...]\n');
  process.exit(help ? 0 : 2);
}
const { n, warmup, rounds: ROUNDS, args, tsbenches } = parsed;
const size = Number(args[1]);
const SLICE = Number(process.env.SLICE ?? 2000);
const THICK = Number(process.env.THICK ?? 0.05);
const cbench = await compileCbench();
const pre = process.env.CHRT ? ['chrt', '-r', process.env.CHRT] : [];
const sides = [['libcpg', [...pre, cbench, ...args]], ...tsbenches.map((f) => [f, [...pre, process.execPath, f, ...args]])];
const SENDS = ['sendmmsg', 'sendto', 'sendmsg', 'writev'];
/**
 * perf's arguments for the tracepoints: corosync's main thread (a thread's common_pid is its tid)
 * and every thread's refused send. Recording a syscall's exit costs ~0.7 µs on this VM, which the
 * client's loop thread paid per delivery (a recvfrom each): it made the client look thinner than
 * it is, and a build that reads in fewer calls look better than it is (bench/README.md "A small
 * burst: reading deliveries in one call"). TRACE_CLIENT=1 records every thread's, as before.
 */
function events(mainTid) {
  const all = process.env.TRACE_CLIENT === '1';
  return ['recvfrom', 'recvmsg', 'epoll_wait', ...SENDS].flatMap((s) => {
    const filter = all ? [] : ['--filter', SENDS.includes(s) ? `common_pid == ${mainTid} || ret == -11` : `common_pid == ${mainTid}`];
    return ['-e', `syscalls:sys_exit_${s}`, ...filter];
  });
}
/** A request datagram: libqb's 16-byte header, cpg's mcast header (24) and the message. */
const REQUEST = size + 40;
/** totem's token as it reaches the main thread from knet (orf_token, no retransmit list). */
const TOKEN = 57;

/** The slices of one traced run: corosync's main thread is its pid; the client is every non-corosync, non-perf thread. */
function analyse(text, mainTid) {
  const slices = [];
  let reads = 0;
  let tokens = 0;
  let t0 = 0;
  /** Requests read since the main thread's last epoll_wait returned, and wake-ups that read any. */
  let wake = 0;
  let wakes = 0;
  let eagain = 0;
  const re = /^\s*(\S+)\s+(\d+)\s+([\d.]+):\s+syscalls:sys_exit_(\w+):\s+(0x[0-9a-f]+|-?\d+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const [, comm, tidS, tS, call, rS] = m;
    const r = rS.startsWith('0x') ? Number(BigInt.asIntN(64, BigInt(rS))) : Number(rS);
    const t = Number(tS);
    if (comm !== 'corosync') {
      if (comm !== 'perf' && (call === 'sendmmsg' || call === 'sendto' || call === 'writev') && r === -11) eagain++;
      continue;
    }
    if (Number(tidS) !== mainTid) continue;
    if (call === 'recvfrom' && r === REQUEST) {
      if (reads === 0) t0 = t;
      reads++;
      wake++;
      if (reads % SLICE === 0) {
        slices.push({ tok: tokens / SLICE, rate: SLICE / (t - t0), perWake: SLICE / Math.max(wakes, 1) });
        tokens = 0;
        t0 = t;
        wakes = 0;
      }
    } else if (call === 'recvmsg' && r === TOKEN && reads > 0) {
      tokens++;
    } else if (call === 'epoll_wait') {
      if (wake > 0) wakes++;
      wake = 0;
    }
  }
  return { slices, eagain };
}

const res = Object.fromEntries(sides.map(([k]) => [k, []]));
const load0 = la();
const ns = await startNamespace({ name: 'bench-cpg-feed' });
const data = `/tmp/cpg-feed-${process.pid}.data`;
try {
  const cs = await ns.startCorosync({ transport: 'socket' });
  for (let r = -1; r < ROUNDS; r++) {
    for (let i = 0; i < sides.length; i++) {
      const [k, cmd] = sides[(i + Math.max(r, 0)) % sides.length];
      if (r < 0) {
        await ns.execOk(cmd, { timeout: 600_000 });
        continue;
      }
      const out = await ns.exec(['perf', 'record', '-q', '-m', '16384', '-a', '-o', data, ...events(cs.pid), '--', ...cmd], { timeout: 600_000 });
      if (out.code !== 0) throw new Error(`${k} failed: ${out.code} ${out.stdout} ${out.stderr}`);
      const text = execFileSync('perf', ['script', '-i', data, '-F', 'comm,tid,time,event,trace'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      const lost = execFileSync('perf', ['report', '-i', data, '--stats'], { maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      if (/LOST/.test(lost)) process.stderr.write(`feed.mjs: ${k}: perf lost events this run\n`);
      res[k].push(analyse(text, cs.pid));
    }
  }
} finally {
  await ns.close();
  rmSync(data, { force: true });
}
console.log(`socket: tput ${size} ${n} ${warmup} rounds=${ROUNDS} slice=${SLICE} thick<${THICK} chrt=${process.env.CHRT ?? '-'} load before ${load0} after ${la()}`);
for (const [k] of sides) {
  const runs = res[k];
  const all = runs.flatMap((x) => x.slices);
  const thick = all.filter((s) => s.tok < THICK);
  const thin = all.filter((s) => s.tok >= THICK);
  const f = (xs, g, d = 0) => (xs.length ? med(xs.map(g)).toFixed(d) : '-');
  const whole = runs.map((x) => x.slices.reduce((s, y) => s + y.tok, 0) / Math.max(x.slices.length, 1));
  console.log(`  ${k}: thick slices ${thick.length}/${all.length}; per run [${runs.map((x) => x.slices.map((s) => (s.tok < THICK ? 'K' : 't')).join('')).join(' ')}]`);
  console.log(`     token visits/msg: whole run ${med(whole).toFixed(3)} [${whole.map((v) => v.toFixed(3)).join(' ')}]; thick ${f(thick, (s) => s.tok, 3)}, thin ${f(thin, (s) => s.tok, 3)}`);
  console.log(`     msgs/s in slice: thick ${f(thick, (s) => s.rate)}, thin ${f(thin, (s) => s.rate)}; requests per main-loop wake-up: thick ${f(thick, (s) => s.perWake, 1)}, thin ${f(thin, (s) => s.perWake, 1)}; EAGAIN sends per run [${runs.map((x) => x.eagain).join(' ')}]`);
}
