// TypeScript side of bench/cpg: the same modes and checks as cbench.c, through @corosync-ts/client.
//   node tsbench.mjs tput|lat SIZE N W
// tput: W unmeasured messages, then N as fast as flow control allows (CS_ERR_TRY_AGAIN: let the
//       event loop take deliveries, then send again); print "elapsed_ns retries cpu_ns" (first send to
//       the N-th own delivery; user + system time of all threads meanwhile)
// lat:  W unmeasured, then N measured round trips (send → own delivery); print "p50_ns p99_ns"
// WINDOW=1 (tput) marks the measured burst: process.ppid is read right before it and os.hostname()
// called right after its last own delivery, so that callgrind counts the burst alone (no start-up,
// no difference of two runs), and a line on stderr before and after it places it among V8's
// --trace-opt / --trace-deopt / --trace-gc output:
//   node bench/cpg/nsrun.mjs socket 'WINDOW=1 valgrind --tool=callgrind --separate-threads=yes \
//     --zero-before=uv_os_getppid --dump-before=uv_os_gethostname --callgrind-out-file=/tmp/cg.%p \
//     node --perf-basic-prof bench/cpg/tsbench.mjs tput 64 2000 20000'
// Another checkout's build: run that checkout's tsbench.mjs.
import { hostname } from 'node:os';
import { CpgHandle, CPG_TYPE_AGREED } from '@corosync-ts/client/cpg';
import { CS_ERR_TRY_AGAIN, isCsError } from '@corosync-ts/types';

const [mode, sizeArg, nArg, wArg] = process.argv.slice(2);
const size = Number(sizeArg);
const n = Number(nArg);
const w = Number(wArg);
if ((mode !== 'tput' && mode !== 'lat') || !(size >= 4) || !(n > 0) || !(w >= 0)) {
  process.stderr.write('usage: tsbench.mjs tput|lat SIZE N W\n');
  process.exit(2);
}

const data = new Uint8Array(size);
for (let i = 4; i < size; i++) data[i] = i & 0xff;
const seqView = new DataView(data.buffer);

let delivered = 0;
let target = 0;
let lastNs = 0n;
let reached = () => {};
let joined = () => {};
const h = await CpgHandle.initialize({
  deliverFn: ({ nodeid, pid, msg }) => {
    if (nodeid !== local || pid !== process.pid) return;
    if (msg.length !== size) fail(20, `delivery size ${msg.length}`);
    const seq = msg[0] | (msg[1] << 8) | (msg[2] << 16) | (msg[3] << 24);
    if (seq >>> 0 !== delivered) fail(21, `delivery order: got ${seq >>> 0}, expected ${delivered}`);
    if (++delivered === target) {
      lastNs = process.hrtime.bigint();
      reached();
    }
  },
  confchgFn: ({ joinedList }) => {
    if (joinedList.some((a) => a.nodeid === local && a.pid === process.pid)) joined();
  },
});
// A lost connection ends the run as cbench's failed dispatch does: otherwise the process would
// wait for deliveries that never come until its loop empties (exit 13, no message).
h.on('disconnect', (reason) => fail(22, `connection lost: ${reason?.message ?? reason}`));
const local = await h.localGet();

function fail(code, what) {
  process.stderr.write(`tsbench: ${what}\n`);
  process.exit(code);
}

/** Resolves once `delivered` reaches `count` (now, if it already has). */
function until(count) {
  target = count;
  return delivered >= count ? Promise.resolve() : new Promise((r) => (reached = r));
}

let retries = 0;
// A TRY_AGAIN means the daemon's queue for us is full of our own deliveries: give the event loop
// one turn to take them, as cpgbench's dispatch thread would, and send again.
const turn = () => new Promise((r) => setImmediate(r));
async function send(seq) {
  seqView.setUint32(0, seq, true);
  for (;;) {
    try {
      await h.mcastJoined(CPG_TYPE_AGREED, data);
      return;
    } catch (e) {
      if (!isCsError(e, CS_ERR_TRY_AGAIN)) throw e;
      retries++;
      await turn();
    }
  }
}

const joinedP = new Promise((r) => (joined = r));
await h.join('cpgbench');
await joinedP;

/**
 * `count` messages as fast as flow control allows, until the last own delivery. The warm-up runs
 * through this same function as the measured burst, as cbench's does through its send loop: a
 * warm-up loop of its own left the measured loop's code for V8 to compile during the burst.
 */
async function burst(count) {
  delivered = 0;
  const done = until(count);
  for (let i = 0; i < count; i++) await send(i);
  await done;
}

/** One round trip (send → own delivery) of message `seq`, in ns. */
async function roundTrip(seq) {
  const t0 = process.hrtime.bigint();
  const done = until(seq + 1);
  await send(seq);
  await done;
  return lastNs - t0;
}

if (mode === 'tput') {
  if (w > 0) await burst(w);
  retries = 0;
  const window = process.env.WINDOW === '1';
  if (window) {
    process.stderr.write('tsbench: burst start\n');
    void process.ppid;
  }
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await burst(n);
  const cpu = process.cpuUsage(cpu0);
  if (window) {
    hostname();
    process.stderr.write(`tsbench: burst end, retries ${retries}\n`);
  }
  process.stdout.write(`${lastNs - t0} ${retries} ${(cpu.user + cpu.system) * 1000}\n`);
} else {
  const rtt = [];
  for (let i = 0; i < w + n; i++) {
    const t = await roundTrip(i);
    if (i >= w) rtt.push(t);
  }
  rtt.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  process.stdout.write(`${rtt[n >> 1]} ${rtt[Math.floor((n - 1) * 0.99)]}\n`);
}
await h.finalize();
