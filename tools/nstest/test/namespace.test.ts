import { spawn } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { compileC, describeReal, openNamespaces, startNamespace, waitFor, type Namespace } from '../src/index.js';
import { fdsHolding, hostHasNstestMounts, pin } from './helpers.js';

describeReal('startNamespace', () => {
  const opened: Namespace[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((ns) => ns.close()));
  });

  it('gives its own network and mount namespace with lo up and private tmpfs dirs', async () => {
    const ns = await startNamespace({ name: 'basic' });
    opened.push(ns);
    expect(ns.netns).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(readlinkSync(`/proc/${ns.pid}/ns/mnt`)).not.toBe(readlinkSync('/proc/self/ns/mnt'));

    const links = await ns.execOk(['ip', '-o', 'link', 'show']);
    expect(links.trim().split('\n')).toHaveLength(1);
    expect(links).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);

    const mounts = await ns.execOk(['cat', '/proc/self/mountinfo']);
    for (const d of ['/run', '/dev/shm', '/var/lib/corosync']) {
      expect(mounts).toMatch(new RegExp(` ${d.replace(/\//g, '\\/')} .* - tmpfs nstest `));
    }
    // A file made inside /dev/shm stays inside.
    await ns.execOk(['sh', '-c', 'echo x > /dev/shm/nstest-probe']);
    expect(existsSync('/dev/shm/nstest-probe')).toBe(false);
    expect((await ns.exec(['cat', '/dev/shm/nstest-probe'])).stdout).toBe('x\n');
    expect(hostHasNstestMounts()).toBe(false);
  });

  // close() waits until no process is left in the namespace, found by its inode number; once the
  // namespace is freed, that number is the next new namespace's (a parallel test's): close() would
  // wait for, and kill, that test's processes. Held open, the namespace keeps its number.
  it('holds its network namespace open until close() has seen it empty', async () => {
    const ns = await startNamespace({ name: 'held' });
    expect(fdsHolding(ns.netns)).toHaveLength(1);
    await ns.close();
    expect(fdsHolding(ns.netns)).toEqual([]);
  });

  it('exec reports exit codes, stderr, input and env', async () => {
    const ns = await startNamespace();
    opened.push(ns);
    const r = await ns.exec(['sh', '-c', 'read a; echo "$a $FOO"; echo err >&2; exit 3'], {
      input: 'hello\n',
      env: { FOO: 'bar' },
    });
    expect(r).toMatchObject({ code: 3, stdout: 'hello bar\n', stderr: 'err\n' });
    await expect(ns.execOk(['false'])).rejects.toThrow(/exited with 1/);
  });

  it('close() kills everything inside, is idempotent and leaves nothing behind', async () => {
    const ns = await startNamespace({ name: 'closing' });
    const child = ns.spawn(['sleep', '1000'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', (code, sig) => r(sig)));
    // A grandchild that detaches from its parent must die too.
    await ns.execOk(['sh', '-c', 'setsid sleep 1001 >/dev/null 2>&1 < /dev/null &']);
    const pinned = pin(ns);
    expect(pinned.leftovers().length).toBeGreaterThanOrEqual(4); // unshare, holder, 2 sleeps
    await Promise.all([ns.close(), ns.close()]);
    await ns.close();
    expect(await exited).toBe('SIGKILL');
    expect(pinned.leftovers()).toEqual([]);
    pinned.release();
    expect(existsSync(ns.dir)).toBe(false);
    expect(openNamespaces()).not.toContain(ns);
    expect(() => ns.spawn(['true'])).toThrow(/closed/);
  });

  it('compileC builds (once) a helper that links against the corosync libraries', async () => {
    const src = `#include <stdio.h>
#include <corosync/cmap.h>
int main(void) { cmap_handle_t h; int r = cmap_initialize(&h); printf("%d\\n", r); return 0; }
`;
    const bin = await compileC(src, ['cmap']);
    expect(await compileC(src, ['cmap'])).toBe(bin);
    const ns = await startNamespace();
    opened.push(ns);
    // No daemon in this namespace: the library reports CS_ERR_LIBRARY (2).
    expect((await ns.execOk([bin])).trim()).toBe('2');
    await expect(compileC('int main(void) { return nope; }', [])).rejects.toThrow(/gcc failed/);
  });
});

describeReal('a test process that dies without closing', () => {
  it('leaves nothing behind: the holder notices and kills everything in its namespace', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'orphan.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_, signal) => r(signal)));
    await waitFor('the fixture to report its namespace', () => out.includes('\n') || child.exitCode !== null, { timeout: 120_000 });
    const { pid, netns, dir } = JSON.parse(out) as { pid: number; netns: string; dir: string };
    const pinned = pin({ pid, netns });
    child.stdin.end('die\n');
    expect(await exited, err).toBe('SIGKILL');
    await waitFor('the orphaned namespace to empty', () => pinned.leftovers().length === 0, { timeout: 30_000 });
    pinned.release();
    await waitFor('the orphaned conf dir to go', () => !existsSync(dir), { timeout: 30_000 });
  });
});
