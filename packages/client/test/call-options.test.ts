// CallOptions at their edges: odd values are refused with CS_ERR_INVALID_PARAM before anything is
// sent or queued, a deadline bounds the whole call, and no call given up on leaves a listener on a
// long-lived signal or a turn held in a queue.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CMAP_TRACK_MODIFY, CMAP_VALUETYPE_STRING, CS_DISPATCH_ALL, CS_DISPATCH_BLOCKING, CS_DISPATCH_ONE, CS_DISPATCH_ONE_NONBLOCKING, CS_ERR_INTERRUPT, CS_ERR_INVALID_PARAM, CS_ERR_TIMEOUT, isCsError } from '@corosync-ts/types';
import { CmapHandle, CpgHandle, QuorumHandle } from '../src/index.js';
import { evt, fakeConnector, res, tick, type FakeIpc } from './fake.js';
import type { Connector } from '../src/session.js';

const code = (e: unknown) => (isCsError(e) ? e.code : e);
const g = new TextEncoder().encode('grp');
const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

/** A cpg daemon whose leave answers BUSY until `busy` runs out (Infinity: for good). */
function cpgDaemon(busy = Infinity) {
  return fakeConnector('cpg', (d) => {
    switch (d.name) {
      case 'cpg.join': return res('cpg.join');
      case 'cpg.leave': return busy-- > 0 ? res('cpg.leave', {}, 10) : res('cpg.leave');
      case 'cpg.localGet': return res('cpg.localGet', { localNodeid: 3 });
      case 'cpg.partialMcast': return undefined; // never answered: a large multicast stays in flight
      case 'cpg.finalize': return res('cpg.finalize');
      default: return res('cpg.error', {}, 7);
    }
  });
}

function cmapDaemon() {
  return fakeConnector('cmap', (d) => {
    if (d.name === 'cmap.get') return res('cmap.get', { type: 6, valueLen: 4n, value: Uint8Array.of(5, 0, 0, 0) });
    return res('cmap.error', {}, 7);
  });
}

// Each is refused: NaN, a string or a bigint is no deadline today (silently), a symbol throws a TypeError.
const badOptions: [string, object][] = [
  ['timeout NaN', { timeout: Number.NaN }],
  ["timeout '100'", { timeout: '100' }],
  ['timeout 10n', { timeout: 10n }],
  ['timeout Symbol', { timeout: Symbol('t') }],
  ['signal {}', { signal: {} }],
  ["signal 'stop'", { signal: 'stop' }],
  ["retry 'yes'", { retry: 'yes' }],
  ['retry null', { retry: null }],
  ['retry.retries -1', { retry: { retries: -1 } }],
  ['retry.codes 6', { retry: { codes: 6 } }],
  ['retry.codes null', { retry: { codes: null } }],
  ["retry.codes ['6']", { retry: { codes: ['6'] } }],
];

describe('CallOptions with odd values', () => {
  it.each(badOptions)('%s: CS_ERR_INVALID_PARAM from a request, a multicast and a blocking dispatch, nothing sent', async (_name, opts) => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize(null, { connect: fc.connect });
    const o = opts as never;
    const got = await Promise.all([
      h.localGet(o).catch(code),
      h.mcastJoined(2, 'm', o).catch(code),
      h.mcastJoined(2, new Uint8Array(1047552 + 10), o).catch(code),
      h.dispatch(CS_DISPATCH_ONE, o).catch(code),
    ]);
    expect(got).toEqual(Array(4).fill(CS_ERR_INVALID_PARAM));
    expect(fc.last.requests).toEqual([]);
    expect(fc.last.sent).toEqual([]);
    await h.finalize();
  });

  it('negative and Infinity timeouts are no deadline; 0 is one that has passed', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize(null, { connect: fc.connect });
    expect(await h.localGet({ timeout: -1 })).toBe(3);
    expect(await h.localGet({ timeout: Infinity })).toBe(3);
    expect(await h.localGet({ timeout: -Infinity })).toBe(3);
    // a never-answered fragment under timeout 0 gives up at once, and a later call still works
    expect(code(await h.mcastJoined(2, new Uint8Array(1047552 + 10), { timeout: 0 }).catch((e) => e))).toBe(CS_ERR_TIMEOUT);
    expect(await h.localGet()).toBe(3);
    await h.finalize();
  });

  it('a multicast with an object for a signal while another is in flight is refused without holding the queue', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize(null, { connect: fc.connect });
    const ac = new AbortController();
    const big = h.mcastJoined(2, new Uint8Array(1047552 + 10), { signal: ac.signal }).catch((e) => e);
    const bad = await h.mcastJoined(2, 'm2', { signal: { aborted: false } as AbortSignal }).catch((e) => e);
    expect(code(bad)).toBe(CS_ERR_INVALID_PARAM);
    ac.abort();
    expect(code(await big)).toBe(CS_ERR_INTERRUPT);
    await h.mcastJoined(2, 'm3', { timeout: 10_000 });
    expect(fc.last.sent.map((s) => s.name)).toEqual(['cpg.mcastJoined']);
    await h.finalize();
  });
});

