// A hostile or broken cpg/cfg provider (a squatted socket name): whatever it sends, a call or a
// dispatch ends with a typed error or the documented drop, in bounded memory, and nothing else
// is lost or answered wrongly.
import { describe, expect, it } from 'vitest';
import { CS_DISPATCH_ALL, CS_ERR_LIBRARY, type CsError, isCsError } from '@corosync-ts/types';
import { CfgHandle, CpgHandle, type CpgDeliver } from '../src/index.js';
import { evt, fakeConnector, ipcError, res, tick } from './fake.js';

const g = new TextEncoder().encode('grp');
const code = (e: unknown) => (isCsError(e) ? e.code : e);
const partial = (type: number, msglen: number, fragment: Uint8Array, pid: number) =>
  evt('cpg.partialDeliverCallback', { groupName: g, msglen, nodeid: 1, pid, type, fragment });
const deliver = (pid: number, message: Uint8Array) => evt('cpg.deliverCallback', { groupName: g, msglen: message.length, nodeid: 1, pid, message });

function cpgDaemon() {
  return fakeConnector('cpg', (d) => (d.name === 'cpg.finalize' ? res('cpg.finalize') : res('cpg.error', {}, 7)));
}

describe('cpg fragments from a hostile daemon', () => {
  it('first fragments claiming 4 GiB messages reserve memory by the bytes they carry, not by the claim; other senders go on in order', async () => {
    const fc = cpgDaemon();
    const got: string[] = [];
    const errors: unknown[] = [];
    const h = await CpgHandle.initialize(
      { deliverFn: ({ pid, msg }: CpgDeliver) => got.push(`${pid}:${msg.length}:${msg[0] ?? ''}`) },
      { connect: fc.connect },
    );
    h.on('error', (e: unknown) => errors.push(e));
    const ipc = fc.last;
    const before = process.memoryUsage().arrayBuffers;
    // 64 senders, each a first fragment of a 4 GiB - 1 message: small ones through the usual
    // path, large ones (above 4 KiB) through the read-in-place one (eventInto)
    for (let pid = 100; pid < 132; pid++) ipc.event(partial(1, 0xffffffff, Uint8Array.of(pid), pid));
    for (let pid = 200; pid < 232; pid++) ipc.shmEvent(partial(1, 0xffffffff, new Uint8Array(5000).fill(pid & 0xff), pid));
    ipc.event(deliver(7, Uint8Array.of(42)));
    ipc.event(partial(1, 3, Uint8Array.of(5), 8));
    ipc.event(partial(3, 3, Uint8Array.of(6, 7), 8));
    await tick();
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect(got).toEqual(['7:1:42', '8:3:5']);
    expect(errors).toEqual([]);
    await h.finalize();
  });

  it('a message whose first fragment is a small part of it grows its room as the rest comes, and arrives whole', async () => {
    const fc = cpgDaemon();
    const got: Uint8Array[] = [];
    const h = await CpgHandle.initialize({ deliverFn: ({ msg }: CpgDeliver) => got.push(msg.slice()) }, { connect: fc.connect });
    const whole = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    for (let at = 0; at < whole.length; at += 1000) {
      const type = at === 0 ? 1 : at + 1000 === whole.length ? 3 : 2;
      fc.last.event(partial(type, whole.length, whole.subarray(at, at + 1000), 7));
    }
    expect(got).toHaveLength(1);
    expect(Buffer.compare(got[0]!, whole)).toBe(0);
    await h.finalize();
  });

  it('a message whose last fragment leaves it short of its claimed length is CS_ERR_LIBRARY, never delivered truncated; the next goes on', async () => {
    const fc = cpgDaemon();
    const got: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: ({ pid, msg }: CpgDeliver) => got.push(`${pid}:${[...msg].join(',')}`) }, { connect: fc.connect, dispatch: 'manual' });
    const ipc = fc.last;
    ipc.event(partial(1, 0xffffffff, Uint8Array.of(1, 2), 7));
    ipc.event(partial(2, 0xffffffff, Uint8Array.of(3), 7));
    ipc.event(partial(3, 0xffffffff, Uint8Array.of(4), 7));
    ipc.event(partial(1, 2, Uint8Array.of(9), 7));
    ipc.event(partial(3, 2, Uint8Array.of(8), 7));
    // a new first fragment while the sender's message is open starts over, as libcpg's does
    ipc.event(partial(1, 0x10000000, Uint8Array.of(1), 7));
    ipc.event(partial(1, 3, Uint8Array.of(5), 7));
    ipc.event(partial(3, 3, Uint8Array.of(6, 7), 7));
    await tick();
    expect(code(await h.dispatch(CS_DISPATCH_ALL).catch((e: unknown) => e))).toBe(CS_ERR_LIBRARY);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(got).toEqual(['7:9,8', '7:5,6,7']);
    await h.finalize();
  });
});

