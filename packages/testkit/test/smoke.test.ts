import { test } from 'vitest';
import { createCluster } from '../src/index.js';
test('smoke', () => {
  const c = createCluster({ nodes: 3 });
  const show = (l: string) => console.log(l, c.status().map((s) => `${s.id}:${s.running ? (s.quorate ? 1 : 0) : '-'} ring=${s.ringId.nodeid}.${s.ringId.seq} m=[${s.members}] ev=${s.expectedVotes} tv=${s.totalVotes} q=${s.quorum}`).join(' | '));
  show('start');
  c.partition([1, 2], [3]); show('split');
  c.node(2).kill(); show('kill2');
  c.merge(); show('merge');
  c.node(2).start(); show('start2');
});
