import { describeReal, startCluster, type Cluster as RealCluster, type ClusterOptions, type QuorumOptions } from '@corosync-ts/nstest';
import { afterEach, expect, test } from 'vitest';
import { createCluster, ManualClock, type Cluster } from '../src/index.js';

/** The figures `corosync-quorumtool -s` prints for one node. */
interface View { quorate: boolean; expected: number; highest: number; total: number; quorum: number; flags: string }

function parseStatus(out: string): View {
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
  return {
    quorate: field('Quorate') === 'Yes',
    expected: Number(field('Expected votes')),
    highest: Number(field('Highest expected')),
    total: Number(field('Total votes')),
    quorum: Number(field('Quorum').split(/\s+/)[0]),
    flags: field('Flags'),
  };
}

const TYPE_NAMES: Record<number, string> = { 2: 'u8', 6: 'u32', 8: 'u64', 11: 'str' };

const FLAG_NAMES: [number, string][] = [[1, '2Node'], [2, 'Quorate'], [4, 'WaitForAll'], [8, 'LastManStanding'], [16, 'AutoTieBreaker'], [32, 'AllowDownscale']];

function simView(c: Cluster, id: number): View {
  const s = c.node(id).status();
  return {
    quorate: s.quorate, expected: s.expectedVotes, highest: s.highestExpected, total: s.totalVotes, quorum: s.quorum,
    flags: FLAG_NAMES.filter(([bit]) => s.flags & bit).map(([, n]) => n).join(' '),
  };
}

/**
 * `settlesOn`: where corosync itself has two stable outcomes, the other one (applied to every
 * running node). The simulator takes one; the real cluster may take either, so the step accepts
 * exactly the simulator's values or these, nothing else.
 */
type Step =
  | { do: 'isolate' | 'heal' | 'stop' | 'start'; node?: number; expect: number[][]; settlesOn?: Pick<View, 'expected' | 'highest'> }
  | { do: 'wait'; ms: number };

/**
 * corosync counts each member's joins (`runtime.members.N.join_count`, one per configuration change
 * that lists it as joined). Nodes started together usually form their first ring in one membership
 * round, as the simulator's cluster does; on a busy machine a round can drop a node and take it back
 * (seen once in CI: node 3 counted node 2's join twice). That is a different history, which the
 * simulator cannot know, not a difference to report: such a cluster is started again, at most three
 * times, and every comparison then starts from the same history on both sides.
 */
async function startFormedAtOnce(opts: ClusterOptions, running: number[]): Promise<RealCluster> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await startCluster(opts);
    const extra: string[] = [];
    try {
      for (const id of running) {
        const out = await cluster.node(id).exec(['corosync-cmapctl', 'runtime.members'], { timeout: 30_000 });
        const counts = [...out.stdout.matchAll(/^runtime\.members\.(\d+)\.join_count \(u32\) = (\d+)$/gm)];
        if (counts.length !== running.length) throw new Error(`node ${id}: expected ${running.length} join counts in:\n${out.stdout}`);
        for (const [, member, count] of counts) if (count !== '1') extra.push(`node ${id} counted ${count} joins of node ${member}`);
      }
    } catch (e) {
      await cluster.close();
      throw e;
    }
    if (extra.length === 0) return cluster;
    await cluster.close();
    if (attempt === 3) throw new Error(`the real cluster formed in more than one membership round ${attempt} times running: ${extra.join('; ')}`);
  }
}

/**
 * Runs the same steps on a real corosync cluster (one namespace per node, veths on a bridge) and
 * on the simulator, and compares what every running node reports after each step.
 */
