// A handle's multicasts leave in call order, whatever waits for a retry: libcpg's calls are
// synchronous, so its users (pmxcfs) send without awaiting each one and rely on that order.
import { describe, expect, it } from 'vitest';
import { isCsError } from '@corosync-ts/types';
import { CpgHandle, type CpgDeliver } from '../src/index.js';
import { evt, fakeConnector, res, tick, type FakeIpc } from './fake.js';

const code = (e: unknown) => (isCsError(e) ? e.code : e);
const g = new TextEncoder().encode('grp');
const text = (m: Uint8Array) => Buffer.from(m).toString();

/** A daemon that loops every accepted multicast back as a delivery, in the order it took them. */
function loopback(partialAnswers: number[] = []) {
  const fc = fakeConnector('cpg', (d, ipc) => {
    switch (d.name) {
      case 'cpg.partialMcast': {
        const error = partialAnswers.shift() ?? 1;
        if (error === 1) {
          const f = d.fields as { msglen: number; type: number; fragment: Uint8Array };
          setImmediate(() => ipc.event(evt('cpg.partialDeliverCallback', { groupName: g, msglen: f.msglen, nodeid: 1, pid: 7, type: f.type, fragment: f.fragment })));
        }
        return res('cpg.partialMcast', {}, error);
      }
      case 'cpg.finalize': return res('cpg.finalize');
      default: return res('cpg.error', {}, 7);
    }
  });
  const echo = (ipc: FakeIpc) => {
    const send = ipc.send.bind(ipc);
    ipc.send = async (frame: Uint8Array) => {
      const before = ipc.sent.length;
      await send(frame);
      for (const s of ipc.sent.slice(before)) {
        const message = (s.fields as { message: Uint8Array }).message;
        setImmediate(() => ipc.event(evt('cpg.deliverCallback', { groupName: g, nodeid: 1, pid: 7, message })));
      }
    };
  };
  return { fc, echo };
}

const names = (ipc: FakeIpc) => ipc.sent.map((s) => text((s.fields as { message: Uint8Array }).message));
const retryForever = { retries: 1e6, initialDelay: 1, maxDelay: 1 };

