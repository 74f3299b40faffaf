import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/proc.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
// vitest's own entry run by this very node: the node_modules/.bin shim is a shell script that needs
// sed and dirname, which the stripped PATH below does not have when node is not in /usr/bin.
const vitestEntry = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

// Runs a tiny suite in a child vitest with corosync hidden from PATH.
async function runFixture(ci: boolean) {
  const env: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:/nonexistent`,
    CI: ci ? 'true' : 'false',
  };
  return run([process.execPath, vitestEntry, 'run', '--config', join(fixtures, 'vitest.config.ts'), '--reporter', 'verbose'], {
    env,
    cwd: fixtures,
    timeout: 120_000,
  });
}

describe('describeReal (and the other describeRequiring users) without what they need', () => {
  it('skips with a one-line reason when CI is not set', async () => {
    const r = await runFixture(false);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/needs a real daemon \[skipped: missing corosync/);
    expect(out).toMatch(/needs a missing program \[skipped: no-such-program-for-nstest not installed\]/);
    expect(out).toMatch(/needs root \[skipped: needs root for setpriv\]/);
    expect(out).toMatch(/✓.*needs-program.fixture.ts.*needs node.*runs/);
  });

  it('fails under CI=true', async () => {
    const r = await runFixture(true);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(1);
    expect(out).toMatch(/real corosync unavailable under CI=true: missing corosync/);
    expect(out).toMatch(/node, no-such-program-for-nstest unavailable under CI=true: no-such-program-for-nstest not installed/);
    expect(out).toMatch(/root unavailable under CI=true: needs root for setpriv/);
  });
});
