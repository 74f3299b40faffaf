import { defineConfig } from 'vitest/config';

// What every package's tests share. They start real daemons, stock tools, CLI processes and a
// headless browser on a shared 2-core machine, where one process spawn can take seconds under
// load: generous limits, and tests that wait for a state, never for a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll() waits for a state; vitest's default gives it 1 s, which one descheduled
    // second of a loaded CI machine is enough to miss.
    expect: { poll: { timeout: 30_000 } },
  },
});
