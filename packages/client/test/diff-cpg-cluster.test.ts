import { describe, expect, it } from 'vitest';
import { clusterScript, comparable, label, ringChanges, totalOrderBreach } from './diff-cpg-cluster.js';

// The checks of the multi-node differential (real-diff-cpg-cluster.test.ts) on lines made up here:
// a check that cannot fail would let the real runs pass whatever they print.
const d = (p: string, slot: number, from: string, len: number) => `${p}   ${slot} deliver x6d6e2d61 node=1 pid=${from} len=${len} sum=0`;

describe('the multi-node differential checks', () => {
  it('total order: two slots that deliver shared messages in different orders are a breach', () => {
    const ok = [d('p0', 0, 'p2', 8), d('p0', 0, 'p4', 9), d('p2', 0, 'p2', 8), d('p2', 0, 'p4', 9), d('p4', 0, 'p4', 9)];
    expect(totalOrderBreach(ok)).toBeUndefined();
    const swapped = [d('p0', 0, 'p2', 8), d('p0', 0, 'p4', 9), d('p2', 0, 'p4', 9), d('p2', 0, 'p2', 8)];
    expect(totalOrderBreach(swapped)).toMatch(/p0\/0 x6d6e2d61 and p2\/0 x6d6e2d61 delivered in different orders/);
  });

  it('total order: a message delivered twice, or a sender\'s messages out of the order sent, is a breach', () => {
    expect(totalOrderBreach([d('p1', 1, 'p3', 8), d('p1', 1, 'p3', 8)])).toMatch(/twice/);
    expect(totalOrderBreach([d('p1', 1, 'p3', 9), d('p1', 1, 'p3', 8)])).toMatch(/out of the order sent/);
    // a fragmented message's length is 1047552 (the atomic size) beyond the count
    expect(totalOrderBreach([d('p1', 1, 'p3', 1047552 + 9), d('p1', 1, 'p3', 10)])).toBeUndefined();
    expect(totalOrderBreach([d('p1', 1, 'p3', 1047552 + 9), d('p1', 1, 'p3', 8)])).toMatch(/out of the order sent/);
  });

  it('runs compare a step\'s deliveries as a set, everything else line by line', () => {
    const a = ['== burst', d('p0', 0, 'p2', 8), d('p0', 0, 'p4', 9), 'p0 dispatch 0 all -> 1 callbacks=2'];
    const b = ['== burst', d('p0', 0, 'p4', 9), d('p0', 0, 'p2', 8), 'p0 dispatch 0 all -> 1 callbacks=2'];
    expect(comparable(a)).toEqual(comparable(b));
    expect(comparable(a)).not.toEqual(comparable([...a.slice(0, 3), 'p0 dispatch 0 all -> 1 callbacks=1']));
  });

  it('ring changes are counted per step', () => {
    expect(ringChanges(['== a', 'p0   0 totem ring=1+0 members=1,2', 'p1   1 totem ring=1+0 members=1,2', '== b', 'p0 join 0 x61 -> 1'])).toEqual([2, 0]);
  });

  it('the script follows the cluster: a cut-off node splits the parts, a stop takes its drivers, a start brings them back', () => {
    const steps = clusterScript([
      { k: 'isolate', n: 2 },
      { k: 'stop', n: 1 }, // not while a node is cut off
      { k: 'heal' },
      { k: 'stop', n: 3 },
      { k: 'join', p: 4, g: 0 }, // its node is down
      { k: 'start', n: 1 }, // the stopped node next to 1: 3
    ]);
    expect(steps.map(label)).toEqual(['isolate node 2', 'heal node 2', 'stop node 3', 'start node 3', 'spawn p4', 'spawn p5']);
    expect(steps.slice(0, 4).map((s) => ('parts' in s ? s.parts : []))).toEqual([[[1, 3], [2]], [[1, 2, 3]], [[1, 2]], [[1, 2, 3]]]);
  });
});
