import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, waitFor, type Namespace } from '@corosync-ts/nstest';
import { buildDist, script } from './real-helpers.js';
import { commands, diffRuns, diffSeed, firstDifference, sequences } from './diff-cpg-harness.js';

// Generated sequences of cpg and cfg calls (test/diff-cpg-harness.ts), each run through libcpg /
// libcfg (test/cref/diff-cpg.c) and through this package (test/cref/diff-cpg.mjs) on the same
// corosync 3.1.7 (3-node nodelist, node 1 up): the printed lines (every result, cs_error_t and
// callback) must be equal. On a difference fast-check shrinks the sequence and the failure shows
// the shortest one. CI runs a fixed seed and a few sequences per transport; for more, locally:
//   DIFF_CPG_RUNS=200 [DIFF_CPG_SEED=n] pnpm --filter @corosync-ts/client exec vitest run test/real-diff-cpg.test.ts
export const THREE_NODES = readFileSync(new URL('../../testkit/test/fixtures/three-nodes.conf', import.meta.url), 'utf8');

export const REGRESSIONS: Record<string, string[]> = {
  // Events corosync had sent before the probe's own message came back were still unread by the
  // loop: dispatch(CS_DISPATCH_ALL) found nothing where cpg_dispatch reads the socket.
  'dispatch ALL right after the join took effect delivers its confchg and totem confchg': ['model 0 1 1 1', 'join 0 x61', 'dispatch 0 all', 'dispatch 0 nb'],
  'dispatch ONE_NONBLOCKING of a message already sent': ['init 0', 'join 0 x62', 'until 0 1', 'mcast 0 2 5', 'dispatch 0 nb', 'dispatch 0 nb'],
};

/** Each driver starts on a daemon whose process list is empty: entries a run leaves behind for good (the empty name's, a left connection's) take a restart. */
export async function cleanDaemon(ns: Namespace, restart: () => Promise<void>, leftovers: boolean): Promise<void> {
  if (leftovers) return restart();
  const empty = async () => {
    const r = await ns.exec(['corosync-cpgtool', '-d', ','], { timeout: 10_000 });
    return r.code === 0 && r.stdout.trim().split('\n').length <= 1;
  };
  try {
    await waitFor('the cpg process list to empty', empty, { timeout: 10_000 });
  } catch {
    await restart();
  }
}

export async function runDriver(ns: Namespace, argv: string[], lines: string[]): Promise<string[]> {
  const r = await ns.exec(argv, { input: `${lines.join('\n')}\n`, timeout: 120_000, env: await crashTraceEnv() });
  const out = r.stdout.trimEnd().split('\n');
  if (r.code !== 0 || out.at(-1) !== 'end') throw new Error(`${argv.at(-1)} exited with ${r.code ?? r.signal}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return out;
}

/** What the comparison rests on: the model's waits were right (nothing timed out, no member stayed listed). */
export function checkModel(out: string[]): void {
  const bad = out.find((l) => / TIMEOUT | STILL-LISTED/.test(` ${l} `));
  if (bad) throw new Error(`the sequence waited for something that never came: ${bad}`);
}

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
      await cleanDaemon(ns, restart, true);
      const t = await runDriver(ns, [process.execPath, script('diff-cpg.mjs')], lines);
      await cleanDaemon(ns, restart, true);
      checkModel(c);
      expect(t).toEqual(c);
    }, 120_000);

    it('prints the same lines through both libraries', async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(sequences, async (ops) => {
          const { lines, leftovers } = commands(ops);
          runs++;
          await cleanDaemon(ns, restart, false);
          const c = await runDriver(ns, [cref], lines);
          await cleanDaemon(ns, restart, leftovers);
          const t = await runDriver(ns, [process.execPath, script('diff-cpg.mjs')], lines);
          await cleanDaemon(ns, restart, leftovers);
          checkModel(c);
          const diff = firstDifference(c, t);
          if (diff) throw new Error(`libcpg/libcfg (-) and TypeScript (+) differ:\n${diff}\ncommands:\n${lines.join('\n')}`);
        }),
        { seed: diffSeed(), numRuns: diffRuns(), endOnFailure: process.env.DIFF_CPG_SHRINK === '0' },
      );
      expect(runs).toBeGreaterThan(0);
    }, 3_600_000);
  });
}
