import { decode, encoders } from '@corosync-ts/codec-wasm';
import { CmapValueType } from '@corosync-ts/types';
import { describe, expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

function setup(nodes = 3) {
  const clock = new ManualClock();
  const cluster = createCluster({ clock, nodes });
  const svc = new NodeServices(cluster.node(1));
  return { clock, cluster, svc, client: (s: 'cpg' | 'cfg') => new FrameClient(s, svc) };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('cpg frames', () => {
  test('join → reply then confchg (184 + 24·n) and model-v1 totem confchg (48 + 4n); MCAST has no reply; deliver is 184 + msglen', () => {
    const { client } = setup();
    const c = client('cpg');
    expect(c.call(encoders.cpg.req.join({ groupName: 'grpA', pid: 4697, flags: 1 })).error).toBe(1);
    const [conf, totem] = c.events.splice(0);
    expect(conf!.length).toBe(184 + 24 * 2);
    expect(decode(conf!, { service: 'cpg', dir: 'evt' }).fields).toMatchObject({
      memberListEntries: 1, joinedListEntries: 1, leftListEntries: 0, joinedList: [{ nodeid: 1, pid: 4697, reason: 1 }],
    });
    expect(totem!.length).toBe(48 + 4 * 3);
    c.conn.handle(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new TextEncoder().encode('hello-1') }));
    expect(c.responses).toHaveLength(1);
    const [del] = c.events.splice(0);
    expect(del!.length).toBe(184 + 7);
    expect(decode(del!, { service: 'cpg', dir: 'evt' }).fields).toMatchObject({ msglen: 7, nodeid: 1, pid: 4697 });
    const m = c.call(encoders.cpg.req.membershipGet({ groupName: 'grpA' }));
    expect([m.size, (m.fields as { memberCount: number }).memberCount]).toEqual([9248, 1]);
    expect(c.call(encoders.cpg.req.localGet({})).fields).toEqual({ localNodeid: 1 });
  });

  test('an unknown id gets {0, 24, 7}; flow control: TRY_AGAIN for fc requests, MCAST dropped, queries still served', () => {
    const { client, cluster } = setup();
    const c = client('cpg');
    const frame = new Uint8Array(16);
    new DataView(frame.buffer).setInt32(0, 13, true);
    new DataView(frame.buffer).setInt32(8, 16, true);
    expect(c.call(frame)).toMatchObject({ id: 0, size: 24, error: 7 });
    c.call(encoders.cpg.req.join({ groupName: 'g', pid: 1, flags: 0 }));
    c.events.length = 0;
    cluster.node(1).cpg.flowControl = true;
    expect(c.call(encoders.cpg.req.leave({ groupName: 'g', pid: 1 }))).toMatchObject({ id: 0, error: 6 });
    c.conn.handle(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(3) }));
    expect(c.call(encoders.cpg.req.localGet({})).error).toBe(1);
    cluster.node(1).cpg.flowControl = false;
    c.conn.handle(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(3) }));
    expect(c.takeEvents().map((e) => e.name)).toEqual(['cpg.deliverCallback']);
  });

  test('iteration over frames: ALL, NEXT to 27 and around, a bad handle is LIBRARY; a hostile ZC_ALLOC path is not touched', () => {
    const { client } = setup();
    const a = client('cpg');
    a.call(encoders.cpg.req.join({ groupName: 'g', pid: 1, flags: 0 }));
    const it = a.call(encoders.cpg.req.iterationInitialize({ groupName: '', iterationType: 3 }));
    const h = (it.fields as { iterationHandle: bigint }).iterationHandle;
    const next = () => a.call(encoders.cpg.req.iterationNext({ iterationHandle: h }));
    expect(next().fields).toMatchObject({ nodeid: 1, pid: 1 });
    const end = next();
    expect([end.error, end.size]).toEqual([27, 168]);
    expect(next().error).toBe(1);
    expect(a.call(encoders.cpg.req.iterationNext({ iterationHandle: h + 1n })).error).toBe(2);
    expect(a.call(encoders.cpg.req.iterationFinalize({ iterationHandle: h })).error).toBe(1);
    const zc = a.call(encoders.cpg.req.zcbAlloc({ mapSize: 156n, pathToFile: '/etc/passwd' }));
    expect([zc.id, zc.size]).toEqual([0, 24]);
    expect(a.call(encoders.cpg.req.zcbMcastJoined({ serverAddress: 0x1234n })).error).toBe(12);
  });

  test('events across the endpoints of two nodes: the other node\'s member sees the join, the message and the PROCDOWN', () => {
    const { cluster, client } = setup();
    const a = client('cpg');
    const b = new FrameClient('cpg', new NodeServices(cluster.node(2)));
    a.call(encoders.cpg.req.join({ groupName: 'g', pid: 10, flags: 0 }));
    b.call(encoders.cpg.req.join({ groupName: 'g', pid: 20, flags: 0 }));
    b.conn.handle(encoders.cpg.req.mcastJoined({ guarantee: 2, message: new TextEncoder().encode('x') }));
    b.conn.close();
    const evs = a.takeEvents().map((e) => [e.name, e.fields]);
    expect(evs.map(([n]) => n)).toEqual(['cpg.confchgCallback', 'cpg.confchgCallback', 'cpg.deliverCallback', 'cpg.confchgCallback']);
    expect(evs[3]![1]).toMatchObject({ leftList: [{ nodeid: 2, pid: 20, reason: 5 }] });
  });
});

