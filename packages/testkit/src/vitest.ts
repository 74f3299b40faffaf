/// <reference types="node" preserve="true" />
// The published .d.ts files name Node types (Buffer, EventEmitter, NodeJS.*): they bring them along.
import { afterEach, beforeEach } from 'vitest';
import { startMockCorosync, type MockCorosync, type MockCorosyncOptions } from './server.js';

/**
 * Starts a fresh mock corosync before each test of the enclosing suite and closes it after.
 * Read `.current` inside a test (or use the getters). Each mock has its own socket prefix.
 */
export function useMockCorosync(opts: MockCorosyncOptions | (() => MockCorosyncOptions)): {
  readonly current: MockCorosync;
} {
  let mock: MockCorosync | undefined;
  beforeEach(async () => {
    mock = await startMockCorosync(typeof opts === 'function' ? opts() : opts);
  });
  afterEach(async () => {
    const m = mock;
    mock = undefined;
    await m?.close();
  });
  return {
    get current(): MockCorosync {
      if (mock === undefined) throw new Error('useMockCorosync: the mock only exists inside a test');
      return mock;
    },
  };
}
