import { connect } from '@corosync-ts/ipc';
import { decode, encoders, encodeCmapValue, type DecodedMessage } from '@corosync-ts/codec-wasm';
import {
  VOTEQUORUM_INFO_QDEVICE_ALIVE, VOTEQUORUM_INFO_QDEVICE_CAST_VOTE, VOTEQUORUM_INFO_QDEVICE_REGISTERED, VOTEQUORUM_INFO_QUORATE,
} from '@corosync-ts/types';
import { afterEach, describe, expect, test } from 'vitest';
import { createCluster, ManualClock, NodeServices, startMockCorosync, type MockCorosync } from '../src/index.js';
import { FrameClient } from './helpers/frames.js';

// corosync answers these votequorum calls before totem delivers what they multicast: the
// answer comes first, the state changes (and the notifications fire) at the next totem step,
// which in the simulator is the next step of the cluster clock (or settle()).

const Q = VOTEQUORUM_INFO_QUORATE;
const REG = VOTEQUORUM_INFO_QDEVICE_REGISTERED;
const ALIVE = VOTEQUORUM_INFO_QDEVICE_ALIVE;
const CAST = VOTEQUORUM_INFO_QDEVICE_CAST_VOTE;
const names = (evs: DecodedMessage[]) => evs.map((e) => e.name.replace('votequorum.', ''));
type Info = { votes: number; expectedVotes: number; highestExpected: number; totalVotes: number; quorum: number; flags: number; qdeviceName: string };

function setup(spec: Parameters<typeof createCluster>[0]) {
  const clock = new ManualClock();
  const cluster = createCluster({ clock, ...spec });
  const svc = new NodeServices(cluster.node(1));
  const v = new FrameClient('votequorum', svc);
  v.call(encoders.votequorum.req.trackstart({ context: 5n, trackFlags: 4 }));
  const info = () => v.call(encoders.votequorum.req.getinfo({ nodeid: 0 })).fields as Info;
  return { clock, cluster, svc, v, info };
}

