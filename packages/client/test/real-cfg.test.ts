import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';

// The same script of cfg calls through libcfg (test/cref/cfg.c) and through this package
// (test/cref/cfg.mjs), on the same daemon (3-node nodelist, node 1 up), must print identical
// lines: results, every cs_error_t (the ones libcfg hides included) and a shutdown vetoed by a
// tracker that answers NO.
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cfg: C reference vs TypeScript on corosync 3.1.7 (${transport})`, () => {
    let ns: Namespace;
    let cref: string;

    beforeAll(async () => {
      buildDist();
      cref = await compileC(readFileSync(new URL('./cref/cfg.c', import.meta.url), 'utf8'), ['cfg']);
      ns = await startNamespace({ name: `client-cfg-${transport}` });
      await ns.startCorosync({ transport, nodes: 3 });
    }, 180_000);

    afterAll(async () => {
      await ns?.close();
    });

    it('every call and error is what libcfg gives, a tracker vetoes a shutdown', async () => {
      const c = await ns.exec([cref], { timeout: 120_000 });
      expect(c.code, c.stderr).toBe(0);
      const t = await ns.exec([process.execPath, script('cfg.mjs')], { timeout: 120_000, env: await crashTraceEnv() });
      expect(t.code, t.stderr).toBe(0);
      const cl = c.stdout.trimEnd().split('\n');
      const tl = t.stdout.trimEnd().split('\n');
      expect(tl).toEqual(cl);
      // What the comparison rests on, spelled out once.
      expect(cl.length).toBeGreaterThan(25);
      expect(cl).toContain('replyto_shutdown(no session) 1');
      expect(cl).toContain('  shutdown callback flags=0');
      expect(cl).toContain('try_shutdown(REQUEST) 10');
      expect(cl).toContain('node_status_get(99, 1) 21');
    }, 180_000);
  });
}
