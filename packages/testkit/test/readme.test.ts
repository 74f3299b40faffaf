import { connect } from '@corosync-ts/ipc';
import { decode, encoders } from '@corosync-ts/codec-wasm';
import { describe, expect, test } from 'vitest';
import { startMockCorosync } from '../src/index.js';
import { useMockCorosync } from '../src/vitest.js';

test('the README example runs and sees the quorum changes', async () => {
  const mock = await startMockCorosync({ nodes: 3 });
  const quorum = await connect(`${mock.prefix}quorum`);
  const seen: unknown[] = [];
  quorum.on('event', (f: Uint8Array) => seen.push(decode(f, { service: 'quorum', dir: 'evt' }).fields));
  await quorum.request(encoders.quorum.req.trackstart({ trackFlags: 2 }));
  const { cluster } = mock;
  cluster.partition([1, 2], [3]);
  cluster.node(2).kill();
  await mock.settle();
  for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  expect(seen.map((s) => (s as { quorate: number }).quorate)).toEqual([1, 1, 0]);
  expect(seen[2]).toMatchObject({ viewList: [1] });
  cluster.merge();
  cluster.node(2).start();
  await mock.settle();
  await quorum.close();
  await mock.close();
});

describe('useMockCorosync', () => {
  const mock = useMockCorosync({ nodes: 2, quorum: { twoNode: true } });
  test('gives each test a running mock', async () => {
    mock.current.cluster.node(2).kill();
    await mock.current.settle();
    const c = await connect(mock.current.endpoint().names.votequorum);
    const info = decode(await c.request(encoders.votequorum.req.getinfo({ nodeid: 0 })), { service: 'votequorum', dir: 'res' });
    expect(info.fields).toMatchObject({ quorum: 1, flags: expect.any(Number) });
    expect((info.fields as { flags: number }).flags & 3).toBe(3); // TWONODE | QUORATE
    await c.close();
  });
  test('and a fresh one for the next', () => {
    expect(mock.current.cluster.node(2).running).toBe(true);
  });
});
