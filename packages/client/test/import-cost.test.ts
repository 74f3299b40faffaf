import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Cold start (issue 13): importing the package must not load Node builtins that only a capture
// (zlib, worker_threads) or a SAM process (net, child_process) needs; each one costs every
// importer milliseconds. dist/ is what users import; test/global-setup.ts builds it from src.
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const LAZY = ['zlib', 'worker_threads', 'net', 'child_process'];

/** The builtins loaded by a fresh process that imports `url` and nothing else. */
function builtinsLoadedBy(url: string): string[] {
  // The list is taken before process.stdout is touched: stdout on a pipe loads net by itself.
  const script = `
    await import(${JSON.stringify(url)});
    const loaded = JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)));
    process.stdout.write(loaded);`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

describe('import cost', () => {
  it('importing @corosync-ts/client loads none of zlib, worker_threads, net, child_process', () => {
    const loaded = builtinsLoadedBy(entry);
    // The probe must see builtins at all, or an empty list would pass for the wrong reason.
    expect(loaded).toContain('internal/modules/esm/loader');
    expect(loaded.filter((m) => LAZY.includes(m))).toEqual([]);
  });

  it('@corosync-ts/client/sam alone does not load them either', () => {
    const loaded = builtinsLoadedBy(fileURLToPath(new URL('../dist/sam/index.js', import.meta.url)));
    expect(loaded.filter((m) => LAZY.includes(m))).toEqual([]);
  });
});
