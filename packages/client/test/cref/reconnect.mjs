// Runs inside the daemon's namespace while the test stops and restarts corosync: prints what the
// handles see ('disconnect', 'reconnect' snapshots, notifications after the restart), then exits.
const {
  CmapHandle, QuorumHandle, CMAP_TRACK_ADD, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX, CS_TRACK_CHANGES,
} = await import(new URL('../../dist/index.js', import.meta.url).href);

const P = (s) => process.stdout.write(`${s}\n`);
const reconnect = { initialDelay: 50, maxDelay: 500 };

// With a timeout: the restore's requests then go through the per-request deadline (eachUnder)
// over the real transport.
const h = await CmapHandle.initialize({ reconnect, timeout: 10_000 });
const plain = await CmapHandle.initialize();
// The snapshot that trackstart sends again after the reconnect is an event: waited for before
// finalize, which drops events not yet dispatched (as quorum_finalize does).
let quorumNotifies = 0;
let secondNotify;
const resnapshot = new Promise((r) => (secondNotify = r));
const q = await QuorumHandle.initialize({
  quorumNotify: (n) => {
    P(`quorum notify quorate=${Number(n.quorate)} view=${n.viewList}`);
    if (++quorumNotifies === 2) secondNotify();
  },
}, { reconnect });
await q.trackstart(CS_TRACK_CHANGES);

let th;
let done;
const finished = new Promise((r) => (done = r));
th = await h.trackAdd('test.rc.', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, (n) => {
  P(`cmap notify ${n.keyName}=${n.newValue.value} sameHandle=${n.trackHandle === th}`);
  if (n.keyName === 'test.rc.after') done();
});
await h.trackAdd('totem.cluster_name', CMAP_TRACK_MODIFY, () => {});

h.on('disconnect', (e) => P(`cmap disconnect ${e.code}`));
q.on('disconnect', (e) => P(`quorum disconnect ${e.code}`));
plain.on('disconnect', (e) => P(`plain disconnect ${e.code} state=${plain.state}`));
const both = [
  new Promise((r) => q.once('reconnect', (s) => { P(`quorum reconnect quorumType=${s.quorumType} trackFlags=${s.trackFlags}`); r(); })),
  new Promise((r) => h.once('reconnect', (s) => {
    P(`cmap reconnect tracks=${s.tracks.length} snapshot=${s.tracks.map((t) => t.entries.map((e) => `${e.keyName}=${e.value}`).join(',')).join('|')}`);
    r();
  })),
];
P('ready');
await Promise.all(both);
await plain.getString('totem.cluster_name').then(() => P('plain get 1'), (e) => P(`plain get ${e.code}`));
P(`cmap get after reconnect ${await h.getString('totem.cluster_name')}`);
await h.setUint32('test.rc.after', 1);
await finished;
await resnapshot;
await h.finalize();
await q.finalize();
await plain.finalize();
P('end');
