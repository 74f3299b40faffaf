import { encoders } from '@corosync-ts/codec-wasm';
import { CMAP_TRACK_ADD, CMAP_TRACK_DELETE, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX, CS_ERR_INVALID_PARAM, CS_OK } from '@corosync-ts/types';
import { describe, expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices, specToConf, type CmapChange } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

// cfg RELOAD_CONFIG at the frame level (real-reload.test.ts compares it with corosync 3.1.7):
// every node of the requester's ring applies the file when totem delivers the request.

const CONF = specToConf({ nodes: 3, clusterName: 'one' });

function setup(next: () => string) {
  const clock = new ManualClock();
  const cluster = createCluster({ clock, config: CONF });
  const cfg = new FrameClient('cfg', new NodeServices(cluster.node(1), { configSource: next }));
  const changes: CmapChange[] = [];
  cluster.node(2).cmap.track('', CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, (c) => changes.push(c));
  const reload = () => {
    const n = cfg.responses.length;
    cfg.conn.handle(encoders.cfg.req.reloadConfig({}));
    expect(cfg.responses.length).toBe(n);
    clock.advance(0);
    expect(cfg.responses.length).toBe(n + 1);
    return new DataView(cfg.responses[n]!.buffer).getInt32(16, true);
  };
  return { clock, cluster, reload, changes };
}

describe('cfg reload', () => {
  test('changed keys go live on every node of the ring; keys fixed at start keep their value; votequorum rereads its keys', () => {
    const next = CONF.replace('cluster_name: one', 'cluster_name: two\n  token: 2000')
      .replace('provider: corosync_votequorum', 'provider: corosync_votequorum\n  expected_votes: 5');
    const { cluster, reload, changes } = setup(() => next);
    cluster.partition([1, 2], [3]);
    changes.length = 0;
    expect(reload()).toBe(CS_OK);
    for (const id of [1, 2]) {
      const c = cluster.node(id).cmap;
      expect([c.getValue('totem.cluster_name'), c.getValue('totem.token'), c.getValue('quorum.expected_votes')]).toEqual(['one', 2000, 5]);
      expect(c.getValue('runtime.config.totem.token')).toBe(2650);
      expect(c.getValue('config.reload_status')).toBe(CS_OK);
      expect(c.has('totem.interface.0.bindnetaddr')).toBe(false);
    }
    expect(cluster.node(3).cmap.has('quorum.expected_votes')).toBe(false);
    expect(cluster.node(1).status()).toMatchObject({ expectedVotes: 5, quorum: 3, quorate: false });
    const keys = changes.map((c) => c.key).filter((k) => !k.startsWith('runtime.services.'));
    expect(keys.slice(0, 2)).toEqual(['config.totemconfig_reload_in_progress', 'config.reload_in_progress']);
    expect(keys.at(-1)).toBe('config.reload_in_progress');
    expect(keys.indexOf('nodelist.local_node_pos')).toBeLessThan(keys.indexOf('quorum.expected_votes'));
    expect(keys).not.toContain('totem.cluster_name');
  });

  test('a file that does not parse: INVALID_PARAM, nothing applied, totemconfig_reload_in_progress left at 1 (as corosync)', () => {
    const { cluster, reload } = setup(() => `${CONF}\nbroken {\n`);
    expect(reload()).toBe(CS_ERR_INVALID_PARAM);
    const c = cluster.node(1).cmap;
    expect(c.getValue('config.totemconfig_reload_in_progress')).toBe(1);
    expect(c.has('config.reload_status')).toBe(false);
    expect(c.has('config.reload_in_progress')).toBe(false);
    expect(c.has('totem.interface.0.bindnetaddr')).toBe(true);
  });
});
