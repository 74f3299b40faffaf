import { encoders } from '@corosync-ts/codec-wasm';
import { connect, type IpcClient } from '@corosync-ts/ipc';
import { compileC, describeWithPrograms, waitFor } from '@corosync-ts/nstest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startMockCorosync, type MockCorosync } from '../src/index.js';

// Hostile cpg clients (libqb, C) against the in-process mock: a member that never reads its
// deliveries must not stall the group's other members nor grow the mock without bound.

const until = (what: string, ok: () => boolean) => waitFor(what, ok, { interval: 5 });
const fds = () => readdirSync('/proc/self/fd').length;
const shmDirs = () => readdirSync('/dev/shm').filter((f) => f.startsWith(`qb-${process.pid}-`));
const group = new TextEncoder().encode('hostile');
const join = (pid: number) => encoders.cpg.req.join({ groupName: group, pid, flags: 0 });
const DELIVER = 5;

describeWithPrograms('gcc')('cpg against hostile clients', () => {
  let mock: MockCorosync | undefined;
  let probe: string;
  const clients: IpcClient[] = [];
  beforeAll(async () => {
    probe = await compileC(readFileSync(new URL('./fixtures/hostile-probe.c', import.meta.url), 'utf8'), ['qb', 'cmap']);
  }, 120_000);
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await mock?.close();
    mock = undefined;
  });

  for (const transport of ['socket', 'shm'] as const) {
    test(`${transport}: a member that never reads its deliveries is disconnected past maxQueuedEventBytes; the others get every message in order`, async () => {
      const before = { fds: fds(), shm: shmDirs().length };
      mock = await startMockCorosync({ nodes: 1, transport, limits: { maxQueuedEventBytes: 256 * 1024 } });
      const ep = mock.endpoint();
      const child = spawn(probe, ['quiet', ep.names.cpg, Buffer.from(join(4001)).toString('hex')], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const exited = new Promise((r) => child.once('exit', r));
      await until('the silent member', () => out.includes('ready'));
      expect(out).toBe('error=1 ready\n');

      // a member that reads, and a sender (a member too)
      const seqs: number[] = [];
      const reader = await connect(ep.names.cpg);
      const sender = await connect(ep.names.cpg);
      clients.push(reader, sender);
      reader.on('event', (f: Uint8Array) => {
        const b = Buffer.from(f.buffer, f.byteOffset, f.length);
        if (b.readInt32LE(0) === DELIVER) seqs.push(b.readUInt32LE(184));
      });
      for (const [c, pid] of [[reader, 4002], [sender, 4003]] as const) expect(Buffer.from(await c.request(join(pid))).readInt32LE(16)).toBe(1);
      const connections = ep.connectionCount;

      // 8 KiB messages: far more than 256 KiB, the shm event ring and a socket's buffer hold
      const n = 600;
      const message = new Uint8Array(8192);
      for (let i = 0; i < n; i++) {
        // the sender lets its loop turn (its own deliveries are read, in this process the mock's
        // too): an in-process sender that never did would be the member that reads nothing
        if (i % 8 === 0) await new Promise((r) => setImmediate(r));
        new DataView(message.buffer).setUint32(0, i, true);
        const frame = encoders.cpg.req.mcastJoined({ guarantee: 1, msglen: message.length, message });
        for (;;) {
          try {
            await sender.send(frame);
            break;
          } catch (e) {
            if ((e as { code?: string }).code !== 'EAGAIN') throw e;
            await new Promise((r) => setImmediate(r));
          }
        }
      }
      await until('every message at the reading member', () => seqs.length === n);
      expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
      await until('the silent member to be dropped', () => ep.connectionCount === connections - 1);
      child.stdin.end('\n');
      await exited;
      expect(out).toMatch(/^error=1 ready\nerror=1 connected=0 events=\d+\n$/);
      for (const c of clients.splice(0)) await c.close();
      await until('no connections', () => ep.connectionCount === 0);
      await mock.close();
      mock = undefined;
      expect({ fds: fds(), shm: shmDirs().length }).toEqual(before);
    }, 60_000);
  }
});

describe('cpg requests from a hostile client', () => {
  let mock: MockCorosync | undefined;
  afterEach(async () => {
    await mock?.close();
    mock = undefined;
  });

  test('names, leaves, multicast lengths and fragments that lie: the answers of corosync, nothing held for a message never finished', async () => {
    mock = await startMockCorosync({ nodes: 1 });
    const ep = mock.endpoint();
    const [a, b] = [await connect(ep.names.cpg), await connect(ep.names.cpg)];
    try {
      const events: Buffer[] = [];
      b.on('event', (f: Uint8Array) => events.push(Buffer.from(f)));
      const error = async (c: IpcClient, frame: Uint8Array) => Buffer.from(await c.request(frame)).readInt32LE(16);
      const poke = (frame: Uint8Array, at: number, v: number) => {
        const f = Buffer.from(frame);
        f.writeUInt32LE(v >>> 0, at);
        return f;
      };
      // a name length word past its 128 bytes: NAME_TOO_LONG; a leave of a group never joined: NOT_EXIST
      expect(await error(a, poke(join(5001), 16, 0xffffffff))).toBe(13);
      expect(await error(a, poke(join(5001), 16, 129))).toBe(13);
      expect(await error(a, encoders.cpg.req.leave({ groupName: group, pid: 5001 }))).toBe(12);
      // a fragment of a connection not joined: NOT_EXIST
      const frag = (msglen: number, type: number, fragment: Uint8Array) => encoders.cpg.req.partialMcast({ guarantee: 1, msglen, fraglen: fragment.length, type, fragment });
      expect(await error(a, frag(10, 1, new Uint8Array(4)))).toBe(12);
      expect(await error(a, join(5001))).toBe(1);
      expect(await error(b, join(5002))).toBe(1);
      await until('the join', () => events.some((e) => e.readInt32LE(0) === 4));
      events.length = 0;
      // a LAST without a FIRST after a confchg: INTERRUPT, as corosync (its transition counter moved)
      expect(await error(a, frag(10, 3, new Uint8Array(4)))).toBe(16);
      // a FIRST claiming 4 GiB, never finished: forwarded as it came, as corosync does (it never reassembles)
      expect(await error(a, frag(0xffffffff, 1, Uint8Array.of(1, 2, 3)))).toBe(1);
      // MCAST whose msglen says more than the frame holds, then less: what the frame holds, then msglen bytes
      const mcast = (msglen: number, message: Uint8Array) => {
        const f = Buffer.from(encoders.cpg.req.mcastJoined({ guarantee: 1, msglen: message.length, message }));
        f.writeUInt32LE(msglen, 32);
        return f;
      };
      await a.send(mcast(1 << 30, Uint8Array.of(7, 7)));
      await a.send(mcast(1, Uint8Array.of(8, 9)));
      expect(await error(a, encoders.cpg.req.localGet({}))).toBe(1);
      await until('the deliveries', () => events.length === 3);
      expect(events.map((e) => [e.readInt32LE(0), e.length])).toEqual([[17, 203], [5, 186], [5, 185]]);
      expect(events[0]!.readUInt32LE(160)).toBe(0xffffffff);
      expect([...events[1]!.subarray(184)]).toEqual([7, 7]);
      expect([...events[2]!.subarray(184)]).toEqual([8]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
