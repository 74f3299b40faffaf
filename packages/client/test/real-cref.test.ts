import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, crefSource, script } from './real-helpers.js';

// The same script of calls through libcmap/libquorum/libvotequorum (test/cref/cref.c) and through
// this package (test/cref/ts-ref.mjs), on the same daemon, must print identical lines: results,
// outputs, notifications and every cs_error_t. The daemon: 3-node nodelist, node 1 up (inquorate).
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`C reference vs TypeScript on corosync 3.1.7 (${transport})`, () => {
    let ns: Namespace;
    let cref: string;

    beforeAll(async () => {
      buildDist();
      cref = await compileC(crefSource(), ['cmap', 'quorum', 'votequorum']);
      ns = await startNamespace({ name: `client-cref-${transport}` });
      await ns.startCorosync({ transport, nodes: 3 });
    }, 180_000);

    afterAll(async () => {
      await ns?.close();
    });

    for (const part of ['cmap', 'quorum', 'votequorum'] as const) {
      it(`${part}: every call gives what the C library gives`, async () => {
        const c = await ns.exec([cref, part], { timeout: 120_000 });
        expect(c.code, c.stderr).toBe(0);
        const t = await ns.exec([process.execPath, script('ts-ref.mjs'), part], { timeout: 120_000, env: await crashTraceEnv() });
        expect(t.code, t.stderr).toBe(0);
        const cl = c.stdout.trimEnd().split('\n');
        const tl = t.stdout.trimEnd().split('\n');
        expect(cl.length).toBeGreaterThan(part === 'cmap' ? 100 : 30);
        expect(tl).toEqual(cl);
      }, 180_000);
    }
  });
}

describeReal('C reference vs TypeScript on corosync 3.1.7 without a quorum provider', () => {
  let ns: Namespace;
  let cref: string;
  beforeAll(async () => {
    buildDist();
    cref = await compileC(crefSource(), ['cmap', 'quorum', 'votequorum']);
    ns = await startNamespace({ name: 'client-cref-free' });
    await ns.startCorosync({ transport: 'socket', quorum: { provider: null } });
  }, 180_000);
  afterAll(async () => {
    await ns?.close();
  });

  it('QUORUM_FREE, always quorate, and no votequorum service (CS_ERR_LIBRARY)', async () => {
    const c = await ns.exec([cref, 'free'], { timeout: 60_000 });
    const t = await ns.exec([process.execPath, script('ts-ref.mjs'), 'free'], { timeout: 60_000, env: await crashTraceEnv() });
    expect(t.code, t.stderr).toBe(0);
    expect(c.stdout).toContain('quorum.initialize 1 0');
    expect(c.stdout).toContain('votequorum.initialize 2');
    expect(t.stdout.trimEnd().split('\n')).toEqual(c.stdout.trimEnd().split('\n'));
  }, 120_000);
});