describe('votequorum calls: answered before totem delivers', () => {
  test('setexpected: the expected votes at once (as update_node_expected_votes), quorum and notifications at delivery', () => {
    const { clock, cluster, v, info } = setup({ nodes: 3, start: [1] });
    expect(info()).toMatchObject({ expectedVotes: 3, quorum: 2, totalVotes: 1 });
    expect(v.call(encoders.votequorum.req.setexpected({ expectedVotes: 1 })).error).toBe(1);
    expect(info()).toMatchObject({ expectedVotes: 1, highestExpected: 1, quorum: 2 });
    expect(info().flags & Q).toBe(0);
    expect(v.takeEvents()).toEqual([]);
    expect(cluster.node(1).quorate).toBe(false);
    clock.advance(0);
    expect(names(v.takeEvents())).toEqual(['expectedvotesNotification', 'quorumNotification']);
    expect(info()).toMatchObject({ expectedVotes: 1, quorum: 1 });
    expect(info().flags & Q).toBe(Q);
    expect(cluster.node(1).quorate).toBe(true);
  });

  test('setvotes: the node votes at once (as corosync keeps them), quorum at delivery', () => {
    const { clock, v, info } = setup({ nodes: 3, start: [1] });
    expect(v.call(encoders.votequorum.req.setvotes({ nodeid: 1, votes: 3 })).error).toBe(1);
    expect(info()).toMatchObject({ votes: 3, totalVotes: 3, expectedVotes: 3, quorum: 2 });
    expect(v.takeEvents()).toEqual([]);
    clock.advance(0);
    expect(names(v.takeEvents())).toEqual(['quorumNotification']);
    expect(info()).toMatchObject({ votes: 3, quorum: 2, totalVotes: 3 });
    expect(info().flags & Q).toBe(Q);
  });

  test('a refused call multicasts nothing', () => {
    const { clock, v, info } = setup({ nodes: 3 });
    expect(v.call(encoders.votequorum.req.setexpected({ expectedVotes: 2 })).error).toBe(7);
    expect(clock.pending).toBe(0);
    clock.advance(0);
    expect(v.takeEvents()).toEqual([]);
    expect(info()).toMatchObject({ expectedVotes: 3, quorum: 2 });
  });

  test('qdevice: register answered at delivery; poll, master_wins, update and unregister change the quorum at delivery', () => {
    const { clock, cluster, v, info } = setup({ nodes: 3, start: [1], quorum: { device: { model: 'net', votes: 2, timeout: 10_000, syncTimeout: 3000 } } });
    const before = v.responses.length;
    v.conn.handle(encoders.votequorum.req.qdeviceRegister({ name: 'qd' }));
    expect(v.responses.length).toBe(before);
    clock.advance(0);
    expect(v.responses.length).toBe(before + 1);
    expect(decode(v.responses.at(-1)!, { service: 'votequorum', dir: 'res' }).error).toBe(1);
    expect(info().flags & REG).toBe(REG);
    v.takeEvents();

    const ring = cluster.node(1).vq!.ringId;
    expect(v.call(encoders.votequorum.req.qdevicePoll({ name: 'qd', castVote: 1, ringId: ring })).error).toBe(1);
    // ALIVE and CAST_VOTE are this node's flags at once; the device's votes count at delivery
    expect(info().flags & (ALIVE | CAST)).toBe(ALIVE | CAST);
    expect(info()).toMatchObject({ totalVotes: 3, quorum: 2 });
    expect(info().flags & Q).toBe(0);
    clock.advance(0);
    expect(names(v.takeEvents())).toEqual(['quorumNotification']);
    expect(info().flags & Q).toBe(Q);

    expect(v.call(encoders.votequorum.req.qdeviceUpdate({ oldname: 'qd', newname: 'q2' })).error).toBe(1);
    expect(info().qdeviceName).toBe('qd');
    clock.advance(0);
    expect(info().qdeviceName).toBe('q2');

    expect(v.call(encoders.votequorum.req.qdeviceUnregister({ name: 'q2' })).error).toBe(1);
    // the flags go at once, so getinfo's total no longer counts the device; quorate until delivery
    expect(info().flags & (REG | ALIVE | CAST)).toBe(0);
    expect(info().flags & Q).toBe(Q);
    expect(info().qdeviceName).toBe('q2');
    expect(v.takeEvents()).toEqual([]);
    clock.advance(0);
    expect(names(v.takeEvents())).toEqual(['quorumNotification']);
    expect(info().flags & Q).toBe(0);
    expect(info().qdeviceName).toBe('');
  });

  test('cmap-driven: quorum.expected_votes set through cmap is answered, then applied at delivery', () => {
    const { clock, cluster, svc, v, info } = setup({ nodes: 3, start: [1] });
    const c = new FrameClient('cmap', svc);
    expect(c.call(encoders.cmap.req.set({ keyName: 'quorum.expected_votes', type: 6, value: encodeCmapValue(6, 1) })).error).toBe(1);
    expect(info()).toMatchObject({ expectedVotes: 1, quorum: 2 });
    expect(cluster.node(1).quorate).toBe(false);
    clock.advance(0);
    expect(names(v.takeEvents())).toContain('quorumNotification');
    expect(info()).toMatchObject({ expectedVotes: 1, quorum: 1 });
  });

  test('settle() is the totem step too, and a membership change delivers what is in flight first', async () => {
    const { cluster, v, info } = setup({ nodes: 3, start: [1, 2] });
    expect(v.call(encoders.votequorum.req.setexpected({ expectedVotes: 2 })).error).toBe(1);
    expect(info().quorum).toBe(2);
    await cluster.settle();
    expect(info().quorum).toBe(2);
    expect(names(v.takeEvents())).toEqual(['expectedvotesNotification']);
    expect(v.call(encoders.votequorum.req.setvotes({ nodeid: 2, votes: 2 })).error).toBe(1);
    cluster.node(3).start();
    expect(cluster.node(1).vq!.find(2)!.votes).toBe(2);
    expect(info()).toMatchObject({ totalVotes: 4 });
  });
});

// Over libqb IPC: a client that sends setexpected and getinfo back to back (pipelined) gets the
// old quorum in the getinfo answer, on either transport, whatever the load: the mock handles
// every request it has read before the simulated totem step.
describe.each(['socket', 'shm'] as const)('over IPC (%s)', (transport) => {
  let mock: MockCorosync | undefined;
  afterEach(async () => {
    await mock?.close();
    mock = undefined;
  });

  test('pipelined and sequential getinfo see the old quorum until the totem step; settle() applies it', async () => {
    mock = await startMockCorosync({ nodes: 3, start: [1], transport });
    await using c = await connect(`${mock.prefix}votequorum`);
    const events: string[] = [];
    c.on('event', (f: Uint8Array) => events.push(decode(f, { service: 'votequorum', dir: 'evt' }).name));
    const req = async (f: Uint8Array) => decode(await c.request(f), { service: 'votequorum', dir: 'res' });
    expect((await req(encoders.votequorum.req.trackstart({ context: 1n, trackFlags: 4 }))).error).toBe(1);
    const getinfo = encoders.votequorum.req.getinfo({ nodeid: 0 });
    const [set, got] = await Promise.all([req(encoders.votequorum.req.setexpected({ expectedVotes: 1 })), req(getinfo)]);
    expect(set.error).toBe(1);
    expect(got.fields).toMatchObject({ expectedVotes: 1, quorum: 2 });
    expect((await req(getinfo)).fields).toMatchObject({ quorum: 2 });
    expect(events).toEqual([]);
    await mock.settle();
    expect((await req(getinfo)).fields).toMatchObject({ quorum: 1 });
    expect(events).toEqual(['votequorum.expectedvotesNotification', 'votequorum.quorumNotification']);
  });
});
