// bench/coldstart/ab.mjs: an A/B of builds of @corosync-ts/client in fresh processes against a
// private corosync, wall time from fork to exit (timer.c), both transports.
//   node bench/coldstart/ab.mjs [rounds=21] a/dist/index.js b/dist/index.js ...
// Per transport and round, each build's one-call script (onecall.mjs's steps, importing the given
// file) and its import alone (timed inside the process), the builds' order alternating from round
// to round, and `node -e 0` once per round; medians. Needs root (namespaces), corosync 3.1.7, gcc.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startNamespace } from '@corosync-ts/nstest/core';
import { median } from '../lib/figures.mjs';
import { namespaceTimer } from './timed.mjs';

delete process.env.NODE_EXTRA_CA_CERTS; // as run.mjs: a plain install does not parse a CA bundle
const args = process.argv.slice(2);
const ROUNDS = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 21;
const entries = args.map((e) => resolve(e));
if (entries.length < 1) throw new Error('usage: ab.mjs [rounds] a/dist/index.js [b/dist/index.js ...]');
const WARMUP = 2;
const here = (f) => new URL(f, import.meta.url).pathname;
const timed = await namespaceTimer();

// The scripts lie under bench/, which the namespace sees as the host does.
const dir = mkdtempSync(here('./.ab-'));
const scripts = entries.map((e, i) => {
  const url = JSON.stringify(pathToFileURL(e).href);
  const one = join(dir, `onecall-${i}.mjs`);
  writeFileSync(one, `const { cmap } = await import(${url});
const h = await cmap.initialize();
process.stdout.write(\`totem.cluster_name (str) = \${await h.getString('totem.cluster_name')}\\n\`);
await h.finalize();\n`);
  const imp = join(dir, `import-${i}.mjs`);
  writeFileSync(imp, `const t0 = performance.now();
await import(${url});
process.stdout.write(\`\${performance.now() - t0}\\n\`);\n`);
  return { one, imp };
});

const loadBefore = loadavg();
try {
  for (const transport of ['socket', 'shm']) {
    const ns = await startNamespace({ name: `bench-coldstart-ab-${transport}` });
    try {
      await ns.startCorosync({ transport });
      const node = [];
      const rows = entries.map(() => ({ onecall: [], importWall: [], importIn: [] }));
      for (let r = 0; r < WARMUP + ROUNDS; r++) {
        const n = await timed(ns, [process.execPath, '-e', '0']);
        const order = entries.map((_, i) => i);
        if (r % 2 === 1) order.reverse();
        const got = [];
        for (const i of order) {
          const o = await timed(ns, [process.execPath, scripts[i].one]);
          const m = await timed(ns, [process.execPath, scripts[i].imp]);
          got.push([i, o, m]);
        }
        if (new Set(got.map(([, o]) => o.out)).size !== 1 || !got[0][1].out.startsWith('totem.cluster_name (str) = ')) {
          throw new Error(`the builds printed ${JSON.stringify(got.map(([, o]) => o.out))}`);
        }
        if (r < WARMUP) continue;
        node.push(n.ms);
        for (const [i, o, m] of got) {
          rows[i].onecall.push(o.ms);
          rows[i].importWall.push(m.ms);
          rows[i].importIn.push(Number(m.out));
        }
      }
      console.log(`${transport}: node -e 0 ${median(node).toFixed(1)} ms`);
      console.log('| entry | one-call (fork to exit) | import process (fork to exit) | import (inside) |');
      console.log('|---|---|---|---|');
      entries.forEach((e, i) => {
        const m = rows[i];
        console.log(`| ${e} | ${median(m.onecall).toFixed(1)} | ${median(m.importWall).toFixed(1)} | ${median(m.importIn).toFixed(2)} |`);
      });
    } finally {
      await ns.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`medians of ${ROUNDS} interleaved rounds, ms, Node ${process.version}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
