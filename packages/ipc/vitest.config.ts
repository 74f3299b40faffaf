import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// One test file at a time: 1,000-client runs and real daemons each need the whole machine's fds and CPU.
export default mergeConfig(shared, defineConfig({ test: { pool: 'forks', fileParallelism: false } }));
