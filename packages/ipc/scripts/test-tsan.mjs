// `pnpm test:tsan`: builds the addon with ThreadSanitizer into native/build-tsan and runs the
// fixtures whose envs share the addon's process-wide state from several threads (Workers beside
// the main thread) against it, libtsan preloaded. Node itself is not instrumented, so TSan also
// reports Node's and V8's own synchronisation it cannot see (MessagePort, V8's platform): only a
// report with a frame in native/ipc.c fails the run; the others are counted and ignored.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildAddon, gccFile, pkg } from './sanitizer-build.mjs';

const tsan = gccFile('test:tsan', 'libtsan.so');
const addon = buildAddon('test:tsan', 'build-tsan', ['-fsanitize=thread']);

// [fixture, args, the JSON line it must print]
const runs = [['waiter-envs.mjs', ['8'], { stops: [1, 1, 1, 1, 1, 1, 1, 1], workerUnmapped: true }]];
let bad = 0;
for (const [fixture, args, want] of runs) {
  const r = spawnSync(process.execPath, [join(pkg, 'test', 'fixtures', fixture), addon, ...args], {
    env: { ...process.env, LD_PRELOAD: tsan, TSAN_OPTIONS: 'halt_on_error=0:exitcode=0' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const reports = r.stderr.split('==================\n').filter((b) => b.includes('WARNING: ThreadSanitizer'));
  const ours = reports.filter((b) => b.includes('ipc.c:'));
  const last = r.stdout.trim().split('\n').pop() ?? '';
  const ok = r.status === 0 && ours.length === 0 && last === JSON.stringify(want);
  console.log(`${ok ? 'ok' : 'FAIL'} ${fixture}: exit ${r.status ?? r.signal}, ${ours.length} report(s) in ipc.c, ${reports.length - ours.length} in Node itself ignored; ${last}`);
  for (const b of ours) console.error(b);
  if (!ok) bad++;
}
process.exit(bad ? 1 : 0);
