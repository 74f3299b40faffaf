import { defineConfig } from 'vitest/config';

// Stock tools, real daemons and CLI processes on a shared 2-core machine, where a process spawn can
// take seconds under load: generous limits, never timing-based assertions.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
