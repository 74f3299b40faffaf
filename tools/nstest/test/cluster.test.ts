import { expect, it } from 'vitest';
import { describeReal, startCluster } from '../src/index.js';
import { hostHasNstestMounts, pin } from './helpers.js';

// A 1 s token (corosync's default is 3 s, and consensus 1.2 times it) as the client's real
// cluster tests use: a lost node is noticed, and a partition formed, in about a third of the
// time.
const totem = { token: 1000 };

describeReal('startCluster', () => {
  it('3 nodes form one membership; an isolated node loses quorum and rejoins after heal', async () => {
    const c = await startCluster({ nodes: 3, totem });
    const pinned = [c.switchNs, c.node(1), c.node(2), c.node(3)].map(pin);
    try {
      const s1 = await c.node(1).exec(['corosync-quorumtool', '-s']);
      expect(s1.code, s1.stderr).toBe(0);
      expect(s1.stdout).toMatch(/Nodes:\s+3\n/);
      expect(await c.node(2).members()).toEqual([1, 2, 3]);
      expect(await c.node(3).execOk(['corosync-cmapctl', '-g', 'totem.token'])).toMatch(/^totem\.token \(u32\) = 1000$/m);

      await c.isolate(3);
      await c.waitForPartitions([[1, 2], [3]]);
      const s3 = await c.node(3).exec(['corosync-quorumtool', '-s']);
      expect(s3.code).toBe(2);
      expect(s3.stdout).toMatch(/Quorate:\s+No/);
      expect(s3.stdout).toMatch(/Nodes:\s+1\n/);
      const s2 = await c.node(2).exec(['corosync-quorumtool', '-s']);
      expect(s2.code).toBe(0);
      expect(s2.stdout).toMatch(/Nodes:\s+2\n/);
      const l1 = await c.node(1).execOk(['corosync-quorumtool', '-l']);
      expect(l1).not.toMatch(/node3/);

      await c.heal();
      await c.waitForPartitions([[1, 2, 3]]);
      expect((await c.node(3).exec(['corosync-quorumtool', '-s'])).code).toBe(0);
    } finally {
      await c.close();
    }
    for (const p of pinned) {
      expect(p.leftovers()).toEqual([]);
      p.release();
    }
    expect(hostHasNstestMounts()).toBe(false);
  });

  it('start: [1] brings up only node 1; startNode adds node 2 later', async () => {
    const c = await startCluster({ nodes: 2, start: [1], quorum: { twoNode: true }, totem });
    try {
      expect(c.node(2).corosyncProcess).toBeUndefined();
      await c.startNode(2);
      await c.waitForPartitions([[1, 2]]);
      expect(await c.node(1).quorumView()).toEqual([1, 2]);
    } finally {
      await c.close();
    }
  });
});
