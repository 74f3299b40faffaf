import { describe, expect, it } from 'vitest';
import { renderCorosyncConf } from '../src/index.js';

describe('renderCorosyncConf', () => {
  it('writes the sections in order, nested blocks one tab deeper, votequorum by default', () => {
    const text = renderCorosyncConf({
      totem: { version: 2, cluster_name: 'c' },
      logging: { to_stderr: 'no' },
      quorum: { twoNode: true, autoTieBreakerNode: [3, 1], device: { model: 'net', votes: 1 } },
      system: { qb_ipc_type: 'shm' },
      nodes: [{ nodeid: 3, addrs: ['10.0.0.3', '10.1.0.3'], votes: 2 }],
      extra: 'uidgid {\n\tgid: 7\n}',
    });
    expect(text).toBe([
      'totem {', '\tversion: 2', '\tcluster_name: c', '}', '',
      'logging {', '\tto_stderr: no', '}', '',
      'quorum {', '\tprovider: corosync_votequorum', '\ttwo_node: 1', '\tauto_tie_breaker_node: 3 1',
      '\tdevice {', '\t\tmodel: net', '\t\tvotes: 1', '\t}', '}', '',
      'system {', '\tqb_ipc_type: shm', '}', '',
      'nodelist {', '\tnode {', '\t\tname: node3', '\t\tnodeid: 3', '\t\tring0_addr: 10.0.0.3', '\t\tring1_addr: 10.1.0.3',
      '\t\tquorum_votes: 2', '\t}', '}', '',
      'uidgid {', '\tgid: 7', '}', '',
    ].join('\n'));
  });

  it('provider null writes none', () => {
    expect(renderCorosyncConf({ totem: {}, logging: {}, quorum: { provider: null }, nodes: [] })).toContain('quorum {\n}\n');
  });
});
