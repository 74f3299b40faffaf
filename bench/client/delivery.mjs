// The client layer alone: cmap notifications delivered through CmapHandle from an in-memory
// transport (no daemon, no ipc), so its per-event cost shows without the transport's.
// Usage: node bench/client/delivery.mjs [cold|warm]
//   cold: a fresh process takes 2 000 events, then the 10 000 timed ones (like run.mjs's trackers)
//   warm: 30 rounds of 10 000 events; best and median round
import { EventEmitter } from 'node:events';
import { CmapHandle, CMAP_TRACK_ADD, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX } from '@corosync-ts/client';
import { encode, encoders } from '@corosync-ts/codec-wasm';

const mode = process.argv[2] ?? 'warm';
class MemoryTransport extends EventEmitter {
  fd = -1;
  connected = true;
  transport = 'shm';
  cookie = 0n;
  async request(f) {
    const dv = new DataView(f.buffer, f.byteOffset, f.length);
    if (dv.getInt32(0, true) !== 7) throw new Error(`unexpected request id ${dv.getInt32(0, true)}`);
    this.cookie = dv.getBigUint64(f.length - 8, true); // TRACK_ADD ends with track_inst_handle
    return encoders.cmap.res.trackAdd({ trackHandle: 77n }, { error: 1 });
  }
  async close() {}
}
let transport;
const h = await CmapHandle.initialize({ connect: async () => (transport = new MemoryTransport()) });
let count = 0;
await h.trackAdd('bench.', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, () => {
  count++;
});
const N = 10000;
const frames = [];
for (let i = 0; i < N; i++) {
  frames.push(encode('cmap.notify', {
    trackInstHandle: transport.cookie, keyName: `bench.key${i % 100}`, event: 2, newValueType: 6, oldValueType: 6,
    newValue: new Uint8Array(4), oldValue: new Uint8Array(4),
  }));
}
const round = () => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) transport.emit('event', frames[i]);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
if (mode === 'cold') {
  for (let i = 0; i < 2000; i++) transport.emit('event', frames[i]);
  console.log(`cold: ${N} events after 2000 warm-up: ${round().toFixed(2)} ms`);
} else {
  const times = Array.from({ length: 30 }, round).sort((a, b) => a - b);
  console.log(`warm: ${N} events per round, best ${times[0].toFixed(2)} ms, median ${times[15].toFixed(2)} ms`);
}
if (count === 0) throw new Error('no notification was delivered');
await h.finalize();
