import { describe, expect, it, vi } from 'vitest';
import { CMAP_TRACK_ADD, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX, CS_DISPATCH_ALL, CS_DISPATCH_ONE, CS_DISPATCH_ONE_NONBLOCKING, CS_TRACK_CHANGES, CS_TRACK_CURRENT, isCsError } from '@corosync-ts/types';
import { CmapHandle, CpgHandle, QuorumHandle, type CmapSnapshot, type CpgSnapshot, type QuorumSnapshot } from '../src/index.js';
import { evt, fakeConnector, FakeIpc, ipcError, res, tick } from './fake.js';
import type { Connector } from '../src/session.js';

const code = (e: unknown) => (isCsError(e) ? e.code : undefined);

describe('connection', () => {
  it('ipcPrefix reaches <prefix>-<service>; ipcName wins', async () => {
    const fc = fakeConnector('cmap', () => res('cmap.set'));
    await CmapHandle.initialize({ connect: fc.connect, ipcPrefix: 'mock' });
    await CmapHandle.initialize({ connect: fc.connect, ipcPrefix: 'mock', ipcName: 'exact' });
    await CmapHandle.initialize({ connect: fc.connect });
    expect(fc.names).toEqual(['mock-cmap', 'exact', 'cmap']);
  });

  it('connection failures map like qb_to_cs_error: refused → 2, EAGAIN → 6, EACCES → 11', async () => {
    const fc = fakeConnector('cmap', () => res('cmap.set'));
    for (const [c, errno, cs] of [['ECONNREFUSED', 111, 2], ['EAGAIN', 11, 6], ['EACCES', 13, 11]] as const) {
      fc.failNext(ipcError(c, errno));
      await expect(CmapHandle.initialize({ connect: fc.connect })).rejects.toSatisfy((e) => code(e) === cs);
    }
  });

  it('initialize honours the default timeout and its signal; a late connection is closed', async () => {
    let late: FakeIpc | undefined;
    const slow: Connector = (_name, o) =>
      new Promise((resolve, reject) => {
        o.signal?.addEventListener('abort', () => reject(ipcError('ABORT_ERR', 0)));
      });
    await expect(CmapHandle.initialize({ connect: slow, timeout: 5 })).rejects.toSatisfy((e) => code(e) === 5);
    await expect(CmapHandle.initialize({ connect: slow, signal: AbortSignal.abort() })).rejects.toSatisfy((e) => code(e) === 16);
    const deaf: Connector = () =>
      new Promise((resolve) => setTimeout(() => resolve((late = new FakeIpc('cmap', () => res('cmap.set')))), 30));
    await expect(CmapHandle.initialize({ connect: deaf, timeout: 5 })).rejects.toSatisfy((e) => code(e) === 5);
    // the connection arrives 30 ms later, whenever the timers get to run on a loaded machine
    await vi.waitFor(() => expect(late?.closed).toBe(true), { timeout: 30_000 });
  });

  it('fdGet is the transport fd; contexts are local; asyncDispose finalizes', async () => {
    const fc = fakeConnector('cmap', () => res('cmap.set'));
    {
      await using h = await CmapHandle.initialize({ connect: fc.connect });
      expect(h.fdGet()).toBe(42);
      const ctx = { any: 'thing' };
      h.contextSet(ctx);
      expect(h.contextGet()).toBe(ctx);
    }
    expect(fc.last.closed).toBe(true);
  });
});

describe('bad frames from the peer', () => {
  it('a malformed or mismatched answer rejects CS_ERR_LIBRARY and the handle stays usable', async () => {
    const answers = [new Uint8Array([1, 2, 3]), res('cmap.iterInit', { iterHandle: 1n }), res('cmap.get', { valueLen: 1n, type: 2, value: new Uint8Array([9]) })];
    const fc = fakeConnector('cmap', () => answers.shift()!);
    const h = await CmapHandle.initialize({ connect: fc.connect });
    await expect(h.getUint8('test.a')).rejects.toSatisfy((e) => code(e) === 2 && (e as Error).cause !== undefined);
    await expect(h.getUint8('test.a')).rejects.toSatisfy((e) => code(e) === 2); // an iterInit answer to a get
    expect(await h.getUint8('test.a')).toBe(9);
  });
});

