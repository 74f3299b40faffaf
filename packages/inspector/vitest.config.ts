import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// One headless Chromium at a time.
export default mergeConfig(shared, defineConfig({ test: { pool: 'forks', fileParallelism: false } }));
