// A cmap callback that throws, in automatic dispatch, with no 'error' listener on the handle.
// argv[2] 'handled': the process has an 'uncaughtException' handler; prints one JSON line of
// what it saw. 'unhandled': nothing catches it, so Node ends the process (exit code 1).
const { CmapHandle, CMAP_TRACK_ADD, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX } = await import(new URL('../../dist/index.js', import.meta.url).href);
const { startMockCorosync } = await import('@corosync-ts/testkit');

const mode = process.argv[2];
const uncaught = [];
if (mode === 'handled') process.on('uncaughtException', (e) => uncaught.push(e.message));
const mock = await startMockCorosync({ nodes: 1 });
const h = await CmapHandle.initialize({ ipcPrefix: mock.endpoint().prefix });
const seen = [];
let next;
await h.trackAdd('test.cb.', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, (n) => {
  seen.push(n.newValue.value);
  next?.();
  if (n.newValue.value === 1) throw new Error('callback bug');
});
const notified = () => new Promise((r) => (next = r));
let p = notified();
await h.setUint32('test.cb.k', 1);
await p;
await new Promise((r) => setTimeout(r, 20)); // the rethrow is queued behind the callback
p = notified();
await h.setUint32('test.cb.k', 2);
await p;
const value = await h.getUint32('test.cb.k');
const state = h.state;
await h.finalize();
await mock.close();
console.log(JSON.stringify({ uncaught, seen, value, state }));