describe('dispatch given up on', () => {
  const deliver = (text: string) => evt('cpg.deliverCallback', { groupName: g, msglen: text.length, nodeid: 1, pid: 7, message: new TextEncoder().encode(text) });

  it('aborted by a callback it ran: the next event is delivered (auto) without waiting for a third', async () => {
    const fc = cpgDaemon();
    const ac = new AbortController();
    const got: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: (d) => {
      got.push(Buffer.from(d.msg).toString());
      if (got.length === 1) ac.abort();
    } }, { connect: fc.connect });
    const blocking = h.dispatch(CS_DISPATCH_BLOCKING, { signal: ac.signal }).catch(code);
    fc.last.event(deliver('a'));
    expect(await blocking).toBe(CS_ERR_INTERRUPT);
    fc.last.event(deliver('b'));
    while (got.length < 2) await tick();
    expect([got, h.pendingEvents]).toEqual([['a', 'b'], 0]);
    await h.finalize();
  });

  it('a signal aborted already: every mode rejects CS_ERR_INTERRUPT and delivers nothing', async () => {
    const fc = cpgDaemon();
    const got: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: (d) => got.push(Buffer.from(d.msg).toString()) }, { connect: fc.connect, dispatch: 'manual' });
    fc.last.event(deliver('a'));
    const signal = AbortSignal.abort();
    const modes = [CS_DISPATCH_ALL, CS_DISPATCH_ONE, CS_DISPATCH_ONE_NONBLOCKING, CS_DISPATCH_BLOCKING];
    expect(await Promise.all(modes.map((m) => h.dispatch(m, { signal }).catch(code)))).toEqual(Array(4).fill(CS_ERR_INTERRUPT));
    expect([got, h.pendingEvents]).toEqual([[], 1]);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(got).toEqual(['a']);
    await h.finalize();
  });

  it('finalize while it waits: it resolves (C: CS_OK), its listener gone', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize(null, { connect: fc.connect });
    const ac = new AbortController();
    const blocking = h.dispatch(CS_DISPATCH_BLOCKING, { signal: ac.signal, timeout: 60_000 });
    await h.finalize();
    await blocking;
    expect(listeners(ac.signal)).toBe(0);
  });
});

describe('cpg.leave re-sent while BUSY', () => {
  it('its deadline covers every re-send: CS_ERR_TIMEOUT while the daemon answers BUSY for good', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize(null, { connect: fc.connect });
    await h.join(g);
    expect(code(await h.leave(g, { timeout: 30 }).catch((e) => e))).toBe(CS_ERR_TIMEOUT);
    await h.finalize();
  });

  it('the handle timeout bounds it too, and an abort stops it with CS_ERR_INTERRUPT, its listener gone', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize(null, { connect: fc.connect, timeout: 30 });
    await h.join(g);
    expect(code(await h.leave(g).catch((e) => e))).toBe(CS_ERR_TIMEOUT);
    const ac = new AbortController();
    const left = h.leave(g, { signal: ac.signal, timeout: -1 }).catch((e) => e);
    // wait for some re-sends before aborting
    const sent = fc.last.requests.length;
    while (fc.last.requests.length < sent + 3) await new Promise((r) => setImmediate(r));
    ac.abort();
    expect(code(await left)).toBe(CS_ERR_INTERRUPT);
    expect(listeners(ac.signal)).toBe(0);
    await h.finalize();
  });

  it('still leaves once BUSY ends', async () => {
    const fc = cpgDaemon(3);
    const h = await CpgHandle.initialize(null, { connect: fc.connect });
    await h.join(g);
    await h.leave(g, { timeout: 10_000 });
    expect(fc.last.requests.filter((r) => r.name === 'cpg.leave')).toHaveLength(4);
    await h.finalize();
  });
});

