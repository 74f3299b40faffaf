import { encoders } from '@corosync-ts/codec-wasm';
import { CS_ERR_ACCESS, CS_ERR_BUSY, CS_ERR_EXIST, CS_ERR_NOT_EXIST, CS_OK } from '@corosync-ts/types';
import { expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices, specToConf } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

// cfg requests a hostile (or just odd) client can send, at the frame level: each gets corosync's
// answer at its time, and nobody else's answer is disturbed.

const CONF = specToConf({ nodes: 3, clusterName: 'one' });
const errorOf = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getInt32(16, true);

function setup() {
  const clock = new ManualClock();
  const cluster = createCluster({ clock, config: CONF });
  const services = new NodeServices(cluster.node(1), { configSource: () => CONF });
  return { clock, cluster, client: () => new FrameClient('cfg', services) };
}

test('replyto without a shutdown pending is ACCESS; kill_node of an unknown node, of node 0 and of a node that is down is NOT_EXIST, and kills nobody', () => {
  const { cluster, client } = setup();
  const a = client();
  expect(a.call(encoders.cfg.req.replytoShutdown({ response: 1 })).error).toBe(CS_ERR_ACCESS);
  cluster.node(3).stop();
  for (const nodeid of [99, 0, 0xffffffff, 3]) {
    expect(a.call(encoders.cfg.req.killNode({ nodeid, reason: 'hostile' })).error).toBe(CS_ERR_NOT_EXIST);
  }
  expect([1, 2].map((n) => cluster.node(n).running)).toEqual([true, true]);
});

test('a reload while another is in flight: each answered OK once totem delivers it, in order; a requester gone meanwhile gets nothing and costs nothing', () => {
  const { clock, client } = setup();
  const [a, b, c] = [client(), client(), client()];
  a.conn.handle(encoders.cfg.req.reloadConfig({}));
  b.conn.handle(encoders.cfg.req.reloadConfig({}));
  c.conn.handle(encoders.cfg.req.reloadConfig({}));
  c.conn.close();
  expect([a, b, c].map((x) => x.responses.length)).toEqual([0, 0, 0]);
  clock.advance(0);
  expect([a, b, c].map((x) => x.responses.map(errorOf))).toEqual([[CS_OK], [CS_OK], []]);
});

test('try_shutdown while a tracker never answers: BUSY at the timeout, not before; a second requester meanwhile EXIST; the silent tracker still gets its one event', () => {
  const { clock, cluster, client } = setup();
  const [tracker, requester, second] = [client(), client(), client()];
  expect(tracker.call(encoders.cfg.req.trackstart({ trackFlags: 0 })).error).toBe(CS_OK);
  requester.conn.handle(encoders.cfg.req.tryShutdown({ flags: 0 }));
  expect(tracker.takeEvents().map((e) => e.name)).toEqual(['cfg.shutdownCallback']);
  expect(second.call(encoders.cfg.req.tryShutdown({ flags: 0 })).error).toBe(CS_ERR_EXIST);
  clock.advance(4999);
  expect(requester.responses).toHaveLength(0);
  clock.advance(1);
  expect(requester.responses.map(errorOf)).toEqual([CS_ERR_BUSY]);
  expect(cluster.node(1).running).toBe(true);
  // the session is over: a late vote is ACCESS
  expect(tracker.call(encoders.cfg.req.replytoShutdown({ response: 1 })).error).toBe(CS_ERR_ACCESS);
});
