// Where corosync-mock spends its time serving libcmap GETs: runs the mock under --cpu-prof in a
// private namespace, serves `gets` GETs from bench/testkit/cmap-gets.c, and prints the functions
// with the most self time (and the share of the whole profile).
//   node bench/testkit/profile-mock.mjs [gets=20000] [socket|shm]   (TOP=n: that many functions, default 25)
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const gets = Number(process.argv[2] ?? 20000);
const transport = process.argv[3] ?? 'shm';
const cbench = await compileC(readFileSync(here('./cmap-gets.c'), 'utf8'), ['cmap']);
const dir = mkdtempSync(join(tmpdir(), 'cts-mock-prof-'));
const ns = await startNamespace({ name: 'bench-mock-prof' });
try {
  const confPath = join(ns.dir, 'mock.conf');
  writeFileSync(confPath, readFileSync(here('../../packages/testkit/test/fixtures/three-nodes.conf'), 'utf8').replace(/qb_ipc_type: \w+/, `qb_ipc_type: ${transport}`));
  const child = ns.spawn([process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', here('../../packages/testkit/dist/cli.js'), '--config', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const serving = new Promise((resolve) => child.stderr.setEncoding('utf8').on('data', (d) => { err += d; if (/serving/.test(err)) resolve(); }));
  await serving;
  const r = await ns.exec([cbench, String(gets)], { timeout: 600_000 });
  console.log(`C client: ${r.stdout.trim()}`);
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  await exited;
} finally {
  await ns.close();
}
const p = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
const self = new Map();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const agg = new Map();
let total = 0;
for (const n of p.nodes) {
  const t = (self.get(n.id) ?? 0) / 1000;
  total += t;
  const f = n.callFrame;
  const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(packages|node_modules)\//, '')}:${f.lineNumber + 1}`;
  agg.set(k, (agg.get(k) ?? 0) + t);
}
console.log(`profile: ${total.toFixed(0)} ms in all (idle included)`);
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 25))) console.log(`${v.toFixed(1).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
