// A long-running quorum watcher for the cluster test: one JSON line per notification (quorum V1
// quorum + nodelist, votequorum quorum), until stdin closes.
const { QuorumHandle, VotequorumHandle, CS_TRACK_CHANGES, QUORUM_MODEL_V1 } = await import(new URL('../../dist/index.js', import.meta.url).href);

const out = (o) => process.stdout.write(`${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
const q = await QuorumHandle.modelInitialize(QUORUM_MODEL_V1, {
  quorumNotify: (n) => out({ kind: 'quorum', quorate: n.quorate, view: n.viewList, ring: n.ringId }),
  nodelistNotify: (n) => out({ kind: 'nodelist', members: n.memberList, joined: n.joinedList, left: n.leftList, ring: n.ringId }),
});
const vq = await VotequorumHandle.initialize({
  quorumNotify: (n) => out({ kind: 'vq', quorate: n.quorate, nodes: n.nodeList.filter((x) => x.state === 1).map((x) => x.nodeid) }),
});
await q.trackstart(CS_TRACK_CHANGES);
await vq.trackstart(1n, CS_TRACK_CHANGES);
out({ kind: 'ready' });
process.stdin.resume();
process.stdin.on('end', async () => {
  await q.finalize();
  await vq.finalize();
  process.exit(0);
});
