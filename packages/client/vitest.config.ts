import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// Three files at a time, not vitest's one on a 2-core machine: the slow files wait for totem,
// daemons and driver processes far more than they compute (real-diff-vq: 45 CPU-s in its 84 s,
// 27% of two cores; sam/process: 28 CPU-s in 56 s, 25%), and every real daemon gets its own
// namespaces and tmpfs, every mock its own socket prefix, every C driver a content-hashed binary.
export default mergeConfig(shared, defineConfig({ test: { globalSetup: ['test/global-setup.ts'], maxWorkers: 3, minWorkers: 1 } }));
