// Child of rec-count.mjs (run under callgrind): node rec-count-child.mjs CHECKOUT PREFIX MODE N W CAPTURE
// MODE off | plain | gzip. W warm-up getUint32 calls against the mock serving PREFIX, then N; the
// capture (CAPTURE, or CAPTURE.gz) is closed after. CHECKOUT's client and ipc builds are loaded.
// Run alone (corosync-mock started by hand): HEAP=1 prints the bytes allocated per measured call
// by function; MARK=1 prints where the warm-up and the measured calls start and end (for
// --trace-opt / --trace-deopt / --trace-gc).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const [root, prefix, mode, nArg, wArg, out] = process.argv.slice(2);
const N = Number(nArg);
const W = Number(wArg);
const { CmapHandle } = await import(pathToFileURL(join(root, 'packages/client/dist/index.js')).href);
const { CaptureWriter } = await import(pathToFileURL(join(root, 'packages/ipc/dist/index.js')).href);
const w = mode === 'off' ? undefined : CaptureWriter.open(`${out}${mode === 'gzip' ? '.gz' : ''}`, { mode: 'client', name: 'count', version: '0' });
const h = await CmapHandle.initialize({ ipcPrefix: prefix, capture: w });
const get = async (k) => {
  for (let i = 0; i < k; i++) await h.getUint32('runtime.votequorum.this_node_id');
};
// Under callgrind, its counters are dumped (and reset) around the measured calls, while this thread waits for callgrind_control.
const dump = (what) => process.env.CG_DUMP && spawnSync('callgrind_control', ['-d', what, String(process.pid)], { stdio: 'ignore' });
if (process.env.MARK) process.stdout.write('--- warm-up\n');
await get(W);
dump('warm');
if (process.env.MARK) process.stdout.write('--- measured calls\n');
// HEAP=1: V8's sampling heap profiler over the measured calls (collected objects counted), bytes per call by function, printed.
const session = process.env.HEAP ? new (await import('node:inspector')).Session() : undefined;
const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
if (session) {
  session.connect();
  await post('HeapProfiler.startSampling', { samplingInterval: 32, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
await get(N);
dump('measured');
if (process.env.MARK) process.stdout.write('--- measured calls end\n');
if (session) {
  const { profile } = await post('HeapProfiler.stopSampling');
  const by = new Map();
  const walk = (n) => {
    const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}:${n.callFrame.columnNumber}`;
    by.set(k, (by.get(k) ?? 0) + n.selfSize);
    n.children.forEach(walk);
  };
  walk(profile.head);
  const all = [...by.values()].reduce((a, b) => a + b, 0);
  console.log(`${mode}: ${(all / N).toFixed(0)} bytes per call`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${(v / N).toFixed(1).padStart(7)}  ${k}`);
}
await h.finalize();
w?.close();
process.exit(0);
