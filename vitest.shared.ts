import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// What every package's tests share. They start real daemons, stock tools, CLI processes and a
// headless browser on a shared 2-core machine, where one process spawn can take seconds under
// load: generous limits, and tests that wait for a state, never for a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Names the file and the signal or exit code of a fork that dies mid-file (vitest alone says
    // only "Channel closed"). A package's own globalSetup is added to it (mergeConfig concatenates).
    globalSetup: [fileURLToPath(new URL('./vitest.forkwatch.ts', import.meta.url))],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll() waits for a state; vitest's default gives it 1 s, which one descheduled
    // second of a loaded CI machine is enough to miss.
    expect: { poll: { timeout: 30_000 } },
  },
});
