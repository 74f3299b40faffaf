// What a user without a toolchain sees: a clear message at install and at import.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('install and import without the native addon', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('the install script names the missing tool and what to install', () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-ipc-nocc-'));
    // A PATH with a shell and node but no compiler.
    symlinkSync('/bin/sh', join(dir, 'sh'));
    symlinkSync(process.execPath, join(dir, 'node'));
    const r = spawnSync(process.execPath, [join(pkg, 'scripts/build-native.mjs')], {
      env: { PATH: dir },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("@corosync-ts/ipc: cannot build the native addon: 'cc' was not found");
    expect(r.stderr).toContain('build-essential');
  });

  it('importing the package throws an IpcError saying how to build the addon', () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-ipc-noaddon-'));
    cpSync(join(pkg, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(pkg, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(pkg, 'node_modules'), join(dir, 'node_modules'));
    const probe = join(dir, 'probe.mjs');
    writeFileSync(
      probe,
      `try { await import('./dist/index.js'); console.log('imported'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`,
    );
    const r = spawnSync(process.execPath, [probe], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { name: string; code: string; message: string };
    expect(out).toMatchObject({ name: 'IpcError', code: 'ENOTSUP' });
    expect(out.message).toContain('native addon of @corosync-ts/ipc is not built');
    expect(out.message).toContain('build-essential');
  });
});
