// Instructions per recorded call on the calling thread, counted (bench/README.md, "inspector: the
// recorder's cost judged against the noise"): `getUint32` against `corosync-mock` in its own process
// (not under valgrind), the client under callgrind, which dumps its counters right before and
// right after the measured calls (rec-count-child.mjs); the loop thread's part alone.
//   node bench/inspector/rec-count.mjs [N=2000] [W=3000] [modes=off,plain] [transports=shm,socket]
// Env: REPEAT (runs per mode, default 1), ROOTS (name=checkout,... default this checkout), TOP (20),
// NODE_ARGS (default --no-concurrent-recompilation: TurboFan compiles on the loop thread, where its
// work is counted as one line and left out of the totals, not on a thread of its own that finishes
// at a different call in every run).
// Prints per side the instructions per call, then per function the self instructions per call of
// each side and the difference to the first side (JIT code named from --perf-basic-prof's map).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMockProcess } from '../lib/mock-process.mjs';

const [N = '2000', W = '3000', modesArg = 'off,plain', transportsArg = 'shm,socket'] = process.argv.slice(2);
const REPEAT = Number(process.env.REPEAT ?? 1);
const TOP = Number(process.env.TOP ?? 20);
const here = fileURLToPath(new URL('.', import.meta.url));
const self = join(here, '../..');
const roots = (process.env.ROOTS ?? `this=${self}`).split(',').map((s) => s.split('='));
const dir = mkdtempSync(join(tmpdir(), 'rec-count-'));

/** JIT code ranges from /tmp/perf-PID.map, sorted by start. */
function perfMap(pid) {
  let text = '';
  try {
    text = readFileSync(`/tmp/perf-${pid}.map`, 'utf8');
  } catch {
    return [];
  }
  rmSync(`/tmp/perf-${pid}.map`, { force: true });
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [a, s, ...n] = l.split(' ');
      return [parseInt(a, 16), parseInt(s, 16), n.join(' ')];
    })
    .sort((x, y) => x[0] - y[0]);
}
function jitName(map, addr) {
  let lo = 0,
    hi = map.length - 1,
    hit;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid][0] <= addr) {
      hit = map[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return hit && addr < hit[0] + hit[1] ? `JIT ${hit[2].replace(/^(\S+:)?/, '')}` : 'JIT ?';
}

// TurboFan's own functions, one line (the std:: containers it uses stay apart): under valgrind (~50x slower than the mock) the waits take other
// paths than natively, and tier-ups still fall into the measured calls; they are no per-call cost.
const COMPILER =
  /^v8::internal::(compiler::|Zone|ZoneList|OptimizedCompilationJob|Compiler::|TurbofanCompilationJob|PipelineCompilationJob)|^v8::internal::\(anonymous namespace\)::Compile/;
const COMPILING = '(TurboFan compiling, left out of the totals)';

/** Self instructions per function of one callgrind dump (uncompressed names). */
function selfCosts(file, map) {
  const out = new Map();
  let fn = '?';
  let afterCall = false;
  let total = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) {
      fn = line.slice(3);
      if (/^0x[0-9a-f]+$/.test(fn)) fn = jitName(map, parseInt(fn, 16));
      else if (COMPILER.test(fn)) fn = COMPILING;
    } else if (line.startsWith('calls=')) afterCall = true;
    else if (/^[+-]?(\d|\*)/.test(line)) {
      if (afterCall) afterCall = false;
      else {
        const ir = Number(line.split(' ')[1] ?? 0);
        out.set(fn, (out.get(fn) ?? 0) + ir);
        if (fn !== COMPILING) total += ir;
      }
    }
  }
  return { out, total };
}

const results = [];
try {
  for (const transport of transportsArg.split(',')) {
    const prefix = `rec-count-${process.pid}-${transport}-`;
    const stop = await startMockProcess(transport, prefix);
    try {
      for (let r = 0; r < REPEAT; r++) {
        for (const [name, root] of roots) {
          for (const mode of modesArg.split(',')) {
            const out = join(dir, `cg.${transport}.${name}.${mode}.${r}`);
            const p = spawnSync(
              'valgrind',
              [
                '--tool=callgrind',
                '--separate-threads=yes',
                '--compress-strings=no',
                '--compress-pos=no',
                `--callgrind-out-file=${out}.%p`,
                process.execPath,
                '--perf-basic-prof',
                ...(process.env.NODE_ARGS ?? '--no-concurrent-recompilation').split(' ').filter(Boolean),
                join(here, 'rec-count-child.mjs'),
                root,
                prefix,
                mode,
                N,
                W,
                join(dir, `cap.${mode}`),
              ],
              { env: { ...process.env, CG_DUMP: '1' }, encoding: 'utf8' },
            );
            if (p.status !== 0) throw new Error(`${name} ${mode}: valgrind exited ${p.status}: ${p.stderr.slice(-2000)}`);
            const pid = /==(\d+)==/.exec(p.stderr)[1];
            const measured = readdirSync(dir).find((f) => f === `cg.${transport}.${name}.${mode}.${r}.${pid}.2-01`);
            const { out: fns, total } = selfCosts(join(dir, measured), perfMap(pid));
            results.push({ transport, side: `${name} ${mode}`, total: total / Number(N), fns });
            process.stderr.write(`${transport} ${name} ${mode} #${r}: ${(total / Number(N)).toFixed(0)} instructions per call\n`);
          }
        }
      }
    } finally {
      await stop();
    }
  }
} finally {
  if (process.env.KEEP) process.stderr.write(`callgrind files kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}

for (const transport of transportsArg.split(',')) {
  const rs = results.filter((x) => x.transport === transport);
  const sides = [...new Set(rs.map((x) => x.side))];
  // per side: the per-call self cost of each function, the mean over its runs
  const per = sides.map((s) => {
    const runs = rs.filter((x) => x.side === s);
    const m = new Map();
    for (const x of runs) for (const [f, ir] of x.fns) m.set(f, (m.get(f) ?? 0) + ir / Number(N) / runs.length);
    return { side: s, totals: runs.map((x) => x.total), m };
  });
  console.log(`== ${transport}: N=${N} W=${W}, instructions per call on the loop thread`);
  for (const p of per) console.log(`  ${p.side}: ${p.totals.map((t) => t.toFixed(0)).join(' / ')}`);
  const base = per[0];
  for (const p of per.slice(1)) {
    const names = new Set([...base.m.keys(), ...p.m.keys()]);
    const diff = [...names].map((f) => [f, (p.m.get(f) ?? 0) - (base.m.get(f) ?? 0), base.m.get(f) ?? 0, p.m.get(f) ?? 0]).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    console.log(`  ${p.side} - ${base.side}, by function (self; difference, ${base.side}, ${p.side}):`);
    for (const [f, d, a, b] of diff.slice(0, TOP))
      console.log(`    ${d >= 0 ? '+' : ''}${d.toFixed(1).padStart(8)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(8)}  ${f.slice(0, 150)}`);
  }
}
