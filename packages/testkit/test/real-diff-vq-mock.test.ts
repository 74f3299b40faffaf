import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { compileC, describeDifference, describeReal, LineDriver, sequenceShare, settled, spawnDriver, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockIn, startRealAndMock, stopRealAndMock, type MockProcess, type RealAndMock } from './helpers/mockns.js';

// The mock's fidelity, differentially: the generated quorum / votequorum sequences of the client's
// differential test (client/test/diff-vq-gen.ts) run through libquorum / libvotequorum
// (client/test/cref/diff-vq.c, whose header has the command language) against corosync 3.1.7 and
// against corosync-mock, started from the same corosync.conf (three nodes, node 1 up); both must
// print the same lines. On a difference fast-check shrinks the sequence and the failure shows the
// shortest one with both outputs. A daemon whose state after a sequence is not its first one
// (votes and expected votes cannot always be put back through the API) is restarted.
//
// CI runs a fixed seed and DIFF_VQ_RUNS sequences per transport (default 40), half of them in each
// of its two passes (sequenceShare). Locally:
//   DIFF_VQ_RUNS=500 DIFF_VQ_SEED=random pnpm --filter @corosync-ts/testkit exec vitest run test/real-diff-vq-mock.test.ts
// What the comparison leaves out is the client test's list (test/real-diff-vq.test.ts there).

const RUNS = Number(process.env.DIFF_VQ_RUNS ?? 40);
// Room for every run on a loaded machine (a restart per sequence included): a timed-out property
// runs on behind the teardown, against stopped daemons, and its own failure is never shown.
const PROPERTY_MS = Math.max(600_000, RUNS * 5_000);
const SEED = process.env.DIFF_VQ_SEED === 'random' ? undefined : Number(process.env.DIFF_VQ_SEED ?? 20261206);
const CLIENT_TEST = new URL('../../client/test/', import.meta.url);
const CONF = readFileSync(new URL('./fixtures/three-nodes.conf', import.meta.url), 'utf8');

/** Shrunk sequences of the differences found, each a mock defect fixed since: run first, every time. */
const REGRESSIONS: [string, string[]][] = [
  // calculate_quorum's arithmetic is unsigned int: expected votes 4294967295 + 2 wraps, quorum 1
  // (the mock computed 2147483648 and kept its low byte, 0)
  ['setexpected 4294967295', ['qinit 0 1', 'vinit 0 1', 'vsetexp 0 4294967295', 'wait_totem']],
];

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`differential quorum/votequorum: libvotequorum on corosync-mock vs on corosync 3.1.7 (${transport})`, () => {
    const conf = CONF.replace('qb_ipc_type: socket', `qb_ipc_type: ${transport}`);
    let both: RealAndMock;
    let real: LineDriver;
    let mock: LineDriver;
    let pristine: { real: string; mock: string };
    let vqSequence: (maxUnits?: number) => fc.Arbitrary<string[]>;

    const restartReal = async (ns: Namespace) => {
      await ns.stopCorosync();
      await ns.startCorosync({ conf });
    };
    const restartMock = async () => {
      await both.mock.stop();
      both.mock = await startMockIn(both.mockNs, conf);
    };

    /** The mock that served the last sequence: a restart after it replaces both.mock, not its log. */
    let served: MockProcess;

    /** One run on each; a daemon restarts when the run left a state reset cannot undo, or its driver failed. */
    const runOn = async (d: LineDriver, which: 'real' | 'mock', commands: string[]) => {
      const restart = () => (which === 'real' ? restartReal(both.real) : restartMock());
      if (which === 'mock') served = both.mock;
      let lines: string[];
      try {
        lines = await d.run(['reset', ...commands, 'reset']);
      } catch (e) {
        await restart();
        if (which === 'mock') throw new Error(`${(e as Error).message}\n${served.log()}`, { cause: e });
        throw e;
      }
      if (lines.at(-1) !== pristine[which]) await restart();
      return lines;
    };

    const compare = async (commands: string[]) => {
      // both sides done, restarts included, before a failure ends the run: see settled()
      const [rl, ml] = await settled<[string[], string[]]>([runOn(real, 'real', commands), runOn(mock, 'mock', commands)]);
      if (JSON.stringify(rl) !== JSON.stringify(ml)) {
        const diff = describeDifference(commands, { name: 'corosync 3.1.7', lines: rl }, { name: 'corosync-mock', lines: ml });
        throw new Error(`${diff}\n${served.log()}`);
      }
    };

    beforeAll(async () => {
      // Imported by path: the generator is the client package's test file, outside this package.
      ({ vqSequence } = (await import(pathToFileURL(fileURLToPath(new URL('diff-vq-gen.ts', CLIENT_TEST))).href)) as { vqSequence: typeof vqSequence });
      const bin = await compileC(readFileSync(new URL('cref/diff-vq.c', CLIENT_TEST), 'utf8'), ['quorum', 'votequorum', 'cpg'], { includeDir: fileURLToPath(new URL('cref/', CLIENT_TEST)) });
      both = await startRealAndMock({ real: `tk-diffvq-real-${transport}`, mock: `tk-diffvq-mock-${transport}` }, conf);
      real = new LineDriver('corosync 3.1.7', spawnDriver(both.real, [bin]));
      mock = new LineDriver('corosync-mock', spawnDriver(both.mockNs, [bin]));
      const [[r], [m]] = await Promise.all([real.run(['reset']), mock.run(['reset'])]);
      pristine = { real: r!, mock: m! };
    }, 180_000);

    afterAll(async () => {
      await real?.close();
      await mock?.close();
      await stopRealAndMock(both ?? {});
    }, 60_000);

    it('the same first state', () => {
      expect(pristine.mock).toBe(pristine.real);
    });

    for (const [name, commands] of REGRESSIONS) it(`regression: ${name}`, () => compare(commands));

    it('generated sequences print the same lines on both', async () => {
      const { numRuns, skip } = sequenceShare(RUNS);
      await fc.assert(fc.asyncProperty(vqSequence(), async (commands) => {
        if (!skip()) await compare(commands);
      }), { numRuns, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: false });
      expect(RUNS).toBeGreaterThan(0);
    }, PROPERTY_MS);
  });
}