describe('cfg frames', () => {
  test('try_shutdown waits for the trackers: a NO answers BUSY; the timeout from cfg.shutdown_timeout; replyto without a session is ACCESS', () => {
    const { client, clock, cluster } = setup();
    const t = client('cfg');
    const r = client('cfg');
    expect(t.call(encoders.cfg.req.trackstart({ trackFlags: 0xff })).id).toBe(2);
    expect(t.call(encoders.cfg.req.replytoShutdown({ response: 1 })).error).toBe(11);
    r.conn.handle(encoders.cfg.req.tryShutdown({ flags: 0 }));
    expect(r.responses).toHaveLength(0);
    expect(t.takeEvents().map((e) => [e.name, e.fields])).toEqual([['cfg.shutdownCallback', { flags: 0 }]]);
    expect(t.call(encoders.cfg.req.replytoShutdown({ response: 0 })).error).toBe(1);
    expect(decode(r.responses[0]!, { service: 'cfg', dir: 'res' })).toMatchObject({ id: 9, error: 10 });
    cluster.node(1).cmap.set('cfg.shutdown_timeout', CmapValueType.UINT32, 2000);
    r.conn.handle(encoders.cfg.req.tryShutdown({ flags: 0 }));
    clock.advance(1999);
    expect(r.responses).toHaveLength(1);
    clock.advance(1);
    expect(decode(r.responses[1]!, { service: 'cfg', dir: 'res' })).toMatchObject({ id: 9, error: 10 });
    expect(cluster.node(1).running).toBe(true);
  });

  test('IMMEDIATE answers OK, then the node runs its shutdown and leaves the ring', async () => {
    const { client, cluster } = setup();
    expect(client('cfg').call(encoders.cfg.req.tryShutdown({ flags: 2 })).error).toBe(1);
    await tick();
    expect(cluster.node(1).running).toBe(false);
    expect(cluster.node(2).members).toEqual([2, 3]);
  });

  test('kill_node: a node that is not a member is NOT_EXIST; a member answers OK and dies', async () => {
    const { client, cluster } = setup();
    cluster.node(3).kill();
    const c = client('cfg');
    expect(c.call(encoders.cfg.req.killNode({ nodeid: 3, reason: 'x' })).error).toBe(12);
    expect(c.call(encoders.cfg.req.killNode({ nodeid: 2, reason: 'x' })).error).toBe(1);
    await tick();
    expect(cluster.node(2).running).toBe(false);
    expect(cluster.node(1).running).toBe(true);
  });

  test('node status, ring status, ring reenable, reopen, reload', () => {
    const { client, cluster, clock } = setup();
    cluster.node(3).kill();
    const c = client('cfg');
    expect(c.call(encoders.cfg.req.ringStatusGet({})).fields).toEqual({ interfaceCount: 1, interfaceName: ['0 127.0.0.1'], interfaceStatus: ['n31'] });
    const s = c.call(encoders.cfg.req.nodeStatusGet({ nodeid: 2, version: 1 }));
    expect([s.size, (s.fields as { reachable: number }).reachable]).toEqual([4200, 1]);
    expect(c.call(encoders.cfg.req.nodeStatusGet({ nodeid: 0, version: 1 }))).toMatchObject({ size: 32, error: 21 });
    expect(c.call(encoders.cfg.req.nodeStatusGet({ nodeid: 2, version: 2 }))).toMatchObject({ size: 32, error: 19 });
    expect(c.call(encoders.cfg.req.ringReenable({})).error).toBe(19);
    expect(c.call(encoders.cfg.req.reopenLogFiles({})).error).toBe(1);
    // answered when totem delivers the reload to this node
    const answered = c.responses.length;
    c.conn.handle(encoders.cfg.req.reloadConfig({}));
    expect(c.responses.length).toBe(answered);
    clock.advance(0);
    expect(c.responses.length).toBe(answered + 1);
    expect(decode(c.responses.at(-1)!, { service: 'cfg', dir: 'res' }).error).toBe(1);
    expect(cluster.node(1).cmap.getValue('config.reload_status')).toBe(1);
  });
});

