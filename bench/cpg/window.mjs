// A tsbench.mjs tput burst between two markers, for callgrind to count only the burst:
//   node bench/cpg/window.mjs SIZE N W [CPG_MODULE]
// W unmeasured messages, then N through the same send loop as tsbench's tput; process.ppid is
// read right before the measured burst and os.hostname() called right after its last own
// delivery, so that `valgrind --tool=callgrind --zero-before=uv_os_getppid
// --dump-before=uv_os_gethostname` dumps the burst's instructions alone (no start-up, no
// difference of two runs). CPG_MODULE: the client's cpg entry to load (a path, for another
// checkout's build), by default this checkout's @corosync-ts/client/cpg.
//   node bench/cpg/nsrun.mjs socket 'valgrind --tool=callgrind --separate-threads=yes \
//     --zero-before=uv_os_getppid --dump-before=uv_os_gethostname --callgrind-out-file=/tmp/cg.%p \
//     node --perf-basic-prof bench/cpg/window.mjs 64 2000 20000'
import { hostname } from 'node:os';
import { CS_ERR_TRY_AGAIN, isCsError } from '@corosync-ts/types';

const [sizeArg, nArg, wArg, mod] = process.argv.slice(2);
const size = Number(sizeArg);
const n = Number(nArg);
const w = Number(wArg);
if (!(size >= 4) || !(n > 0) || !(w >= 0)) {
  process.stderr.write('usage: window.mjs SIZE N W [CPG_MODULE]\n');
  process.exit(2);
}
const { CpgHandle, CPG_TYPE_AGREED } = await import(mod ?? '@corosync-ts/client/cpg');

const data = new Uint8Array(size);
const seqView = new DataView(data.buffer);
let delivered = 0;
let target = 0;
let reached = () => {};
let joined = () => {};
let local = 0;
const h = await CpgHandle.initialize({
  deliverFn: ({ nodeid, pid, msg }) => {
    if (nodeid !== local || pid !== process.pid) return;
    const seq = msg[0] | (msg[1] << 8) | (msg[2] << 16) | (msg[3] << 24);
    if (msg.length !== size || seq >>> 0 !== delivered) fail(`delivery ${seq >>> 0} of ${msg.length} bytes, expected ${delivered}`);
    if (++delivered === target) reached();
  },
  confchgFn: ({ joinedList }) => {
    if (joinedList.some((a) => a.nodeid === local && a.pid === process.pid)) joined();
  },
});
h.on('disconnect', (reason) => fail(`connection lost: ${reason?.message ?? reason}`));
local = await h.localGet();

function fail(what) {
  process.stderr.write(`window: ${what}\n`);
  process.exit(1);
}

let retries = 0;
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

async function burst(count) {
  delivered = 0;
  target = count;
  const done = new Promise((r) => (reached = r));
  for (let i = 0; i < count; i++) await send(i);
  await done;
}

if (w > 0) await burst(w);
retries = 0;
// markers for traces on stdout (--trace-opt, --trace-deopt, --trace-gc) around the burst
process.stdout.write('window: burst start\n');
void process.ppid;
await burst(n);
hostname();
process.stdout.write(`window: burst end, retries ${retries}\n`);
await h.finalize();
