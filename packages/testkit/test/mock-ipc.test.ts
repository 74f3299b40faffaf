import { connect } from '@corosync-ts/ipc';
import { decode, encoders, encodeCmapValue } from '@corosync-ts/codec-wasm';
import { afterEach, expect, test } from 'vitest';
import { startMockCorosync, type MockCorosync } from '../src/index.js';

let mock: MockCorosync | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

test('a libqb client reaches the mock under its prefix and reads cmap', async () => {
  mock = await startMockCorosync({ nodes: 3 });
  await using c = await connect(`${mock.prefix}cmap`);
  const res = decode(await c.request(encoders.cmap.req.get({ keyName: 'runtime.votequorum.this_node_id', valueLen: 16n })), { service: 'cmap', dir: 'res' });
  expect(res.name).toBe('cmap.get');
  expect(res.error).toBe(1);
  expect(res.fields).toMatchObject({ valueLen: 4n, type: 6 });
  const set = decode(await c.request(encoders.cmap.req.set({ keyName: 'test.str', type: 11, value: encodeCmapValue(11, 'abc') })), { service: 'cmap', dir: 'res' });
  expect(set.error).toBe(1);
  expect(mock.cluster.node(1).cmap.getValue('test.str')).toBe('abc');
});

test('endpoints: all — a client on every node, each sees its own node', async () => {
  mock = await startMockCorosync({ nodes: 3, endpoints: 'all' });
  const clients = await Promise.all([1, 2, 3].map((id) => connect(mock!.endpoint(id).names.cfg)));
  const ids = await Promise.all(clients.map(async (c) =>
    decode(await c.request(encoders.cfg.req.localGet({})), { service: 'cfg', dir: 'res' }).fields));
  expect(ids).toEqual([{ localNodeid: 1 }, { localNodeid: 2 }, { localNodeid: 3 }]);
  expect(mock.endpoint(3).prefix).toBe(`${mock.prefix}node3-`);
  const gone = new Promise((r) => clients[2]!.once('disconnect', r));
  mock.cluster.node(3).kill();
  await mock.settle();
  await gone;
  expect(clients[0]!.connected).toBe(true);
  const q = await connect(mock.endpoint(2).names.quorum);
  expect(decode(await q.request(encoders.quorum.req.getquorate({})), { service: 'quorum', dir: 'res' }).fields).toEqual({ quorate: 1 });
  await Promise.all([...clients, q].map((c) => c.close()));
});