describe('hostile frames', () => {
  test('10 000 random and mutated cpg and cfg requests: never a throw; one answer each (none for MCAST, which never gets one)', async () => {
    const { cluster, svc, clock } = setup();
    let s = 99;
    const rand = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 4294967296;
    };
    const valid = {
      cpg: [
        encoders.cpg.req.join({ groupName: 'g', pid: 5, flags: 1 }),
        encoders.cpg.req.mcastJoined({ guarantee: 2, message: new Uint8Array(9) }),
        encoders.cpg.req.partialMcast({ guarantee: 2, msglen: 20, type: 1, fragment: new Uint8Array(10) }),
        encoders.cpg.req.iterationInitialize({ groupName: 'g', iterationType: 2 }),
        encoders.cpg.req.zcbAlloc({ mapSize: 156n, pathToFile: '/dev/shm/corosync_zerocopy-AAAAAA' }),
      ],
      cfg: [
        encoders.cfg.req.nodeStatusGet({ nodeid: 2, version: 1 }),
        encoders.cfg.req.trackstart({ trackFlags: 1 }),
        encoders.cfg.req.getNodeAddrs({ nodeid: 3 }),
      ],
    };
    for (const service of ['cpg', 'cfg'] as const) {
      const c = new FrameClient(service, svc);
      for (let i = 0; i < 5000; i++) {
        let frame: Uint8Array;
        if (rand() < 0.5) {
          frame = new Uint8Array(Math.floor(rand() * 600) + 16);
          for (let j = 0; j < frame.length; j++) frame[j] = (rand() * 256) | 0;
          const dv = new DataView(frame.buffer);
          // no TRYSHUTDOWN or KILLNODE: they would end the node under the test
          let id = Math.floor(rand() * 16) - 2;
          if (service === 'cfg' && (id === 2 || id === 3)) id = 6;
          dv.setInt32(0, id, true);
          dv.setInt32(8, frame.length, true);
        } else {
          const base = valid[service][Math.floor(rand() * valid[service].length)]!;
          frame = base.slice(0, Math.max(16, Math.floor(rand() * (base.length + 8))));
          for (let k = 0; k < 4; k++) frame[16 + Math.floor(rand() * (frame.length - 16))] = (rand() * 256) | 0;
        }
        const before = c.responses.length;
        c.conn.handle(frame);
        // the totem step: RELOAD_CONFIG is answered when its message is delivered
        clock.advance(0);
        const id = new DataView(frame.buffer, frame.byteOffset).getInt32(0, true);
        expect(c.responses.length).toBe(service === 'cpg' && id === 2 ? before : before + 1);
        if (c.responses.length > before) decode(c.responses[before]!, { service, dir: 'res' });
      }
      c.conn.close();
    }
    await tick();
    expect(cluster.node(1).running).toBe(true);
    const ok = new FrameClient('cpg', svc);
    expect(ok.call(encoders.cpg.req.join({ groupName: 'after', pid: 1, flags: 0 })).error).toBe(1);
  }, 60_000);
});
