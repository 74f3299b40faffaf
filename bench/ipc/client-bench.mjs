// Our client: the same cmap GET (capacity 256, like the C bench's buffer) one call at
// a time, then pipelined (which the C library cannot do). Runs inside the namespace.
import { connect } from '@corosync-ts/ipc';

const n = Number(process.argv[2] ?? 20000);
const key = process.argv[3] ?? 'totem.cluster_name';
const enc = new TextEncoder();
const frame = new Uint8Array(288);
const v = new DataView(frame.buffer);
v.setInt32(0, 2, true);
v.setInt32(8, 288, true);
const k = enc.encode(key);
v.setUint16(16, k.length, true);
frame.set(k, 24);
v.setBigUint64(280, 256n, true);

const c = await connect('cmap');
const check = (r) => {
  if (new DataView(r.buffer, r.byteOffset).getInt32(16, true) !== 1) throw new Error('cmap get failed');
};
for (let i = 0; i < 1000; i++) check(await c.request(frame));
const lat = new Float64Array(n);
const start = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
for (let i = 0; i < n; i++) {
  const t0 = process.hrtime.bigint();
  check(await c.request(frame));
  lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
}
const total = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
lat.sort();
const depth = 16;
const pstart = process.hrtime.bigint();
let sent = 0;
async function lane() {
  while (sent < n) {
    sent++;
    check(await c.request(frame));
  }
}
await Promise.all(Array.from({ length: depth }, lane));
const ptotal = Number(process.hrtime.bigint() - pstart) / 1e9;
await c.close();
console.log(
  JSON.stringify({
    transport: c.transport,
    n,
    p50: +lat[n >> 1].toFixed(2),
    p99: +lat[Math.floor(n * 0.99)].toFixed(2),
    opsPerSec: Math.round(n / total),
    // CPU (user + system, all threads) per call: what this process spends, whatever the scheduler does.
    cpuUsPerOp: +((cpu.user + cpu.system) / n).toFixed(2),
    pipelinedOpsPerSec: Math.round(n / ptotal),
  }),
);
