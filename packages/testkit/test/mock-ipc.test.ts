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
