// Memory per cmap handle in @corosync-ts/client: RSS and `external` growth over N handles
// (after 10), each with one getString, as cmap-handles.c does with libcmap. Run with --expose-gc.
import { cmap } from '@corosync-ts/client';

const n = Number(process.argv[2] ?? 100);
const hs = [];
async function open(k) {
  for (let i = 0; i < k; i++) {
    const h = await cmap.initialize();
    await h.getString('totem.cluster_name');
    hs.push(h);
  }
}
const usage = () => {
  globalThis.gc();
  return process.memoryUsage();
};
await open(10);
const before = usage();
await open(n);
const after = usage();
console.log(JSON.stringify({ rss: Math.round((after.rss - before.rss) / n), external: Math.round((after.external - before.external) / n), rssTotal: after.rss }));
for (const h of hs) await h.finalize();
