// bench/codec: the WASM codec's fast path vs a plain TypeScript DataView codec (baseline.ts),
// side by side in one run, per message and on a ~100 MB capture.
//   node bench/codec/run.mjs [--write] [--quick] [--only <case substring>]
// Needs the codec built (`pnpm --filter @corosync-ts/codec-wasm build`); no root, no daemon.
// Each case runs in its own Node process (bench.ts) so every case's JIT state is its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const args = process.argv.slice(2);
const write = args.includes('--write');
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const tsx = import.meta.resolve('tsx');
const env = { ...process.env, ...(quick ? { CODEC_BENCH_ROUNDS: '3', CODEC_BENCH_BATCH_MS: '5' } : {}) };

function child(...argv) {
  const r = spawnSync(process.execPath, ['--import', tsx, here('./bench.ts'), ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench.ts ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const started = new Date();
const cases = child('list').filter((c) => !only || c.includes(only));
const results = [];
for (const c of cases) {
  const r = child('case', c);
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
      `wasm stream ${bulk.ms.wasmStream.toFixed(0)} ms (x${(bulk.ms.dataview / bulk.ms.wasmStream).toFixed(2)}), ` +
      `in memory ${bulk.ms.wasmStreamInMemory.toFixed(0)} ms (x${(bulk.ms.dataview / bulk.ms.wasmStreamInMemory).toFixed(2)})\n`,
  );
}

// ------------------------------------------------------------------------------ RESULTS.md

const f1 = (v) => v.toFixed(1);
const ratio = (base, ours) => (base / ours).toFixed(2);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const lines = [];
lines.push('## Codec (@corosync-ts/codec-wasm)');
lines.push('');
lines.push(
  `Command: \`node bench/codec/run.mjs --write\` (one run, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; ` +
    `Node ${process.version}; ${cpu}, ${os.cpus().length} cores shared with other work; ` +
    `${quick ? 'QUICK settings, not for the record' : `median of ${env.CODEC_BENCH_ROUNDS ?? 9} interleaved rounds of ~${env.CODEC_BENCH_BATCH_MS ?? 15} ms per side`}).`,
);
lines.push('');
lines.push('ns per message (median). Ratio = DataView time / WASM time: the throughput ratio, >1 means WASM is faster.');
lines.push('"WASM" is the fast path the client uses with the bytes already in WASM memory (`codec.decodeAt` + accessors,');
lines.push('`codec.encodeOutput` into WASM memory); "+copy-in" adds copying a JS frame into WASM memory first (`inputBuffer().set` +');
lines.push('`decodeInput`); `decode()` / `encode()` are the object APIs (allocate), for reference. See bench/README.md for what each side does.');
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
      `every frame validated and every field folded into a digest that must be equal on both sides. Median of ${bulk.rounds} interleaved rounds.`,
  );
  lines.push('');
  lines.push('| side | ms | MB/s | ratio vs DataView |');
  lines.push('|---|---|---|---|');
  lines.push(`| DataView walk (baseline.ts \`walk\`) | ${bulk.ms.dataview.toFixed(0)} | ${mbs(bulk.ms.dataview)} | 1.00 |`);
  lines.push(`| WASM \`codec.decodeStream\`, copy-in included | ${bulk.ms.wasmStream.toFixed(0)} | ${mbs(bulk.ms.wasmStream)} | **${ratio(bulk.ms.dataview, bulk.ms.wasmStream)}** |`);
  lines.push(`| WASM \`codec.decodeStream\`, bytes already in WASM memory | ${bulk.ms.wasmStreamInMemory.toFixed(0)} | ${mbs(bulk.ms.wasmStreamInMemory)} | **${ratio(bulk.ms.dataview, bulk.ms.wasmStreamInMemory)}** |`);
  lines.push(`| (copy into WASM memory alone) | ${bulk.ms.copyIn.toFixed(0)} | ${mbs(bulk.ms.copyIn)} | |`);
  lines.push(`| \`decodeAll()\` object API, once | ${bulk.ms.decodeAllOnce.toFixed(0)} | ${mbs(bulk.ms.decodeAllOnce)} | ${ratio(bulk.ms.dataview, bulk.ms.decodeAllOnce)} |`);
}
const notes = here('./NOTES.md');
if (existsSync(notes)) {
  lines.push('');
  lines.push(readFileSync(notes, 'utf8').trim());
}
const section = lines.join('\n') + '\n';
process.stdout.write('\n' + section);

if (write) {
  if (only || quick) throw new Error('--write needs the full run (no --only, no --quick)');
  // Other sections belong to other people: replace only ours, under the shared lock.
  execFileSync('flock', ['/tmp/cts-git.lock', process.execPath, here('./write-section.mjs'), here('../RESULTS.md')], { input: section });
}
