import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import { CMAP_TRACK_ADD, CMAP_TRACK_PREFIX, CS_TRACK_CURRENT, isCsError } from '@corosync-ts/types';
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
