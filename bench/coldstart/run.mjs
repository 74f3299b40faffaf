// bench/coldstart: what a short-lived script pays, in fresh processes, against a private corosync.
//   node bench/coldstart/run.mjs [rounds=21]
// Per transport, interleaved rounds of: `node -e 0`; `corosync-cmapctl -g totem.cluster_name`;
// onecall.mjs (the same get through @corosync-ts/client); import.mjs (the import alone, timed
// inside the process). Every side is timed by timer.c inside the namespace (fork to exit).
// Needs root (namespaces), corosync 3.1.7, gcc; the workspace built.
import { loadavg } from 'node:os';
import { startNamespace } from '@corosync-ts/nstest/core';
import { emitFigures, median } from '../lib/figures.mjs';
import { namespaceTimer } from './timed.mjs';

// Every process here starts without NODE_EXTRA_CA_CERTS: Node reads and parses the whole CA bundle
// at start-up when it is set (40-50 ms of CPU per start on the 2-vCPU bench machine, whose
// environment sets it), which a plain install does not pay and which would inflate both sides of
// the one-call ratio alike.
const caCerts = process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_EXTRA_CA_CERTS;
const ROUNDS = Number(process.argv[2] ?? 21);
const WARMUP = 2;
const here = (f) => new URL(f, import.meta.url).pathname;
const timed = await namespaceTimer();

const loadBefore = loadavg();
const figures = [];
const table = [];
for (const transport of ['socket', 'shm']) {
  const ns = await startNamespace({ name: `bench-coldstart-${transport}` });
  try {
    await ns.startCorosync({ transport });
    const m = { node: [], cmapctl: [], onecall: [], importWall: [], importIn: [] };
    for (let r = 0; r < WARMUP + ROUNDS; r++) {
      const node = await timed(ns, [process.execPath, '-e', '0']);
      const c = await timed(ns, ['corosync-cmapctl', '-g', 'totem.cluster_name']);
      const o = await timed(ns, [process.execPath, here('./onecall.mjs')]);
      const i = await timed(ns, [process.execPath, here('./import.mjs')]);
      if (o.out.trim() !== c.out.trim()) throw new Error(`onecall printed ${JSON.stringify(o.out)}, corosync-cmapctl ${JSON.stringify(c.out)}`);
      if (r < WARMUP) continue;
      m.node.push(node.ms);
      m.cmapctl.push(c.ms);
      m.onecall.push(o.ms);
      m.importWall.push(i.ms);
      m.importIn.push(Number(i.out));
    }
    const med = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
    table.push({ transport, ...med });
    if (transport === 'socket') {
      figures.push({
        id: 'coldstart.import', area: 'coldstart', label: 'import of @corosync-ts/client in a fresh process, timed inside it', unit: 'ms',
        higherIsBetter: false, ours: med.importIn, baseline: null, baselineName: '–',
      });
      figures.push({
        id: 'coldstart.node', area: 'coldstart', label: 'fresh process that imports @corosync-ts/client vs `node -e 0`, whole process', unit: 'ms',
        higherIsBetter: false, ours: med.importWall, baseline: med.node, baselineName: '`node -e 0`',
      });
    }
    figures.push({
      id: `coldstart.onecall.${transport}`, area: 'coldstart', label: `one-call script (import, initialize, getString, finalize), ${transport}`, unit: 'ms',
      higherIsBetter: false, ours: med.onecall, baseline: med.node + med.cmapctl, baselineName: '`node -e 0` + `corosync-cmapctl -g`',
    });
    figures.push({
      id: `coldstart.cmapctl.${transport}`, area: 'coldstart', label: `one-call script vs \`corosync-cmapctl -g\` alone, ${transport}`, unit: 'ms',
      higherIsBetter: false, ours: med.onecall, baseline: med.cmapctl, baselineName: '`corosync-cmapctl -g`',
    });
  } finally {
    await ns.close();
  }
}
emitFigures(figures);
console.log(`median of ${ROUNDS} interleaved rounds (after ${WARMUP} warm-up rounds), ms, wall time fork → exit${caCerts ? ' (NODE_EXTRA_CA_CERTS unset for every process)' : ''}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadavg().map((x) => x.toFixed(2)).join(' ')} after`);
console.log('| transport | node -e 0 | corosync-cmapctl -g | onecall.mjs | ratio onecall / (node -e 0 + cmapctl) | import.mjs (whole process) | import inside the process |');
console.log('|---|---|---|---|---|---|---|');
for (const t of table) {
  console.log(`| ${t.transport} | ${t.node.toFixed(1)} | ${t.cmapctl.toFixed(1)} | ${t.onecall.toFixed(1)} | ${(t.onecall / (t.node + t.cmapctl)).toFixed(2)} | ${t.importWall.toFixed(1)} | ${t.importIn.toFixed(1)} |`);
}
