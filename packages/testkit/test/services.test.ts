import { decode, encoders, encodeCmapValue } from '@corosync-ts/codec-wasm';
import { describe, expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

const names = (evs: { name: string }[]) => evs.map((e) => e.name);

function setup(spec: Parameters<typeof createCluster>[0] = { nodes: 3 }) {
  const clock = new ManualClock();
  const cluster = createCluster({ clock, ...spec });
  const svc = new NodeServices(cluster.node(1));
  return { clock, cluster, svc, client: (s: 'cmap' | 'quorum' | 'votequorum' | 'cfg') => new FrameClient(s, svc) };
}

describe('every service: request ids', () => {
  test('an unknown request id gets a bare header, id 0, error 7', () => {
    const { client } = setup();
    for (const [svc, id] of [['cmap', 10], ['quorum', 5], ['votequorum', 10], ['cfg', 12], ['cmap', -2]] as const) {
      const c = client(svc);
      const frame = new Uint8Array(16);
      new DataView(frame.buffer).setInt32(0, id, true);
      new DataView(frame.buffer).setInt32(8, 16, true);
      c.conn.handle(frame);
      expect(c.responses[0]!.length).toBe(24);
      const dv = new DataView(c.responses[0]!.buffer);
      expect([dv.getInt32(0, true), dv.getInt32(8, true), dv.getInt32(16, true)]).toEqual([0, 24, 7]);
    }
  });

  test('truncated requests are read as zero-filled, never out of bounds', () => {
    const { client } = setup();
    const c = client('cmap');
    const full = encoders.cmap.req.get({ keyName: 'totem.version', valueLen: 16n });
    for (let n = 16; n < full.length; n += 7) {
      const r = c.call(full.subarray(0, n));
      expect(r.id).toBe(2);
    }
    const vq = client('votequorum');
    expect(vq.call(encoders.votequorum.req.qdevicePoll({ name: 'x', castVote: 1, ringId: { nodeid: 1, seq: 5n } }).subarray(0, 20)).error).toBe(12);
  });
});

describe('cmap', () => {
  test('GET answers 40 + the capacity asked for; metadata-only and too-small buffers', () => {
    const { client } = setup();
    const c = client('cmap');
    c.call(encoders.cmap.req.set({ keyName: 'test.s', type: 11, value: encodeCmapValue(11, 'hello') }));
    const meta = c.call(encoders.cmap.req.get({ keyName: 'test.s', valueLen: 0n }));
    expect([meta.size, meta.fields]).toEqual([40, { valueLen: 6n, type: 11, value: new Uint8Array(0) }]);
    const full = c.call(encoders.cmap.req.get({ keyName: 'test.s', valueLen: 100n }));
    expect(full.size).toBe(140);
    expect(full.fields).toMatchObject({ valueLen: 6n, type: 11 });
    expect(c.call(encoders.cmap.req.get({ keyName: 'test.s', valueLen: 3n })).error).toBe(7);
    expect(c.call(encoders.cmap.req.get({ keyName: 'test.none', valueLen: 16n })).error).toBe(12);
    expect(c.call(encoders.cmap.req.get({ keyName: 'test.s', valueLen: 1n << 40n })).error).toBe(8);
  });

  test('a repeated GET is answered again after the value changes or the key goes', () => {
    const { client, cluster } = setup();
    const c = client('cmap');
    const get = encoders.cmap.req.get({ keyName: 'test.v', valueLen: 16n });
    const value = () => {
      const r = c.call(get);
      return r.error === 1 ? (r.fields as { value: Uint8Array }).value[0] : `error ${r.error}`;
    };
    cluster.node(1).cmap.set('test.v', 2, 1);
    expect([value(), value()]).toEqual([1, 1]);
    cluster.node(1).cmap.set('test.v', 2, 2);
    expect(value()).toBe(2);
    cluster.node(1).cmap.delete('test.v');
    expect(value()).toBe('error 12');
    cluster.node(1).kill();
    cluster.node(1).start();
    cluster.node(1).cmap.set('test.v', 2, 3);
    expect(value()).toBe(3);
  });

  test('the cached GET answers only the same bytes, wherever the frame sits in its buffer', () => {
    const { client, cluster } = setup();
    const c = client('cmap');
    cluster.node(1).cmap.set('test.a', 2, 1);
    cluster.node(1).cmap.set('test.b', 2, 2);
    const a = encoders.cmap.req.get({ keyName: 'test.a', valueLen: 16n });
    const b = encoders.cmap.req.get({ keyName: 'test.b', valueLen: 16n });
    const diff = a.findIndex((x, i) => x !== b[i]);
    expect(a.length).toBe(b.length);
    const value = (frame: Uint8Array) => (c.call(frame).fields as { value: Uint8Array }).value[0];
    // the same bytes at 4-byte aligned offsets (word compare) and at odd ones (byte compare)
    for (const off of [0, 8, 1, 3]) {
      const at = (f: Uint8Array) => {
        const buf = new Uint8Array(off + f.length + 8);
        buf.set(f, off);
        return buf.subarray(off, off + f.length);
      };
      expect([value(at(a)), value(at(a)), value(at(b)), value(at(a))]).toEqual([1, 1, 2, 1]);
    }
    // one byte off the cached request (the key's NUL, valueLen's low and high bytes): the
    // answer that request deserves, each right after the cached one was primed again
    const off = (i: number) => {
      const x = a.slice();
      x[i]! ^= 1;
      expect(value(a)).toBe(1);
      return c.call(x);
    };
    expect(off(diff + 1).error).toBe(12);
    expect(off(a.length - 8)).toMatchObject({ error: 1, size: 40 + 17 });
    expect(off(a.length - 1).error).not.toBe(1);
  });

  test('read-only keys, deletes and adjust', () => {
    const { client } = setup();
    const c = client('cmap');
    expect(c.call(encoders.cmap.req.set({ keyName: 'totem.version', type: 6, value: encodeCmapValue(6, 3) })).error).toBe(11);
    expect(c.call(encoders.cmap.req.delete({ keyName: 'nodelist.node.0.nodeid' })).error).toBe(11);
    expect(c.call(encoders.cmap.req.delete({ keyName: 'test.none' })).error).toBe(12);
    c.call(encoders.cmap.req.set({ keyName: 'test.u8', type: 2, value: encodeCmapValue(2, 255) }));
    expect(c.call(encoders.cmap.req.adjustInt({ keyName: 'test.u8', step: 1 })).error).toBe(1);
    expect(c.call(encoders.cmap.req.adjustInt({ keyName: 'totem.version', step: 1 })).error).toBe(11);
  });

  test('iterators: live, NO_SECTIONS at the end (and again), bad handles', () => {
    const { client } = setup();
    const c = client('cmap');
    const init = c.call(encoders.cmap.req.iterInit({ prefix: 'runtime.votequorum.' }));
    const h = (init.fields as { iterHandle: bigint }).iterHandle;
    const keys: string[] = [];
    for (;;) {
      const r = c.call(encoders.cmap.req.iterNext({ iterHandle: h }));
      if (r.error !== 1) {
        expect(r.error).toBe(27);
        break;
      }
      keys.push((r.fields as { keyName: string }).keyName);
    }
    expect(keys).toEqual([...keys].sort());
    expect(keys).toContain('runtime.votequorum.this_node_id');
    expect(c.call(encoders.cmap.req.iterNext({ iterHandle: h })).error).toBe(27);
    expect(c.call(encoders.cmap.req.iterNext({ iterHandle: h + 99n })).error).toBe(9);
    expect(c.call(encoders.cmap.req.iterFinalize({ iterHandle: h })).error).toBe(1);
    expect(c.call(encoders.cmap.req.iterFinalize({ iterHandle: h })).error).toBe(9);
  });

  test('tracking: notify frames with the cookie, own changes included, track delete returns the cookie', () => {
    const { client } = setup();
    const a = client('cmap');
    const b = client('cmap');
    const add = a.call(encoders.cmap.req.trackAdd({ keyName: 'test.', trackType: 4 | 2 | 1 | 8, trackInstHandle: 0xabcn }));
    const th = (add.fields as { trackHandle: bigint }).trackHandle;
    expect(a.call(encoders.cmap.req.trackAdd({ keyName: 'x', trackType: 16, trackInstHandle: 1n })).error).toBe(7);
    b.call(encoders.cmap.req.set({ keyName: 'test.s', type: 11, value: encodeCmapValue(11, 'abc') }));
    b.call(encoders.cmap.req.set({ keyName: 'test.s', type: 11, value: encodeCmapValue(11, 'abc') }));
    a.call(encoders.cmap.req.set({ keyName: 'test.s', type: 11, value: encodeCmapValue(11, 'hello!') }));
    b.call(encoders.cmap.req.delete({ keyName: 'test.s' }));
    const ev = a.takeEvents();
    expect(ev.map((e) => [e.name, (e.fields as { event: number }).event, (e.fields as { trackInstHandle: bigint }).trackInstHandle])).toEqual([
      ['cmap.notify', 4, 0xabcn], ['cmap.notify', 2, 0xabcn], ['cmap.notify', 1, 0xabcn],
    ]);
    expect(ev[1]!.size).toBe(347); // "abc" -> "hello!" exactly as the daemon sends it
    expect(a.call(encoders.cmap.req.setCurrentMap({ map: 1 })).error).toBe(10);
    expect((a.call(encoders.cmap.req.trackDelete({ trackHandle: th })).fields as { trackInstHandle: bigint }).trackInstHandle).toBe(0xabcn);
    expect(a.call(encoders.cmap.req.trackDelete({ trackHandle: th })).error).toBe(9);
  });

  test('the stats map and its error codes', () => {
    const { client } = setup();
    const c = client('cmap');
    const r = c.call(encoders.cmap.req.setCurrentMap({ map: 1 }));
    expect([r.id, r.error]).toEqual([10, 1]);
    expect(c.call(encoders.cmap.req.get({ keyName: 'stats.ipcs.global.active', valueLen: 16n })).error).toBe(1);
    expect(c.call(encoders.cmap.req.set({ keyName: 'stats.ipcs.global.active', type: 8, value: encodeCmapValue(8, 1n) })).error).toBe(11);
    expect(c.call(encoders.cmap.req.set({ keyName: 'stats.clear.all', type: 6, value: encodeCmapValue(6, 1) })).error).toBe(1);
    expect(c.call(encoders.cmap.req.set({ keyName: 'stats.clear.foo', type: 6, value: encodeCmapValue(6, 1) })).error).toBe(19);
    // stats_map_is_key_ro: everything but stats.clear. is read-only (CS_ERR_ACCESS); those
    // cannot be deleted or adjusted (CS_ERR_NOT_SUPPORTED)
    expect(c.call(encoders.cmap.req.delete({ keyName: 'stats.ipcs.global.active' })).error).toBe(11);
    expect(c.call(encoders.cmap.req.adjustInt({ keyName: 'stats.ipcs.global.active', step: 1 })).error).toBe(11);
    expect(c.call(encoders.cmap.req.delete({ keyName: 'stats.clear.all' })).error).toBe(19);
    expect(c.call(encoders.cmap.req.adjustInt({ keyName: 'stats.clear.all', step: 1 })).error).toBe(19);
    expect(c.call(encoders.cmap.req.trackAdd({ keyName: 'stats.', trackType: 8 | 4, trackInstHandle: 1n })).error).toBe(19);
    expect(c.call(encoders.cmap.req.setCurrentMap({ map: 7 })).error).toBe(12);
  });
});

describe('quorum', () => {
  test('V0: gettype, getquorate, trackstart snapshot, EXIST on repeat, trackstop always OK', () => {
    const { client } = setup();
    const q = client('quorum');
    expect(q.call(encoders.quorum.req.gettype({})).fields).toEqual({ quorumType: 1 });
    expect(q.call(encoders.quorum.req.getquorate({})).fields).toEqual({ quorate: 1 });
    expect(q.call(encoders.quorum.req.trackstart({ trackFlags: 1 })).error).toBe(1);
    expect(q.call(encoders.quorum.req.trackstart({ trackFlags: 1 })).error).toBe(1);
    expect(q.call(encoders.quorum.req.trackstart({ trackFlags: 2 })).error).toBe(1);
    expect(q.call(encoders.quorum.req.trackstart({ trackFlags: 2 })).error).toBe(14);
    expect(names(q.takeEvents())).toEqual(['quorum.notification', 'quorum.notification', 'quorum.notification', 'quorum.notification']);
    expect(q.call(encoders.quorum.req.trackstop({})).error).toBe(1);
    expect(q.call(encoders.quorum.req.trackstop({})).error).toBe(1);
  });

  test('V1: nodelist before quorum on a snapshot and on every membership change', () => {
    const { client, cluster } = setup();
    const q = client('quorum');
    expect(q.call(encoders.quorum.req.modelGettype({ model: 1 })).fields).toEqual({ quorumType: 1 });
    expect(q.call(encoders.quorum.req.modelGettype({ model: 5 })).error).toBe(7);
    q.call(encoders.quorum.req.trackstart({ trackFlags: 2 }));
    const snap = q.takeEvents();
    expect(names(snap)).toEqual(['quorum.v1NodelistNotification', 'quorum.v1QuorumNotification']);
    expect(snap[0]!.fields).toMatchObject({ memberList: [1, 2, 3], joinedList: [], leftList: [] });
    cluster.node(3).kill();
    const ev = q.takeEvents();
    expect(names(ev)).toEqual(['quorum.v1NodelistNotification', 'quorum.v1QuorumNotification']);
    expect(ev[0]!.fields).toMatchObject({ memberList: [1, 2], joinedList: [], leftList: [3] });
    expect(ev[1]!.fields).toMatchObject({ quorate: 1, viewList: [1, 2] });
    cluster.node(2).kill();
    expect(q.takeEvents()[1]!.fields).toMatchObject({ quorate: 0, viewList: [1] });
  });
});

describe('votequorum', () => {
  test('getinfo matches the real daemon for a 3-node nodelist with one node up', () => {
    const { client } = setup({ nodes: 3, start: [1] });
    const v = client('votequorum');
    expect(v.call(encoders.votequorum.req.getinfo({ nodeid: 0 })).fields).toMatchObject({
      nodeid: 1, state: 1, votes: 1, expectedVotes: 3, highestExpected: 3, totalVotes: 1, quorum: 2, flags: 0,
    });
    const unknown = v.call(encoders.votequorum.req.getinfo({ nodeid: 7 }));
    expect([unknown.error, unknown.fields]).toMatchObject([12, { nodeid: 0, votes: 0 }]);
  });

  test('trackstart: snapshot nodelist then quorum with the request context; stop without tracking is NOT_EXIST', () => {
    const { client, cluster } = setup();
    const v = client('votequorum');
    expect(v.call(encoders.votequorum.req.trackstop({})).error).toBe(12);
    expect(v.call(encoders.votequorum.req.trackstart({ context: 42n, trackFlags: 2 })).error).toBe(1);
    expect(v.call(encoders.votequorum.req.trackstart({ context: 43n, trackFlags: 1 })).error).toBe(14);
    const snap = v.takeEvents();
    expect(names(snap)).toEqual([
      'votequorum.nodelistNotification', 'votequorum.quorumNotification', 'votequorum.nodelistNotification', 'votequorum.quorumNotification',
    ]);
    expect(snap.map((e) => (e.fields as { context: bigint }).context)).toEqual([42n, 42n, 43n, 43n]);
    cluster.node(3).kill();
    const ev = v.takeEvents();
    expect(names(ev)).toEqual(['votequorum.nodelistNotification', 'votequorum.quorumNotification']);
    // corosync's own list order (checked against a real cluster in real-notifications.test.ts)
    expect(ev[1]!.fields).toMatchObject({ quorate: 1, context: 42n, nodeList: [{ nodeid: 2, state: 1 }, { nodeid: 3, state: 2 }, { nodeid: 1, state: 1 }] });
  });

  test('setexpected and setvotes: validation, expected-votes events, quorum changes', () => {
    const { client, clock } = setup({ nodes: 3, start: [1] });
    const v = client('votequorum');
    v.call(encoders.votequorum.req.trackstart({ context: 1n, trackFlags: 4 }));
    expect(v.call(encoders.votequorum.req.setvotes({ votes: 1, nodeid: 1 })).error).toBe(7);
    expect(v.call(encoders.votequorum.req.setvotes({ votes: 1, nodeid: 9 })).error).toBe(17);
    expect(v.call(encoders.votequorum.req.setvotes({ votes: 5, nodeid: 1 })).error).toBe(1);
    clock.advance(0); // totem delivers after the answer (vq-timing.test.ts)
    const ev = v.takeEvents();
    expect(ev.map((e) => [e.name, e.fields])).toMatchObject([
      ['votequorum.expectedvotesNotification', { expectedVotes: 5 }],
      ['votequorum.quorumNotification', { quorate: 1 }],
    ]);
    expect(v.call(encoders.votequorum.req.getinfo({ nodeid: 0 })).fields).toMatchObject({ votes: 5, expectedVotes: 5, quorum: 3, totalVotes: 5 });
    expect(v.call(encoders.votequorum.req.setexpected({ expectedVotes: 4 })).error).toBe(7);
    expect(v.call(encoders.votequorum.req.setexpected({ expectedVotes: 6 })).error).toBe(1);
    clock.advance(0);
    expect(names(v.takeEvents())).toEqual(['votequorum.expectedvotesNotification']);
  });

  test('setexpected near 2^32: calculate_quorum\'s unsigned arithmetic wraps, quorum 1 and quorate (as corosync 3.1.7)', () => {
    const { client, clock } = setup({ nodes: 3, start: [1] });
    const v = client('votequorum');
    expect(v.call(encoders.votequorum.req.setexpected({ expectedVotes: 4294967295 })).error).toBe(1);
    clock.advance(0);
    expect(v.call(encoders.votequorum.req.getinfo({ nodeid: 0 })).fields).toMatchObject({ expectedVotes: 4294967295, highestExpected: 4294967295, quorum: 1, flags: 2 });
  });

  test('qdevice: register (deferred answer), poll with the ring, timeout on the clock, master_wins, unregister', () => {
    const { client, clock, cluster } = setup({ nodes: 3, quorum: { device: { model: 'net', votes: 1, timeout: 1000, syncTimeout: 3000 } } });
    const v = client('votequorum');
    const ring = cluster.node(1).vq!.ringId;
    expect(v.call(encoders.votequorum.req.qdevicePoll({ name: 'qd', castVote: 1, ringId: ring })).error).toBe(12);
    v.conn.handle(encoders.votequorum.req.qdeviceRegister({ name: 'qd' }));
    clock.advance(0); // answered when totem brings our registration back
    expect(decode(v.responses.at(-1)!, { service: 'votequorum', dir: 'res' }).error).toBe(1);
    expect(v.call(encoders.votequorum.req.qdeviceRegister({ name: 'qd' })).error).toBe(1);
    expect(v.call(encoders.votequorum.req.qdeviceRegister({ name: 'other' })).error).toBe(14);
    expect(v.call(encoders.votequorum.req.qdevicePoll({ name: 'qd', castVote: 1, ringId: { nodeid: 1, seq: 1n } })).error).toBe(22);
    expect(v.call(encoders.votequorum.req.qdevicePoll({ name: 'xx', castVote: 1, ringId: ring })).error).toBe(7);
    expect(v.call(encoders.votequorum.req.qdevicePoll({ name: 'qd', castVote: 1, ringId: ring })).error).toBe(1);
    clock.advance(0);
    const info = v.call(encoders.votequorum.req.getinfo({ nodeid: 0 })).fields as { flags: number; totalVotes: number; qdeviceName: string };
    expect(info.flags & (64 | 128 | 256)).toBe(64 | 128 | 256);
    expect([info.totalVotes, info.qdeviceName]).toEqual([4, 'qd']);
    clock.advance(1001);
    const after = v.call(encoders.votequorum.req.getinfo({ nodeid: 0 })).fields as { flags: number; totalVotes: number };
    expect([after.flags & (128 | 256), after.totalVotes]).toEqual([0, 3]);
    expect(v.call(encoders.votequorum.req.qdeviceMasterWins({ name: 'qd', allow: 1 })).error).toBe(1);
    expect(cluster.node(1).cmap.getValue('runtime.votequorum.qdevice_master_wins')).toBe(1);
    expect(v.call(encoders.votequorum.req.qdeviceUpdate({ oldname: 'zz', newname: 'q2' })).error).toBe(7);
    expect(v.call(encoders.votequorum.req.qdeviceUpdate({ oldname: 'qd', newname: 'q2' })).error).toBe(1);
    clock.advance(0);
    expect(v.call(encoders.votequorum.req.qdeviceUnregister({ name: 'qd' })).error).toBe(7);
    expect(v.call(encoders.votequorum.req.qdeviceUnregister({ name: 'q2' })).error).toBe(1);
    expect(v.call(encoders.votequorum.req.qdeviceUnregister({ name: 'q2' })).error).toBe(12);
    expect(cluster.node(1).cmap.getValue('runtime.votequorum.qdevice_master_wins')).toBe(1);
  });

  test('a membership change waits for the registered, alive device to poll the new ring', () => {
    const { client, cluster, clock } = setup({ nodes: 3, quorum: { device: { model: 'net', votes: 1, timeout: 10000, syncTimeout: 3000 } } });
    const v = client('votequorum');
    v.conn.handle(encoders.votequorum.req.qdeviceRegister({ name: 'qd' }));
    clock.advance(0);
    v.call(encoders.votequorum.req.qdevicePoll({ name: 'qd', castVote: 1, ringId: cluster.node(1).vq!.ringId }));
    clock.advance(0);
    v.call(encoders.votequorum.req.trackstart({ context: 0n, trackFlags: 4 }));
    cluster.node(3).kill();
    // sync_process ran (nodelist sent) but activation waits for the device
    expect(names(v.takeEvents())).toEqual(['votequorum.nodelistNotification']);
    expect(cluster.node(2).viewList).toEqual([1, 2, 3]);
    v.call(encoders.votequorum.req.qdevicePoll({ name: 'qd', castVote: 1, ringId: cluster.node(1).vq!.ringId }));
    expect(names(v.takeEvents())).toEqual([]);
    clock.advance(0); // the sync ends when totem delivers
    expect(names(v.takeEvents())).toEqual(['votequorum.quorumNotification']);
    expect(cluster.node(2).viewList).toEqual([1, 2]);
  });

  test('a device configured at runtime next to two_node can not operate → ACCESS', () => {
    const { client } = setup({ nodes: 2, quorum: { twoNode: true } });
    const c = client('cmap');
    const v = client('votequorum');
    expect(c.call(encoders.cmap.req.set({ keyName: 'quorum.device.model', type: 11, value: encodeCmapValue(11, 'net') })).error).toBe(1);
    expect(v.call(encoders.votequorum.req.qdeviceRegister({ name: 'qd' })).error).toBe(11);
  });
});

describe('cfg', () => {
  test('getNodeAddrs (local, other, unknown) and localGet', () => {
    const { client } = setup({ nodes: [{ id: 1, addr: '10.1.2.3' }, { id: 2, addr: 'fd00::2' }] });
    const c = client('cfg');
    const local = c.call(encoders.cfg.req.getNodeAddrs({ nodeid: 0 }));
    expect([local.id, local.size, (local.fields as { family: number }).family]).toEqual([11, 48, 2]);
    expect(Array.from((local.fields as { addrs: Uint8Array[] }).addrs[0]!.subarray(0, 4))).toEqual([10, 1, 2, 3]);
    expect((c.call(encoders.cfg.req.getNodeAddrs({ nodeid: 2 })).fields as { family: number }).family).toBe(10);
    const none = c.call(encoders.cfg.req.getNodeAddrs({ nodeid: 77 }));
    expect([none.error, none.size]).toEqual([12, 32]);
    expect(c.call(encoders.cfg.req.localGet({})).fields).toEqual({ localNodeid: 1 });
  });
});
