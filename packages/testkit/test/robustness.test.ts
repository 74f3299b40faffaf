import { connect, type IpcClient } from '@corosync-ts/ipc';
import { decode, encoders } from '@corosync-ts/codec-wasm';
import { afterEach, describe, expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices, startMockCorosync, type MockCorosync } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('hostile frames at the handler level', () => {
  test('20 000 random and mutated requests: never a throw, always exactly one response', () => {
    const clock = new ManualClock();
    const cluster = createCluster({ clock, nodes: 3, quorum: { device: { model: 'net', votes: 1 } } });
    const svc = new NodeServices(cluster.node(1));
    const rand = rng(1234);
    const valid = [
      encoders.cmap.req.set({ keyName: 'test.k', type: 11, value: new TextEncoder().encode('v') }),
      encoders.cmap.req.get({ keyName: 'totem.version', valueLen: 16n }),
      encoders.cmap.req.trackAdd({ keyName: 'test.', trackType: 15, trackInstHandle: 1n }),
      encoders.cmap.req.iterInit({ prefix: '' }),
      encoders.quorum.req.trackstart({ trackFlags: 3 }),
      encoders.votequorum.req.qdevicePoll({ name: 'x', castVote: 1, ringId: { nodeid: 1, seq: 5n } }),
      encoders.votequorum.req.qdeviceRegister({ name: 'q' }),
      encoders.cfg.req.getNodeAddrs({ nodeid: 2 }),
    ];
    for (const service of ['cmap', 'quorum', 'votequorum', 'cfg'] as const) {
      const c = new FrameClient(service, svc);
      for (let i = 0; i < 5000; i++) {
        let frame: Uint8Array;
        if (rand() < 0.5) {
          frame = new Uint8Array(Math.floor(rand() * 600) + 16);
          for (let j = 0; j < frame.length; j++) frame[j] = (rand() * 256) | 0;
          const dv = new DataView(frame.buffer);
          dv.setInt32(0, Math.floor(rand() * 14) - 2, true);
          dv.setInt32(8, frame.length, true);
        } else {
          const base = valid[Math.floor(rand() * valid.length)]!;
          frame = base.slice(0, Math.max(16, Math.floor(rand() * (base.length + 8))));
          for (let k = 0; k < 4; k++) frame[Math.floor(rand() * frame.length)] = (rand() * 256) | 0;
        }
        const before = c.responses.length;
        c.conn.handle(frame);
        // the totem step: QDEVICE_REGISTER is answered when its own message comes back
        clock.advance(0);
        expect(c.responses.length).toBe(before + 1);
        decode(c.responses[before]!, { service, dir: 'res' });
      }
      c.conn.close();
    }
    // the node still works for a well-behaved client
    const ok = new FrameClient('cmap', svc);
    expect(ok.call(encoders.cmap.req.get({ keyName: 'totem.version', valueLen: 16n })).error).toBe(1);
  }, 60_000);
});

describe('over the ipc server', () => {
  let mock: MockCorosync | undefined;
  afterEach(async () => {
    await mock?.close();
    mock = undefined;
  });

  const get = async (c: IpcClient, key: string) =>
    decode(await c.request(encoders.cmap.req.get({ keyName: key, valueLen: 16n })), { service: 'cmap', dir: 'res' });

  test('1 000 concurrent clients each get an answer; all connections are released', async () => {
    const live = (mock = await startMockCorosync({ nodes: 3 }));
    const name = mock.endpoint().names.cmap;
    const clients = await Promise.all(Array.from({ length: 1000 }, () => connect(name)));
    const answers = await Promise.all(clients.map((c) => get(c, 'runtime.votequorum.this_node_id')));
    expect(answers.every((a) => a.error === 1)).toBe(true);
    expect(mock.endpoint().connectionCount).toBe(1000);
    await Promise.all(clients.map((c) => c.close()));
    // A state to wait for (the mock sees 1 000 closes), not a time: no cap of 5 s on a loaded machine.
    await expect.poll(() => live.endpoint().connectionCount).toBe(0);
    expect(mock.errors).toEqual([]);
  }, 120_000);

  test('a flood, a client that leaves mid-request and a dropped tracker do not disturb others', async () => {
    mock = await startMockCorosync({ nodes: 3 });
    const names = mock.endpoint().names;
    const steady = await connect(names.quorum);
    await steady.request(encoders.quorum.req.trackstart({ trackFlags: 2 }));
    const events: Uint8Array[] = [];
    steady.on('event', (f: Uint8Array) => events.push(f));

    const flooder = await connect(names.cmap);
    const flood = Array.from({ length: 5000 }, (_, i) =>
      flooder.request(encoders.cmap.req.set({ keyName: `flood.k${i % 50}`, type: 6, value: new Uint8Array([i & 255, 0, 0, 0]) })));
    const leaver = await connect(names.votequorum);
    const pending = Array.from({ length: 50 }, () => leaver.request(encoders.votequorum.req.getinfo({ nodeid: 0 })).catch((e: unknown) => e));
    await leaver.close();
    const tracker = await connect(names.cmap);
    await tracker.request(encoders.cmap.req.trackAdd({ keyName: 'flood.', trackType: 15, trackInstHandle: 9n }));
    await tracker.close();

    const results = await Promise.all(flood);
    expect(results.every((f) => decode(f, { service: 'cmap', dir: 'res' }).error === 1)).toBe(true);
    await Promise.all(pending);

    mock.cluster.node(3).kill();
    await mock.settle();
    await expect.poll(() => events.length).toBeGreaterThan(0);
    expect(decode(events[events.length - 1]!, { service: 'quorum', dir: 'evt' }).fields).toMatchObject({ quorate: 1, viewList: [1, 2] });
    const check = await connect(names.cmap);
    expect((await get(check, 'totem.version')).error).toBe(1);
    await Promise.all([check.close(), steady.close(), flooder.close()]);
    expect(mock.errors).toEqual([]);
  }, 120_000);

  test('killing the local node disconnects its clients and refuses new ones; start serves again', async () => {
    mock = await startMockCorosync({ nodes: 3 });
    const names = mock.endpoint().names;
    const c = await connect(names.cmap);
    const gone = new Promise((r) => c.once('disconnect', r));
    mock.cluster.node(1).kill();
    await mock.settle();
    await gone;
    await expect(connect(names.cmap)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    mock.cluster.node(1).start();
    await mock.settle();
    const again = await connect(names.cmap);
    expect((await get(again, 'runtime.votequorum.this_node_id')).error).toBe(1);
    await again.close();
    expect(mock.errors).toEqual([]);
  }, 60_000);
});
