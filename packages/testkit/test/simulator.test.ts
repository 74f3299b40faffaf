import { describe, expect, test } from 'vitest';
import { createCluster, isConfigError, isMockError, ManualClock, NodeServices, type NodeListener } from '../src/index.js';

const q = (c: ReturnType<typeof createCluster>) => c.status().map((s) => (s.running ? (s.quorate ? 'Q' : 'n') : '-')).join('');

describe('scripting API', () => {
  test('partition, kill, start, merge', async () => {
    const cluster = createCluster({ nodes: 5 });
    expect(q(cluster)).toBe('QQQQQ');
    cluster.partition([1, 2, 3], [4, 5]);
    await cluster.settle();
    expect(q(cluster)).toBe('QQQnn');
    expect(cluster.node(4).members).toEqual([4, 5]);
    cluster.node(3).kill();
    expect(q(cluster)).toBe('nn-nn');
    cluster.merge();
    expect(q(cluster)).toBe('QQ-QQ');
    cluster.node(3).start();
    expect(q(cluster)).toBe('QQQQQ');
    expect(cluster.node(3).status()).toMatchObject({ expectedVotes: 5, totalVotes: 5, quorum: 3, members: [1, 2, 3, 4, 5] });
  });

  test('ring ids: new ring per changed partition, seq grows, representative is the lowest id', () => {
    const cluster = createCluster({ nodes: 4 });
    const r0 = cluster.node(1).ring;
    cluster.partition([1, 2], [3, 4]);
    expect(cluster.node(1).ring.seq).toBeGreaterThan(r0.seq);
    expect(cluster.node(4).ring.nodeid).toBe(3);
    expect(cluster.node(1).ring.nodeid).toBe(1);
  });

  test('misuse is a typed error; a bad configuration too', () => {
    const cluster = createCluster({ nodes: 2 });
    expect(() => cluster.node(9)).toThrow(expect.objectContaining({ code: 'ENONODE' }));
    let e: unknown;
    try {
      cluster.node(1).start();
    } catch (x) {
      e = x;
    }
    expect(isMockError(e)).toBe(true);
    expect(() => createCluster({ nodes: 4, quorum: { device: { model: 'net' }, lastManStanding: true } })).toThrow(/not compatible with last_man_standing/);
    try {
      createCluster({ config: 'totem {\n' });
    } catch (x) {
      e = x;
    }
    expect(isConfigError(e) && (e as { line: number }).line).toBe(1);
  });

  test('last_man_standing shrinks expected votes only after the window, on the injected clock', () => {
    const clock = new ManualClock();
    const cluster = createCluster({ clock, nodes: 4, quorum: { lastManStanding: true, lastManStandingWindow: 20000 } });
    cluster.node(4).kill();
    expect(q(cluster)).toBe('QQQ-');
    clock.advance(19999);
    expect(cluster.node(1).status().expectedVotes).toBe(4);
    clock.advance(1);
    expect(cluster.node(1).status()).toMatchObject({ expectedVotes: 3, quorum: 2 });
    cluster.node(3).kill();
    expect(q(cluster)).toBe('QQ--');
    clock.advance(20000);
    expect(cluster.node(1).status()).toMatchObject({ expectedVotes: 2, quorum: 2 });
    cluster.node(2).kill();
    expect(q(cluster)).toBe('n---');
    clock.advance(20000);
    expect(q(cluster)).toBe('n---');
  });

  test('wait_for_all: a cold-started partial cluster waits for everyone once', () => {
    const cluster = createCluster({ nodes: 3, quorum: { waitForAll: true }, start: [1, 2] });
    expect(q(cluster)).toBe('nn-');
    cluster.node(3).start();
    expect(q(cluster)).toBe('QQQ');
    cluster.node(3).kill();
    expect(q(cluster)).toBe('QQ-');
  });

  test('two_node: survivor keeps quorum; auto_tie_breaker picks the side of the lowest node', () => {
    const two = createCluster({ nodes: 2, quorum: { twoNode: true } });
    two.partition([1], [2]);
    expect(q(two)).toBe('QQ');
    const atb = createCluster({ nodes: 4, quorum: { autoTieBreaker: true } });
    atb.partition([1, 2], [3, 4]);
    expect(q(atb)).toBe('QQnn');
    const list = createCluster({ nodes: 4, quorum: { autoTieBreaker: true, autoTieBreakerNode: [4, 1] } });
    list.partition([1, 2], [3, 4]);
    expect(q(list)).toBe('nnQQ');
  });

  test('allow_downscale: a graceful stop lowers expected votes, a kill does not', () => {
    const cluster = createCluster({ nodes: 5, quorum: { allowDownscale: true } });
    cluster.node(5).stop();
    // expected votes follow the current members, quorum stays bounded by ev_barrier (5)
    expect(cluster.node(1).status().expectedVotes).toBe(4);
    expect(cluster.node(1).status().quorum).toBe(3);
    cluster.node(4).kill();
    expect(cluster.node(1).status().expectedVotes).toBe(4);
    expect(cluster.node(1).status().quorum).toBe(3);
  });

  test('qdevice helper: votes count while polled, and go after the timeout', () => {
    const clock = new ManualClock();
    const cluster = createCluster({ clock, nodes: 2, quorum: { device: { model: 'net', votes: 1, timeout: 1000 } } });
    cluster.node(1).qdeviceOn();
    clock.advance(1000);
    expect(cluster.node(1).status().totalVotes).toBe(3);
    cluster.partition([1], [2]);
    clock.advance(600);
    expect(q(cluster)).toBe('Qn');
    cluster.node(1).qdeviceOff();
    clock.advance(1000);
    expect(q(cluster)).toBe('nn');
  });

  test('notification order on one membership change (node 3 dies)', () => {
    const cluster = createCluster({ nodes: 3 });
    const log: string[] = [];
    const l: NodeListener = {
      quorumNodelist: (m, j, left) => log.push(`quorum.nodelist m=${m} left=${left}`),
      quorumChanged: () => log.push('quorum.quorum'),
      vqNodelist: () => log.push('vq.nodelist'),
      vqQuorum: () => log.push('vq.quorum'),
      vqExpectedVotes: () => log.push('vq.expected'),
    };
    cluster.node(1).listeners.add(l);
    cluster.node(3).kill();
    expect(log).toEqual(['vq.nodelist', 'quorum.nodelist m=1,2 left=3', 'quorum.quorum', 'vq.quorum']);
    void NodeServices;
  });

  test('runtime keys follow the cluster (runtime.members, lowest/highest node id)', () => {
    const cluster = createCluster({ nodes: 3 });
    const cmap = cluster.node(1).cmap;
    expect(cmap.getValue('runtime.members.2.status')).toBe('joined');
    expect(cmap.getValue('runtime.votequorum.highest_node_id')).toBe(3);
    cluster.node(2).kill();
    expect(cmap.getValue('runtime.members.2.status')).toBe('left');
    cluster.node(2).start();
    expect(cmap.getValue('runtime.members.2.join_count')).toBe(2);
    expect(cmap.getValue('runtime.members.2.ip')).toBe('r(0) ip(127.0.0.2) ');
  });

  test('a 64-node cluster settles a partition and a merge', async () => {
    const cluster = createCluster({ nodes: 64 });
    const half = Array.from({ length: 32 }, (_, i) => i + 1);
    cluster.partition(half, half.map((i) => i + 32));
    await cluster.settle();
    expect(cluster.status().every((s) => !s.quorate && s.members.length === 32)).toBe(true);
    cluster.merge();
    expect(cluster.status().every((s) => s.quorate && s.totalVotes === 64)).toBe(true);
    // a 64-node run takes seconds of CPU on a loaded machine; the default 5 s is not about correctness
  }, 60_000);
});