function scenario(name: string, nodes: number, quorum: QuorumOptions, steps: Step[], start?: number[]) {
  let real: RealCluster | undefined;
  // also closed on failure; each cluster is gone before the next scenario starts
  afterEach(async () => {
    await real?.close();
    real = undefined;
  }, 120_000);
  test(name, async () => {
    const running = new Set(start ?? Array.from({ length: nodes }, (_, i) => i + 1));
    real = await startFormedAtOnce({ nodes, quorum, totem: { token: 1000 }, ...(start ? { start } : {}) }, [...running]);
    const conf = real.node(1).corosyncProcess!.conf;
    const clock = new ManualClock();
    const sim = createCluster({ config: conf, clock, ...(start ? { start } : {}) });
    const compare = async (label: string, settlesOn?: Pick<View, 'expected' | 'highest'>) => {
      for (const id of [...running].sort()) {
        const out = await real!.node(id).exec(['corosync-quorumtool', '-s'], { timeout: 30_000 });
        const seen = parseStatus(out.stdout);
        const other = settlesOn && seen.expected === settlesOn.expected && seen.highest === settlesOn.highest;
        expect({ step: label, node: id, ...simView(sim, id), ...(other ? settlesOn : {}) }).toEqual({ step: label, node: id, ...seen });
        // and what that node's cmap says about members and votequorum
        const keys = await real!.node(id).exec(['sh', '-c', 'corosync-cmapctl runtime.members; corosync-cmapctl runtime.votequorum'], { timeout: 30_000 });
        const cmap = sim.node(id).cmap;
        const mine = [...cmap.keys('runtime.members'), ...cmap.keys('runtime.votequorum')]
          .map((k) => `${k} (${TYPE_NAMES[cmap.get(k)!.type]}) = ${String(cmap.getValue(k))}`).join('\n');
        expect({ step: label, node: id, cmap: mine }).toEqual({ step: label, node: id, cmap: keys.stdout.trimEnd() });
      }
    };
    await real.waitForPartitions([[...running].sort()]);
    await compare('start');
    for (const s of steps) {
      if (s.do === 'wait') {
        // real time passes on the real cluster; the simulator's clock is told
        await new Promise((r) => setTimeout(r, s.ms));
        clock.advance(s.ms);
        await compare(`wait ${s.ms}`);
        continue;
      }
      const label = `${s.do} ${s.node ?? ''}`;
      if (s.do === 'isolate') {
        await real.isolate(s.node!);
        sim.partition(s.expect.flat().filter((i) => i !== s.node), [s.node!]);
      } else if (s.do === 'heal') {
        await real.heal();
        sim.merge();
      } else if (s.do === 'stop') {
        await real.stopNode(s.node!);
        sim.node(s.node!).stop();
        running.delete(s.node!);
      } else {
        await real.startNode(s.node!);
        sim.node(s.node!).start();
        running.add(s.node!);
      }
      await real.waitForPartitions(s.expect);
      await compare(label, s.settlesOn);
    }
  }, 300_000);
}

describeReal('simulator vs a real corosync 3.1.7 cluster: expected votes, total votes, quorum, flags per node', () => {
  scenario('3 nodes: isolate one, heal, stop one, start it', 3, {}, [
    { do: 'isolate', node: 3, expect: [[1, 2], [3]] },
    { do: 'heal', expect: [[1, 2, 3]] },
    { do: 'stop', node: 2, expect: [[1, 3]] },
    { do: 'start', node: 2, expect: [[1, 2, 3]] },
  ]);
  scenario('2 nodes two_node: both halves keep quorum', 2, { twoNode: true }, [
    { do: 'isolate', node: 2, expect: [[1], [2]] },
    { do: 'heal', expect: [[1, 2]] },
  ]);
  scenario('5 nodes allow_downscale: graceful stops lower expected votes', 5, { allowDownscale: true }, [
    { do: 'stop', node: 5, expect: [[1, 2, 3, 4]] },
    { do: 'stop', node: 4, expect: [[1, 2, 3]] },
    // Node 4 boots with expected 5 (its nodelist). In the one sync that joins it, every node sends
    // its nodeinfo when the sync reaches votequorum. If node 4 sends before it has processed a
    // quorate node's nodeinfo, it announces 5, the others keep 5 for it (ev_tracking) → highest 5,
    // as simulated. If a quorate node's nodeinfo reaches node 4 first, node 4 adopts its expected
    // votes (3), announces 3, and with 4 votes present every node settles on expected 4, highest 4.
    // Both states are stable (polled for 6 s), with one membership round in both; debug logs show the
    // two orders. Which one a run gets depends on token timing (9 of 51 runs settled on 4/4 here).
    { do: 'start', node: 4, expect: [[1, 2, 3, 4]], settlesOn: { expected: 4, highest: 4 } },
  ]);
  scenario('4 nodes auto_tie_breaker: the lowest node isolated, then back', 4, { autoTieBreaker: true }, [
    { do: 'isolate', node: 1, expect: [[2, 3, 4], [1]] },
    { do: 'heal', expect: [[1, 2, 3, 4]] },
  ]);
  scenario('3 nodes expected_votes 5 in the config', 3, { expectedVotes: 5 }, [
    { do: 'isolate', node: 2, expect: [[1, 3], [2]] },
    { do: 'heal', expect: [[1, 2, 3]] },
  ]);
  scenario('3 nodes wait_for_all: a cold start of two waits for the third, then survives its loss', 3, { waitForAll: true }, [
    { do: 'start', node: 3, expect: [[1, 2, 3]] },
    { do: 'stop', node: 3, expect: [[1, 2]] },
  ], [1, 2]);
  // the window is long enough that no step outlasts it by accident; only the explicit wait does
  scenario('4 nodes last_man_standing (window 10 s) + wait_for_all', 4, { lastManStanding: true, lastManStandingWindow: 10000, waitForAll: true }, [
    { do: 'stop', node: 4, expect: [[1, 2, 3]] },
    { do: 'wait', ms: 11000 },
    { do: 'isolate', node: 3, expect: [[1, 2], [3]] },
  ]);
});