describe('a long-lived signal shared by many calls', () => {
  it('20 calls at once on one signal: no MaxListenersExceededWarning (one listener per signal, not one per call)', async () => {
    const fc = cmapDaemon();
    const h = await CmapHandle.initialize({ connect: fc.connect });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const ac = new AbortController();
      const calls = Array.from({ length: 20 }, () => h.getUint32('k', { signal: ac.signal }));
      expect(listeners(ac.signal)).toBe(1);
      await Promise.all(calls);
      expect(listeners(ac.signal)).toBe(0);
      // process.emitWarning delivers on the next tick
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    await h.finalize();
  });

  // 1,000 answered (a leak would leave 1,000), 10,000 aborted at once (about 1 s here).
  it('1,000 calls answered, then 10,000 aborted at once: no listener left, the handle still answers', async () => {
    const fc = cmapDaemon();
    const h = await CmapHandle.initialize({ connect: fc.connect });
    const ac = new AbortController();
    const answered = await Promise.all(Array.from({ length: 1_000 }, () => h.getUint32('k', { signal: ac.signal })));
    expect(answered.every((v) => v === 5)).toBe(true);
    expect(listeners(ac.signal)).toBe(0);

    const cpgFc = cpgDaemon();
    const c = await CpgHandle.initialize(null, { connect: cpgFc.connect });
    const ac2 = new AbortController();
    const calls = [
      c.mcastJoined(2, new Uint8Array(1047552 + 10), { signal: ac2.signal }),
      ...Array.from({ length: 10_000 }, (_, i) => (i % 2 ? c.mcastJoined(2, 'm', { signal: ac2.signal }) : c.dispatch(CS_DISPATCH_ONE, { signal: ac2.signal }))),
    ].map((p) => p.catch(code));
    ac2.abort();
    expect(new Set(await Promise.all(calls))).toEqual(new Set([CS_ERR_INTERRUPT]));
    expect(listeners(ac2.signal)).toBe(0);
    await c.mcastJoined(2, 'after', { timeout: 10_000 });
    expect(cpgFc.last.sent).toHaveLength(1);
    await Promise.all([h.finalize(), c.finalize()]);
  });
});

describe('cmap.trackAdd given up on while its answer is on its way', () => {
  it('a tracker the daemon added after all is deleted once its answer comes: nothing notifies the handle for it', async () => {
    const answers: ((r: Uint8Array) => void)[] = [];
    const fc = fakeConnector('cmap', (d) => {
      if (d.name === 'cmap.trackAdd') return new Promise<Uint8Array>((r) => answers.push(r));
      if (d.name === 'cmap.trackDelete') return res('cmap.trackDelete', { trackInstHandle: (d.fields as { trackHandle: bigint }).trackHandle });
      return res('cmap.error', {}, 7);
    });
    const h = await CmapHandle.initialize({ connect: fc.connect });
    const ac = new AbortController();
    const added = h.trackAdd('a.b', CMAP_TRACK_MODIFY, () => {}, undefined, { signal: ac.signal }).catch(code);
    while (answers.length === 0) await tick();
    ac.abort();
    expect(await added).toBe(CS_ERR_INTERRUPT);
    answers[0]!(res('cmap.trackAdd', { trackHandle: 0x77n }));
    while (!fc.last.requests.some((r) => r.name === 'cmap.trackDelete')) await tick();
    expect(fc.last.requests.filter((r) => r.name === 'cmap.trackDelete').map((r) => (r.fields as { trackHandle: bigint }).trackHandle)).toEqual([0x77n]);
    await h.finalize();
  });
});

