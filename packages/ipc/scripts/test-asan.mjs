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
import { join } from 'node:path';
import { buildAddon, gccFile, pkg } from './sanitizer-build.mjs';

const addon = buildAddon('test:asan', 'build-asan', ['-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);

const tests = process.argv.slice(2);
const env = {
  ...process.env,
  COROSYNC_TS_IPC_ADDON: addon,
  LD_PRELOAD: [gccFile('test:asan', 'libasan.so'), gccFile('test:asan', 'libubsan.so')].join(':'),
  ASAN_OPTIONS: 'detect_leaks=0:handle_sigbus=0:allow_user_segv_handler=1:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
const vitest = join(pkg, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(
  process.execPath,
  [vitest, 'run', ...(tests.length ? tests : ['test/native.test.ts', 'test/handle-kinds.test.ts', 'test/ring-write.test.ts', 'test/ring.test.ts', 'test/hostile.test.ts', 'test/hostile-shm.test.ts', 'test/loopback.test.ts', 'test/capture.test.ts', 'test/answer-repeats.test.ts', 'test/answer-spin.test.ts', 'test/fast-answer.test.ts'])],
  { cwd: pkg, env, stdio: 'inherit' },
);
process.exit(run.status ?? 1);
