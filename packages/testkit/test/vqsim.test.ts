import { expect, test } from 'vitest';
import { specToConf, type ClusterSpec } from '../src/index.js';
import { describeWithPrograms } from '@corosync-ts/nstest';
import { runSimulator, runVqsim } from './helpers/vqsim.js';

const conf = (spec: ClusterSpec) => specToConf(spec);
const n = (count: number, votes?: Record<number, number>) =>
  Array.from({ length: count }, (_, i) => ({ id: i + 1, ...(votes?.[i + 1] ? { votes: votes[i + 1] } : {}) }));
const LMS = { lastManStanding: true, lastManStandingWindow: 1000 };
const QD = { model: 'net', votes: 1, timeout: 1000, syncTimeout: 2000 };

/**
 * [name, config, vqsim script]. After every command both sides must agree on every running node:
 * its partition, quorate flag and membership. (vqsim's `down a,b` only takes the first id down,
 * so every down names one node.)
 */
const scenarios: [string, string, string[]][] = [
  ['3 nodes: split 2+1', conf({ nodes: 3 }), ['split 1:3']],
  ['3 nodes: split then rejoin', conf({ nodes: 3 }), ['split 1:3', 'join 0 1']],
  ['3 nodes: split into singletons', conf({ nodes: 3 }), ['split 1:2 2:3']],
  ['3 nodes: kill one, then another', conf({ nodes: 3 }), ['down 3', 'down 2']],
  ['3 nodes: kill two, restart one', conf({ nodes: 3 }), ['down 2', 'down 3', 'up 2']],
  ['3 nodes: kill, split, heal', conf({ nodes: 3 }), ['down 2', 'split 1:3', 'join 0 1']],
  ['4 nodes: 2+2 split', conf({ nodes: 4 }), ['split 1:3,4']],
  ['4 nodes: 3+1 split', conf({ nodes: 4 }), ['split 1:4']],
  ['5 nodes: 3+2 split and merge', conf({ nodes: 5 }), ['split 1:4,5', 'join 0 1']],
  ['5 nodes: 2+2+1', conf({ nodes: 5 }), ['split 1:3,4 2:5']],
  ['weighted votes: node 1 has 3', conf({ nodes: n(3, { 1: 3 }) }), ['split 1:1', 'join 0 1']],
  ['weighted votes: heavy node dies', conf({ nodes: n(4, { 4: 2 }) }), ['down 4', 'split 1:3']],
  ['expected_votes override', conf({ nodes: 3, quorum: { expectedVotes: 5 } }), ['down 3', 'up 3']],
  ['two_node: split', conf({ nodes: 2, quorum: { twoNode: true } }), ['split 1:2']],
  ['two_node: kill one', conf({ nodes: 2, quorum: { twoNode: true } }), ['down 2', 'up 2']],
  ['two_node: restart both, one at a time (wait_for_all)', conf({ nodes: 2, quorum: { twoNode: true } }), ['down 1', 'down 2', 'up 1', 'up 2']],
  ['two_node without wait_for_all', conf({ nodes: 2, quorum: { twoNode: true, waitForAll: false } }), ['down 1', 'down 2', 'up 1', 'up 2']],
  ['wait_for_all: 3 nodes cold start', conf({ nodes: 3, quorum: { waitForAll: true } }), ['down 1', 'down 2', 'down 3', 'up 1,2', 'up 3', 'down 3']],
  ['wait_for_all: partial start never quorate', conf({ nodes: 3, quorum: { waitForAll: true } }), ['down 1', 'down 2', 'down 3', 'up 1', 'up 2']],
  ['wait_for_all: 4 nodes split after start', conf({ nodes: 4, quorum: { waitForAll: true } }), ['split 1:3,4', 'join 0 1']],
  ['LMS: 5 nodes shrink step by step', conf({ nodes: 5, quorum: LMS }), ['down 5', 'wait 1500', 'down 4', 'wait 1500', 'down 3', 'wait 1500']],
  ['LMS: no wait, no downscale', conf({ nodes: 5, quorum: LMS }), ['down 5', 'down 4', 'down 3']],
  ['LMS: shrink then regrow', conf({ nodes: 4, quorum: LMS }), ['down 4', 'wait 1500', 'down 3', 'wait 1500', 'up 3,4']],
  ['ATB lowest: 4 nodes 2+2', conf({ nodes: 4, quorum: { autoTieBreaker: true } }), ['split 1:3,4', 'join 0 1']],
  ['ATB lowest: lowest node on the other side', conf({ nodes: 4, quorum: { autoTieBreaker: true } }), ['split 1:1,2']],
  ['ATB highest: 4 nodes 2+2', conf({ nodes: 4, quorum: { autoTieBreaker: true, autoTieBreakerNode: 'highest' } }), ['split 1:3,4']],
  ['ATB list 3 4: 4 nodes 2+2', conf({ nodes: 4, quorum: { autoTieBreaker: true, autoTieBreakerNode: [3, 4] } }), ['split 1:3,4', 'join 0 1', 'split 1:1,3']],
  ['ATB on odd cluster is disabled without WFA', conf({ nodes: 5, quorum: { autoTieBreaker: true } }), ['split 1:4,5', 'split 2:3']],
  ['ATB + WFA on 5 nodes', conf({ nodes: 5, quorum: { autoTieBreaker: true, waitForAll: true } }), ['split 1:4,5']],
  ['ATB + LMS on 4 nodes', conf({ nodes: 4, quorum: { autoTieBreaker: true, ...LMS } }), ['down 4', 'wait 1500', 'split 1:3']],
  ['qdevice: 3 nodes, device votes on node 1', conf({ nodes: 3, quorum: { device: QD } }), ['qdevice on 1', 'wait 1500', 'split 1:2,3']],
  ['qdevice: all nodes vote, 2+1 split', conf({ nodes: 3, quorum: { device: QD } }), ['qdevice on 1,2,3', 'wait 1500', 'down 3', 'wait 2500']],
  // The device goes quiet before the membership change: vqsim's nodes have no sync barrier, so
  // while a node waits for its device's poll the others already activate (real corosync waits).
  ['qdevice: on then off', conf({ nodes: 3, quorum: { device: QD } }), ['qdevice on 1', 'wait 1500', 'qdevice off 1', 'wait 1500', 'down 2', 'down 3']],
  ['qdevice: auto votes on 4 nodes', conf({ nodes: 4, quorum: { device: { model: 'net', timeout: 1000, syncTimeout: 2000 } } }), ['qdevice on 1,2,3,4', 'wait 1500', 'split 1:3,4', 'wait 2500']],
];

test('the table is big enough', () => {
  expect(scenarios.length).toBeGreaterThanOrEqual(30);
});

describeWithPrograms('corosync-vqsim')('simulator vs corosync-vqsim', () => {
  for (const [name, config, script] of scenarios) {
    test(name, async () => {
      const ours = runSimulator(config, script);
      const real = await runVqsim(config, script, ours);
      for (let i = 0; i < script.length; i++) {
        expect({ after: script[i], nodes: ours[i] }).toEqual({ after: script[i], nodes: real[i] });
      }
    }, 120_000);
  }
});
