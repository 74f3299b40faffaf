import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, describeDifference, describeReal, settled, type Namespace } from '@corosync-ts/nstest';
import { THREE_NODES, checkModel, cleanDaemon, commands, diffParams, realAndMock, runDriver, sequences } from './diff-cpg-harness.js';

// Mock fidelity: the generated sequences of real-diff-cpg.test.ts through libcpg/libcfg
// (test/cref/diff-cpg.c) against corosync-mock and against corosync 3.1.7, each in its own
// namespace from the same corosync.conf: the printed lines must be equal. The same knobs:
//   DIFF_CPG_RUNS=200 [DIFF_CPG_SEED=n] pnpm --filter @corosync-ts/client exec vitest run test/real-diff-cpg-mock.test.ts

/** The shortest sequences of the differences found so far, each a mock defect fixed since. */
const MOCK_REGRESSIONS: Record<string, string[]> = {
  // The mock said remote=1 for a configured node knet never reached.
  'node status of a configured node that never came up': ['cinit 0', 'cnode 0 1 1', 'cnode 0 2 1', 'cnode 0 3 1'],
};

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg and cfg: generated sequences through libcpg/libcfg, corosync-mock vs corosync 3.1.7 (${transport})`, () => {
    let real: Namespace;
    let mockNs: Namespace;
    let cref: string;
    const conf = THREE_NODES.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`);
    const pair = realAndMock(`diffcpg-${transport}`, conf);
    const restartReal = async () => {
      await real.stopCorosync();
      await real.startCorosync({ conf });
    };
    const restartMock = () => pair.restartMock();
    const both = async (lines: string[], leftovers: boolean) => {
      // Each step waits for both sides before a failure ends it (see settled()): the next
      // sequence must not start on a daemon still being restarted.
      await settled([cleanDaemon(real, restartReal, false), cleanDaemon(mockNs, restartMock, false)]);
      const [r, m] = await settled([runDriver(real, [cref], lines), runDriver(mockNs, [cref], lines)]);
      await settled([cleanDaemon(real, restartReal, leftovers), cleanDaemon(mockNs, restartMock, leftovers)]);
      checkModel(r);
      return { r, m };
    };

    beforeAll(async () => {
      cref = await compileC(readFileSync(new URL('./cref/diff-cpg.c', import.meta.url), 'utf8'), ['cpg', 'cfg']);
      await pair.start();
      real = pair.real!;
      mockNs = pair.mockNs!;
    }, 180_000);

    afterAll(() => pair.close());

    const regressions = Object.entries(MOCK_REGRESSIONS);
    if (regressions.length > 0) {
      it.each(regressions)('%s', async (_, lines) => {
        const { r, m } = await both(lines, true);
        expect(m).toEqual(r);
      }, 120_000);
    }

    it('the mock prints what corosync prints', async () => {
      let runs = 0;
      const { params, skip } = diffParams();
      await fc.assert(
        fc.asyncProperty(sequences, async (ops) => {
          if (skip()) return;
          const { lines, leftovers } = commands(ops);
          runs++;
          const { r, m } = await both(lines, leftovers);
          if (r.join('\n') !== m.join('\n')) throw new Error(describeDifference(lines, { name: 'corosync', lines: r }, { name: 'corosync-mock', lines: m }));
        }),
        params,
      );
      expect(runs).toBeGreaterThan(0);
    }, 3_600_000);
  });
}
