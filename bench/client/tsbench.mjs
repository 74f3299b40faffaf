// TypeScript side of bench/client (same modes as cbench.c, through @corosync-ts/client).
//   node tsbench.mjs track|ipctrack|getstr|ipcget|getu32|handles N [W]   (W: track warm-up notifications, getu32 warm-up calls)
import { readFileSync } from 'node:fs';

const { CmapHandle, CMAP_TRACK_ADD, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX } = await import(
  '@corosync-ts/client'
);
const [mode, nArg, warmArg] = process.argv.slice(2);
// track modes: W warm-up notifications first (then "warm"), then the N measured ones
const warm = Number(warmArg ?? 0);
const n = Number(nArg ?? 10000) + (mode.endsWith('track') ? warm : 0);
if (mode === 'ipctrack') {
  // The transport alone (no decoding, no callbacks): what the client layer adds is the difference.
  const { connect } = await import('@corosync-ts/ipc');
  const { encode } = await import('@corosync-ts/codec-wasm');
  const ipc = await connect('cmap');
  let count = 0;
  let last = 0n;
  let done;
  const finished = new Promise((r) => (done = r));
  ipc.on('event', () => {
    count++;
    last = process.hrtime.bigint();
    if (count === warm) process.stdout.write('warm\n');
    if (count === n) done();
  });
  await ipc.request(encode('cmap.trackAdd', { keyName: 'bench.', trackType: CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, trackInstHandle: 1n }));
  process.stdout.write('ready\n');
  await finished;
  process.stdout.write(`${last}\n`);
  await ipc.close();
  process.exit(0);
}
if (mode === 'ipcget') {
  // One GET round trip on the transport alone, the same frame getString() sends.
  const { connect } = await import('@corosync-ts/ipc');
  const { encode } = await import('@corosync-ts/codec-wasm');
  const ipc = await connect('cmap');
  const frame = encode('cmap.get', { keyName: 'totem.cluster_name', valueLen: 1024n });
  const requests = async (k) => {
    for (let i = 0; i < k; i++) await ipc.request(frame);
  };
  await requests(200);
  const t0 = process.hrtime.bigint();
  await requests(n);
  process.stdout.write(`${process.hrtime.bigint() - t0}\n`);
  await ipc.close();
  process.exit(0);
}
const h = await CmapHandle.initialize();
// The warm-up and the measured calls run in one function. Two loops in the module body were
// measured with the bench's own code unoptimized: V8 optimizes the body (an async function)
// during the warm-up, deoptimizes it at the first statement after that loop (no type feedback
// there yet) and recompiles it during the measured calls (node --trace-opt --trace-deopt:
// 29-91 ms of TurboFan on a worker thread, ~1.5-6 µs per call of 20,000 or 5,000).
const getU32 = async (k) => {
  for (let i = 0; i < k; i++) await h.getUint32('runtime.votequorum.this_node_id');
};
const getStr = async (k) => {
  for (let i = 0; i < k; i++) await h.getString('totem.cluster_name');
};
/** The loop thread's [voluntary, involuntary] context switches so far (cbench.c's `switches`). */
const switches = () => {
  const st = readFileSync('/proc/thread-self/status', 'utf8');
  return ['voluntary', 'nonvoluntary'].map((k) => Number(new RegExp(`^${k}_ctxt_switches:\\s*(\\d+)`, 'm').exec(st)[1]));
};
if (mode === 'getu32') {
  // cbench getu32: elapsed and CPU (user + system, all threads) of N sequential getUint32 calls,
  // after W warm-up calls (default 200; a few thousand take the JIT's tier-up out of the window)
  // and the calling thread's voluntary and involuntary context switches over those calls, which
  // tell the round's shape (run.mjs)
  await getU32(warm || 200);
  const s0 = switches();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await getU32(n);
  const elapsed = process.hrtime.bigint() - t0;
  const c = process.cpuUsage(c0);
  const s1 = switches();
  process.stdout.write(`${elapsed} ${(c.user + c.system) * 1000} ${s1[0] - s0[0]} ${s1[1] - s0[1]}\n`);
} else if (mode === 'handles') {
  // cbench handles: RSS after 1 + N open handles that have made a call, then with N more. The
  // first N take the one-time costs of the first calls (tier-up, lazy tables) out of the slope;
  // the process-wide growth that still comes later is why run.mjs asks for N = 1000.
  const rss = () => Math.round(process.memoryUsage().rss / 1024);
  await h.getUint32('runtime.votequorum.this_node_id');
  let before = 0;
  const hs = [];
  for (let i = 0; i < 2 * n; i++) {
    if (i === n) before = rss();
    const x = await CmapHandle.initialize();
    await x.getUint32('runtime.votequorum.this_node_id');
    hs.push(x);
  }
  process.stdout.write(`${before} ${rss()}\n`);
  for (const x of hs) await x.finalize();
}
if (mode === 'track') {
  let count = 0;
  let last = 0n;
  let done;
  const finished = new Promise((r) => (done = r));
  await h.trackAdd('bench.', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, () => {
    count++;
    last = process.hrtime.bigint(); // CLOCK_MONOTONIC, like cbench's clock_gettime
    if (count === warm) process.stdout.write('warm\n');
    if (count === n) done();
  });
  process.stdout.write('ready\n');
  await finished;
  process.stdout.write(`${last}\n`);
} else if (mode === 'getstr') {
  await getStr(200); // JIT warm-up
  const t0 = process.hrtime.bigint();
  await getStr(n);
  process.stdout.write(`${process.hrtime.bigint() - t0}\n`);
}
await h.finalize();
