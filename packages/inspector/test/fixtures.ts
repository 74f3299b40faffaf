// Captures the Chromium tests share: recorded here by the mock and by the client at once.
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CmapHandle, QuorumHandle, VotequorumHandle } from '@corosync-ts/client';
import { startMockCorosync } from '@corosync-ts/testkit';
import { CS_TRACK_CHANGES, CS_TRACK_CURRENT } from '@corosync-ts/types';

/** Records a little of everything: cmap get/set/missing key/track, quorum and votequorum, both recorders at once. */
export async function record(dir: string, transport: 'socket' | 'shm'): Promise<{ mock: string; client: string }> {
  const mockFile = join(dir, `mock-${transport}.jsonl`);
  const clientFile = join(dir, `client-${transport}.jsonl.gz`);
  const mock = await startMockCorosync({ nodes: 3, transport, capture: mockFile, clusterName: 'inspect' });
  try {
    const opts = { ipcPrefix: mock.prefix, capture: clientFile };
    const c = await CmapHandle.initialize(opts);
    await c.getString('totem.cluster_name');
    await c.setUint32('test.counter', 1);
    await c.getString('no.such.key').catch(() => {});
    const q = await QuorumHandle.initialize({ quorumNotify: () => {} }, { ...opts, dispatch: 'manual' });
    await q.trackstart(CS_TRACK_CURRENT | CS_TRACK_CHANGES);
    await q.dispatch(1);
    const vq = await VotequorumHandle.initialize(null, opts);
    await vq.getinfo(1);
    for (let i = 0; i < 20; i++) await c.getUint32('runtime.votequorum.this_node_id');
    await vq.finalize();
    await q.finalize();
    await c.finalize();
  } finally {
    await mock.close();
  }
  // The client's writer flushes every 100 ms: wait until its last lines, the three handles'
  // close states, are in the file (gzip members are whole once written).
  const closedLines = () => {
    try {
      return gunzipSync(readFileSync(clientFile)).toString().split('"state":"closed"').length - 1;
    } catch {
      return 0;
    }
  };
  for (const t0 = Date.now(); closedLines() < 3; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - t0 > 10_000) throw new Error(`the client capture has ${closedLines()} of 3 close states after 10 s`);
  }
  return { mock: mockFile, client: clientFile };
}

/** A loopback server for the page and its captures: its origin, and how to stop it. */
export async function serve(handler: RequestListener): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}
