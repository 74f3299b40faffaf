// What a user sees when the addon is missing or unloadable: the install script's fallback build,
// an import that never throws, and a first call that says which files were tried and why.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@corosync-ts/nstest';
import { afterEach, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const hostPrebuild = join(pkg, 'prebuilds', `linux-${process.arch}`, 'corosync_ts_ipc.glibc.node');

/** A copy of the built package without any addon, as an install that got no binary leaves it. */
function bareCopy(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(pkg, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(pkg, 'scripts'), join(dir, 'scripts'), { recursive: true });
  mkdirSync(join(dir, 'native'));
  copyFileSync(join(pkg, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(pkg, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** A PATH with a shell and node but no compiler. */
function noCompilerPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync('/bin/sh', join(bin, 'sh'));
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

type Outcome = { imported: boolean; name?: string; code?: string; message?: string; cause?: string; transport?: string };

/** Imports the copy's dist (must not throw), then makes the first call that needs the addon. */
async function firstCall(dir: string, env: Record<string, string> = {}): Promise<Outcome> {
  const probe = join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    `let ipc;
try { ipc = await import('./dist/index.js'); } catch (e) { console.log(JSON.stringify({ imported: false, message: e.message })); process.exit(0); }
try {
  const server = ipc.createServer('cts-install-probe-' + process.pid);
  await server.listen();
  const c = await ipc.connect('cts-install-probe-' + process.pid);
  console.log(JSON.stringify({ imported: true, transport: c.transport }));
  await c.close(); await server.close();
} catch (e) {
  console.log(JSON.stringify({ imported: true, name: e.name, code: e.code, message: e.message, cause: e.cause?.message }));
}`,
  );
  const r = await run([process.execPath, probe], { timeout: 60_000, env: { COROSYNC_TS_IPC_ADDON: '', ...env } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Outcome;
}

describe('install and first use without a usable addon', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('run by hand without a compiler, the source build names the missing tool and fails', async () => {
    dir = bareCopy('cts-ipc-nocc-');
    const r = await run([process.execPath, join(dir, 'scripts/build-native.mjs')], { env: { PATH: noCompilerPath(dir) }, replaceEnv: true, timeout: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("@corosync-ts/ipc: cannot build the native addon: 'cc' was not found");
    expect(r.stderr).toContain('build-essential');
  });

  it('the source build links with the C compiler: no g++ needed', async () => {
    dir = bareCopy('cts-ipc-gcc-only-');
    for (const f of ['ipc.c', 'binding.gyp']) copyFileSync(join(pkg, 'native', f), join(dir, 'native', f));
    const r = await run([process.execPath, join(dir, 'scripts/build-native.mjs')], { env: { CXX: '/bin/false' }, timeout: 110_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await firstCall(dir)).toEqual({ imported: true, transport: 'shm' });
  });

  it('as an install script it lets the install finish, and the first call quotes why the build failed', async () => {
    dir = bareCopy('cts-ipc-install-');
    const r = await run([process.execPath, join(dir, 'scripts/build-native.mjs')], {
      env: { PATH: noCompilerPath(dir), npm_lifecycle_event: 'install' },
      replaceEnv: true,
      timeout: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'native', 'install-error.txt'), 'utf8')).toContain("'cc' was not found");
    const out = await firstCall(dir);
    expect(out).toMatchObject({ imported: true, name: 'IpcError', code: 'ENOTSUP' });
    expect(out.message).toContain(`${join(dir, 'prebuilds', `linux-${process.arch}`, 'corosync_ts_ipc.glibc.node')} (absent)`);
    expect(out.message).toContain(`${join(dir, 'native', 'build', 'Release', 'corosync_ts_ipc.node')} (absent)`);
    expect(out.message).toContain("The install script tried to build it from source and failed: 'cc' was not found");
  });

  it('with no binary and no install record, importing works and the first call explains skipped install scripts and bundlers', async () => {
    dir = bareCopy('cts-ipc-noaddon-');
    const out = await firstCall(dir);
    expect(out).toMatchObject({ imported: true, name: 'IpcError', code: 'ENOTSUP' });
    expect(out.message).toContain('could not be loaded on linux-');
    expect(out.message).toContain('pnpm approve-builds');
    expect(out.message).toContain('--ignore-scripts');
    expect(out.message).toContain(`node ${join(dir, 'scripts', 'build-native.mjs')}`);
    expect(out.message).toContain('COROSYNC_TS_IPC_ADDON');
  });

  it('a binary that is present but does not load is reported with the loader error as the cause', async () => {
    dir = bareCopy('cts-ipc-badaddon-');
    const slot = join(dir, 'prebuilds', `linux-${process.arch}`, 'corosync_ts_ipc.glibc.node');
    mkdirSync(join(slot, '..'), { recursive: true });
    writeFileSync(slot, 'not an ELF file');
    const out = await firstCall(dir);
    expect(out).toMatchObject({ imported: true, name: 'IpcError', code: 'ENOTSUP' });
    expect(out.message).toMatch(new RegExp(`${slot.replace(/[.]/g, '\\.')} \\(.*(invalid ELF header|too short).*\\)`));
    expect(out.cause).toMatch(/invalid ELF header|too short/);
    expect(out.message).toContain(`node ${join(dir, 'scripts', 'build-native.mjs')}`);
    expect(out.message).not.toContain('did not run');
  });

  it('COROSYNC_TS_IPC_ADDON loads the named file instead, and must be absolute', async () => {
    expect(existsSync(hostPrebuild)).toBe(true);
    dir = bareCopy('cts-ipc-override-');
    expect(await firstCall(dir, { COROSYNC_TS_IPC_ADDON: hostPrebuild })).toEqual({ imported: true, transport: 'shm' });
    const rel = await firstCall(dir, { COROSYNC_TS_IPC_ADDON: 'addon.node' });
    expect(rel.message).toContain("COROSYNC_TS_IPC_ADDON must be the absolute path of a .node file, got 'addon.node'");
    const missing = await firstCall(dir, { COROSYNC_TS_IPC_ADDON: join(dir, 'nope.node') });
    expect(missing.message).toContain(`${join(dir, 'nope.node')} (absent)`);
    expect(missing.message).toContain('unset it');
  });

  it('the shipped prebuilds are ELF shared objects for their architecture, and the host one serves a connection', async () => {
    const machine = (f: string) => readFileSync(f).readUInt16LE(18); // e_machine
    const dir64 = join(pkg, 'prebuilds');
    expect(machine(join(dir64, 'linux-x64', 'corosync_ts_ipc.glibc.node'))).toBe(62); // EM_X86_64
    expect(machine(join(dir64, 'linux-x64', 'corosync_ts_ipc.musl.node'))).toBe(62);
    expect(machine(join(dir64, 'linux-arm64', 'corosync_ts_ipc.glibc.node'))).toBe(183); // EM_AARCH64
    dir = bareCopy('cts-ipc-prebuilt-');
    cpSync(join(pkg, 'prebuilds'), join(dir, 'prebuilds'), { recursive: true });
    expect(await firstCall(dir)).toEqual({ imported: true, transport: 'shm' });
  });
});
