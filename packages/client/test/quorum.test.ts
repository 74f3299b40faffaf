import { describe, expect, it } from 'vitest';
import {
  CS_DISPATCH_ALL, CS_DISPATCH_ONE, CS_TRACK_CHANGES, CS_TRACK_CURRENT, QUORUM_MODEL_V1, isCsError,
} from '@corosync-ts/types';
import { QuorumHandle, VotequorumHandle, type QuorumEvent, type VotequorumEvent } from '../src/index.js';
import { evt, fakeConnector, res, tick } from './fake.js';

const code = (e: unknown) => (isCsError(e) ? e.code : undefined);

function quorumDaemon() {
  const calls: string[] = [];
  const fc = fakeConnector('quorum', (d, ipc) => {
    calls.push(d.name);
    switch (d.name) {
      case 'quorum.gettype': return res('quorum.gettype', { quorumType: 1 });
      case 'quorum.modelGettype': return res('quorum.modelGettype', { quorumType: 1 });
      case 'quorum.getquorate': return res('quorum.getquorate', { quorate: 1 });
      case 'quorum.trackstart': {
        const flags = (d.fields as { trackFlags: number }).trackFlags;
        if (flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
          ipc.event(evt('quorum.v1NodelistNotification', { ringId: { nodeid: 1, seq: 8n }, memberList: [1, 2], joinedList: [2], leftList: [] }));
          ipc.event(evt('quorum.v1QuorumNotification', { quorate: 1, ringId: { nodeid: 1, seq: 8n }, viewList: [1, 2] }));
        }
        return res('quorum.trackstart');
      }
      case 'quorum.trackstop': return res('quorum.trackstop');
      default: return res('quorum.error', {}, 7);
    }
  });
  return { fc, calls };
}

describe('quorum', () => {
  it('initialize sends GETTYPE (V0), modelInitialize MODEL_GETTYPE (V1); bad model → 7 without connecting', async () => {
    const { fc, calls } = quorumDaemon();
    const h0 = await QuorumHandle.initialize(null, { connect: fc.connect });
    expect(h0.quorumType).toBe(1);
    const h1 = await QuorumHandle.modelInitialize(QUORUM_MODEL_V1, {}, 'ctx', { connect: fc.connect });
    expect(h1.contextGet()).toBe('ctx');
    expect(calls).toEqual(['quorum.gettype', 'quorum.modelGettype']);
    expect((fc.last.requests[0]!.fields as { model: number }).model).toBe(1);
    await expect(QuorumHandle.modelInitialize(2, {}, undefined, { connect: fc.connect })).rejects.toSatisfy((e) => code(e) === 7);
    expect(fc.made).toHaveLength(2);
    expect(await h0.getquorate()).toBe(true);
  });

  it('V1 callbacks get ring ids and joined/left lists; the async iterator sees the same', async () => {
    const { fc } = quorumDaemon();
    const got: string[] = [];
    const h = await QuorumHandle.modelInitialize(QUORUM_MODEL_V1, {
      quorumNotify: (n) => got.push(`q ${n.quorate} ${n.ringId.seq} ${n.viewList}`),
      nodelistNotify: (n) => got.push(`n ${n.memberList} +${n.joinedList} -${n.leftList}`),
    }, undefined, { connect: fc.connect, dispatch: 'manual' });
    const it = h.notifications();
    await h.trackstart(CS_TRACK_CURRENT);
    await tick();
    await h.dispatch(CS_DISPATCH_ALL);
    expect(got).toEqual(['n 1,2 +2 -', 'q true 8 1,2']);
    const a = (await it.next()).value as QuorumEvent;
    const b = (await it.next()).value as QuorumEvent;
    expect([a.type, b.type]).toEqual(['nodelist', 'quorum']);
    await it.return();
  });

  it('a V1 event on a V0 handle is CS_ERR_LIBRARY (libquorum treats it as unknown)', async () => {
    const { fc } = quorumDaemon();
    const h = await QuorumHandle.initialize({ quorumNotify: () => {} }, { connect: fc.connect, dispatch: 'manual' });
    await h.trackstart(CS_TRACK_CURRENT);
    await expect(h.dispatch(CS_DISPATCH_ONE)).rejects.toSatisfy((e) => code(e) === 2);
  });

  it('dispatch rejects unknown flags with 7, before the handle check', async () => {
    const { fc } = quorumDaemon();
    const h = await QuorumHandle.initialize(null, { connect: fc.connect });
    await expect(h.dispatch(0)).rejects.toSatisfy((e) => code(e) === 7);
    await h.finalize();
    await expect(h.dispatch(99)).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.dispatch(CS_DISPATCH_ALL)).rejects.toSatisfy((e) => code(e) === 9);
  });
});

