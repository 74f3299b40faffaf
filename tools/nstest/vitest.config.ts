import { defineConfig } from 'vitest/config';

// Real daemons on a shared 2-core machine: generous timeouts, never timing assertions.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