describe('cpg multicast order', () => {
  it('five calls not awaited, the first refused twice: sent and delivered in call order, large ones keeping their place', async () => {
    const { fc, echo } = loopback([6, 1, 6]);
    const got: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: (d: CpgDeliver) => got.push(d.msg.length > 100 ? `big${d.msg.length}` : text(d.msg)) }, { connect: fc.connect, retry: { retries: 5, initialDelay: 1 } });
    const ipc = fc.last;
    echo(ipc);
    ipc.refuse = 2;
    const big = new Uint8Array(1047552 + 10);
    const calls = [
      h.mcastJoined(2, 'm1'),
      h.mcastJoined(2, 'm2'),
      h.mcastJoined(2, big),
      h.mcastJoined(2, 'm4', {}),
      h.mcastJoined(2, 'm5'),
    ];
    await Promise.all(calls);
    expect(names(ipc)).toEqual(['m1', 'm2', 'm4', 'm5']);
    // m2 was handed over before the fragments of the large message, m4 only after its last one
    while (got.length < 5) await tick();
    expect(got).toEqual(['m1', 'm2', `big${big.length}`, 'm4', 'm5']);
    await h.finalize();
  });

  it('without retry or deadline: calls made while a large one waits for a refused fragment go after it, and after ones that failed', async () => {
    // The first message's last fragment is refused twice by the library (flow control: sent
    // again 10 ms apart); the second's last fragment is answered TRY_AGAIN (corosync's totem
    // queue) and the third's first fragment CS_ERR_NOT_EXIST: those two calls reject, the calls
    // behind them still go, in order, and the half-sent message is never delivered.
    const { fc, echo } = loopback([1, 1, 1, 6, 12]);
    const got: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: (d: CpgDeliver) => got.push(d.msg.length > 100 ? `big${d.msg.length}` : text(d.msg)) }, { connect: fc.connect });
    const ipc = fc.last;
    echo(ipc);
    let refusals = 2;
    ipc.refuseRequest = (d) => (d.fields as { type: number }).type === 3 && refusals-- > 0;
    const big = new Uint8Array(1047552 + 10);
    const first = h.mcastJoined(2, big);
    const m2 = h.mcastJoined(2, 'm2');
    const cut = h.mcastJoined(2, new Uint8Array(1047552 + 30)).catch((e) => e);
    const failed = h.mcastJoined(2, new Uint8Array(1047552 + 20)).catch((e) => e);
    const m4 = h.mcastJoined(2, 'm4');
    await Promise.all([first, m2, m4]);
    expect(ipc.refusedRequests).toBe(2);
    expect(code(await cut)).toBe(6);
    expect(code(await failed)).toBe(12);
    expect(names(ipc)).toEqual(['m2', 'm4']);
    while (got.length < 3) await tick();
    expect(got).toEqual([`big${big.length}`, 'm2', 'm4']);
    // Nothing is left queued: the next call goes out before it returns, as the first one of a handle does.
    void h.mcastJoined(2, 'm5');
    expect(names(ipc)).toEqual(['m2', 'm4', 'm5']);
    await h.finalize();
  });

  it('a call whose signal is aborted already rejects without holding the queue: the calls after it still go', async () => {
    const { fc } = loopback();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const ipc = fc.last;
    ipc.refuse = 1;
    const first = h.mcastJoined(2, 'm1', { retry: retryForever });
    const aborted = await h.mcastJoined(2, 'm2', { signal: AbortSignal.abort() }).catch((e) => e);
    const bigAborted = await h.mcastJoined(2, new Uint8Array(1047552 + 10), { signal: AbortSignal.abort() }).catch((e) => e);
    expect([code(aborted), code(bigAborted)]).toEqual([16, 16]);
    await Promise.all([first, h.mcastJoined(2, 'm3')]);
    expect(names(ipc)).toEqual(['m1', 'm3']);
    await h.finalize();
  });

  it('aborting or timing out a queued call removes only it; the rest keep their order', async () => {
    const { fc } = loopback();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const ipc = fc.last;
    ipc.refuse = Infinity;
    const first = h.mcastJoined(2, 'm1', { retry: retryForever });
    const ac = new AbortController();
    const aborted = h.mcastJoined(2, 'm2', { signal: ac.signal }).catch((e) => e);
    const timedOut = h.mcastJoined(2, 'm3', { timeout: 1 }).catch((e) => e);
    const last = h.mcastJoined(2, 'm4');
    ac.abort();
    expect(code(await aborted)).toBe(16);
    expect(code(await timedOut)).toBe(5);
    expect(ipc.sent).toEqual([]);
    ipc.refuse = 0;
    await Promise.all([first, last]);
    expect(names(ipc)).toEqual(['m1', 'm4']);
    await h.finalize();
  });

  it('finalize while the first waits for its retry: the queued ones get its error and none is sent', async () => {
    const { fc } = loopback();
    const h = await CpgHandle.initialize({}, { connect: fc.connect, retry: retryForever });
    const ipc = fc.last;
    ipc.refuse = Infinity;
    const calls = ['m1', 'm2', 'm3'].map((m) => h.mcastJoined(2, m).catch((e) => e));
    await tick();
    await h.finalize();
    const errors = await Promise.all(calls);
    expect(errors.map(code)).toEqual([9, 9, 9]);
    expect(ipc.sent).toEqual([]);
  });

  it('the connection lost while the first waits for its retry: the queued ones get its error', async () => {
    const { fc } = loopback();
    const h = await CpgHandle.initialize({}, { connect: fc.connect, retry: retryForever });
    const ipc = fc.last;
    ipc.refuse = Infinity;
    const calls = ['m1', 'm2', 'm3'].map((m) => h.mcastJoined(2, m).catch((e) => e));
    await tick();
    ipc.drop();
    const errors = await Promise.all(calls);
    expect(isCsError(errors[0])).toBe(true);
    expect(errors.map(code)).toEqual([code(errors[0]), code(errors[0]), code(errors[0])]);
    expect(errors.map((e: Error) => e.message)).toEqual([errors[0].message, errors[0].message, errors[0].message]);
    expect(ipc.sent).toEqual([]);
    // cpg_finalize's FINALIZE has no daemon to go to: CS_ERR_LIBRARY, the handle ended all the same
    expect(code(await h.finalize().catch((e) => e))).toBe(2);
    expect(h.state).toBe('finalized');
  });
});
