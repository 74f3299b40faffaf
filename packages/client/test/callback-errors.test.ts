// What a callback that throws does in automatic dispatch (README "Callbacks that throw"): like any
// EventEmitter listener, its exception goes to the handle's 'error' listeners, or with none it is
// an uncaught exception. Either way the handle keeps working and loses no event.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashTraceEnv, ipcFds } from '@corosync-ts/nstest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import { CMAP_TRACK_ADD, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX, CS_TRACK_CHANGES } from '@corosync-ts/types';
import { CmapHandle, QuorumHandle, type CmapNotification } from '../src/index.js';
import { buildDist, script } from './real-helpers.js';

describe('a callback that throws in automatic dispatch', () => {
  let mock: MockCorosync;
  let prefix: string;
  beforeAll(async () => {
    mock = await startMockCorosync({ nodes: 3 });
    prefix = mock.endpoint().prefix;
  });
  afterAll(async () => {
    await mock?.close();
  });

  it("reaches the handle's 'error' listeners as thrown; later events and calls still work; nothing leaks", async () => {
    const before = ipcFds();
    const h = await CmapHandle.initialize({ ipcPrefix: prefix });
    const errors: unknown[] = [];
    h.on('error', (e) => errors.push(e));
    const bug = new Error('callback bug');
    const seen: CmapNotification[] = [];
    let wake: (() => void) | undefined;
    await h.trackAdd('test.cbe.', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, (n) => {
      seen.push(n);
      wake?.();
      if (n.newValue.value === 1) throw bug;
    });
    const next = () => new Promise<void>((r) => (wake = r));
    let p = next();
    await h.setUint32('test.cbe.k', 1);
    await p;
    expect(errors).toEqual([bug]);
    p = next();
    await h.setUint32('test.cbe.k', 2);
    await p;
    expect(seen.map((n) => n.newValue.value)).toEqual([1, 2]);
    expect(errors).toEqual([bug]);
    expect(await h.getUint32('test.cbe.k')).toBe(2);
    expect(h.state).toBe('open');
    await h.finalize();
    // The in-process mock closes its end once it sees ours go.
    await expect.poll(ipcFds).toEqual(before);
  });

  it('quorum: the same for a throwing quorumNotify', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const q = await QuorumHandle.initialize(
      {
        quorumNotify: () => {
          calls++;
          throw new Error(`quorum callback bug ${calls}`);
        },
      },
      { ipcPrefix: prefix },
    );
    q.on('error', (e) => errors.push(e));
    await q.trackstart(CS_TRACK_CHANGES);
    mock.cluster.node(3).stop();
    await mock.settle();
    await expect.poll(() => calls).toBeGreaterThanOrEqual(1);
    expect((errors[0] as Error).message).toBe('quorum callback bug 1');
    expect(await q.getquorate()).toBe(true);
    mock.cluster.node(3).start();
    await mock.settle();
    await expect.poll(() => calls).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBe(calls);
    await q.finalize();
  });

  describe('with no error listener (a child process)', () => {
    beforeAll(() => buildDist());
    const run = async (mode: string) =>
      promisify(execFile)(process.execPath, [script('throwing-callback.mjs'), mode], { timeout: 30_000, env: await crashTraceEnv() }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );

    it('is an uncaught exception: an uncaughtException handler sees it, and the handle keeps working', async () => {
      const r = await run('handled');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ uncaught: ['callback bug'], seen: [1, 2], value: 2, state: 'open' });
    });

    it('without any handler, Node ends the process with the error, as for any EventEmitter listener', async () => {
      const r = await run('unhandled');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/Error: callback bug/);
    });
  });
});
