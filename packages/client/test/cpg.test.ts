// cpg and cfg against a transport double: what the client decides by itself (fragmenting,
// reassembly, local argument errors, BUSY handling, holding calls behind a try_shutdown).
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { CS_DISPATCH_ALL, CS_DISPATCH_ONE, isCsError } from '@corosync-ts/types';
import { encode } from '@corosync-ts/codec-wasm';
import { CfgHandle, CpgHandle, type CfgEvent, type CpgEvent } from '../src/index.js';
import { evt, fakeConnector, ipcError, res, tick } from './fake.js';

const code = (e: unknown) => (isCsError(e) ? e.code : e);
const manual = { dispatch: 'manual' } as const;
const g = new TextEncoder().encode('grp');

function cpgDaemon(answers: Partial<Record<string, number[]>> = {}) {
  return fakeConnector('cpg', (d) => {
    const queue = answers[d.name];
    const error = queue && queue.length > 0 ? queue.shift()! : 1;
    switch (d.name) {
      case 'cpg.join': return res('cpg.join', {}, error);
      case 'cpg.leave': return res('cpg.leave', {}, error);
      case 'cpg.partialMcast': return res('cpg.partialMcast', {}, error);
      case 'cpg.finalize': return res('cpg.finalize');
      default: return res('cpg.error', {}, 7);
    }
  });
}

const partial = (type: number, msglen: number, fragment: Uint8Array, pid = 7) =>
  evt('cpg.partialDeliverCallback', { groupName: g, msglen, nodeid: 1, pid, type, fragment });

