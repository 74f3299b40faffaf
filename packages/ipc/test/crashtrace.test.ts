// The crash trace the fixture children run with (nstest's crashtrace.c, preloaded): a real fault
// prints the signal, thread, backtrace and each frame's module and file offset, and the child
// still dies of the signal; a WebAssembly bounds trap, which goes through the same SIGSEGV, is
// still a RuntimeError and prints nothing.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compileC, crashTraceEnv } from '@corosync-ts/nstest/core';
import { describe, expect, it } from 'vitest';

const probe = fileURLToPath(new URL('./fixtures/crashtrace-probe.mjs', import.meta.url));
const sanitized = /lib[at]san/.test(process.env.LD_PRELOAD ?? '');

// Exported, so that backtrace_symbols names it; noinline keeps it a frame of its own.
const faultSource = `
__attribute__((noinline)) void crashtrace_test_fault(void) { *(volatile int *)0 = 1; }
__attribute__((constructor)) static void crashtrace_test_init(void) { crashtrace_test_fault(); }
`;

// Each frame keeps a page live across the call, so neither a tail call nor the optimizer ends it.
const overflowSource = `
__attribute__((noinline)) int crashtrace_test_overflow(volatile char *up) {
  volatile char page[4096];
  page[0] = up ? up[0] : 1;
  return crashtrace_test_overflow(page) + page[0];
}
__attribute__((constructor)) static void crashtrace_test_init(void) { crashtrace_test_overflow(0); }
`;

function run(args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return crashTraceEnv().then(
    (env) =>
      new Promise((resolve) => {
        execFile(process.execPath, [probe, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          const e = err as { code?: number; signal?: string } | null;
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
        });
      }),
  );
}

describe.skipIf(sanitized)('crash trace', () => {
  for (const where of ['main', 'worker'] as const) {
    it(`a NULL write on the ${where} thread prints where, and the child still dies of SIGSEGV`, { timeout: 120_000 }, async () => {
      const lib = await compileC(faultSource, [], { cflags: ['-shared', '-fPIC'] });
      const r = await run(['fault', lib, where]);
      expect(r.signal, r.stderr).toBe('SIGSEGV');
      const head = /crashtrace: SIGSEGV \(11\) si_code 1 si_addr 0x0 pid (\d+) tid (\d+) thread "[^"\n]*"\n/.exec(r.stderr);
      expect(head, r.stderr).not.toBeNull();
      // A Worker is a thread of its own; the main thread's tid is the pid.
      expect(head![1] === head![2], r.stderr).toBe(where === 'main');
      expect(r.stderr).toContain(`${lib}(crashtrace_test_fault+0x0)`);
      const frame = new RegExp(`crashtrace: #\\d+ 0x[0-9a-f]+ file offset 0x[0-9a-f]+ in [0-9a-f]+-[0-9a-f]+ r-xp .* ${lib}\\n`);
      expect(r.stderr).toMatch(frame);
      expect(r.stderr).toContain('crashtrace: end\n');
    });
  }

  // The handler cannot run on the stack that overflowed: every thread, not only the main one,
  // needs an alternate signal stack for this to say anything.
  for (const where of ['main', 'worker'] as const) {
    it(`a native stack overflow on the ${where} thread prints where, and the child still dies of SIGSEGV`, { timeout: 120_000 }, async () => {
      const lib = await compileC(overflowSource, [], { cflags: ['-shared', '-fPIC'] });
      const r = await run(['fault', lib, where]);
      expect(r.signal, r.stderr).toBe('SIGSEGV');
      expect(r.stderr).toMatch(/crashtrace: SIGSEGV \(11\) si_code \d+ si_addr 0x[0-9a-f]+ pid \d+ tid \d+ thread "[^"\n]*"\n/);
      expect(r.stderr).toContain(`${lib}(crashtrace_test_overflow+0x`);
      expect(r.stderr).toContain('crashtrace: end\n');
    });
  }

  it('a WebAssembly out-of-bounds read is still a RuntimeError, each time, and prints no trace', { timeout: 120_000 }, async () => {
    const r = await run(['wasm']);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'RuntimeError: memory access out of bounds\n'.repeat(3), stderr: '' });
  });

  it('abort() prints where, and the child still dies of SIGABRT', { timeout: 120_000 }, async () => {
    const r = await run(['abort']);
    expect(r.signal, r.stderr).toBe('SIGABRT');
    expect(r.stderr).toMatch(/crashtrace: SIGABRT \(6\) si_code -6 /);
    expect(r.stderr).toContain('crashtrace: end\n');
  });
});
