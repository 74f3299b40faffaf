import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/proc.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const vitestBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'vitest');

// Runs a tiny suite in a child vitest with corosync hidden from PATH.
async function runFixture(ci: boolean) {
  const env: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:/nonexistent`,
    CI: ci ? 'true' : 'false',
  };
  return run([vitestBin, 'run', '--config', join(fixtures, 'vitest.config.ts'), '--reporter', 'verbose'], {
    env,
    cwd: fixtures,
    timeout: 120_000,
  });
}

describe('describeReal without corosync', () => {
  it('skips with a one-line reason when CI is not set', async () => {
    const r = await runFixture(false);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/needs a real daemon \[skipped: missing corosync/);
  });

  it('fails under CI=true', async () => {
    const r = await runFixture(true);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(1);
    expect(out).toMatch(/real corosync unavailable under CI=true: missing corosync/);
  });
});
