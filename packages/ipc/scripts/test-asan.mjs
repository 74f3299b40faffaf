// `pnpm test:asan`: builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer
// into native/build-asan (the normal build in native/build is left alone) and runs the
// addon's own tests and the ipc tests against it (COROSYNC_TS_IPC_ADDON), with the
// sanitizer runtimes preloaded: node itself is not instrumented, so libasan must be
// loaded before anything else. Any sanitizer report fails the run.
//
// ASAN_OPTIONS:
//   detect_leaks=0      Node and V8 deliberately leave memory to the OS at exit; LeakSanitizer
//                       would report thousands of such blocks from the uninstrumented binary.
//                       The addon's own lifetimes are covered by the tests' fd, mapping and
//                       /dev/shm checks instead.
//   handle_sigbus=0     the addon owns SIGBUS for its mappings (a truncated ring file); ASan
//                       would otherwise take the signal first and report it as a crash.
//   allow_user_segv_handler=1  V8 installs its own SIGSEGV handler (WebAssembly bounds traps).
//   halt_on_error=1, abort_on_error=0: stop at the first report, with an error exit.
// UBSAN_OPTIONS halt_on_error=1: undefined behaviour fails the run rather than only printing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(pkg, 'native', 'build-asan');
const addon = join(outDir, 'corosync_ts_ipc.node');

function fail(msg) {
  console.error(`test:asan: ${msg}`);
  process.exit(1);
}

function gccFile(name) {
  const r = spawnSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const p = r.stdout?.trim();
  if (r.status !== 0 || !p || !p.startsWith('/') || !existsSync(p)) fail(`gcc does not provide ${name} (apt-get install gcc)`);
  return p;
}

const include = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')].find(
  (d) => d && existsSync(join(d, 'node_api.h')),
);
if (!include) fail("Node's headers (include/node/node_api.h) were not found next to this node; set npm_config_nodedir");

mkdirSync(outDir, { recursive: true });
const cc = spawnSync(
  'gcc',
  [
    '-std=gnu11', '-g', '-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined',
    '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers', '-Wno-format-truncation',
    '-fPIC', '-shared', '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=corosync_ts_ipc', `-I${include}`,
    join(pkg, 'native', 'ipc.c'), '-o', addon, '-lpthread', '-ldl',
  ],
  { stdio: 'inherit' },
);
if (cc.status !== 0) fail('the sanitizer build of the addon failed');

const tests = process.argv.slice(2);
const env = {
  ...process.env,
  COROSYNC_TS_IPC_ADDON: addon,
  LD_PRELOAD: [gccFile('libasan.so'), gccFile('libubsan.so')].join(':'),
  ASAN_OPTIONS: 'detect_leaks=0:handle_sigbus=0:allow_user_segv_handler=1:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
const vitest = join(pkg, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(
  process.execPath,
  [vitest, 'run', ...(tests.length ? tests : ['test/native.test.ts', 'test/ring.test.ts', 'test/hostile.test.ts', 'test/hostile-shm.test.ts', 'test/loopback.test.ts', 'test/capture.test.ts'])],
  { cwd: pkg, env, stdio: 'inherit' },
);
process.exit(run.status ?? 1);
