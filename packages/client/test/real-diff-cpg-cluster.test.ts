import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, describeDifference, describeReal, sequenceShare, startCluster, waitFor, type Cluster } from '@corosync-ts/nstest';
import { startMockCorosync, SystemClock } from '@corosync-ts/testkit';
import { buildDist, pkgDir, script } from './real-helpers.js';
import { againWhilePidOrder, connectionsGone, PidOrder } from './diff-cpg-multi.js';
import { clusterScript, clusterSequences, comparable, label, ringChanges, runCluster, totalOrderBreach, type COp, type Side, type Step } from './diff-cpg-cluster.js';

// Generated cpg sequences across a 3-node cluster (test/diff-cpg-cluster.ts): two drivers per
// node join and leave two groups, send bursts from several nodes at once and fragmented
// messages, while a node is cut off and healed, stopped (or killed through cfg) and started, and
// drivers die. The same steps run on a real corosync 3.1.7 cluster (nstest, one namespace per
// node) with libcpg drivers (test/cref/diff-cpg.c), again with every odd driver an
// @corosync-ts/client one (diff-cpg.mjs), and on corosync-mock's simulated cluster (one endpoint
// per node) with client drivers. All three
// must print the same lines (a step's deliveries compared as a set: which of several senders
// comes first is totem's choice), and within each run every slot of a group must deliver the
// messages it shares with another in the same order.
//
// A real cluster on a busy machine can lose a token round and form a ring more than the step
// asked for (a flap: more totem callbacks in a step than the simulator shows); the simulator
// cannot know that, so such a run is started again (at most three times), not reported.
// CI runs a fixed seed, 2 sequences on the socket transport (one in each of its two passes:
// sequenceShare); locally, more and both transports:
//   DIFF_CPG_CLUSTER_RUNS=50 DIFF_CPG_CLUSTER_TRANSPORTS=socket,shm [DIFF_CPG_CLUSTER_SEED=n] pnpm --filter @corosync-ts/client exec vitest run test/real-diff-cpg-cluster.test.ts

/** Shortest step lists of the differences found, each a defect fixed since. */
const REGRESSIONS: Record<string, COp[]> = {
  // The simulator sent a stopping node's PROCDOWNs in connection order; corosync closes its
  // connections newest first (qb_ipcs_destroy), so p3's leave came before p2's.
  'a stopped node\'s processes leave newest connection first': [
    { k: 'join', p: 0, g: 0 },
    { k: 'join', p: 2, g: 0 },
    { k: 'join', p: 3, g: 0 },
    { k: 'stop', n: 2 },
  ],
  // Healed node 2 learnt node 3's processes before node 1's in the simulator; corosync delivers
  // the join lists highest node first, then in ring order, and stacks them: node 1's come first.
  'a healed node learns the others\' processes in the order their join lists came': [
    ...[0, 1, 2, 4, 5].map((p): COp => ({ k: 'join', p, g: 0 })),
    { k: 'isolate', n: 2 },
    { k: 'heal' },
  ],
};

const RUNS = Number(process.env.DIFF_CPG_CLUSTER_RUNS ?? 2);
const TRANSPORTS = (process.env.DIFF_CPG_CLUSTER_TRANSPORTS ?? 'socket').split(',') as ('socket' | 'shm')[];
const FLAP_RETRIES = 3;

