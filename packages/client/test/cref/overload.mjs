// Runs inside a real corosync's namespace: thousands of concurrent GETs on one cmap handle,
// every answer checked against the value of its own key. Prints one JSON line.
const { CmapHandle, CMAP_MAP_STATS } = await import(new URL('../../dist/index.js', import.meta.url).href);

const KEYS = 64;
const h = await CmapHandle.initialize();
const out = { transport: h.transport };
for (let i = 0; i < KEYS; i++) {
  await h.setUint32(`test.ov.u${i}`, 1000 + i);
  await h.setString(`test.ov.s${i}`, `value-${i}-`.padEnd(40, String(i % 10)));
}
const check = async (label, n, get, expected) => {
  let wrong = 0;
  let failed = 0;
  const firstErrors = [];
  await Promise.all(
    Array.from({ length: n }, async (_, j) => {
      const i = (j * 7) % KEYS;
      try {
        const v = await get(i);
        if (v !== expected(i)) wrong++;
      } catch (e) {
        failed++;
        if (firstErrors.length < 3) firstErrors.push(String(e?.message ?? e));
      }
    }),
  );
  out[label] = { calls: n, wrong, failed, firstErrors };
};
const opts = { timeout: 5_000 };
await check('getUint32', 4000, (i) => h.getUint32(`test.ov.u${i}`, opts), (i) => 1000 + i);
await check('getString', 1500, (i) => h.getString(`test.ov.s${i}`, opts), (i) => `value-${i}-`.padEnd(40, String(i % 10)));
// The handle still answers one call correctly afterwards.
try {
  out.after = await h.getUint32('test.ov.u5', opts);
} catch (e) {
  out.after = String(e?.message ?? e);
}
// corosync's own count of answers it could not send at once on this process's connections
// (stats.ipcs.service0.<pid>.<conn>.send_retries), read while the handle is still open.
const stats = await CmapHandle.initializeMap(CMAP_MAP_STATS);
out.sendRetries = [];
for await (const e of stats.iter(`stats.ipcs.service0.${process.pid}.`)) {
  if (e.keyName.endsWith('.send_retries')) out.sendRetries.push(Number((await stats.get(e.keyName)).value));
}
await stats.finalize();
await h.finalize();
console.log(JSON.stringify(out));
