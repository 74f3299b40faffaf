import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';

// The same script of cpg calls through libcpg (test/cref/cpg.c) and through this package
// (test/cref/cpg.mjs), on the same daemon, must print identical lines: results, every
// cs_error_t, and the events in their order (own messages, a 3 MB message in fragments, a second
// process joining, sending and exiting, the leave).

// corosync lists a group's members by (nodeid, pid) (exec/cpg.c keeps its process list sorted),
// and the two runs' processes get unrelated pids: the child may come before the parent in one run
// and after it in the other. A list's entries are compared as a set.
const unordered = (line: string): string =>
  line.replace(/ (members|left|joined)=(\S*)/g, (_, what: string, l: string) => ` ${what}=${l.split(',').sort().join(',')}`);
for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg: C reference vs TypeScript on corosync 3.1.7 (${transport})`, () => {
    let ns: Namespace;
    let cref: string;

    beforeAll(async () => {
      buildDist();
      cref = await compileC(readFileSync(new URL('./cref/cpg.c', import.meta.url), 'utf8'), ['cpg']);
      ns = await startNamespace({ name: `client-cpg-${transport}` });
      await ns.startCorosync({ transport });
    }, 180_000);

    afterAll(async () => {
      await ns?.close();
    });

    it('every call, error and event is what libcpg gives', async () => {
      const c = await ns.exec([cref], { timeout: 120_000 });
      expect(c.code, c.stderr).toBe(0);
      const t = await ns.exec([process.execPath, script('cpg.mjs')], { timeout: 120_000, env: await crashTraceEnv() });
      expect(t.code, t.stderr).toBe(0);
      const cl = c.stdout.trimEnd().split('\n').map(unordered);
      const tl = t.stdout.trimEnd().split('\n').map(unordered);
      expect(cl.length).toBeGreaterThan(50);
      expect(tl).toEqual(cl);
      // What the comparison rests on, spelled out once.
      expect(cl).toContain('mcast 3000000 1');
      expect(cl.some((l) => /^ {2}deliver cref-g node=1 pid=self len=3000000 /.test(l))).toBe(true);
      expect(cl.some((l) => / left=1:child:5 /.test(l))).toBe(true);
      expect(cl.some((l) => / left=1:self:2 /.test(l))).toBe(true);
    }, 180_000);
  });
}
