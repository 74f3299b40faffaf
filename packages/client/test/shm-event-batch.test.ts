// cmap notifications that pile up in the shm event ring are read in batches (@corosync-ts/ipc
// Ring.readMany): delivered exactly as one by one would, in order, once each, whatever the
// dispatch mode, with finalize or a throwing callback in the middle of a batch.
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import {
  CMAP_TRACK_ADD,
  CMAP_TRACK_MODIFY,
  CMAP_TRACK_PREFIX,
  CS_DISPATCH_ALL,
  CS_DISPATCH_ONE,
  CS_DISPATCH_ONE_NONBLOCKING,
  CS_ERR_TRY_AGAIN,
  isCsError,
} from '@corosync-ts/types';
import { CmapHandle } from '../src/index.js';

const TRACK = CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX;
const N = 600;

const ipcFiles = () =>
  readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((t) => t.startsWith('socket:') || t.startsWith('/dev/shm/'))
    .sort();

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** N sets sent at once: the mock publishes their events faster than one loop turn reads them. */
const burst = (writer: CmapHandle, prefix: string, n = N) => Promise.all(Array.from({ length: n }, (_, i) => writer.setUint32(`${prefix}k${i % 7}`, i)));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('cmap notifications read from the shm event ring in batches', () => {
  let mock: MockCorosync;
  let ipcPrefix: string;
  let writer: CmapHandle;
  beforeAll(async () => {
    mock = await startMockCorosync({ nodes: 1, transport: 'shm' });
    ipcPrefix = mock.endpoint().prefix;
    writer = await CmapHandle.initialize({ ipcPrefix });
  });
  afterAll(async () => {
    await writer?.finalize();
    await mock?.close();
  });

  it('auto and manual handles get every event of a backlog once, in order; ONE, ONE_NONBLOCKING and ALL take them as they would one by one', async () => {
    const auto = await CmapHandle.initialize({ ipcPrefix });
    const manual = await CmapHandle.initialize({ ipcPrefix, dispatch: 'manual' });
    expect(auto.transport).toBe('shm');
    const autoGot: unknown[] = [];
    const manualGot: unknown[] = [];
    await auto.trackAdd('test.batch.a.', TRACK, (n) => autoGot.push(n.newValue.value));
    await manual.trackAdd('test.batch.a.', TRACK, (n) => manualGot.push(n.newValue.value));
    await burst(writer, 'test.batch.a.');
    await until('every event at both handles', () => autoGot.length === N && manual.pendingEvents === N);
    expect(autoGot).toEqual(range(N));
    expect(manualGot).toEqual([]);
    await manual.dispatch(CS_DISPATCH_ONE);
    expect(manualGot).toEqual([0]);
    await manual.dispatch(CS_DISPATCH_ONE_NONBLOCKING);
    expect(manualGot).toEqual([0, 1]);
    await manual.dispatch(CS_DISPATCH_ALL);
    expect(manualGot).toEqual(range(N));
    await expect(manual.dispatch(CS_DISPATCH_ONE_NONBLOCKING)).rejects.toSatisfy((e) => isCsError(e, CS_ERR_TRY_AGAIN));
    await auto.finalize();
    await manual.finalize();
  });

  it('finalize inside a callback in the middle of a backlog: no later callback, no error, nothing left open', async () => {
    const before = ipcFiles();
    const h = await CmapHandle.initialize({ ipcPrefix });
    const errors: unknown[] = [];
    h.on('error', (e) => errors.push(e));
    const got: unknown[] = [];
    await h.trackAdd('test.batch.f.', TRACK, (n) => {
      got.push(n.newValue.value);
      if (got.length === 50) void h.finalize();
    });
    await burst(writer, 'test.batch.f.');
    await until('the handle to be finalized', () => h.state === 'finalized');
    // Every event the writer caused has been published by now: none may reach the callback.
    expect(await writer.getUint32('test.batch.f.k0')).toBe(N - 1 - ((N - 1) % 7));
    expect(got).toEqual(range(50));
    expect(errors).toEqual([]);
    // Subset, not equality: the mock may still be closing its side of the previous case's handles.
    const added = () => ipcFiles().filter((f) => !before.includes(f));
    await until('the connection to be closed', () => added().length === 0).catch((e) => {
      throw new Error(`${(e as Error).message}: still open ${added().join(' ')}`);
    });
  });

  it('a callback that throws in the middle of a backlog: the error is reported once, every other event still arrives in order', async () => {
    const h = await CmapHandle.initialize({ ipcPrefix });
    const errors: unknown[] = [];
    h.on('error', (e) => errors.push(e));
    const bug = new Error('callback bug');
    const got: unknown[] = [];
    await h.trackAdd('test.batch.t.', TRACK, (n) => {
      got.push(n.newValue.value);
      if (n.newValue.value === 100) throw bug;
    });
    await burst(writer, 'test.batch.t.');
    await until('every event', () => got.length === N);
    expect(got).toEqual(range(N));
    expect(errors).toEqual([bug]);
    expect(h.state).toBe('open');
    await h.finalize();
  });
});
