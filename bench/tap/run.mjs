// bench/tap: what corosync-tap costs the program it records. The same C programs on one private
// corosync 3.1.7, run directly and through the tap (a fresh `corosync-tap -o FILE -- PROGRAM` each
// run, its capture on /tmp), both IPC transports, interleaved rounds (the order flips every round),
// medians; the programs time themselves, so the tap's start and its capture's flush are not in it.
//   node bench/tap/run.mjs [--rounds 5] [--transports socket,shm] [--only mcast-1m-rtt,...]
//                          [--tap NAME=PATH/cli.js ...]   (A/B: another build's dist/cli.js)
//                          [--gz]                         (captures written .jsonl.gz)
// Needs root (namespaces), corosync, gcc, libcpg-dev and libcmap-dev; builds nothing itself:
// `pnpm --filter @corosync-ts/tap... build` first.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileC, startNamespace } from '@corosync-ts/nstest/core';
import { median } from '../lib/figures.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const ROUNDS = Number(opt('--rounds') ?? 5);
const TRANSPORTS = (opt('--transports') ?? 'socket,shm').split(',');
const ONLY = opt('--only')?.split(',');
const GZ = args.includes('--gz');
const taps = args.flatMap((a, i) => (args[i - 1] === '--tap' ? [a.split('=')] : []));
if (taps.length === 0) taps.push(['tap', here('../../packages/tap/dist/cli.js')]);

/**
 * Each case: its command and how to read its one figure (ms, lower is better) from the program's
 * last output line. Round trips: one message at a time, send → own delivery (cbench lat: p50);
 * bursts: as fast as flow control lets (cbench tput, TRY_AGAIN sent again at once: ms per
 * message, first send to the last delivery); cmap: cmap_get of a short key (p50).
 */
const CASES = [
  { id: 'mcast-1m-rtt', label: 'cpg mcast 1 MiB round trip, p50', cmd: (b) => [b.cbench, 'lat', '1048576', '10', '3'], ms: ([p50]) => p50 / 1e6 },
  { id: 'mcast-1m-burst', label: 'cpg mcast 1 MiB burst, per message', cmd: (b) => [b.cbench, 'tput', '1048576', '32', '8'], ms: ([ns]) => ns / 1e6 / 32 },
  { id: 'mcast-64k-rtt', label: 'cpg mcast 64 KiB round trip, p50', cmd: (b) => [b.cbench, 'lat', '65536', '200', '50'], ms: ([p50]) => p50 / 1e6 },
  { id: 'mcast-64k-burst', label: 'cpg mcast 64 KiB burst, per message', cmd: (b) => [b.cbench, 'tput', '65536', '512', '128'], ms: ([ns]) => ns / 1e6 / 512 },
  { id: 'cmap-get-rtt', label: 'cmap_get round trip, p50', cmd: (b) => [b.cmapget, '5000'], ms: (_, line) => JSON.parse(line).p50 / 1e3 },
  // packages/tap's real-tools test: fc.c's 1,000,000-byte multicasts through corosync's flow
  // control while `fc flood` keeps totem's queue full; its whole run, timed by the shell around it.
  { id: 'fc-flow', label: 'fc.c under flow control, whole run', flood: true, cmd: (b) => ['sh', '-c', 's=$(date +%s%N); "$0" >/dev/null || exit 9; e=$(date +%s%N); echo $((e - s))', b.fc], ms: ([ns]) => ns / 1e6 },
].filter((c) => !ONLY || ONLY.includes(c.id));

const bins = {
  cbench: await compileC(readFileSync(here('../cpg/cbench.c'), 'utf8'), ['cpg', '-lpthread'], { cflags: ['-O2'] }),
  cmapget: await compileC(readFileSync(here('../ipc/cmap-get-bench.c'), 'utf8'), ['cmap']),
  fc: await compileC(readFileSync(here('../../packages/client/test/cref/fc.c'), 'utf8'), ['cpg']),
};
/** `fc flood`, once it multicasts. */
async function startFlood(ns) {
  const child = ns.spawn([bins.fc, 'flood'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => d.toString().includes('flooding') && resolve());
    child.once('exit', (code) => reject(new Error(`fc flood exited (${code})`)));
  });
  return child;
}
const dir = mkdtempSync(join(tmpdir(), 'bench-tap-'));
const fmt = (ms) => (ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

console.log(`bench/tap: ${ROUNDS} rounds, captures ${GZ ? '.jsonl.gz' : '.jsonl'}, load average before ${load()}`);
try {
  for (const transport of TRANSPORTS) {
    const ns = await startNamespace({ name: `bench-tap-${transport}` });
    try {
      await ns.startCorosync({ transport });
      const run = async (c, side) => {
        let cmd = c.cmd(bins);
        const cap = join(dir, `cap.jsonl${GZ ? '.gz' : ''}`);
        if (side !== 'direct') cmd = [process.execPath, taps.find(([n]) => n === side)[1], '-o', cap, '--', ...cmd];
        const r = await ns.exec(cmd, { timeout: 120_000 });
        rmSync(cap, { force: true });
        const line = r.stdout.trim().split('\n').at(-1) ?? '';
        if (r.code === 0) return c.ms(line.split(' ').map(Number), line);
        // A run that failed or hung (a program the tap disconnected spins in its loop) is
        // reported and left out of the median.
        console.log(`  ${c.id} ${side}: exit ${r.code ?? r.signal}: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' | ')}`);
        return NaN;
      };
      console.log(`\n${transport}:`);
      const sides = ['direct', ...taps.map(([n]) => n)];
      console.log(['case'.padEnd(38), ...sides.map((s) => `${s} ms`.padStart(12)), ...taps.map(([n]) => `${n}/direct`.padStart(12))].join(''));
      for (const c of CASES) {
        const got = Object.fromEntries(sides.map((s) => [s, []]));
        const flood = c.flood ? await startFlood(ns) : undefined;
        try {
          for (let r = 0; r < ROUNDS; r++) {
            for (const s of r % 2 ? [...sides].reverse() : sides) got[s].push(await run(c, s));
          }
        } finally {
          flood?.kill('SIGKILL');
        }
        const m = Object.fromEntries(sides.map((s) => [s, got[s].some((x) => !Number.isNaN(x)) ? median(got[s].filter((x) => !Number.isNaN(x))) : NaN]));
        console.log([c.label.padEnd(38), ...sides.map((s) => fmt(m[s]).padStart(12)), ...taps.map(([n]) => `${(m[n] / m.direct).toFixed(2)}x`.padStart(12))].join(''));
        if (process.env.BENCH_VERBOSE) for (const s of sides) console.log(`  ${s}: ${got[s].map((x) => (Number.isNaN(x) ? 'failed' : fmt(x))).join(' ')}`);
      }
    } finally {
      await ns.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\nload average after ${load()}`);
