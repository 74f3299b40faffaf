// bench/codec: the WASM codec's fast path vs a plain TypeScript DataView codec (baseline.ts),
// side by side in one run, per message and on a ~100 MB capture.
//   node bench/codec/run.mjs [--write] [--quick] [--only <case substring>] [--node <node binary>]
// Needs the codec built (`pnpm --filter @corosync-ts/codec-wasm build`); no root, no daemon.
// Each case runs in its own Node process (bench.ts) so every case's JIT state is its own;
// --node runs those processes with another Node binary (the figures are per Node version).
// --write stores this run's tables as results-node<major>.md and rebuilds the Codec section of
// bench/RESULTS.md from INTRO.md, the results-node*.md files and NOTES.md (the conclusions);
// --compose does only that rebuild.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { writeResultsSection } from '../lib/results.mjs';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const args = process.argv.slice(2);
const write = args.includes('--write');
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const tsx = import.meta.resolve('tsx');
const nodeBin = args.includes('--node') ? args[args.indexOf('--node') + 1] : process.execPath;
const nodeVersion = execFileSync(nodeBin, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
const env = { ...process.env, ...(quick ? { CODEC_BENCH_ROUNDS: '3', CODEC_BENCH_BATCH_MS: '5' } : {}) };

function child(...argv) {
  const r = spawnSync(nodeBin, ['--import', tsx, here('./bench.ts'), ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench.ts ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// --compose: rebuild the Codec section of RESULTS.md from the stored tables and notes, run nothing
if (args.includes('--compose')) {
  compose();
  process.exit(0);
}

function compose() {
  const parts = ['## Codec (@corosync-ts/codec-wasm)', '', readFileSync(here('./INTRO.md'), 'utf8').trim(), ''];
  for (const f of readdirSync(here('.')).filter((n) => /^results-node\d+\.md$/.test(n)).sort()) {
    parts.push(readFileSync(here(`./${f}`), 'utf8').trim(), '');
  }
  parts.push(readFileSync(here('./NOTES.md'), 'utf8').trim());
  writeResultsSection('Codec (@corosync-ts/codec-wasm)', parts.join('\n'));
}

const started = new Date();
const loadAtStart = os.loadavg()[0].toFixed(1);
const cases = child('list').filter((c) => !only || c.includes(only));
const results = [];
// Each case runs in PROCS processes and each side reports the median of their medians: one
// process can land in a worse JIT state than another (inlining, OSR), and a single process would
// then make one side look 2-5x slower than it usually is.
const PROCS = quick ? 1 : 3;
const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function caseRun(c) {
  const runs = Array.from({ length: PROCS }, () => child('case', c));
  const merged = { ...runs[0] };
  for (const k of ['decode', 'encode']) {
    merged[k] = Object.fromEntries(Object.keys(runs[0][k]).map((side) => [side, mid(runs.map((r) => r[k][side]))]));
  }
  return merged;
}
for (const c of cases) {
  const r = caseRun(c);
  results.push(r);
  const x = (k, side) => (r[k].dataview / r[k][side]).toFixed(2);
  process.stdout.write(
    `${c.padEnd(38)} decode dv ${r.decode.dataview.toFixed(1)} wasm ${r.decode.wasm.toFixed(1)} ns (x${x('decode', 'wasm')})` +
      `   encode dv ${r.encode.dataview.toFixed(1)} wasm ${r.encode.wasm.toFixed(1)} ns (x${x('encode', 'wasm')})\n`,
  );
}
const bulk = only ? undefined : child('bulk', String(quick ? 20e6 : 100e6));
if (bulk) {
  process.stdout.write(
    `bulk ${(bulk.bytes / 1e6).toFixed(1)} MB ${bulk.frames} frames: dataview ${bulk.ms.dataview.toFixed(0)} ms, ` +
      `wasm chunked ${bulk.ms.wasmChunked.toFixed(0)} ms (x${(bulk.ms.dataview / bulk.ms.wasmChunked).toFixed(2)}), ` +
      `wasm stream ${bulk.ms.wasmStream.toFixed(0)} ms (x${(bulk.ms.dataview / bulk.ms.wasmStream).toFixed(2)}), ` +
      `in memory ${bulk.ms.wasmStreamInMemory.toFixed(0)} ms (x${(bulk.ms.dataview / bulk.ms.wasmStreamInMemory).toFixed(2)})\n`,
  );
}

// ------------------------------------------------------------------------------ RESULTS.md

const f1 = (v) => v.toFixed(1);
const ratio = (base, ours) => (base / ours).toFixed(2);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const lines = [];
const major = nodeVersion.slice(1).split('.')[0];
lines.push(`### Node ${nodeVersion}`);
lines.push('');
lines.push(
  `Command: \`node bench/codec/run.mjs --write${nodeBin === process.execPath ? '' : ' --node <node ' + major + ' binary>'}\` (one run, ` +
    `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; Node ${nodeVersion}; ${cpu}, ${os.cpus().length} cores shared with other work, load average ${loadAtStart}; ` +
    `${quick ? 'QUICK settings, not for the record' : `per side the median over ${PROCS} processes of the median of ${env.CODEC_BENCH_ROUNDS ?? 31} interleaved rounds of ~${env.CODEC_BENCH_BATCH_MS ?? 5} ms`}).`,
);
lines.push('');
lines.push('| message | bytes | decode DataView | decode WASM | ratio | WASM +copy-in | ratio | `decode()` | encode DataView | encode WASM | ratio | `encode()` |');
lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const d = r.decode;
  const e = r.encode;
  lines.push(
    `| ${r.case} | ${r.bytes} | ${f1(d.dataview)} | ${f1(d.wasm)} | **${ratio(d.dataview, d.wasm)}** | ${f1(d.wasmCopyIn)} | ${ratio(d.dataview, d.wasmCopyIn)} | ${f1(d.decodeApi)} ` +
      `| ${f1(e.dataview)} | ${f1(e.wasm)} | **${ratio(e.dataview, e.wasm)}** | ${f1(e.encodeApi)} |`,
  );
}
if (bulk) {
  const mbs = (ms) => ((bulk.bytes / 1e6) / (ms / 1e3)).toFixed(0);
  lines.push('');
  lines.push(
    `Bulk: ${(bulk.bytes / 1e6).toFixed(1)} MB, ${bulk.frames.toLocaleString('en-US')} frames in four streams (${bulk.segments.join('; ')}), ` +
      `every frame validated and every field added into a 32-bit sum that must be equal on both sides. Median of ${bulk.rounds} interleaved rounds.`,
  );
  lines.push('');
  lines.push('| side | ms | MB/s | ratio vs DataView |');
  lines.push('|---|---|---|---|');
  lines.push(`| DataView walk (baseline.ts \`walk\`) | ${bulk.ms.dataview.toFixed(0)} | ${mbs(bulk.ms.dataview)} | 1.00 |`);
  lines.push(`| WASM \`codec.decodeStream\`, 256 KiB reads copied in (streaming use) | ${bulk.ms.wasmChunked.toFixed(0)} | ${mbs(bulk.ms.wasmChunked)} | **${ratio(bulk.ms.dataview, bulk.ms.wasmChunked)}** |`);
  lines.push(`| WASM \`codec.decodeStream\`, each stream copied in whole | ${bulk.ms.wasmStream.toFixed(0)} | ${mbs(bulk.ms.wasmStream)} | **${ratio(bulk.ms.dataview, bulk.ms.wasmStream)}** |`);
  lines.push(`| WASM \`codec.decodeStream\`, bytes already in WASM memory | ${bulk.ms.wasmStreamInMemory.toFixed(0)} | ${mbs(bulk.ms.wasmStreamInMemory)} | **${ratio(bulk.ms.dataview, bulk.ms.wasmStreamInMemory)}** |`);
  lines.push(`| (copy into WASM memory alone) | ${bulk.ms.copyIn.toFixed(0)} | ${mbs(bulk.ms.copyIn)} | |`);
  lines.push(`| \`decodeAll()\` object API, once | ${bulk.ms.decodeAllOnce.toFixed(0)} | ${mbs(bulk.ms.decodeAllOnce)} | ${ratio(bulk.ms.dataview, bulk.ms.decodeAllOnce)} |`);
}
const table = lines.join('\n') + '\n';
process.stdout.write('\n' + table);

if (write) {
  if (only || quick) throw new Error('--write needs the full run (no --only, no --quick)');
  writeFileSync(here(`./results-node${major}.md`), table);
  compose();
}
