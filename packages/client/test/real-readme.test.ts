import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, pkgDir } from './real-helpers.js';

describeReal('the README example', () => {
  let ns: Namespace;
  let dir: string;
  beforeAll(async () => {
    buildDist();
    ns = await startNamespace({ name: 'client-readme' });
    await ns.startCorosync({ transport: 'socket' });
    dir = mkdtempSync(join(pkgDir, '.readme-'));
  }, 180_000);
  afterAll(async () => {
    await ns?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written against a real daemon', async () => {
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const file = join(dir, 'example.mjs');
    // the only change: resolve the package to this checkout's build
    writeFileSync(file, code.replace("from '@corosync-ts/client'", `from ${JSON.stringify(join(pkgDir, 'dist/index.js'))}`));
    const r = await ns.exec([process.execPath, file], { timeout: 60_000, env: await crashTraceEnv() });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('cluster nstest');
    expect(r.stdout).toMatch(/^2$/m);
    expect(r.stdout).toContain('CS_ERR_NOT_EXIST');
    expect(r.stdout).toContain('now 3');
    expect(r.stdout).toMatch(/quorate true/);
  }, 120_000);

  it('the cpg and cfg example runs as written against a real daemon', async () => {
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const code = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((c) => c.includes('cpg.initialize'))!;
    const file = join(dir, 'cpg-cfg.mjs');
    writeFileSync(file, code.replace("from '@corosync-ts/client'", `from ${JSON.stringify(join(pkgDir, 'dist/index.js'))}`));
    const r = await ns.exec([process.execPath, file], { timeout: 60_000, env: await crashTraceEnv() });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('members 1 joined 1 left 0');
    expect(r.stdout).toMatch(/^deliver 1 \d+ hello$/m);
    expect(r.stdout).toMatch(/^deliver 1 \d+ 3000000 bytes$/m);
    expect(r.stdout).toContain('node 1 [ \'127.0.0.1\' ]');
    expect(r.stdout).toContain('links 1');
  }, 120_000);
});