for (const transport of TRANSPORTS) {
  describeReal(`cpg across a 3-node cluster: libcpg vs TypeScript on corosync 3.1.7 vs the simulator (${transport})`, () => {
    let real: Cluster;
    let C: string;
    let conf: string;
    const T = ['sh', '-c', 'cd "$0" && exec "$@"', pkgDir, process.execPath, script('diff-cpg.mjs')];

    beforeAll(async () => {
      buildDist();
      C = await compileC(readFileSync(new URL('./cref/diff-cpg.c', import.meta.url), 'utf8'), ['cpg', 'cfg']);
      real = await startCluster({ nodes: 3, transport, totem: { token: 1000 } });
      conf = real.node(1).corosyncProcess!.conf;
    }, 240_000);

    afterAll(async () => {
      await real?.close();
    }, 120_000);

    const realSide = (name: string, argv: (p: number) => string[]): Side => ({
      name,
      spawn: (p, n) => real.node(n).spawn(argv(p), { stdio: ['pipe', 'pipe', 'pipe'] }),
      async cluster(step) {
        if (step.do === 'isolate') await real.isolate(step.n);
        else if (step.do === 'heal') await real.heal();
        else if (step.do === 'stop') await real.stopNode(step.n);
        else if (step.do === 'start') await real.startNode(step.n);
        else {
          await real.node(step.n).corosyncProcess!.exited;
          await real.stopNode(step.n);
        }
        await real.waitForPartitions(step.parts);
      },
      connectionsGone: (n, pid) => connectionsGone(real.node(n), pid),
    });

    /** Every node running and connected again, as each run starts. */
    const restore = async () => {
      await real.heal();
      for (const n of [1, 2, 3]) if (!real.node(n).corosyncProcess) await real.startNode(n);
      await real.waitForPartitions([[1, 2, 3]]);
    };

    /** A run on the real cluster, again while it flapped (more ring changes in a step than `sim`) or pids came out of order. */
    const onReal = async (side: Side, steps: Step[], sim: string[]): Promise<string[]> => {
      const want = ringChanges(sim);
      for (let attempt = 1; ; attempt++) {
        await restore();
        let out: string[];
        try {
          out = await runCluster(side, steps);
        } catch (e) {
          if (e instanceof PidOrder && attempt < 5) continue;
          throw e;
        }
        const got = ringChanges(out);
        const flap = got.findIndex((n, i) => n > want[i]!);
        if (flap < 0) return out;
        if (attempt === FLAP_RETRIES) throw new Error(`${side.name} showed more ring changes than the simulator at step ${flap + 1} (${label(steps[flap]!)}) ${attempt} times running:\n${out.join('\n')}`);
        console.log(`${side.name}: a ring change the simulator does not have at step ${flap + 1} (a flap?), run again`);
      }
    };

    const onSim = async (steps: Step[]): Promise<string[]> => {
      const mock = await startMockCorosync({ config: conf, start: 'all', endpoints: 'all', transport, clock: new SystemClock() });
      try {
        const side: Side = {
          name: 'the simulator',
          spawn: (p, n) => spawn(process.execPath, [script('diff-cpg.mjs')], { cwd: pkgDir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DIFF_CPG_IPC_PREFIX: mock.endpoint(n).prefix } }),
          async cluster(step) {
            if (step.do === 'isolate') mock.cluster.partition(step.parts[0]!, [step.n]);
            else if (step.do === 'heal') mock.cluster.merge();
            else if (step.do === 'stop') mock.cluster.node(step.n).stop();
            else if (step.do === 'start') mock.cluster.node(step.n).start();
            else await waitFor(`the simulator to kill node ${step.n}`, () => !mock.cluster.node(step.n).running, { timeout: 20_000 });
            await mock.settle();
          },
          async connectionsGone(n, pid) {
            const open = () => mock.endpoint(n).services.statsMap().keys('stats.ipcs.service').some((k) => k.split('.')[3] === String(pid));
            await waitFor(`the mock to close the connections of ${pid}`, () => !open(), { timeout: 20_000 });
          },
        };
        return await againWhilePidOrder(() => runCluster(side, steps), 5);
      } finally {
        expect(mock.errors).toEqual([]);
        await mock.close();
      }
    };

    const compare = async (ops: COp[]) => {
      const steps = clusterScript(ops);
      const script = steps.map(label);
      const sim = await onSim(steps);
      const c = await onReal(realSide('libcpg', () => [C]), steps, sim);
      const m = await onReal(realSide('libcpg and TypeScript', (p) => (p % 2 ? T : [C])), steps, sim);
      for (const [name, out] of [['libcpg', c], ['libcpg and TypeScript', m], ['the simulator', sim]] as const) {
        const breach = totalOrderBreach(out);
        if (breach) throw new Error(`${name}: ${breach}\nsteps:\n${script.join('\n')}\nprinted:\n${out.join('\n')}`);
      }
      const cc = comparable(c);
      const mc = comparable(m);
      const sc = comparable(sim);
      if (cc.join('\n') !== mc.join('\n')) throw new Error(describeDifference(script, { name: 'libcpg', lines: cc }, { name: 'libcpg and TypeScript', lines: mc }));
      if (cc.join('\n') !== sc.join('\n')) throw new Error(describeDifference(script, { name: 'real corosync', lines: cc }, { name: 'the simulator', lines: sc }));
    };

    const cases = Object.entries(REGRESSIONS);
    if (cases.length > 0) it.each(cases)('%s', async (_, ops) => compare(ops), 600_000);

    it('prints the same lines on every node through libcpg, the client and the simulator', async () => {
      let runs = 0;
      const { numRuns, skip } = sequenceShare(RUNS);
      await fc.assert(
        fc.asyncProperty(clusterSequences(16), async (ops) => {
          if (skip()) return;
          runs++;
          await compare(ops);
        }),
        {
          // CI's seed: its two sequences cut a node off and heal it, kill one through cfg and start it
          // again, kill and end drivers and send a fragmented message that arrives (a stop: the regressions)
          seed: Number(process.env.DIFF_CPG_CLUSTER_SEED ?? 198),
          numRuns,
          // a real run takes seconds: shrinking would take hours; the failing sequence is printed whole
          endOnFailure: true,
          interruptAfterTimeLimit: 60 * 60_000,
        },
      );
      console.log(`${runs} sequences`);
      expect(runs).toBeGreaterThan(0);
    }, 3_600_000);
  });
}