describe('retry policy (opt-in)', () => {
  it('retries TRY_AGAIN and QUEUE_FULL with backoff, then succeeds', async () => {
    const answers = [6, 23, 1];
    const fc = fakeConnector('cmap', () => res('cmap.set', {}, answers.shift()!));
    const h = await CmapHandle.initialize({ connect: fc.connect, retry: { initialDelay: 1, maxDelay: 2 } });
    await h.setUint8('test.r', 1);
    expect(fc.last.requests).toHaveLength(3);
  });

  it('is off by default, like the C libraries', async () => {
    const fc = fakeConnector('cmap', () => res('cmap.set', {}, 6));
    const h = await CmapHandle.initialize({ connect: fc.connect });
    await expect(h.setUint8('test.r', 1)).rejects.toSatisfy((e) => code(e) === 6);
    expect(fc.last.requests).toHaveLength(1);
  });

  it('gives up after `retries` and never retries other errors', async () => {
    const fc = fakeConnector('cmap', (d) => res('cmap.set', {}, (d.fields as { keyName: string }).keyName === 'test.a' ? 6 : 11));
    const h = await CmapHandle.initialize({ connect: fc.connect, retry: { retries: 2, initialDelay: 1 } });
    await expect(h.setUint8('test.a', 1)).rejects.toSatisfy((e) => code(e) === 6);
    expect(fc.last.requests).toHaveLength(3);
    await expect(h.setUint8('test.b', 1)).rejects.toSatisfy((e) => code(e) === 11);
    expect(fc.last.requests).toHaveLength(4);
  });

  it('an abort during the backoff rejects CS_ERR_INTERRUPT', async () => {
    const fc = fakeConnector('cmap', () => res('cmap.set', {}, 6));
    const h = await CmapHandle.initialize({ connect: fc.connect, retry: { initialDelay: 60_000 } });
    const ac = new AbortController();
    const p = h.setUint8('test.a', 1, { signal: ac.signal });
    await tick();
    ac.abort();
    await expect(p).rejects.toSatisfy((e) => code(e) === 16);
  });
});