describe('votequorum', () => {
  function vqDaemon() {
    return fakeConnector('votequorum', (d, ipc) => {
      switch (d.name) {
        case 'votequorum.getinfo':
          return (d.fields as { nodeid: number }).nodeid === 99
            ? res('votequorum.error', {}, 12)
            : res('votequorum.getinfo', {
                nodeid: 1, state: 1, votes: 1, expectedVotes: 3, highestExpected: 3, totalVotes: 1, quorum: 2, flags: 64 | 128,
                qdeviceVotes: 1, qdeviceName: 'qd',
              });
        case 'votequorum.trackstart': {
          const f = d.fields as { context: bigint };
          ipc.event(evt('votequorum.nodelistNotification', { context: f.context, ringId: { nodeid: 1, seq: 4n }, nodeList: [1] }));
          ipc.event(evt('votequorum.quorumNotification', { context: f.context, quorate: 0, nodeList: [{ nodeid: 1, state: 1 }, { nodeid: 0, state: 0 }] }));
          ipc.event(evt('votequorum.expectedvotesNotification', { context: f.context, expectedVotes: 3 }));
          return res('votequorum.status');
        }
        default:
          return res('votequorum.status');
      }
    });
  }

  it('getinfo gives every field, qdevice name and flags included', async () => {
    const fc = vqDaemon();
    const h = await VotequorumHandle.initialize(null, { connect: fc.connect });
    expect(await h.getinfo()).toEqual({
      nodeId: 1, nodeState: 1, nodeVotes: 1, nodeExpectedVotes: 3, highestExpected: 3, totalVotes: 1, quorum: 2, flags: 192,
      qdeviceVotes: 1, qdeviceName: 'qd',
    });
    await expect(h.getinfo(99)).rejects.toSatisfy((e) => code(e) === 12);
  });

  it('qdevice names: empty or ≥255 bytes → 7 before the wire, even after finalize', async () => {
    const fc = vqDaemon();
    const h = await VotequorumHandle.initialize(null, { connect: fc.connect });
    for (const bad of ['', 'q'.repeat(255), 'ä'.repeat(128)]) {
      await expect(h.qdeviceRegister(bad)).rejects.toSatisfy((e) => code(e) === 7);
      await expect(h.qdeviceUpdate('ok', bad)).rejects.toSatisfy((e) => code(e) === 7);
    }
    await h.qdeviceRegister('q'.repeat(254));
    expect((fc.last.requests[0]!.fields as { name: string }).name).toHaveLength(254);
    await h.finalize();
    await expect(h.qdevicePoll('', 1, { nodeid: 1, seq: 1n })).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.qdevicePoll('x', 1, { nodeid: 1, seq: 1n })).rejects.toSatisfy((e) => code(e) === 9);
  });

  it('three callbacks with the tracking context; poll sends the ring id', async () => {
    const fc = vqDaemon();
    const got: VotequorumEvent['type'][] = [];
    const h = await VotequorumHandle.initialize({
      quorumNotify: (n) => {
        expect(n.context).toBe(7n);
        expect(n.nodeList).toEqual([{ nodeid: 1, state: 1 }, { nodeid: 0, state: 0 }]);
        got.push('quorum');
      },
      expectedVotesNotify: (n) => got.push(n.expectedVotes === 3 ? 'expectedVotes' : 'quorum'),
      nodelistNotify: (n) => {
        expect(n.ringId).toEqual({ nodeid: 1, seq: 4n });
        got.push('nodelist');
      },
    }, { connect: fc.connect });
    await h.trackstart(7n, CS_TRACK_CHANGES);
    await tick();
    expect(got).toEqual(['nodelist', 'quorum', 'expectedVotes']);
    await h.qdevicePoll('qd', true, { nodeid: 1, seq: 4n });
    expect(fc.last.requests.at(-1)!.fields).toEqual({ name: 'qd', castVote: 1, ringId: { nodeid: 1, seq: 4n } });
    await expect(h.trackstart(-1, 1)).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.setexpected(-1)).rejects.toSatisfy((e) => code(e) === 7);
  });
});
