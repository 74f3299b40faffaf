// One cpg member per cluster node (test/real-cpg-cluster.test.ts): joins 'cl-g', prints every
// confchg and delivery as a JSON line; "send N" on stdin multicasts N messages "<nodeid>-<i>".
import { createInterface } from 'node:readline';
const { CpgHandle } = await import(new URL('../../dist/index.js', import.meta.url).href);

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const ids = (l) => l.map((a) => [a.nodeid, a.reason]);
const h = await CpgHandle.initialize({
  confchgFn: ({ memberList, leftList, joinedList }) =>
    out({ kind: 'confchg', members: memberList.map((a) => a.nodeid), left: ids(leftList), joined: ids(joinedList) }),
  deliverFn: ({ nodeid, msg }) => out({ kind: 'deliver', from: nodeid, text: Buffer.from(msg).toString() }),
});
const me = await h.localGet();
await h.join('cl-g');
createInterface({ input: process.stdin }).on('line', async (l) => {
  const n = /^send (\d+)$/.exec(l);
  if (!n) return;
  for (let i = 0; i < Number(n[1]); i++) await h.mcastJoined(2, `${me}-${i}`, { retry: true });
});
process.stdin.on('end', () => void h.finalize().then(() => process.exit(0)));