describe('timeout and AbortSignal on every call', () => {
  it('timeout → CS_ERR_TIMEOUT; abort → CS_ERR_INTERRUPT; an aborted signal never sends', async () => {
    const fc = fakeConnector('quorum', (d) => (d.name === 'quorum.gettype' ? res('quorum.gettype', { quorumType: 0 }) : undefined));
    const h = await QuorumHandle.initialize(null, { connect: fc.connect });
    await expect(h.getquorate({ timeout: 5 })).rejects.toSatisfy((e) => code(e) === 5);
    const ac = new AbortController();
    const p = h.getquorate({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toSatisfy((e) => code(e) === 16 && (e as Error).cause instanceof Error);
    const sent = fc.last.requests.length;
    await expect(h.getquorate({ signal: AbortSignal.abort() })).rejects.toSatisfy((e) => code(e) === 16);
    expect(fc.last.requests).toHaveLength(sent);
    const hd = await QuorumHandle.initialize(null, { connect: fc.connect, timeout: 5 });
    await expect(hd.getquorate()).rejects.toSatisfy((e) => code(e) === 5);
  });

  it('a deadline beyond the timer limit (2^31-1 ms) is a deadline, not an answer after 1 ms', async () => {
    let answer!: (r: Uint8Array) => void;
    const fc = fakeConnector('quorum', (d) =>
      d.name === 'quorum.gettype' ? res('quorum.gettype', { quorumType: 0 }) : new Promise<Uint8Array>((r) => (answer = r)),
    );
    const h = await QuorumHandle.initialize(null, { connect: fc.connect });
    let settled = false;
    const p = h.getquorate({ timeout: 2 ** 32 }).finally(() => (settled = true));
    // Timers fire in order: one of 20 ms armed after the call's ran after any 1 ms timer.
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    answer(res('quorum.getquorate', { quorate: 1 }));
    expect(await p).toBe(true);
  });

  it('retry and reconnect policies with values no timer can hold are INVALID_PARAM, nothing connected', async () => {
    const fc = fakeConnector('cmap', () => res('cmap.set'));
    for (const reconnect of [{ initialDelay: NaN }, { initialDelay: -1 }, { maxDelay: -1 }, { factor: NaN }, { maxAttempts: -1 }, { maxAttempts: 1.5 }]) {
      await expect(CmapHandle.initialize({ connect: fc.connect, reconnect })).rejects.toSatisfy((e) => code(e) === 7);
    }
    for (const retry of [{ initialDelay: NaN }, { retries: -1 }, { maxDelay: Infinity }]) {
      await expect(CmapHandle.initialize({ connect: fc.connect, retry })).rejects.toSatisfy((e) => code(e) === 7);
    }
    expect(fc.names).toEqual([]);
  });

  it('dispatch(ONE) honours timeout and signal too', async () => {
    const fc = fakeConnector('quorum', () => res('quorum.gettype', { quorumType: 0 }));
    const h = await QuorumHandle.initialize(null, { connect: fc.connect, dispatch: 'manual' });
    await expect(h.dispatch(CS_DISPATCH_ONE, { timeout: 5 })).rejects.toSatisfy((e) => code(e) === 5);
    fc.last.event(evt('quorum.notification', { quorate: 1, ringSeq: 3n, viewList: [1] }));
    await h.dispatch(CS_DISPATCH_ONE); // the earlier waiter is gone: the event is still there
  });
});

describe('dispatch in automatic mode', () => {
  it("'auto': events a non-blocking dispatch read and left are delivered automatically, in order", async () => {
    const fc = fakeConnector('quorum', () => res('quorum.gettype', { quorumType: 0 }));
    const got: bigint[] = [];
    const h = await QuorumHandle.initialize({ quorumNotify: (n) => void got.push(n.ringSeq) }, { connect: fc.connect });
    const ev = (s: bigint) => evt('quorum.notification', { quorate: 1, ringSeq: s, viewList: [1] });
    // sent by the daemon, not read by the loop yet: the dispatch reads them (pollEvents)
    fc.last.unread.push(ev(1n), ev(2n), ev(3n));
    await h.dispatch(CS_DISPATCH_ONE_NONBLOCKING);
    expect(got[0]).toBe(1n);
    // no later event comes to push the other two out: the handle's automatic delivery takes them
    await tick();
    expect(got).toEqual([1n, 2n, 3n]);
    fc.last.unread.push(ev(4n), ev(5n));
    await h.dispatch(CS_DISPATCH_ALL);
    expect(got).toEqual([1n, 2n, 3n, 4n, 5n]);
    await h.finalize();
  });
});

describe('disconnect', () => {
  it("emits 'disconnect' with CS_ERR_LIBRARY; pending and later calls reject 2; finalize still works", async () => {
    const fc = fakeConnector('quorum', (d) => (d.name === 'quorum.gettype' ? res('quorum.gettype', { quorumType: 1 }) : undefined));
    const h = await QuorumHandle.initialize(null, { connect: fc.connect, dispatch: 'manual' });
    const reasons: unknown[] = [];
    h.on('disconnect', (r) => reasons.push(r));
    const pendingDispatch = h.dispatch(CS_DISPATCH_ONE);
    const it = h.notifications();
    fc.last.drop();
    expect(reasons).toHaveLength(1);
    expect(code(reasons[0])).toBe(2);
    expect((reasons[0] as Error).cause).toMatchObject({ code: 'ECONNRESET' });
    await expect(pendingDispatch).rejects.toSatisfy((e) => code(e) === 2);
    await expect(it.next()).rejects.toSatisfy((e) => code(e) === 2);
    await expect(h.getquorate()).rejects.toSatisfy((e) => code(e) === 2);
    expect(h.state).toBe('disconnected');
    expect(fc.last.closed).toBe(true);
    await h.finalize();
  });
});

describe('auto-reconnect', () => {
  it('cmap: re-adds tracks with their cookies, keeps the caller\'s track handle, hands a snapshot', async () => {
    let daemonHandle = 100n;
    const fc = fakeConnector('cmap', (d) => {
      switch (d.name) {
        case 'cmap.trackAdd': return res('cmap.trackAdd', { trackHandle: daemonHandle++ });
        case 'cmap.iterInit': return res('cmap.iterInit', { iterHandle: 1n });
        case 'cmap.iterNext': return res('cmap.error', {}, 27);
        case 'cmap.iterFinalize': return res('cmap.iterFinalize');
        case 'cmap.get': {
          const cap = Number((d.fields as { valueLen: bigint }).valueLen);
          return res('cmap.get', { valueLen: 4n, type: 6, value: cap ? new Uint8Array([5, 0, 0, 0]) : new Uint8Array(0) });
        }
        default: return res('cmap.set');
      }
    });
    const h = await CmapHandle.initialize({ connect: fc.connect, reconnect: { initialDelay: 1 } });
    const seen: bigint[] = [];
    const th = await h.trackAdd('test.k', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, (n) => seen.push(n.trackHandle));
    await h.trackAdd('test.p.', CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, () => {});
    const cookie = (fc.last.requests[0]!.fields as { trackInstHandle: bigint }).trackInstHandle;
    const snap = new Promise<CmapSnapshot>((r) => h.once('reconnect', r));
    const lost = new Promise((r) => h.once('disconnect', r));
    fc.last.drop();
    expect(code(await lost)).toBe(2);
    expect(h.state).toBe('reconnecting');
    const pendingCall = h.getUint32('test.k'); // waits for the new connection
    const s = await snap;
    expect(fc.made).toHaveLength(2);
    const re = fc.last.requests.filter((r) => r.name === 'cmap.trackAdd').map((r) => r.fields);
    expect(re[0]).toMatchObject({ keyName: 'test.k', trackInstHandle: cookie });
    expect(s.tracks[0]).toMatchObject({ trackHandle: th, keyName: 'test.k', entries: [{ keyName: 'test.k', type: 6, value: 5 }] });
    expect(s.tracks[1]).toMatchObject({ keyName: 'test.p.', entries: [] });
    expect(await pendingCall).toBe(5);
    fc.last.event(evt('cmap.notify', { trackInstHandle: cookie, keyName: 'test.k', event: 2, newValueType: 6, oldValueType: 6, newValue: new Uint8Array(4), oldValue: new Uint8Array(4) }));
    expect(seen).toEqual([th]);
    // trackDelete translates the caller's handle to the daemon's new one
    await h.trackDelete(th).catch(() => {});
    expect(fc.last.requests.at(-1)!.fields).toEqual({ trackHandle: 102n });
  });

  it('quorum: re-registers tracking with a snapshot (CURRENT added), keeps retrying while refused', async () => {
    const fc = fakeConnector('quorum', (d, ipc) => {
      if (d.name === 'quorum.trackstart') {
        ipc.event(evt('quorum.notification', { quorate: 1, ringSeq: 9n, viewList: [1] }));
        return res('quorum.trackstart');
      }
      if (d.name === 'quorum.getquorate') return res('quorum.getquorate', { quorate: 1 });
      return res('quorum.gettype', { quorumType: 1 });
    });
    const seqs: bigint[] = [];
    const h = await QuorumHandle.initialize({ quorumNotify: (n) => seqs.push(n.ringSeq) }, { connect: fc.connect, reconnect: { initialDelay: 1, maxDelay: 2 } });
    await h.trackstart(CS_TRACK_CHANGES);
    await tick();
    const snap = new Promise<QuorumSnapshot>((r) => h.once('reconnect', r));
    fc.failNext(ipcError('ECONNREFUSED', 111), ipcError('ECONNREFUSED', 111));
    fc.last.drop();
    expect(await snap).toEqual({ quorumType: 1, quorate: true, trackFlags: CS_TRACK_CHANGES });
    expect(fc.names).toHaveLength(4);
    expect(fc.last.requests.at(-1)!.fields).toEqual({ trackFlags: CS_TRACK_CHANGES | CS_TRACK_CURRENT });
    await tick();
    expect(seqs).toEqual([9n, 9n]);
    await h.finalize();
  });

  /**
   * Quorum is lost between restore's getquorate and its trackstart (a partition while the daemon
   * restarts): the snapshot says quorate, the CURRENT notification says not. An application that
   * applies both must end on the notification's state. `seen` lists callbacks and 'reconnect'.
   * `duringRestore` runs after that notification, before the re-tracking is answered.
   */
  async function quorumLostDuringRestore(dispatch: 'auto' | 'manual', duringRestore?: (h: QuorumHandle, seen: string[]) => Promise<void>) {
    let second = false;
    const fc = fakeConnector('quorum', (d, ipc) => {
      if (d.name === 'quorum.getquorate') return res('quorum.getquorate', { quorate: 1 });
      if (d.name === 'quorum.trackstart') {
        if (!second) return res('quorum.trackstart');
        ipc.event(evt('quorum.notification', { quorate: 0, ringSeq: 10n, viewList: [3] }));
        return duringRestore ? tick().then(() => duringRestore(h, seen)).then(() => res('quorum.trackstart')) : res('quorum.trackstart');
      }
      return res('quorum.gettype', { quorumType: 1 });
    });
    const seen: string[] = [];
    const h = await QuorumHandle.initialize({ quorumNotify: (n) => seen.push(`notify ${n.quorate}`) }, { connect: fc.connect, dispatch, reconnect: { initialDelay: 1 } });
    h.on('reconnect', (s) => seen.push(`reconnect ${s.quorate}`));
    await h.trackstart(CS_TRACK_CHANGES);
    second = true;
    return { h, seen, drop: () => fc.last.drop() };
  }

  it('the snapshot comes before the events of the new connection, never after newer ones', async () => {
    const { h, seen, drop } = await quorumLostDuringRestore('auto');
    const snap = new Promise((r) => h.once('reconnect', r));
    drop();
    await snap;
    await tick();
    expect(seen).toEqual(['reconnect true', 'notify false']);
    await h.finalize();
  });

  it('in manual mode too, a dispatch waiting across the reconnect runs the new connection\'s callbacks after \'reconnect\'', async () => {
    const { h, seen, drop } = await quorumLostDuringRestore('manual');
    const dispatched = h.dispatch(CS_DISPATCH_ONE);
    drop();
    await dispatched;
    expect(seen).toEqual(['reconnect true', 'notify false']);
    await h.finalize();
  });

  it("in manual mode, a dispatch(CS_DISPATCH_ALL) made while the restore runs does not deliver the new connection's events before 'reconnect'", async () => {
    const { h, seen, drop } = await quorumLostDuringRestore('manual', async (handle, log) => {
      // the application's own dispatch, while the re-tracking is still unanswered
      await handle.dispatch(CS_DISPATCH_ALL);
      log.push('dispatched during restore');
    });
    const snap = new Promise((r) => h.once('reconnect', r));
    drop();
    await snap;
    expect(h.pendingEvents).toBe(1);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(seen).toEqual(['dispatched during restore', 'reconnect true', 'notify false']);
    await h.finalize();
  });

  it('the events of a reconnect attempt that failed are dropped, not delivered after the next one\'s snapshot', async () => {
    const fc = fakeConnector('quorum', (d, ipc) => {
      if (d.name === 'quorum.getquorate') return res('quorum.getquorate', { quorate: 1 });
      if (d.name === 'quorum.trackstart') {
        if (fc.made.length === 1) return res('quorum.trackstart');
        ipc.event(evt('quorum.notification', { quorate: fc.made.length === 2 ? 0 : 1, ringSeq: BigInt(fc.made.length), viewList: [1] }));
        // The second connection's re-tracking is never answered: that attempt fails at the timeout.
        return fc.made.length === 2 ? undefined : res('quorum.trackstart');
      }
      return res('quorum.gettype', { quorumType: 1 });
    });
    const seen: string[] = [];
    const h = await QuorumHandle.initialize({ quorumNotify: (n) => seen.push(`notify ${n.ringSeq}`) }, { connect: fc.connect, timeout: 40, reconnect: { initialDelay: 1 } });
    h.on('reconnect', () => seen.push('reconnect'));
    await h.trackstart(CS_TRACK_CHANGES);
    const snap = new Promise((r) => h.once('reconnect', r));
    fc.last.drop();
    await snap;
    await tick();
    expect(fc.made).toHaveLength(3);
    expect(seen).toEqual(['reconnect', 'notify 3']);
    await h.finalize();
  });

  it('gives up after maxAttempts with a final disconnect', async () => {
    const fc = fakeConnector('quorum', () => res('quorum.gettype', { quorumType: 1 }));
    const h = await QuorumHandle.initialize(null, { connect: fc.connect, reconnect: { initialDelay: 1, maxAttempts: 2 } });
    const reasons: unknown[] = [];
    h.on('disconnect', (r) => reasons.push(r));
    fc.failNext(ipcError('ECONNREFUSED', 111), ipcError('ECONNREFUSED', 111));
    fc.last.drop();
    await expect(h.getquorate()).rejects.toSatisfy((e) => code(e) === 2);
    expect(reasons).toHaveLength(2);
    expect(h.state).toBe('disconnected');
  });

  it('cpg: the snapshot shows the group re-joined, though the daemon answers the join before it applies it', async () => {
    // corosync answers CPG_JOIN at once and adds the process when totem delivers the join: a
    // membership asked for in between lacks it. Here the join shows after three more asks.
    let lagging = 0;
    const fc = fakeConnector('cpg', (d) => {
      switch (d.name) {
        case 'cpg.localGet': return res('cpg.localGet', { localNodeid: 7 });
        case 'cpg.join': lagging = 3; return res('cpg.join');
        case 'cpg.membershipGet': {
          const others = [{ nodeid: 8, pid: 99, reason: 1 }];
          const self = { nodeid: 7, pid: process.pid, reason: 1 };
          return res('cpg.membershipGet', { memberList: lagging-- > 0 ? others : [...others, self] });
        }
        default: return res(d.name);
      }
    });
    const h = await CpgHandle.initialize({}, { connect: fc.connect, reconnect: { initialDelay: 1 } });
    await h.join('g');
    const snap = new Promise<CpgSnapshot>((r) => h.once('reconnect', r));
    fc.last.drop();
    const s = await snap;
    expect(Buffer.from(s.groupName!).toString()).toBe('g');
    expect(s.memberList).toEqual([{ nodeid: 8, pid: 99, reason: 1 }, { nodeid: 7, pid: process.pid, reason: 1 }]);
    expect(fc.last.requests.map((r) => r.name)).toEqual(['cpg.localGet', 'cpg.join', ...Array(4).fill('cpg.membershipGet')]);
    await h.finalize();
  });

  it('cpg: after a leave naming another group the reconnect joins the handle\'s own group again; after leaving its own, none', async () => {
    // corosync answers such a leave OK and keeps the process listed in its own group
    // (test/real-cpg-leave-other.test.ts)
    const fc = fakeConnector('cpg', (d) => {
      switch (d.name) {
        case 'cpg.localGet': return res('cpg.localGet', { localNodeid: 7 });
        case 'cpg.membershipGet': return res('cpg.membershipGet', { memberList: [{ nodeid: 7, pid: process.pid, reason: 0 }] });
        default: return res(d.name);
      }
    });
    const h = await CpgHandle.initialize({}, { connect: fc.connect, reconnect: { initialDelay: 1 } });
    await h.join('a');
    await h.leave('b');
    let snap = new Promise<CpgSnapshot>((r) => h.once('reconnect', r));
    fc.last.drop();
    expect(Buffer.from((await snap).groupName!).toString()).toBe('a');
    const join = fc.last.requests.find((r) => r.name === 'cpg.join')!;
    expect(Buffer.from((join.fields as { groupName: Uint8Array }).groupName).toString()).toBe('a');

    await h.leave('a');
    snap = new Promise<CpgSnapshot>((r) => h.once('reconnect', r));
    fc.last.drop();
    expect((await snap).groupName).toBeNull();
    expect(fc.last.requests.map((r) => r.name)).toEqual([]);
    await h.finalize();
  });

  it('cpg: a leave given up on while corosync applied it after all is known: the reconnect joins nothing', async () => {
    let answerLeave: (() => void) | undefined;
    let lateAnswer: Promise<void> | undefined;
    const fc = fakeConnector('cpg', (d) => {
      switch (d.name) {
        case 'cpg.leave':
          lateAnswer = new Promise<void>((r) => (answerLeave = r)).then(tick);
          return lateAnswer.then(() => res('cpg.leave'));
        case 'cpg.localGet': return res('cpg.localGet', { localNodeid: 7 });
        case 'cpg.membershipGet': return res('cpg.membershipGet', { memberList: [] });
        default: return res(d.name);
      }
    });
    const h = await CpgHandle.initialize({}, { connect: fc.connect, reconnect: { initialDelay: 1 } });
    await h.join('a');
    await expect(h.leave('a', { timeout: 10 })).rejects.toSatisfy((e) => code(e) === 5);
    answerLeave!();
    await lateAnswer;
    await tick();
    const snap = new Promise<CpgSnapshot>((r) => h.once('reconnect', r));
    fc.last.drop();
    expect((await snap).groupName).toBeNull();
    expect(fc.last.requests.map((r) => r.name)).toEqual([]);
    await h.finalize();
  });

  it('a reconnect whose restore goes unanswered gives up at the handle\'s timeout, closes that connection and tries again', async () => {
    let connection = 0;
    const fc = fakeConnector('quorum', (d) => {
      // The second connection's re-tracking is never answered (a daemon that accepted, then hung).
      if (d.name === 'quorum.trackstart') return fc.made.length === 2 ? undefined : res('quorum.trackstart');
      if (d.name === 'quorum.getquorate') return res('quorum.getquorate', { quorate: 1 });
      return res('quorum.gettype', { quorumType: 1 });
    });
    const h = await QuorumHandle.initialize(null, { connect: fc.connect, timeout: 40, reconnect: { initialDelay: 1 } });
    h.on('disconnect', () => connection++);
    await h.trackstart(CS_TRACK_CHANGES);
    const snap = new Promise<QuorumSnapshot>((r) => h.once('reconnect', r));
    fc.last.drop();
    expect(await snap).toEqual({ quorumType: 1, quorate: true, trackFlags: CS_TRACK_CHANGES });
    expect(fc.made).toHaveLength(3);
    expect(fc.made[1]!.closed).toBe(true);
    expect(fc.made[2]!.closed).toBe(false);
    expect(connection).toBe(1);
    await h.finalize();
  });

  it('the handle\'s timeout bounds each request of a restore, not the whole of it', async () => {
    const keys = ['test.p.a', 'test.p.b', 'test.p.c', 'test.p.d', 'test.p.e'];
    let next = 0;
    const answer = (d: { name: string; fields: unknown }) => {
      switch (d.name) {
        case 'cmap.trackAdd': return res('cmap.trackAdd', { trackHandle: 100n });
        case 'cmap.iterInit': next = 0; return res('cmap.iterInit', { iterHandle: 1n });
        case 'cmap.iterNext': return next < keys.length ? res('cmap.iterNext', { keyName: keys[next++], valueLen: 4n, type: 6 }) : res('cmap.error', {}, 27);
        case 'cmap.get': {
          const cap = Number((d.fields as { valueLen: bigint }).valueLen);
          return res('cmap.get', { valueLen: 4n, type: 6, value: cap ? new Uint8Array([5, 0, 0, 0]) : new Uint8Array(0) });
        }
        default: return res(d.name);
      }
    };
    // After the reconnect every answer takes 10 ms: each well within the 40 ms timeout, the ~20
    // requests of the restore together far beyond it.
    const fc = fakeConnector('cmap', (d) => (fc.made.length < 2 ? answer(d) : new Promise((r) => setTimeout(() => r(answer(d)), 10))));
    const h = await CmapHandle.initialize({ connect: fc.connect, timeout: 40, reconnect: { initialDelay: 1 } });
    await h.trackAdd('test.p.', CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, () => {});
    const snap = new Promise<CmapSnapshot>((r) => h.once('reconnect', r));
    fc.last.drop();
    expect((await snap).tracks[0]!.entries.map((e) => e.keyName)).toEqual(keys);
    expect(fc.made).toHaveLength(2);
    await h.finalize();
  });

  it('finalize during reconnect stops it and leaks no connection', async () => {
    const fc = fakeConnector('quorum', () => res('quorum.gettype', { quorumType: 1 }));
    const h = await QuorumHandle.initialize(null, { connect: fc.connect, reconnect: { initialDelay: 50 } });
    fc.last.drop();
    await h.finalize();
    await new Promise((r) => setTimeout(r, 80));
    expect(fc.made).toHaveLength(1);
  });
});