/** `frame` with the u32 at `at` set to `value`. */
function poke(frame: Uint8Array, at: number, value: number): Uint8Array {
  const f = frame.slice();
  new DataView(f.buffer).setUint32(at, value >>> 0, true);
  return f;
}

const member = (pid: number, reason = 0) => ({ nodeid: 1, pid, reason });
const confchg = evt('cpg.confchgCallback', { groupName: g, memberList: [member(1), member(2)], leftList: [], joinedList: [member(2, 1)] });
const totem = evt('cpg.totemConfchgCallback', { ringId: { nodeid: 1, seq: 5n }, memberList: [1, 2] });

describe('cpg lists from a hostile daemon', () => {
  it('a confchg or totem confchg whose counts or name disagree with its frame is CS_ERR_LIBRARY from dispatch; the events after it are delivered in order', async () => {
    const fc = cpgDaemon();
    const seen: string[] = [];
    const h = await CpgHandle.initialize(
      {
        confchgFn: ({ memberList, joinedList }) => seen.push(`confchg ${memberList.length}/${joinedList.length}`),
        deliverFn: ({ msg }) => seen.push(`deliver ${msg[0]}`),
      },
      { connect: fc.connect, dispatch: 'manual' },
    );
    const ipc = fc.last;
    const bad = [
      poke(confchg, 160, 3), // one member more than the frame holds
      poke(confchg, 160, 0xffffffff),
      poke(confchg, 168, 0x10000000), // joined entries far beyond the frame
      poke(confchg, 24, 129), // a name longer than CPG_MAX_NAME_LENGTH
      poke(confchg, 24, 0xffffffff),
      confchg.subarray(0, confchg.length - 24), // the last entry cut off, the size field still the whole
      poke(totem, 40, 3),
      poke(totem, 40, 0x40000000),
    ];
    for (const f of bad) {
      ipc.event(f);
      ipc.event(deliver(7, Uint8Array.of(seen.length)));
    }
    // more members than libcpg's 128-entry arrays (it overflows them): all of them, as the frame holds them
    const many = Array.from({ length: 300 }, (_, i) => member(i + 1));
    ipc.event(evt('cpg.confchgCallback', { groupName: g, memberList: many, leftList: [], joinedList: many.slice(0, 200) }));
    ipc.event(totem);
    await tick();
    const codes: unknown[] = [];
    for (let i = 0; i < 2 * bad.length + 2; i++) {
      await h.dispatch(1).catch((e: unknown) => codes.push(code(e)));
    }
    expect(codes).toEqual(bad.map(() => CS_ERR_LIBRARY));
    expect(seen).toEqual([...bad.map(() => 'deliver 0'), 'confchg 300/200']);
    expect(h.pendingEvents).toBe(0);
    await h.finalize();
  });

  it('membership, iteration and local answers that overrun their frame, or answer another request, or carry an error no cs_error_t has, reject typed; the next call is answered right', async () => {
    const membership = res('cpg.membershipGet', { memberList: [member(1), member(2)] });
    const next = res('cpg.iterationNext', { groupName: g, nodeid: 1, pid: 2 });
    let answer: Uint8Array | undefined;
    const fc = fakeConnector('cpg', (d, ipc) => {
      if (answer) {
        const a = answer;
        answer = undefined;
        // as @corosync-ts/ipc checks an answer against its request (the stream is out of step)
        if (ipc.expects.at(-1)?.verify(a) === false) throw ipcError('EPROTO', 71);
        return a;
      }
      switch (d.name) {
        case 'cpg.membershipGet': return membership;
        case 'cpg.localGet': return res('cpg.localGet', { localNodeid: 1 });
        case 'cpg.join': return res('cpg.join');
        case 'cpg.iterationInitialize': return res('cpg.iterationInitialize', { iterationHandle: 5n });
        case 'cpg.iterationNext': return next;
        case 'cpg.finalize': return res('cpg.finalize');
        default: return res('cpg.error', {}, 7);
      }
    });
    const h = await CpgHandle.initialize({}, { connect: fc.connect, dispatch: 'manual' });
    const codes: number[] = [];
    const cases: [Uint8Array, () => Promise<unknown>][] = [
      [poke(membership, 24, 385), () => h.membershipGet(g)], // more than PROCESSOR_COUNT_MAX (the frame's room)
      [poke(membership, 24, 0xffffffff), () => h.membershipGet(g)],
      [membership.subarray(0, 100), () => h.membershipGet(g)],
      [poke(next, 24, 129), async () => h.iterationNext(await h.iterationInitialize(3))],
      [membership, () => h.join(g)], // a join answered with a membership answer
      [res('cpg.localGet', { localNodeid: 1 }), () => h.membershipGet(g)],
      [res('cpg.join', {}, 9999), () => h.join(g)], // an error outside cs_error_t
      [res('cpg.join', {}, -1), () => h.join(g)],
    ];
    for (const [i, [a, call]] of cases.entries()) {
      answer = a;
      const e = await call().then((v) => `case ${i} resolved ${JSON.stringify(v)}`, (x: unknown) => x);
      expect(isCsError(e), String(e)).toBe(true);
      codes.push((e as CsError).code);
      expect((await h.membershipGet(g)).length).toBe(2);
    }
    // EPROTO is CS_ERR_LIBRARY, as any library-side failure; an unknown error code is passed on as libcpg does
    expect(codes).toEqual([2, 2, 2, 2, 2, 2, 9999, -1]);
    await h.finalize();
  });
});

