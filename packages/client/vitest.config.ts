import { defineConfig } from 'vitest/config';

// Real daemons and stock tools on a shared 2-core machine: generous limits, never timing-based.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