describe('cpg', () => {
  it('checks model, flags, names and iteration arguments before the wire, with the C codes', async () => {
    const fc = cpgDaemon();
    expect(code(await CpgHandle.modelInitialize(2, {}, undefined, { connect: fc.connect }).catch((e) => e))).toBe(7);
    expect(code(await CpgHandle.modelInitialize(1, { flags: 2 }, undefined, { connect: fc.connect }).catch((e) => e))).toBe(7);
    expect(fc.names).toEqual([]);
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    expect(code(await h.join(new Uint8Array(129)).catch((e) => e))).toBe(13);
    expect(code(await h.iterationInitialize(4).catch((e) => e))).toBe(7);
    expect(code(await h.iterationInitialize(2).catch((e) => e))).toBe(7);
    expect(code(await h.iterationInitialize(3, 'grp').catch((e) => e))).toBe(7);
    expect(code(await h.iterationNext(1n).catch((e) => e))).toBe(9);
    expect(code(await h.mcastJoined(2, 42 as unknown as string).catch((e) => e))).toBe(7);
    expect(fc.last.requests).toEqual([]);
    await h.finalize();
    expect(fc.last.requests.map((r) => r.name)).toEqual(['cpg.finalize']);
    expect(code(await h.finalize().catch((e) => e))).toBe(9);
  });

  it('finalize once the daemon is gone rejects CS_ERR_LIBRARY, as cpg_finalize returns the failed FINALIZE; the handle is finalized all the same', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    fc.last.drop();
    expect(h.state).toBe('disconnected');
    expect(code(await h.finalize().catch((e) => e))).toBe(2);
    expect(h.state).toBe('finalized');
    expect(code(await h.finalize().catch((e) => e))).toBe(9);

    const dying = fakeConnector('cpg', (d, ipc) => {
      if (d.name !== 'cpg.finalize') return undefined;
      // gone before it answers
      ipc.drop();
      throw ipcError('ECONNRESET', 104);
    });
    const h2 = await CpgHandle.initialize({}, { connect: dying.connect });
    expect(code(await h2.finalize().catch((e) => e))).toBe(2);
    expect(h2.state).toBe('finalized');

    // Only the sending counts: libcpg does not look at the error in FINALIZE's answer.
    const refusing = fakeConnector('cpg', (d) => (d.name === 'cpg.finalize' ? res('cpg.finalize', {}, 6) : undefined));
    const h4 = await CpgHandle.initialize({}, { connect: refusing.connect });
    await h4.finalize();
    expect(refusing.last.requests.map((r) => r.name)).toEqual(['cpg.finalize']);

    // Reconnecting has no C counterpart: finalize just stops it, there is no failure to report.
    const h3 = await CpgHandle.initialize({}, { connect: fc.connect, reconnect: { initialDelay: 60_000 } });
    fc.last.drop();
    expect(h3.state).toBe('reconnecting');
    await h3.finalize();
    expect(h3.state).toBe('finalized');
  });

  it('join rejects the BUSY that would make libcpg spin forever; leave re-sends BUSY until the daemon agrees', async () => {
    const fc = cpgDaemon({ 'cpg.join': [10], 'cpg.leave': [10, 10, 1] });
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    expect(code(await h.join('grp').catch((e) => e))).toBe(10);
    await h.leave('grp');
    expect(fc.last.requests.map((r) => r.name)).toEqual(['cpg.join', 'cpg.leave', 'cpg.leave', 'cpg.leave']);
    await h.finalize();
  });

  it('mcastJoined frames every message as the codec encodes it, whatever the sizes before it', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const raw: Uint8Array[] = [];
    const sendNow = fc.last.sendNow.bind(fc.last);
    fc.last.sendNow = (f: Uint8Array) => (raw.push(f.slice()), sendNow(f));
    const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
    // every message fills one frame kept between calls, which grows to the largest message sent
    const cases: [number, Uint8Array][] = [
      [2, bytes(64, 1)], [0xffffffff, bytes(1000, 2)], [1, bytes(0, 3)], [3, bytes(65536, 4)],
      [2, bytes(65537, 5)], [2, bytes(5, 6)], [0, bytes(64, 7)], [1, bytes(300000, 8)], [3, bytes(70000, 9)], [2, bytes(1, 10)],
    ];
    for (const [guarantee, message] of cases) await h.mcastJoined(guarantee, message);
    expect(raw.map((f) => Buffer.from(f).toString('hex'))).toEqual(
      cases.map(([guarantee, message]) => Buffer.from(encode('cpg.mcastJoined', { guarantee, msglen: message.length, message })).toString('hex')),
    );
    await h.finalize();
  });

  it('mcastJoined: one MCAST up to 1047552 bytes; beyond, fragments that never span two iovec parts; both at fc_enable_max 2', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    await h.mcastJoined(2, new Uint8Array(1047552));
    expect(fc.last.sent.map((s) => [s.name, (s.fields as { msglen: number }).msglen])).toEqual([['cpg.mcastJoined', 1047552]]);
    await h.mcastJoined(1, [new Uint8Array(1047553), new Uint8Array(5)]);
    const frags = fc.last.requests.map((r) => r.fields as { msglen: number; fraglen: number; type: number; guarantee: number });
    expect(frags.map((f) => [f.msglen, f.fraglen, f.type, f.guarantee])).toEqual([
      [1047558, 1047552, 1, 1],
      [1047558, 1, 2, 1],
      [1047558, 5, 3, 1],
    ]);
    // Every fragment but the last asks for its answer before the deliveries queued with it: the
    // next fragment waits for it (libcpg sends the next before it reads any delivery).
    expect(fc.last.expects.map((e) => e?.answerFirst === true)).toEqual([true, true, false]);
    // libcpg raises fc_enable_max to 2 around a multicast, fragments included: corosync's level 2
    // (its totem queue critical, or a sync running) refuses them in the library.
    expect(fc.last.expects.map((e) => e?.flowControlMax)).toEqual([2, 2, 2]);
    expect(fc.last.sentFlowControlMax).toEqual([2]);
    // flow control on a single MCAST is TRY_AGAIN (the retry option loops on it)
    fc.last.refuse = 1;
    expect(code(await h.mcastJoined(2, 'x').catch((e) => e))).toBe(6);
    fc.last.refuse = 1;
    await h.mcastJoined(2, 'x', { retry: { retries: 2, initialDelay: 1 } });
    // the frame is encoded in codec memory: one waiting for its retry keeps its own bytes
    fc.last.refuse = 1;
    const retried = h.mcastJoined(2, 'first', { retry: { retries: 2, initialDelay: 5 } });
    while (fc.last.refuse > 0) await tick(); // its first try was refused: now it waits to retry
    await h.mcastJoined(2, 'second, longer');
    await retried;
    const text = (s: { fields: unknown }) => Buffer.from((s.fields as { message: Uint8Array }).message).toString();
    expect(fc.last.sent.slice(-3).map(text)).toEqual(['x', 'first', 'second, longer']);
    await h.finalize();
  });

  it('a fragment corosync answers with an error ends the call with that error, as libcpg returns it; the retry option sends the whole message again', async () => {
    // corosync answers CS_ERR_TRY_AGAIN when its totem queue cannot take the fragment
    // (ipc_glue.c, sending_allowed): libcpg's send_fragments stops there, and the fragments
    // already sent are dropped by the receivers at the sender's next first fragment.
    const fc = cpgDaemon({ 'cpg.partialMcast': [1, 6, 1, 6, 1, 1] });
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const message = [new Uint8Array(1047552), Uint8Array.of(1, 2, 3)];
    const types = () => fc.last.requests.map((r) => (r.fields as { type: number }).type);
    expect(code(await h.mcastJoined(2, message).catch((e) => e))).toBe(6);
    expect(types()).toEqual([1, 3]);
    await h.mcastJoined(2, message, { retry: { retries: 2, initialDelay: 1 } });
    expect(types()).toEqual([1, 3, 1, 3, 1, 3]);
    await h.finalize();
  });

  it('a fragment the library refuses (flow control) is sent again 10 ms later, at most 100 times, then the call fails with TRY_AGAIN', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const ipc = fc.last;
    const message = [new Uint8Array(1047552), Uint8Array.of(1, 2, 3)];
    const types = () => ipc.requests.map((r) => (r.fields as { type: number }).type);
    const type = (d: { fields: unknown }) => (d.fields as { type: number }).type;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let refusals = 2;
      ipc.refuseRequest = () => refusals-- > 0;
      const sent = h.mcastJoined(2, message);
      await vi.advanceTimersByTimeAsync(9);
      expect(ipc.refusedRequests).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(ipc.refusedRequests).toBe(2);
      expect(types()).toEqual([]);
      await vi.advanceTimersByTimeAsync(10);
      await sent;
      expect(types()).toEqual([1, 3]);
      // MAX_RETRIES: a fragment is sent at most 101 times, 10 ms apart, each fragment counting
      // afresh: the first refused once, the last every time (at 10, 20, ... 1010 ms).
      ipc.refusedRequests = 0;
      let firstRefusals = 1;
      ipc.refuseRequest = (d) => type(d) === 3 || firstRefusals-- > 0;
      const refused = h.mcastJoined(2, message).catch((e) => e);
      await vi.advanceTimersByTimeAsync(1009);
      expect(ipc.refusedRequests).toBe(101);
      await vi.advanceTimersByTimeAsync(1);
      expect(ipc.refusedRequests).toBe(102);
      expect(code(await refused)).toBe(6);
      expect(types()).toEqual([1, 3, 1]);
    } finally {
      vi.useRealTimers();
      ipc.refuseRequest = undefined;
    }
    await h.finalize();
  });

  it('a tight mcastJoined loop lets the event loop turn every few messages (its own deliveries get in)', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    // Each mcast resolves without a loop turn; corosync keeps at most 10 undelivered events in
    // the socket (net.unix.max_dgram_qlen) and then spins at SCHED_RR 99 until the client reads.
    const turnsAt: number[] = [];
    let sent = 0;
    let until = 100;
    const watch = () => {
      turnsAt.push(sent);
      if (sent < until) setImmediate(watch);
    };
    setImmediate(watch);
    for (; sent < 100; sent++) await h.mcastJoined(2, Uint8Array.of(sent));
    expect(turnsAt.length).toBeGreaterThan(1);
    for (let i = 1; i < turnsAt.length; i++) expect(turnsAt[i]! - turnsAt[i - 1]!).toBeLessThanOrEqual(32);
    expect(fc.last.sent).toHaveLength(100);
    // A large message counts once more per 16 KiB: 64 KiB ones turn the loop every 7.
    turnsAt.length = 0;
    sent = 0;
    until = 30;
    setImmediate(watch);
    const big = new Uint8Array(65536);
    for (; sent < 30; sent++) await h.mcastJoined(2, big);
    for (let i = 1; i < turnsAt.length; i++) expect(turnsAt[i]! - turnsAt[i - 1]!).toBeLessThanOrEqual(7);
    expect(fc.last.sent).toHaveLength(130);
    await h.finalize();
  });

  it('mcastJoined: every failure is a rejection, never a throw, before the wire or at it; a sent one is settled before the loop turns', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const ipc = fc.last;
    const calls: Promise<void>[] = [];
    const call = (f: () => Promise<void>) => {
      let p: Promise<void> | undefined;
      expect(() => (p = f())).not.toThrow();
      calls.push(p!);
      return p!;
    };
    const bad = call(() => h.mcastJoined(-1, g));
    const notMsg = call(() => h.mcastJoined(2, 42 as unknown as Uint8Array));
    ipc.refuse = 1;
    const refused = call(() => h.mcastJoined(2, g));
    let settled = false;
    void call(() => h.mcastJoined(2, g)).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(await bad.catch(code)).toBe(7);
    expect(await notMsg.catch(code)).toBe(7);
    expect(await refused.catch(code)).toBe(6);
    expect(ipc.sent).toHaveLength(1);
    await h.finalize();
    expect(await call(() => h.mcastJoined(2, g)).catch(code)).toBe(9);
    await Promise.allSettled(calls);
  });

  it('a deliver callback that multicasts, throws or finalizes: the events after it in order, none once finalized', async () => {
    const fc = cpgDaemon();
    const seen: string[] = [];
    const errors: unknown[] = [];
    const sends: Promise<void>[] = [];
    const h: CpgHandle = await CpgHandle.initialize(
      {
        deliverFn: ({ msg, groupName }) => {
          const text = Buffer.from(msg).toString();
          seen.push(`${Buffer.from(groupName).toString()}:${text}`);
          if (text === 'echo') sends.push(h.mcastJoined(2, new TextEncoder().encode('echoed')));
          if (text === 'throw') throw new Error('callback failed');
          if (text === 'finalize') sends.push(h.finalize());
        },
        confchgFn: ({ joinedList }) => seen.push(`confchg:${joinedList.length}`),
      },
      { connect: fc.connect },
    );
    h.on('error', (e) => errors.push(e));
    const ipc = fc.last;
    const deliver = (text: string) =>
      evt('cpg.deliverCallback', { groupName: g, msglen: text.length, nodeid: 1, pid: 7, message: new TextEncoder().encode(text) });
    const confchg = evt('cpg.confchgCallback', { groupName: g, memberList: [], leftList: [], joinedList: [{ nodeid: 1, pid: 7, reason: 1 }] });
    for (const f of [deliver('one'), deliver('echo'), confchg, deliver('throw'), deliver('two'), deliver('finalize')]) ipc.lendEvent(f);
    await Promise.all(sends);
    expect(h.state).toBe('finalized');
    ipc.lendEvent(deliver('after'));
    expect(seen).toEqual(['grp:one', 'grp:echo', 'confchg:1', 'grp:throw', 'grp:two', 'grp:finalize']);
    expect(errors).toEqual([new Error('callback failed')]);
    expect(ipc.sent.map((d) => d.name)).toEqual(['cpg.mcastJoined']);
  });

  it('messages are lent as libcpg\'s (asks ipc to lend events); events() items and queued ones keep their own bytes', async () => {
    const fc = cpgDaemon();
    const kept: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: ({ msg }) => kept.push(Buffer.from(msg).toString()) }, { connect: fc.connect });
    expect(fc.options[0]).toMatchObject({ borrowEvents: true });
    const deliver = (text: string, pid = 7) =>
      evt('cpg.deliverCallback', { groupName: g, msglen: text.length, nodeid: 1, pid, message: new TextEncoder().encode(text) });
    const events = h.events();
    const ipc = fc.last;
    ipc.lendEvent(deliver('first message'));
    ipc.lendEvent(deliver('second'));
    // A large message whose fragments are lent, and another put back together in the same buffer.
    for (const [i, text] of ['x'.repeat(5000), 'y'.repeat(3000)].entries()) {
      ipc.lendEvent(partial(1, text.length, new TextEncoder().encode(text.slice(0, 1000)), 20 + i));
      ipc.lendEvent(partial(3, text.length, new TextEncoder().encode(text.slice(1000)), 20 + i));
    }
    const texts: string[] = [];
    for (let i = 0; i < 4; i++) texts.push(Buffer.from(((await events.next()).value as CpgEvent & { type: 'deliver' }).msg).toString());
    const expected = ['first message', 'second', 'x'.repeat(5000), 'y'.repeat(3000)];
    expect(texts).toEqual(expected);
    expect(kept).toEqual(expected);
    await events.return();
    await h.finalize();

    // 'manual': what waits for dispatch() was copied when it arrived.
    const m = await CpgHandle.initialize({ deliverFn: ({ msg }) => kept.push(Buffer.from(msg).toString()) }, { connect: fc.connect, ...manual });
    kept.length = 0;
    fc.last.lendEvent(deliver('queued one'));
    fc.last.lendEvent(deliver('queued two'));
    await m.dispatch(CS_DISPATCH_ALL);
    expect(kept).toEqual(['queued one', 'queued two']);
    await m.finalize();
  });

  it('puts fragments back together per sender; a fragment that overflows its message is CS_ERR_LIBRARY and loses nothing else', async () => {
    const fc = cpgDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect, ...manual });
    const got: string[] = [];
    const events = h.events();
    const ipc = fc.last;
    ipc.event(partial(2, 4, Uint8Array.of(9))); // CONTINUED without FIRST: ignored, as libcpg
    ipc.event(partial(1, 6, Uint8Array.of(1, 2), 7));
    ipc.event(partial(1, 3, Uint8Array.of(5), 8)); // another sender, interleaved
    ipc.event(partial(3, 6, Uint8Array.of(3, 4, 5, 6), 7));
    ipc.event(partial(3, 3, Uint8Array.of(6, 7), 8));
    ipc.event(partial(1, 2, Uint8Array.of(1, 2, 3), 9)); // overflows
    ipc.event(evt('cpg.deliverCallback', { groupName: g, msglen: 2, nodeid: 1, pid: 9, message: Uint8Array.of(4, 2) }));
    await tick();
    await h.dispatch(CS_DISPATCH_ONE);
    await h.dispatch(CS_DISPATCH_ONE);
    await h.dispatch(CS_DISPATCH_ONE);
    await h.dispatch(CS_DISPATCH_ONE);
    await h.dispatch(CS_DISPATCH_ONE);
    expect(code(await h.dispatch(CS_DISPATCH_ONE).catch((e) => e))).toBe(2);
    await h.dispatch(CS_DISPATCH_ALL);
    for (let i = 0; i < 3; i++) {
      const ev = (await events.next()).value as CpgEvent;
      if (ev.type === 'deliver') got.push(`${ev.pid}:${[...ev.msg].join(',')}`);
    }
    expect(got).toEqual(['7:1,2,3,4,5,6', '8:5,6,7', '9:4,2']);
    // A sender that left takes its half message with it.
    ipc.event(partial(1, 4, Uint8Array.of(1, 2), 7));
    ipc.event(evt('cpg.confchgCallback', { groupName: g, memberList: [], leftList: [{ nodeid: 1, pid: 7, reason: 5 }], joinedList: [] }));
    ipc.event(partial(3, 4, Uint8Array.of(3, 4), 7));
    await tick();
    await h.dispatch(CS_DISPATCH_ALL);
    expect(((await events.next()).value as CpgEvent).type).toBe('confchg');
    expect(h.pendingEvents).toBe(0);
    await events.return();
    await h.finalize();
  });

  it('reads a first fragment straight into the buffer its message is put back together in (eventInto), whatever arrives between', async () => {
    const fc = cpgDaemon();
    const got: { pid: number; text: string; buffer: ArrayBufferLike }[] = [];
    const h = await CpgHandle.initialize({ deliverFn: ({ pid, msg }) => got.push({ pid, text: Buffer.from(msg).toString(), buffer: msg.buffer }) }, { connect: fc.connect });
    const ipc = fc.last;
    expect(typeof ipc.eventInto).toBe('function');
    const enc = (t: string) => new TextEncoder().encode(t);
    const text = (c: string, n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(c.charCodeAt(0) + (i % 7))).join('');
    const a = text('a', 9000);
    const b = text('k', 12000);
    const c = text('r', 7000);
    // pid 7's message in two large fragments and a small one; pid 8's first fragment between
    // them; a plain delivery above 4 KiB is not the hook's
    ipc.shmEvent(partial(1, a.length, enc(a.slice(0, 5000)), 7));
    ipc.shmEvent(partial(1, b.length, enc(b.slice(0, 6000)), 8));
    ipc.shmEvent(evt('cpg.deliverCallback', { groupName: g, msglen: 5000, nodeid: 1, pid: 9, message: enc(c.slice(0, 5000)) }));
    ipc.shmEvent(partial(2, a.length, enc(a.slice(5000, 8990)), 7));
    ipc.shmEvent(partial(3, a.length, enc(a.slice(8990)), 7));
    ipc.shmEvent(partial(3, b.length, enc(b.slice(6000)), 8));
    // the next message of 7 goes into the buffer 7's last one was put back together in
    ipc.shmEvent(partial(1, c.length, enc(c.slice(0, 6500)), 7));
    ipc.shmEvent(partial(3, c.length, enc(c.slice(6500)), 7));
    expect(got.map((x) => [x.pid, x.text])).toEqual([[9, c.slice(0, 5000)], [7, a], [8, b], [7, c]]);
    // only the first fragments were read into a buffer of the handle's, each where its message is
    expect(ipc.readInto).toHaveLength(3);
    expect(got[1]!.buffer).toBe(ipc.readInto[0]!.buffer);
    expect(got[2]!.buffer).toBe(ipc.readInto[1]!.buffer);
    expect(got[3]!.buffer).toBe(ipc.readInto[2]!.buffer);
    expect([got[1]!.buffer, got[2]!.buffer]).toContain(got[3]!.buffer);
    await h.finalize();

    // 'manual': queued frames are copies, the buffer they were read into is read into again
    const m = await CpgHandle.initialize({ deliverFn: ({ pid, msg }) => got.push({ pid, text: Buffer.from(msg).toString(), buffer: msg.buffer }) }, { connect: fc.connect, ...manual });
    got.length = 0;
    fc.last.shmEvent(partial(1, a.length, enc(a.slice(0, 5000)), 7));
    fc.last.shmEvent(partial(1, b.length, enc(b.slice(0, 6000)), 8));
    fc.last.shmEvent(partial(3, a.length, enc(a.slice(5000)), 7));
    fc.last.shmEvent(partial(1, c.length, enc(c.slice(0, 6500)), 9));
    fc.last.shmEvent(partial(3, b.length, enc(b.slice(6000)), 8));
    fc.last.shmEvent(partial(3, c.length, enc(c.slice(6500)), 9));
    await m.dispatch(CS_DISPATCH_ALL);
    expect(got.map((x) => [x.pid, x.text])).toEqual([[7, a], [8, b], [9, c]]);
    await m.finalize();
  });

  it('a first fragment whose message length changed after eventInto saw its head is put back together as the copied frame says', async () => {
    // The shm event ring is the daemon's memory: it can rewrite a frame between eventInto's look
    // at its head and the copy. The frame as copied is what counts, as it is for libcpg.
    const fc = cpgDaemon();
    const got: [number, string][] = [];
    const h = await CpgHandle.initialize({ deliverFn: ({ pid, msg }) => got.push([pid, Buffer.from(msg).toString()]) }, { connect: fc.connect });
    const ipc = fc.last;
    const enc = (t: string) => new TextEncoder().encode(t);
    const t = Array.from({ length: 12000 }, (_, i) => String.fromCharCode(97 + (i % 23))).join('');
    const seen = partial(1, 6000, enc(t.slice(0, 5000)), 7);
    const copied = partial(1, t.length, enc(t.slice(0, 5000)), 7);
    const into = ipc.eventInto!(seen.subarray(0, 256), copied.length);
    expect(into?.length).toBe(copied.length);
    into!.set(copied);
    ipc.emit('event', into);
    ipc.shmEvent(partial(3, t.length, enc(t.slice(5000)), 7));
    expect(got).toEqual([[7, t]]);
    await h.finalize();
  });
});

