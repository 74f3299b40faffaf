import { describe, expect, it } from 'vitest';
import { runtimeLibc } from '../src/native.js';

describe('runtimeLibc (which prebuild to load)', () => {
  it('names the C library the process report names: glibc when it reports a glibc version, else musl', () => {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    expect(runtimeLibc()).toBe(header?.glibcVersionRuntime ? 'glibc' : 'musl');
  });
});