describe('cpg.join given up on while its answer is on its way', () => {
  it('joined after all: the handle knows its group (a reconnect joins it again)', async () => {
    const answers: ((r: Uint8Array) => void)[] = [];
    let joins = 0;
    const fc = fakeConnector('cpg', (d) => {
      switch (d.name) {
        case 'cpg.join': return joins++ === 0 ? new Promise<Uint8Array>((r) => answers.push(r)) : res('cpg.join');
        case 'cpg.localGet': return res('cpg.localGet', { localNodeid: 3 });
        case 'cpg.membershipGet': return res('cpg.membershipGet', { memberList: [{ nodeid: 3, pid: process.pid, reason: 1 }] });
        default: return res('cpg.error', {}, 7);
      }
    });
    const h = await CpgHandle.initialize(null, { connect: fc.connect, reconnect: { initialDelay: 1 } });
    const ac = new AbortController();
    const joined = h.join(g, { signal: ac.signal }).catch(code);
    while (answers.length === 0) await tick();
    ac.abort();
    expect(await joined).toBe(CS_ERR_INTERRUPT);
    answers[0]!(res('cpg.join'));
    const reconnected = new Promise<{ groupName: Uint8Array | null }>((r) => h.once('reconnect', r));
    // the late answer is read before the connection goes
    await tick();
    fc.last.drop();
    expect(Buffer.from((await reconnected).groupName ?? []).toString()).toBe('grp');
    await h.finalize();
  });
});

describe('cmap.get in several round trips', () => {
  it('one deadline for all of them: three answers 15 ms apart exceed a 30 ms timeout', async () => {
    const value = new TextEncoder().encode('a value longer than the first capacity\0');
    const fc = fakeConnector('cmap', (d) => {
      const cap = Number((d.fields as { valueLen: bigint }).valueLen);
      const answer = cap > 0 && cap < value.length ? res('cmap.error', {}, 7) : res('cmap.get', { type: CMAP_VALUETYPE_STRING, valueLen: BigInt(value.length), value: value.subarray(0, cap) });
      return new Promise((r) => setTimeout(() => r(answer), 15));
    });
    const h = await CmapHandle.initialize({ connect: fc.connect });
    expect(await h.getString('k', { firstCapacity: 4, timeout: 30 }).catch(code)).toBe(CS_ERR_TIMEOUT);
    expect(await h.get('k', { firstCapacity: 4, timeout: 30 }).catch(code)).toBe(CS_ERR_TIMEOUT);
    expect(await h.getString('k', { firstCapacity: 4, timeout: 10_000 })).toBe('a value longer than the first capacity');
    await h.finalize();
  });
});

describe('an initialize that sends a first request', () => {
  // A connect taking 15 ms, then an answer taking 15 ms, under a 25 ms handle timeout.
  function slow(service: 'quorum' | 'cmap', answer: Uint8Array) {
    const fc = fakeConnector(service, () => new Promise((r) => setTimeout(() => r(answer), 15)));
    const connect: Connector = (name, o) => new Promise((r) => setTimeout(() => r(fc.connect(name, o)), 15));
    return { fc, connect };
  }
  const closed = (made: FakeIpc[]) => made.map((i) => i.closed);

  it('quorum: the connect and the gettype share the handle timeout, and the connection is closed', async () => {
    const { fc, connect } = slow('quorum', res('quorum.gettype', { quorumType: 1 }));
    expect(await QuorumHandle.initialize(null, { connect, timeout: 25 }).catch(code)).toBe(CS_ERR_TIMEOUT);
    expect(closed(fc.made)).toEqual([true]);
    expect((await QuorumHandle.initialize(null, { connect, timeout: 10_000 })).quorumType).toBe(1);
  });

  it('cmap.initializeMap: the connect and the map selection share it too', async () => {
    const { fc, connect } = slow('cmap', res('cmap.setCurrentMap'));
    expect(await CmapHandle.initializeMap(1, { connect, timeout: 25 }).catch(code)).toBe(CS_ERR_TIMEOUT);
    expect(closed(fc.made)).toEqual([true]);
  });
});