describe('cfg', () => {
  it('holds later calls behind a try_shutdown (corosync answers them first); hides what libcfg hides', async () => {
    let answerShutdown!: (r: Uint8Array) => void;
    const order: string[] = [];
    const fc = fakeConnector('cfg', (d) => {
      order.push(d.name);
      switch (d.name) {
        case 'cfg.tryShutdown': return new Promise<Uint8Array>((r) => (answerShutdown = r));
        case 'cfg.localGet': return res('cfg.localGet', { localNodeid: 1 });
        case 'cfg.replytoShutdown': return res('cfg.replytoShutdown', {}, 11);
        case 'cfg.nodeStatusGet': return res('cfg.error', {}, 21);
        default: return res('cfg.error', {}, 7);
      }
    });
    const h = await CfgHandle.initialize(null, { connect: fc.connect });
    const shutdown = h.tryShutdown(0);
    const local = h.localGet();
    await tick();
    expect(order).toEqual(['cfg.tryShutdown']);
    answerShutdown(res('cfg.tryShutdown', {}, 10));
    expect(code(await shutdown.catch((e) => e))).toBe(10);
    expect(await local).toBe(1);
    await h.replytoShutdown(1); // the daemon's 11 is not seen, as in libcfg
    expect(code(await h.nodeStatusGet(1, 2).catch((e) => e))).toBe(7);
    expect(code(await h.killNode(1, 'r'.repeat(256)).catch((e) => e))).toBe(13);
    expect(order).toEqual(['cfg.tryShutdown', 'cfg.localGet', 'cfg.replytoShutdown']);
    await h.finalize();
  });

  it('events() yields each shutdown callback tagged as the other services\' events are, beside the callback', async () => {
    const fc = fakeConnector('cfg', () => res('cfg.error', {}, 7));
    const called: number[] = [];
    const h = await CfgHandle.initialize({ shutdownCallback: ({ flags }) => called.push(flags) }, { connect: fc.connect });
    const events = h.events();
    fc.last.emit('event', evt('cfg.shutdownCallback', { flags: 2 }));
    fc.last.emit('event', evt('cfg.shutdownCallback', { flags: 0 }));
    const got: CfgEvent[] = [];
    for await (const e of events) {
      expectTypeOf(e).toEqualTypeOf<CfgEvent>();
      if (got.push(e) === 2) break;
    }
    expect(got).toEqual([
      { type: 'shutdown', handle: h, flags: 2 },
      { type: 'shutdown', handle: h, flags: 0 },
    ]);
    expect(called).toEqual([2, 0]);
    await h.finalize();
  });

  it('getNodeAddrs: at most maxAddrs of the addresses (all without it); a maxAddrs C cannot pass is INVALID_PARAM', async () => {
    const addr = (last: number) => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 10 : i === 3 ? last : 0));
    const fc = fakeConnector('cfg', (d) =>
      d.name === 'cfg.getNodeAddrs'
        ? res('cfg.getNodeAddrs', { family: 2, numAddrs: 3, addrs: [addr(1), addr(2), addr(3)] })
        : res('cfg.error', {}, 7),
    );
    const h = await CfgHandle.initialize(null, { connect: fc.connect });
    const addresses = async (max?: number) => (await h.getNodeAddrs(1, max)).map((a) => a.address);
    expect(await addresses()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(await addresses(2)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(await addresses(0)).toEqual([]);
    expect(await addresses(Infinity)).toHaveLength(3);
    // size_t in C: a negative or fractional count would otherwise cut the list short silently.
    for (const bad of [-1, 1.5, NaN]) expect(code(await h.getNodeAddrs(1, bad).catch((e) => e))).toBe(7);
    await h.finalize();
  });
});
