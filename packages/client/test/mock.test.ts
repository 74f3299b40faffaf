import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import { CMAP_TRACK_ADD, CMAP_TRACK_PREFIX, CS_DISPATCH_ALL, CS_DISPATCH_ONE, CS_ERR_BAD_HANDLE, CS_TRACK_CURRENT, isCsError } from '@corosync-ts/types';
import { CmapHandle, QuorumHandle, VotequorumHandle, type CmapNotification, type QuorumNotification } from '../src/index.js';

// The in-process mock daemon of @corosync-ts/testkit, reached through `ipcPrefix` over the real
// libqb transport: no root, no namespace needed.
describe('against the @corosync-ts/testkit mock daemon (ipcPrefix)', () => {
  let mock: MockCorosync;
  let prefix: string;
  beforeAll(async () => {
    mock = await startMockCorosync({ nodes: 3, clusterName: 'mocky' });
    prefix = mock.endpoint().prefix;
  });
  afterAll(async () => {
    await mock?.close();
  });

  it('cmap: get, set, track over the wire', async () => {
    await using h = await CmapHandle.initialize({ ipcPrefix: prefix });
    expect(await h.getString('totem.cluster_name')).toBe('mocky');
    const got = new Promise<CmapNotification>((resolve) => void h.trackAdd('test.', CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, resolve));
    await new Promise((r) => setTimeout(r, 0));
    await h.setUint32('test.mock', 7);
    const n = await got;
    expect(n).toMatchObject({ event: CMAP_TRACK_ADD, keyName: 'test.mock' });
    expect(n.newValue.value).toBe(7);
    await expect(h.getString('test.none')).rejects.toSatisfy((e) => isCsError(e, 12));
  });

  // What libcmap does, found by the differential test (real-diff-cmap.test.ts), here without a
  // real daemon. (Its other finding, a notification queued on one handle before another's answer
  // missed by dispatch(ALL / ONE_NONBLOCKING), does not show with the daemon in this process.)
  it('cmap dispatch(ONE) of a deleted tracker\'s notification says CS_ERR_BAD_HANDLE; ALL goes on', async () => {
    await using h = await CmapHandle.initialize({ ipcPrefix: prefix, dispatch: 'manual' });
    const t = await h.trackAdd('test.gone.', CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, () => {});
    await h.setUint8('test.gone.a', 1);
    await h.setUint8('test.gone.b', 1);
    await h.trackDelete(t);
    await expect(h.dispatch(CS_DISPATCH_ONE)).rejects.toSatisfy((e) => isCsError(e, CS_ERR_BAD_HANDLE));
    await h.setUint8('test.gone.c', 1);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(h.pendingEvents).toBe(0);
  });

  it('cmap get() with capacity 0, and of a type cmap does not know', async () => {
    await using h = await CmapHandle.initialize({ ipcPrefix: prefix });
    await h.setUint32('test.cap0', 7);
    expect(await h.get('test.cap0', { capacity: 0 })).toMatchObject({ type: 6, length: 4, value: 7 });
    await h.setRaw('test.t255', new Uint8Array(0), 255);
    expect(await h.get('test.t255')).toEqual({ type: 255, length: 0, value: new Uint8Array(0), bytes: new Uint8Array(0) });
  });

  it('cmap get()/getString() firstCapacity: any non-negative integer still gives the whole value; others are INVALID_PARAM', async () => {
    await using h = await CmapHandle.initialize({ ipcPrefix: prefix });
    await h.setString('test.first', 'hello');
    await h.setUint32('test.firstu', 7);
    for (const firstCapacity of [0, 1, 5, 6, 1024]) {
      expect(await h.getString('test.first', { firstCapacity })).toBe('hello');
      expect(await h.get('test.firstu', { firstCapacity })).toMatchObject({ type: 6, length: 4, value: 7 });
    }
    for (const firstCapacity of [-1, 2.5, NaN]) {
      await expect(h.getString('test.first', { firstCapacity })).rejects.toSatisfy((e) => isCsError(e, 7));
      await expect(h.get('test.firstu', { firstCapacity })).rejects.toSatisfy((e) => isCsError(e, 7));
    }
  });

  it('quorum and votequorum', async () => {
    const notes: QuorumNotification[] = [];
    const q = await QuorumHandle.initialize({ quorumNotify: (n) => notes.push(n) }, { ipcPrefix: prefix, dispatch: 'manual' });
    expect(q.quorumType).toBe(1);
    expect(await q.getquorate()).toBe(true);
    await q.trackstart(CS_TRACK_CURRENT);
    await q.dispatch(1);
    expect(notes[0]).toMatchObject({ quorate: true, viewList: [1, 2, 3] });
    await q.finalize();
    const vq = await VotequorumHandle.initialize(null, { ipcPrefix: prefix });
    expect(await vq.getinfo(0)).toMatchObject({ nodeId: 1, totalVotes: 3, quorum: 2 });
    await vq.finalize();
  });
});
