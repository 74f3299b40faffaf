import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// Two files at a time, not vitest's one on a 2-core machine: the slow files mostly wait on real
// clusters' totem and on corosync-vqsim (real-cluster: 61 CPU-s in its 108 s, 28% of two cores;
// vqsim: 8.6 CPU-s in 60 s, 7%), and every real daemon gets its own namespaces and tmpfs, every
// mock its own socket prefix.
export default mergeConfig(shared, defineConfig({ test: { maxWorkers: 2, minWorkers: 1 } }));
