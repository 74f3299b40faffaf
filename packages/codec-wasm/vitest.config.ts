import { defineConfig } from 'vitest/config';

// Fuzzing, a headless browser and CLI processes on a shared 2-core machine: generous limits,
// never timing-based assertions.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
