// Runs every benchmark area: each bench/<area>/run.mjs, one after the other (never in parallel:
// the figures are side-by-side ratios and a second benchmark on the same cores would skew them).
//   node bench/run-all.mjs [--write] [--only area,area]
//   BENCH_ONLY=codec BENCH_WRITE=1 pnpm bench     (the same through turbo, which keeps its own flags)
// --write is passed on to each area, which then replaces its own section of RESULTS.md.
// Areas that start a real corosync (they import the nstest harness) need root, namespaces and
// corosync 3.x; without them they are skipped with the harness's one-line reason.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const onlyArg = args.includes('--only') ? args[args.indexOf('--only') + 1] : process.env.BENCH_ONLY;
const only = onlyArg ? onlyArg.split(',') : undefined;
const passOn = args.includes('--write') || process.env.BENCH_WRITE === '1' ? ['--write'] : [];

const areas = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'node_modules' && existsSync(join(root, d.name, 'run.mjs')))
  .map((d) => d.name)
  .filter((a) => !only || only.includes(a))
  .sort();

let daemon;
async function daemonAvailable() {
  if (daemon) return daemon;
  try {
    const { realCorosync } = await import('@corosync-ts/nstest/core');
    return (daemon = realCorosync());
  } catch (e) {
    return (daemon = { available: false, reason: `@corosync-ts/nstest is not built (pnpm --filter @corosync-ts/nstest build): ${e.message}` });
  }
}

const summary = [];
for (const area of areas) {
  const entry = join(root, area, 'run.mjs');
  if (/nstest/.test(readFileSync(entry, 'utf8'))) {
    const d = await daemonAvailable();
    if (!d.available) {
      process.stdout.write(`\n=== bench/${area}: skipped: ${d.reason}\n`);
      summary.push(`${area}: skipped (${d.reason})`);
      continue;
    }
  }
  process.stdout.write(`\n=== bench/${area}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [entry, ...passOn], { stdio: 'inherit', cwd: join(root, '..') });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  summary.push(`${area}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${secs} s`);
}
process.stdout.write(`\n=== summary\n${summary.map((s) => `  ${s}`).join('\n')}\n`);
if (areas.length === 0) process.stdout.write('  no bench/<area>/run.mjs found\n');
process.exitCode = summary.some((s) => s.includes('FAILED')) ? 1 : 0;
