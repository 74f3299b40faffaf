import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// One headless Chromium at a time. expect.poll waits for what the page does next (an animation
// frame, a timer); its 1 s default is less than one frame can take on a loaded 2-core machine.
export default mergeConfig(shared, defineConfig({ test: { pool: 'forks', fileParallelism: false, expect: { poll: { timeout: 30_000 } } } }));
