// cpg zero-copy buffers against a transport double: the file libcpg would create, what the client
// checks itself, and the attacker's cases (a daemon that answers an error without mapping the
// file, one that never answers, one that answers late, a lost connection): every path ends with
// no file, no mapping and no fd left behind.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isCsError } from '@corosync-ts/types';
import { CpgHandle } from '../src/index.js';
import { fakeConnector, ipcError, res, tick, type FakeIpc } from './fake.js';

const code = (e: unknown) => (isCsError(e) ? e.code : e);
/** The zero-copy files this process has mapped, by /proc/self/maps (an unlinked one shows "(deleted)"). */
const mapped = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('corosync_zerocopy-'));
/** Open fds on zero-copy files (there should never be one: the fd is closed once mapped). */
const openFds = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).includes('corosync_zerocopy-');
    } catch {
      return false;
    }
  });

/** A ZC_ALLOC as the daemon got it, and the file as it found it then. */
type Alloc = { mapSize: bigint; pathToFile: string; mode: number; size: number };
interface Daemon {
  /** ZC_ALLOC: 'map' (as corosync: unlink, write an address), 'error' (answer 21, map nothing), 'silent' (never answer), 'refuse' (flow control: 6, map nothing). */
  alloc: ('map' | 'error' | 'silent' | 'refuse' | 'keep')[];
  allocs: Alloc[];
  /** ZC_ALLOCs held back by 'silent': answer (mapping the file) or fail them later. */
  held: { answer: () => void; fail: (e: Error) => void }[];
  executes: bigint[];
  frees: bigint[];
  executeError: number[];
}

function zcDaemon() {
  const d: Daemon = { alloc: [], allocs: [], held: [], executes: [], frees: [], executeError: [] };
  let next = 0x7f00_0000_0000n;
  const fc = fakeConnector('cpg', (req) => {
    const f = req.fields as Record<string, unknown>;
    switch (req.name) {
      case 'cpg.zcbAlloc': {
        const path = f.pathToFile as string;
        const st = statSync(path);
        const a = { mapSize: f.mapSize as bigint, pathToFile: path, mode: st.mode & 0o777, size: st.size };
        d.allocs.push(a);
        const how = d.alloc.shift() ?? 'map';
        const map = () => {
          const fd = openSync(a.pathToFile, 'r+');
          const b = Buffer.alloc(8);
          b.writeBigUInt64LE((next += 0x1000n));
          writeSync(fd, b, 0, 8, 8);
          closeSync(fd);
        };
        // The error field of corosync's answer is uninitialised: garbage either way.
        if (how === 'map') {
          map();
          return res('cpg.join', {}, 0);
        }
        if (how === 'keep') return res('cpg.join', {}, 0);
        if (how === 'error') return res('cpg.join', {}, 21);
        if (how === 'refuse') return res('cpg.join', {}, 6);
        return new Promise<Uint8Array>((resolve, reject) => d.held.push({ answer: () => (map(), resolve(res('cpg.join', {}, 0))), fail: reject }));
      }
      case 'cpg.zcbMcastJoined':
        d.executes.push(f.serverAddress as bigint);
        return res('cpg.zcbMcastJoined', {}, d.executeError.shift() ?? 1);
      case 'cpg.zcbFree':
        d.frees.push(f.serverAddress as bigint);
        return res('cpg.join', {}, 0);
      case 'cpg.finalize':
        return res('cpg.finalize');
      default:
        return res('cpg.error', {}, 7);
    }
  });
  return { d, fc };
}

afterEach(() => {
  expect(openFds()).toEqual([]);
});

