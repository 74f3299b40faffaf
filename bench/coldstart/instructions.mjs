// bench/coldstart/instructions.mjs: the cold start in instructions, which a loaded machine does not
// move the way it moves milliseconds. An A/B of builds of @corosync-ts/client, interleaved.
//   node bench/coldstart/instructions.mjs [rounds=5] [dist/index.js ...]
// Default entry: this checkout's packages/client/dist/index.js; give another checkout's (e.g.
// /work/main/packages/client/dist/index.js) beside it for an A/B. Per round and entry, under
// valgrind --tool=callgrind (ASLR off when setarch is there), fresh processes without
// NODE_EXTRA_CA_CERTS, like run.mjs's:
//   import:  `await import(entry)`, less the same process importing an empty module;
//   onecall: import, initialize, getString('totem.cluster_name'), finalize against corosync-mock
//            (socket, in this process), less the import process. With SET=1 the script sets a key
//            first and reads it back (setString goes through the codec's encoder and its WASM
//            module): what a script that uses the codec pays, the figure to watch when a part the
//            GET script never runs is made to load on first use (the GET script alone cannot see
//            what that first use costs).
// Medians of total instructions (every thread), and of V8's CompileModule (scan, pre-parse, the
// top level's bytecode: what bytes of source cost) and SourceTextModule::Evaluate (the modules' top
// level run) inside the import process. The total leaves out V8's start-up prime search (its hash
// seed's, random, 3-8 M); the one-call figure still moves by a few million (GC
// and the event loop's timing); CompileModule and Evaluate move far less. Needs valgrind; no root.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startMockCorosync } from '@corosync-ts/testkit';
import { median } from '../lib/figures.mjs';

const args = process.argv.slice(2);
const ROUNDS = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 5;
const entries = (args.length > 0 ? args : [new URL('../../packages/client/dist/index.js', import.meta.url).pathname]).map((e) => resolve(e));
if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('instructions.mjs needs valgrind');
const setarch = spawnSync('setarch', ['-R', 'true']).status === 0 ? ['setarch', '-R'] : [];

const dir = mkdtempSync(join(tmpdir(), 'coldstart-ir-'));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const empty = join(dir, 'empty.mjs');
writeFileSync(empty, 'export {};\n');

const run = promisify(execFile);

/**
 * Runs `node --input-type=module -e script` under callgrind: total Ir and the inclusive Ir of two
 * V8 functions. Asynchronous: the mock serving the one-call script runs in this process.
 */
async function callgrind(script) {
  const out = join(dir, `cg.${process.hrtime.bigint()}`);
  const argv = [...setarch, 'valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--input-type=module', '-e', script];
  const { stdout } = await run(argv[0], argv.slice(1), { env, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 300_000 });
  const annotated = (await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', out], { encoding: 'utf8', maxBuffer: 1 << 28 })).stdout;
  for (const f of readdirSync(dir)) if (f.startsWith('cg.')) rmSync(join(dir, f));
  const ir = (re) => {
    const line = annotated.split('\n').find((l) => re.test(l));
    return line ? Number(line.trim().split(/\s/)[0].replace(/,/g, '')) : 0;
  };
  // V8 draws a hash seed per process and tests primes from it at start-up (HashSeed::InitializeRoots
  // calling detail::sprp): 3-8 M instructions that differ from run to run whatever the script, left
  // out of the total. (Fixed seeds, --hash-seed, would not do: with V8 flags Node starts without
  // its snapshot, ~30 M more.)
  return { total: ir(/PROGRAM TOTALS/) - ir(/\?\?\?:detail::sprp\(/), compile: ir(/v8::ScriptCompiler::CompileModule\(/), evaluate: ir(/v8::internal::SourceTextModule::Evaluate\(/), stdout };
}

const SET = process.env.SET === '1';
const importOf = (file) => `await import(${JSON.stringify(pathToFileURL(file).href)});`;
const mock = await startMockCorosync({ nodes: 1, transport: 'socket' });
const load = loadavg();
const rows = new Map(entries.map((e) => [e, { import: [], compile: [], evaluate: [], onecall: [] }]));
try {
  for (let r = 0; r < ROUNDS; r++) {
    const base = await callgrind(importOf(empty));
    for (const e of entries) {
      const imp = await callgrind(importOf(e));
      const one = await callgrind(`const { cmap } = await import(${JSON.stringify(pathToFileURL(e).href)});
        const h = await cmap.initialize({ ipcPrefix: ${JSON.stringify(mock.prefix)} });
        ${SET ? "await h.setString('test.coldstart', 'mockcluster');" : ''}
        process.stdout.write(await h.getString(${JSON.stringify(SET ? 'test.coldstart' : 'totem.cluster_name')}));
        await h.finalize();`);
      if (one.stdout !== 'mockcluster') throw new Error(`${e}: the one-call script printed ${JSON.stringify(one.stdout)}`);
      const row = rows.get(e);
      row.import.push(imp.total - base.total);
      row.compile.push(imp.compile);
      row.evaluate.push(imp.evaluate);
      row.onecall.push(one.total - imp.total);
    }
  }
} finally {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
}
const M = (v) => (median(v) / 1e6).toFixed(1);
console.log(`median of ${ROUNDS} interleaved rounds, millions of instructions (callgrind), Node ${process.version}; load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
console.log(`| entry | import (total, less an empty import) | CompileModule | Evaluate | initialize + ${SET ? 'setString + ' : ''}getString + finalize (total, less the import) |`);
console.log('|---|---|---|---|---|');
for (const [e, row] of rows) console.log(`| ${e} | ${M(row.import)} | ${M(row.compile)} | ${M(row.evaluate)} | ${M(row.onecall)} |`);