describe('cfg answers from a hostile daemon', () => {
  it('ring status, node status and node address answers whose counts overrun the frame reject CS_ERR_LIBRARY; the next call is answered right', async () => {
    const ring = res('cfg.ringStatusGet', { interfaceName: ['0 127.0.0.1'], interfaceStatus: ['n'] });
    const addrs = res('cfg.getNodeAddrs', { family: 2, addrs: [Uint8Array.of(127, 0, 0, 1, ...new Array<number>(12).fill(0))] });
    const status = res('cfg.nodeStatusGet', { version: 1, nodeid: 1, reachable: 1, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0, linkStatus: [] });
    let answer: Uint8Array | undefined;
    const fc = fakeConnector('cfg', (d) => {
      if (answer) {
        const a = answer;
        answer = undefined;
        return a;
      }
      switch (d.name) {
        case 'cfg.getNodeAddrs': return addrs;
        default: return res('cfg.error', {}, 7);
      }
    });
    const h = await CfgHandle.initialize({}, { connect: fc.connect });
    const cases: [Uint8Array, () => Promise<unknown>][] = [
      [poke(ring, 24, 17), () => h.ringStatusGet()], // more links than CFG_MAX_INTERFACES
      [poke(ring, 24, 0xffffffff), () => h.ringStatusGet()],
      [poke(addrs, 28, 2), () => h.getNodeAddrs(1)], // two addresses in a frame of one
      [poke(addrs, 28, 0x40000000), () => h.getNodeAddrs(1, 1)],
      [status.subarray(0, 1000), () => h.nodeStatusGet(1)],
    ];
    const codes: unknown[] = [];
    for (const [a, call] of cases) {
      answer = a;
      codes.push(code(await call().then((v) => `resolved ${JSON.stringify(v)}`, (e: unknown) => e)));
      expect((await h.getNodeAddrs(1)).map((x) => x.address)).toEqual(['127.0.0.1']);
    }
    expect(codes).toEqual(cases.map(() => CS_ERR_LIBRARY));
    await h.finalize();
  });

  it('a shutdown event is handed on whether the handle tracks or not, as libcfg does; one of the wrong size is CS_ERR_LIBRARY and loses nothing after it', async () => {
    const fc = fakeConnector('cfg', () => res('cfg.error', {}, 7));
    const flags: number[] = [];
    const h = await CfgHandle.initialize({ shutdownCallback: ({ flags: f }) => flags.push(f) }, { connect: fc.connect, dispatch: 'manual' });
    const ev = evt('cfg.shutdownCallback', { flags: 1 });
    fc.last.event(poke(ev, 8, 28).subarray(0, 28));
    fc.last.event(poke(ev, 24, 0));
    fc.last.event(ev);
    await tick();
    expect(code(await h.dispatch(CS_DISPATCH_ALL).catch((e: unknown) => e))).toBe(CS_ERR_LIBRARY);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(flags).toEqual([0, 1]);
    await h.finalize();
  });
});