describe('cpg zero-copy buffers (fake daemon)', () => {
  it('alloc creates a 0600 file of size + 56 in /dev/shm as libcpg names it; an answer without a mapping is rejected', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    d.alloc.push('keep');
    expect(code(await h.zcbAlloc(100).catch((e) => e))).toBe(2);
    const a = d.allocs[0]!;
    expect(a).toEqual({ mapSize: 156n, pathToFile: expect.stringMatching(/^\/dev\/shm\/corosync_zerocopy-[A-Za-z0-9]{6}$/), mode: 0o600, size: 156 });
    expect(existsSync(a.pathToFile)).toBe(false);
    expect(mapped()).toEqual([]);
    await h.finalize();
  });

  it('a mapped buffer: the file is gone once corosync answered, the message is in it, free unmaps', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const buf = await h.zcbAlloc(10);
    const path = d.allocs[0]!.pathToFile;
    expect(existsSync(path)).toBe(false);
    expect(mapped()).toEqual([expect.stringContaining(`${path} (deleted)`)]);
    buf.set(new TextEncoder().encode('zero-copy!'));
    await h.zcbMcastJoined(2, buf, 4);
    // corosync reads the MCAST header libcpg writes before the payload: id 2, size 44, guarantee, msglen
    const file = new DataView(buf.buffer);
    expect([file.getInt32(0, true), file.getInt32(16, true), file.getInt32(24, true), file.getUint32(40, true), file.getUint32(48, true)]).toEqual([66, 2, 44, 2, 4]);
    expect(d.executes).toEqual([file.getBigUint64(8, true)]);
    await h.zcbMcastJoined(1, buf);
    expect(file.getUint32(48, true)).toBe(10);
    await h.zcbFree(buf);
    expect(d.frees).toEqual([d.executes[0]]);
    expect(buf.length).toBe(0);
    expect(mapped()).toEqual([]);
    await h.finalize();
  });

  it('zcbMcastJoined keeps its place among mcastJoined calls not awaited, both ways round a retry', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect, retry: { retries: 5, initialDelay: 1 } });
    const ipc = fc.last;
    const buf = await h.zcbAlloc(4);
    const order: string[] = [];
    const send = ipc.send.bind(ipc);
    ipc.send = async (frame: Uint8Array) => {
      await send(frame);
      order.push(Buffer.from((ipc.sent[ipc.sent.length - 1]!.fields as { message: Uint8Array }).message).toString());
    };
    const request = ipc.request.bind(ipc);
    ipc.request = async (frame: Uint8Array) => {
      const r = await request(frame);
      const last = ipc.requests[ipc.requests.length - 1]!;
      if (last.name === 'cpg.zcbMcastJoined' && new DataView(r.buffer, r.byteOffset).getInt32(16, true) === 1) order.push('zcb');
      return r;
    };
    ipc.refuse = 2; // the first mcast waits for its retry: the zero-copy one and the last queue behind it
    d.executeError.push(6); // then the zero-copy one waits for its own: the last still behind it
    await Promise.all([h.mcastJoined(2, 'm1'), h.zcbMcastJoined(2, buf), h.mcastJoined(2, 'm3')]);
    expect(order).toEqual(['m1', 'zcb', 'm3']);
    await h.zcbFree(buf);
    await h.finalize();
  });

  it('local errors with the C codes, before the wire: size, TOO_BIG, foreign or freed buffer, len beyond it, after finalize', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    for (const bad of [-1, 1.5, Number.NaN, '1' as unknown as number]) expect(code(await h.zcbAlloc(bad).catch((e) => e))).toBe(7);
    expect(d.allocs).toEqual([]);
    const buf = await h.zcbAlloc(8);
    expect(code(await h.zcbMcastJoined(2, buf, 1048577).catch((e) => e))).toBe(26);
    expect(code(await h.zcbMcastJoined(2, buf, 9).catch((e) => e))).toBe(7);
    expect(code(await h.zcbMcastJoined(2, new Uint8Array(8)).catch((e) => e))).toBe(7);
    expect(code(await h.zcbMcastJoined(2, new Uint8Array(buf.buffer, 57, 4)).catch((e) => e))).toBe(7);
    expect(code(await h.zcbMcastJoined(-1, buf).catch((e) => e))).toBe(7);
    expect(code(await h.zcbFree(new Uint8Array(8)).catch((e) => e))).toBe(7);
    expect(d.executes).toEqual([]);
    await h.zcbFree(buf);
    const again = await h.zcbFree(buf).catch((e) => e);
    expect([code(again), (again as Error).message]).toEqual([7, expect.stringContaining('freed already')]);
    expect(code(await h.zcbMcastJoined(2, buf, 0).catch((e) => e))).toBe(7);
    const kept = await h.zcbAlloc(8);
    await h.finalize();
    // finalize released it; every call is 9 as in libcpg (its handle is gone)
    expect(kept.length).toBe(0);
    expect(mapped()).toEqual([]);
    expect(code(await h.zcbAlloc(8).catch((e) => e))).toBe(9);
    expect(code(await h.zcbMcastJoined(2, kept).catch((e) => e))).toBe(9);
    expect(code(await h.zcbFree(kept).catch((e) => e))).toBe(9);
  });

  it('another handle may send and free a buffer, as with libcpg (corosync reads it by its address, whoever asks)', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const other = await CpgHandle.initialize({}, { connect: fc.connect });
    const buf = await h.zcbAlloc(8);
    await other.zcbMcastJoined(2, buf);
    expect(d.executes).toHaveLength(1);
    await other.zcbFree(buf);
    expect(d.frees).toEqual(d.executes);
    expect(buf.length).toBe(0);
    expect(mapped()).toEqual([]);
    const again = await h.zcbFree(buf).catch((e) => e);
    expect([code(again), (again as Error).message]).toEqual([7, expect.stringContaining('freed already')]);
    // once its own handle is finalized, corosync has dropped the mapping: no other handle may use it
    const kept = await h.zcbAlloc(8);
    await h.finalize();
    expect(code(await other.zcbMcastJoined(2, kept, 0).catch((e) => e))).toBe(7);
    await other.finalize();
  });

  it('the answers corosync gives: NOT_EXIST and TRY_AGAIN from mcast (retry loops), a flow-control refusal of alloc (retry loops on the same file)', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    d.alloc.push('refuse');
    expect(code(await h.zcbAlloc(4).catch((e) => e))).toBe(6);
    expect(existsSync(d.allocs[0]!.pathToFile)).toBe(false);
    expect(mapped()).toEqual([]);
    d.alloc.push('refuse', 'refuse');
    const buf = await h.zcbAlloc(4, { retry: { retries: 3, initialDelay: 1 } });
    expect(d.allocs.slice(1).map((a) => a.pathToFile)).toEqual(Array(3).fill(d.allocs[1]!.pathToFile));
    d.executeError.push(12, 6, 6);
    expect(code(await h.zcbMcastJoined(2, buf).catch((e) => e))).toBe(12);
    expect(code(await h.zcbMcastJoined(2, buf).catch((e) => e))).toBe(6);
    await h.zcbMcastJoined(2, buf, undefined, { retry: { retries: 2, initialDelay: 1 } });
    expect(d.executes).toHaveLength(4);
    await h.finalize();
    expect(mapped()).toEqual([]);
  });

  it('attacker: an error answer without a mapping is rejected and the file removed', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    d.alloc.push('error', 'keep');
    expect(code(await h.zcbAlloc(100).catch((e) => e))).toBe(2);
    expect(code(await h.zcbAlloc(100).catch((e) => e))).toBe(2);
    for (const a of d.allocs) expect(existsSync(a.pathToFile)).toBe(false);
    expect(mapped()).toEqual([]);
    await h.finalize();
  });

  it('attacker: a daemon that never answers: the call times out, the file stays while corosync could still open it, finalize removes it', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    d.alloc.push('silent');
    expect(code(await h.zcbAlloc(100, { timeout: 20 }).catch((e) => e))).toBe(5);
    const path = d.allocs[0]!.pathToFile;
    expect(existsSync(path)).toBe(true);
    await h.finalize();
    expect(existsSync(path)).toBe(false);
    expect(mapped()).toEqual([]);
  });

  it('a late answer to an abandoned alloc: the file and mapping go, and corosync is told to free its mapping', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    d.alloc.push('silent');
    const ac = new AbortController();
    const p = h.zcbAlloc(100, { signal: ac.signal });
    await tick();
    ac.abort();
    expect(code(await p.catch((e) => e))).toBe(16);
    d.held.shift()!.answer();
    await tick();
    await tick();
    expect(existsSync(d.allocs[0]!.pathToFile)).toBe(false);
    expect(mapped()).toEqual([]);
    expect(d.frees).toHaveLength(1);
    await h.finalize();
  });

  it('a lost connection during alloc rejects 2 and removes the file; reconnect releases every buffer, and an old one never reaches the new connection', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect, reconnect: { initialDelay: 1 } });
    const buf = await h.zcbAlloc(16);
    d.alloc.push('silent');
    const pending = h.zcbAlloc(16).catch((e) => e);
    await tick();
    const back = new Promise((r) => h.once('reconnect', r));
    // the transport fails what was in flight, as @corosync-ts/ipc does when the daemon goes
    fc.last.drop();
    d.held.shift()!.fail(ipcError('ECONNRESET', 104));
    expect(code(await pending)).toBe(2);
    await back;
    expect(fc.made).toHaveLength(2);
    expect(buf.length).toBe(0);
    expect(existsSync(d.allocs[1]!.pathToFile)).toBe(false);
    expect(mapped()).toEqual([]);
    const e = await h.zcbMcastJoined(2, buf).catch((x) => x);
    expect([code(e), (e as Error).message]).toEqual([7, expect.stringContaining('connection to corosync was lost')]);
    expect((fc.last as FakeIpc).requests.map((r) => r.name)).toEqual([]);
    await h.finalize();
  });

  it('free on a connection that is gone releases locally and resolves (corosync unmapped it with the connection)', async () => {
    const { fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const buf = await h.zcbAlloc(16);
    fc.last.drop();
    expect(h.state).toBe('disconnected');
    expect(code(await h.zcbMcastJoined(2, buf).catch((e) => e))).toBe(2);
    await h.zcbFree(buf);
    expect(mapped()).toEqual([]);
    expect(code(await h.finalize().catch((e) => e))).toBe(2); // as cpg_finalize once corosync is gone
    expect(h.state).toBe('finalized');
  });

  it('a zero-size buffer works as in libcpg (map size 56)', async () => {
    const { d, fc } = zcDaemon();
    const h = await CpgHandle.initialize({}, { connect: fc.connect });
    const buf = await h.zcbAlloc(0);
    expect(d.allocs[0]!.mapSize).toBe(56n);
    await h.zcbMcastJoined(2, buf);
    await h.zcbFree(buf);
    expect(statSync('/dev/shm').isDirectory()).toBe(true);
    await h.finalize();
  });
});
