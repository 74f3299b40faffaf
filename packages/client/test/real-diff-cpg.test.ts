import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, describeDifference, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';
import { THREE_NODES, checkModel, cleanDaemon, commands, diffParams, runDriver, sequences } from './diff-cpg-harness.js';

// Generated sequences of cpg and cfg calls (test/diff-cpg-harness.ts), each run through libcpg /
// libcfg (test/cref/diff-cpg.c) and through this package (test/cref/diff-cpg.mjs) on the same
// corosync 3.1.7 (3-node nodelist, node 1 up): the printed lines (every result, cs_error_t and
// callback) must be equal. On a difference fast-check shrinks the sequence and the failure shows
// the shortest one. CI runs a fixed seed and a few sequences per transport; for more, locally:
//   DIFF_CPG_RUNS=200 [DIFF_CPG_SEED=n] pnpm --filter @corosync-ts/client exec vitest run test/real-diff-cpg.test.ts
const REGRESSIONS: Record<string, string[]> = {
  // Events corosync had sent before the probe's own message came back were still unread by the
  // loop: dispatch(CS_DISPATCH_ALL) found nothing where cpg_dispatch reads the socket.
  'dispatch ALL right after the join took effect delivers its confchg and totem confchg': ['model 0 1 1 1', 'join 0 x61', 'dispatch 0 all', 'dispatch 0 nb'],
  'dispatch ONE_NONBLOCKING of a message already sent': ['init 0', 'join 0 x62', 'until 0 1', 'mcast 0 2 5', 'dispatch 0 nb', 'dispatch 0 nb'],
  // libcpg and libcfg check their arguments before the handle: a finalized one gave 9 here.
  'a finalized cpg handle: the name, iteration type and group are checked first': [
    'init 0', 'fin 0', 'join 0 x636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363', 'leave 0 x636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363', 'members 0 x636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363', 'iinit 0 0 4 -', 'iinit 0 0 2 -', 'iinit 0 0 3 x61', 'join 0 x61',
  ],
  'a finalized cfg handle: the node status version is checked first': ['cinit 0', 'cfin 0', 'cnode 0 1 2', 'cnode 0 1 1'],
};

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg and cfg: generated sequences, libcpg/libcfg vs TypeScript on corosync 3.1.7 (${transport})`, () => {
    let ns: Namespace;
    let cref: string;
    const conf = THREE_NODES.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`);
    const restart = async () => {
      await ns.stopCorosync();
      await ns.startCorosync({ conf });
    };

    beforeAll(async () => {
      buildDist();
      cref = await compileC(readFileSync(new URL('./cref/diff-cpg.c', import.meta.url), 'utf8'), ['cpg', 'cfg']);
      ns = await startNamespace({ name: `client-diffcpg-${transport}` });
      await ns.startCorosync({ conf });
    }, 180_000);

    afterAll(async () => {
      await ns?.close();
    });

    // The shortest sequences of the differences found so far, each a defect fixed since.
    it.each(Object.entries(REGRESSIONS))('%s', async (_, lines) => {
      await cleanDaemon(ns, restart, false);
      const c = await runDriver(ns, [cref], lines);
      await cleanDaemon(ns, restart, false);
      const t = await runDriver(ns, [process.execPath, script('diff-cpg.mjs')], lines);
      await cleanDaemon(ns, restart, false);
      checkModel(c);
      expect(t).toEqual(c);
    }, 120_000);

    it('prints the same lines through both libraries', async () => {
      let runs = 0;
      const { params, skip } = diffParams();
      await fc.assert(
        fc.asyncProperty(sequences, async (ops) => {
          if (skip()) return;
          const { lines, leftovers } = commands(ops);
          runs++;
          await cleanDaemon(ns, restart, false);
          const c = await runDriver(ns, [cref], lines);
          await cleanDaemon(ns, restart, leftovers);
          const t = await runDriver(ns, [process.execPath, script('diff-cpg.mjs')], lines);
          await cleanDaemon(ns, restart, leftovers);
          checkModel(c);
          if (c.join('\n') !== t.join('\n')) throw new Error(describeDifference(lines, { name: 'libcpg/libcfg', lines: c }, { name: 'TypeScript', lines: t }));
        }),
        params,
      );
      expect(runs).toBeGreaterThan(0);
    }, 3_600_000);
  });
}
