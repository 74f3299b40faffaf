// One command for the issue-13 report: runs the coldstart, client, ipc, testkit and cpg areas twice,
// on the machine as it is ("idle") and under a controlled background load ("loaded": one busy
// process per vCPU at normal priority, started before and stopped after the areas), collects the
// figures they emit (bench/lib/figures.mjs), checks them against the goals (bench/lib/goals.mjs)
// and rewrites bench/RESULTS.md: the generated report first, then the codec and inspector
// sections, which their own commands write, kept as they are.
//
//   node bench/report.mjs            full run (~10-15 min), rewrites bench/RESULTS.md
//   node bench/report.mjs --quick    fewer calls and rounds (~3-4 min): to try the harness
//   node bench/report.mjs --no-write --only coldstart,client --regimes idle
//
// Needs what the areas need: root (namespaces), corosync 3.1.7, gcc, libcmap-dev, libcpg-dev, and the
// workspace built (`pnpm build`).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { busyLoops } from './lib/ab.mjs';
import { parseFigures } from './lib/figures.mjs';
import { mergeResults, renderReport } from './lib/render.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..');
// strict: an unknown or misspelt flag stops here, before a run that would rewrite RESULTS.md
const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    only: { type: 'string' },
    regimes: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  process.stdout.write(
    'usage: node bench/report.mjs [--quick] [--no-write] [--only area,...] [--regimes idle,loaded]\n' +
      '  --quick      fewer calls and rounds\n  --no-write   print the report, leave bench/RESULTS.md alone\n' +
      '  --only       areas: coldstart, client, ipc, testkit, cpg, inspector\n  --regimes    idle, loaded\n',
  );
  process.exit(0);
}
const quick = flags.quick;
const write = !flags['no-write'];
const busyCount = availableParallelism();

const AREAS = {
  coldstart: quick ? ['7'] : ['21'],
  client: quick ? ['2000', '5000'] : ['10000', '20000'],
  ipc: quick ? ['5000'] : ['20000'],
  testkit: quick ? ['5000'] : ['20000'],
  cpg: quick ? ['2000'] : ['10000'],
  inspector: quick ? ['--recorder', '0', '1000'] : ['--recorder', '0', '2000'],
};
const REGIMES = {
  idle: 'the machine as it is, nothing started by the bench',
  loaded: `${busyCount} busy processes (one per vCPU, a node busy loop, normal priority) started by the bench before the areas and stopped after them`,
};
const areas = (flags.only?.split(',') ?? Object.keys(AREAS)).filter((a) => {
  if (!AREAS[a]) throw new Error(`unknown area ${a}; known: ${Object.keys(AREAS).join(', ')}`);
  return true;
});
const regimeNames = flags.regimes?.split(',') ?? Object.keys(REGIMES);
for (const r of regimeNames) if (!REGIMES[r]) throw new Error(`unknown regime ${r}; known: ${Object.keys(REGIMES).join(', ')}`);

/** Starts one busy process per vCPU (lib/ab.mjs); resolves once every one of them is spinning. */
async function startLoad() {
  const kids = await busyLoops(busyCount);
  return async () => {
    await Promise.all(
      kids.map((c) => {
        if (c.exitCode !== null || c.signalCode !== null) return undefined;
        c.removeAllListeners('exit');
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        return gone;
      }),
    );
  };
}

let stopCurrentLoad = async () => {};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    void stopCurrentLoad().finally(() => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
  });
}

const work = mkdtempSync(join(tmpdir(), 'cts-bench-report-'));
const figuresFile = join(work, 'figures.jsonl');
writeFileSync(figuresFile, '');
const started = new Date();
const regimes = [];
let failed = false;
try {
  for (const name of regimeNames) {
    process.stdout.write(`\n##### regime ${name}: ${REGIMES[name]}\n`);
    const stopLoad = name === 'loaded' ? await startLoad() : async () => {};
    stopCurrentLoad = stopLoad;
    const runs = [];
    try {
      for (const area of areas) {
        const loadBefore = loadavg();
        const t0 = Date.now();
        process.stdout.write(`\n=== bench/${area} (${name})\n`);
        const r = spawnSync(process.execPath, [join(here, area, 'run.mjs'), ...AREAS[area]], {
          stdio: 'inherit',
          cwd: repo,
          env: { ...process.env, BENCH_FIGURES: figuresFile, BENCH_REGIME: name, ...(quick ? { BENCH_QUICK: '1' } : {}) },
        });
        const status = r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`;
        if (r.status !== 0) failed = true;
        runs.push({ area, status, loadBefore, loadAfter: loadavg(), seconds: Math.round((Date.now() - t0) / 1000) });
      }
    } finally {
      await stopLoad();
    }
    regimes.push({ name, description: REGIMES[name], areas: runs });
  }
} finally {
  const figures = parseFigures(readFileSync(figuresFile, 'utf8'));
  rmSync(work, { recursive: true, force: true });
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'bench'], { cwd: repo, encoding: 'utf8' }).trim() ? ' (with uncommitted changes)' : '';
  const meta = {
    command: `node bench/report.mjs${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    node: process.version,
    machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
    started: started.toISOString().replace(/\.\d+Z$/, 'Z'),
    finished: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: commit + dirty,
  };
  const section = renderReport({ figures, regimes, meta });
  process.stdout.write(`\n${section}\n`);
  if (write && regimes.length > 0) {
    const file = join(here, 'RESULTS.md');
    const merged = mergeResults(readFileSync(file, 'utf8'), section, ['codec', 'inspector']);
    writeFileSync(`${file}.tmp`, merged);
    execFileSync('flock', ['/tmp/cts-git.lock', 'mv', `${file}.tmp`, file]);
    process.stdout.write(`\nwrote ${file}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
