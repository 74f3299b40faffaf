// The testkit's own CPU per request, without IPC: libcmap GETs (the bytes cmap-gets.c sends)
// handed straight to a node's cmap connection, the answer dropped. What the mock adds on top of
// the ipc server and the kernel for each request; CPU time of this thread, so the machine's load
// moves it little. Run old and new builds alternately for an A/B.
//   node bench/testkit/dispatch.mjs [calls=500000] [rounds=5]
import { encoders } from '@corosync-ts/codec-wasm';
import { createCluster, NodeServices } from '@corosync-ts/testkit';

const calls = Number(process.argv[2] ?? 500000);
const rounds = Number(process.argv[3] ?? 5);
const cluster = createCluster({ nodes: 3 });
const services = new NodeServices(cluster.nodes[0]);
let answered = 0;
const conn = services.connect('cmap', { respond: () => { answered++; }, sendEvent: () => {}, backlog: () => ({ responses: 0, events: 0 }) });
const req = encoders.cmap.req.get({ keyName: 'totem.cluster_name', valueLen: 256n });
// as the ipc layer hands frames over: views into a slab at 8-byte aligned offsets
const slab = new Uint8Array(32768);
const frames = Array.from({ length: 64 }, (_, i) => {
  const f = slab.subarray(i * 512, i * 512 + req.length);
  f.set(req);
  return f;
});
const perCall = [];
for (let r = 0; r < rounds; r++) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) conn.handle(frames[i & 63]);
  const t = process.cpuUsage(t0);
  perCall.push(((t.user + t.system) * 1000) / calls);
}
if (answered !== calls * rounds) throw new Error(`${answered} answers to ${calls * rounds} GETs`);
const sorted = [...perCall].sort((a, b) => a - b);
console.log(`testkit dispatch, cmap GET: ${sorted[Math.floor(rounds / 2)].toFixed(0)} ns CPU per request (median of ${rounds} rounds of ${calls}; ${perCall.map((x) => x.toFixed(0)).join(' ')})`);
