import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeDifference, describeReal, startNamespace, waitFor, type Namespace } from '@corosync-ts/nstest';
import { THREE_NODES, checkModel, cleanDaemon, commands, diffParams, runDriver, sequences } from './diff-cpg-harness.js';

// Mock fidelity: the generated sequences of real-diff-cpg.test.ts through libcpg/libcfg
// (test/cref/diff-cpg.c) against corosync-mock and against corosync 3.1.7, each in its own
// namespace from the same corosync.conf: the printed lines must be equal. The same knobs:
//   DIFF_CPG_RUNS=200 [DIFF_CPG_SEED=n] pnpm --filter @corosync-ts/client exec vitest run test/real-diff-cpg-mock.test.ts
const CLI = fileURLToPath(new URL('../../testkit/src/cli.ts', import.meta.url));
const TESTKIT = fileURLToPath(new URL('../../testkit', import.meta.url));

/** The shortest sequences of the differences found so far, each a mock defect fixed since. */
const MOCK_REGRESSIONS: Record<string, string[]> = {
  // The mock said remote=1 for a configured node knet never reached.
  'node status of a configured node that never came up': ['cinit 0', 'cnode 0 1 1', 'cnode 0 2 1', 'cnode 0 3 1'],
};

/** corosync-mock inside `ns`, serving the real names (as root, like the daemon). */
async function startMock(ns: Namespace, conf: string): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const confPath = join(ns.dir, 'mock.conf');
  writeFileSync(confPath, conf);
  // nsenter starts in the namespace's /, where tsx would not resolve
  const child = ns.spawn(['sh', '-c', 'cd "$0" && exec "$@"', TESTKIT, process.execPath, '--import', 'tsx', CLI, '--config', confPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: await crashTraceEnv(),
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('corosync-mock to serve', () => {
    if (child.exitCode !== null) throw new Error(`corosync-mock exited: ${err}`);
    return /serving/.test(err);
  }, { timeout: 60_000 });
  return {
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`cpg and cfg: generated sequences through libcpg/libcfg, corosync-mock vs corosync 3.1.7 (${transport})`, () => {
    let real: Namespace;
    let mockNs: Namespace;
    let mock: Awaited<ReturnType<typeof startMock>> | undefined;
    let cref: string;
    const conf = THREE_NODES.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`);
    const restartReal = async () => {
      await real.stopCorosync();
      await real.startCorosync({ conf });
    };
    const restartMock = async () => {
      await mock?.stop();
      mock = await startMock(mockNs, conf);
    };
    const both = async (lines: string[], leftovers: boolean) => {
      await Promise.all([cleanDaemon(real, restartReal, false), cleanDaemon(mockNs, restartMock, false)]);
      const [r, m] = await Promise.all([runDriver(real, [cref], lines), runDriver(mockNs, [cref], lines)]);
      await Promise.all([cleanDaemon(real, restartReal, leftovers), cleanDaemon(mockNs, restartMock, leftovers)]);
      checkModel(r);
      return { r, m };
    };

    beforeAll(async () => {
      cref = await compileC(readFileSync(new URL('./cref/diff-cpg.c', import.meta.url), 'utf8'), ['cpg', 'cfg']);
      real = await startNamespace({ name: `client-diffcpg-real-${transport}` });
      mockNs = await startNamespace({ name: `client-diffcpg-mock-${transport}` });
      await real.startCorosync({ conf });
      mock = await startMock(mockNs, conf);
    }, 180_000);

    afterAll(async () => {
      await mock?.stop();
      await mockNs?.close();
      await real?.close();
    });

    const regressions = Object.entries(MOCK_REGRESSIONS);
    if (regressions.length > 0) {
      it.each(regressions)('%s', async (_, lines) => {
        const { r, m } = await both(lines, true);
        expect(m).toEqual(r);
      }, 120_000);
    }

    it('the mock prints what corosync prints', async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(sequences, async (ops) => {
          const { lines, leftovers } = commands(ops);
          runs++;
          const { r, m } = await both(lines, leftovers);
          if (r.join('\n') !== m.join('\n')) throw new Error(describeDifference(lines, { name: 'corosync', lines: r }, { name: 'corosync-mock', lines: m }));
        }),
        diffParams(),
      );
      expect(runs).toBeGreaterThan(0);
    }, 3_600_000);
  });
}
