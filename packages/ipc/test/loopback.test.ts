// Our client against our server, in one process, over both transports.
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, createServer, isIpcError, IpcError, type IpcServer, type IpcServerConnection } from '../src/index.js';
import type { Outbox } from '../src/outbox.js';
import { Ring } from '../src/ring.js';
import { crashTraceEnv } from '@corosync-ts/nstest/core';
import { echoServer, echoed, header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

// 1,000 clients of our own server in this process take up to 6,000 fds (socket transport).
beforeAll(() => {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=16384:16384'], { stdio: 'ignore' });
  } catch {
    // Not root or no prlimit: the soft limit may still suffice (the test says so if not).
  }
});

for (const transport of ['socket', 'shm'] as const) {
  describe(`loopback over ${transport}`, () => {
    // The request ring exists on shm only: its tests are not registered over socket (not skipped).
    const itShm: typeof it | ((...args: Parameters<typeof it>) => void) = transport === 'shm' ? it : () => {};
    let server: IpcServer;
    let name: string;
    let conns: IpcServerConnection[];
    let fdsBefore: string[];

    beforeEach(async () => {
      fdsBefore = ipcFds();
      name = uniqueName(transport);
      ({ server, conns } = await echoServer(name, { transport }));
    });

    /** The server records every request id and answers all but `silent`'s; the ids it saw. */
    const answerAllBut = (silent: number): number[] => {
      const seen: number[] = [];
      conns[0]!.removeAllListeners('request');
      conns[0]!.on('request', (f) => {
        seen.push(header(f).id);
        if (header(f).id !== silent) conns[0]!.respond(echoed(f));
      });
      return seen;
    };

    /** The first connection, its requests held (unanswered) in arrival order. */
    const holdRequests = async (): Promise<{ conn: IpcServerConnection; held: Uint8Array[] }> => {
      await until(() => conns.length === 1);
      const conn = conns[0]!;
      conn.removeAllListeners('request');
      const held: Uint8Array[] = [];
      conn.on('request', (f) => held.push(f));
      return { conn, held };
    };

    afterEach(async () => {
      await server.close();
      expect(shmFiles()).toEqual([]);
      expect(shmMappings()).toEqual([]);
      expect(ipcFds()).toEqual(fdsBefore);
    });

    it('handshakes, exposes credentials and answers requests in FIFO order', async () => {
      const c = await connect(name, { maxMessageSize: 65536 });
      expect(c.transport).toBe(transport);
      expect(c.maxMessageSize).toBe(65536);
      expect(c.serverCredentials).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      expect(c.connected).toBe(true);
      expect(c.fd).toBeGreaterThan(2);
      expect(conns[0]!.credentials).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => c.request(reqFrame(i, 16 + (i % 50)))));
      replies.forEach((r, i) => {
        expect(header(r)).toEqual({ id: i + 1000, size: 24 + 16 + (i % 50), error: 1 });
      });
      await c.close();
      expect(c.connected).toBe(false);
      await until(() => server.connections.size === 0);
    });

    it('answers read one by one as they come stay whole across many pool slabs', async () => {
      // Sequential calls: each answer is read with its token (shm: the ring the waiter registered,
      // into the pool slab of the moment) and kept; ~600 kB of answers fill many 32 KiB slabs.
      const c = await connect(name, { maxMessageSize: 16384 });
      const kept: Uint8Array[] = [];
      const size = (i: number) => 16 + ((i * 13) % 600);
      for (let i = 0; i < 2000; i++) kept.push(await c.request(reqFrame(i, size(i), i & 0xff)));
      kept.forEach((r, i) => {
        expect(r.length).toBe(24 + size(i));
        expect(header(r)).toEqual({ id: i + 1000, size: 24 + size(i), error: 1 });
        expect(header(r.subarray(24))).toMatchObject({ id: i, size: size(i) });
        expect(r.subarray(40).every((b) => b === (i & 0xff))).toBe(true);
      });
      await c.close();
    });

    it('carries messages up to the negotiated maximum, across ring wrap-around', async () => {
      const max = 300_000;
      const c = await connect(name, { maxMessageSize: max });
      // Sizes chosen so that successive chunks wrap the ring at different offsets.
      for (const size of [max - 24, 123_457, 16, 250_001, 99_999, max - 24, 17, 200_003]) {
        const r = await c.request(reqFrame(7, size, size & 0xff));
        expect(r.length).toBe(size + 24);
        expect(header(r.subarray(24))).toMatchObject({ id: 7, size });
        expect(r[r.length - 1]).toBe(size > 16 ? size & 0xff : 0);
      }
      await expect(c.request(reqFrame(1, max + 1))).rejects.toMatchObject({ name: 'IpcError', code: 'EMSGSIZE' });
      await c.close();
    });

    it('queues pipelined maximum-size requests and responses while rings / socket queues are full', async () => {
      const max = 200_000;
      const c = await connect(name, { maxMessageSize: max });
      // Each frame nearly fills a ring (or an SO_SNDBUF), so most of these wait their turn
      // on both sides; order and content must survive.
      const sizes = Array.from({ length: 24 }, (_, i) => max - 24 - i * 7);
      const replies = await Promise.all(sizes.map((size, i) => c.request(reqFrame(i, size, i + 1))));
      replies.forEach((r, i) => {
        expect(header(r)).toEqual({ id: i + 1000, size: sizes[i]! + 24, error: 1 });
        expect(r[r.length - 1]).toBe(i + 1);
      });
      await c.close();
    });

    it('delivers events in order and never drops them while the client is slow', async () => {
      const c = await connect(name, { maxMessageSize: 16384 });
      const got: number[] = [];
      c.on('event', (f) => got.push(header(f).id));
      await until(() => conns.length === 1);
      const N = 2000;
      for (let i = 0; i < N; i++) conns[0]!.sendEvent(resFrame(i, new Uint8Array(1000)));
      await until(() => got.length === N, 60_000);
      expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
      await c.close();
    });

    it('hands every frame over in memory of its own: kept frames stay intact', async () => {
      // Frames are copied into pooled slabs and received in batches: none may alias another.
      const c = await connect(name, { maxMessageSize: 16384 });
      const kept: Uint8Array[] = [];
      c.on('event', (f) => kept.push(f));
      await until(() => conns.length === 1);
      const N = 600;
      for (let i = 0; i < N; i++) conns[0]!.sendEvent(resFrame(i, new Uint8Array(1 + ((i * 37) % 5000)).fill(i & 0xff)));
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => c.request(reqFrame(i, 16 + ((i * 53) % 3000)))));
      await until(() => kept.length === N, 60_000);
      kept.forEach((f, i) => {
        expect(header(f)).toEqual({ id: i, size: 24 + 1 + ((i * 37) % 5000), error: 1 });
        expect(f.subarray(24).every((b) => b === (i & 0xff))).toBe(true);
      });
      replies.forEach((r, i) => expect(header(r)).toMatchObject({ id: i + 1000, size: 24 + 16 + ((i * 53) % 3000) }));
      await c.close();
    });

    it('borrowEvents: events over 4 KiB are lent from one buffer, whole and in order while the listener runs', async () => {
      const c = await connect(name, { borrowEvents: true });
      const seen: { id: number; ok: boolean; buffer: ArrayBufferLike; len: number }[] = [];
      c.on('event', (f) => {
        const id = header(f).id;
        seen.push({ id, ok: f.subarray(24).every((b) => b === (id & 0xff)), buffer: f.buffer, len: f.length });
      });
      await until(() => conns.length === 1);
      // a backlog of large ones (each above the receive area's spare room) mixed with small ones
      const sizes = Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? 100 : 70_000 + i * 997));
      sizes.forEach((n, i) => conns[0]!.sendEvent(resFrame(i, new Uint8Array(n).fill(i & 0xff))));
      await until(() => seen.length === sizes.length, 60_000);
      expect(seen.map((e) => [e.id, e.ok, e.len])).toEqual(sizes.map((n, i) => [i, true, n + 24]));
      // No fresh buffer per large event: they all come from the same one.
      expect(new Set(seen.filter((e) => e.len > 4096).map((e) => e.buffer)).size).toBe(1);
      expect(header(await c.request(reqFrame(1, 16))).id).toBe(1001);
      await c.close();
    });

    it('a listener that calls another connection with a response nobody asked for queued leaves its own batch and lent frame whole', async () => {
      // Hostile server: connection b gets a response it never asked for while a listener of a
      // reads a's batch; mid-batch, the listener makes b's next call, which must take that stray
      // first (not to match it to the call): never into the receive area a's batch is read from.
      const a = await connect(name, { borrowEvents: true });
      const b = await connect(name);
      await until(() => conns.length === 2);
      const [ca, cb] = conns as [IpcServerConnection, IpcServerConnection];
      // a one-way request (cpg's MCAST), held: the server answers it all the same, below
      const held: Uint8Array[] = [];
      cb.removeAllListeners('request');
      cb.on('request', (f) => held.push(f));
      // its answer longer than what a's listener will have read of the batch by then
      await b.send(reqFrame(2, 3000));
      await until(() => held.length === 1);
      const n = 40;
      const size = (id: number) => 40 + id;
      const seen: { id: number; ok: boolean }[] = [];
      let bCall: Promise<unknown> | undefined;
      a.on('event', (f) => {
        const id = header(f).id;
        // in one turn of the loop: b's poller has not read the stray when b's call goes out
        if (id === 2) cb.respond(echoed(held[0]!));
        if (id === 3) bCall = b.request(reqFrame(1, 16)).then(() => 'answered', (e: unknown) => e);
        // read after the call: a lent frame is the listener's until it returns
        seen.push({ id, ok: f.length === 24 + size(id) && f.subarray(24).every((x) => x === (id & 0xff)) });
      });
      for (let i = 0; i < n; i++) ca.sendEvent(resFrame(i, new Uint8Array(size(i)).fill(i & 0xff)));
      await until(() => seen.length === n, 60_000);
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => ({ id: i, ok: true })));
      // b met the stray before its call went out: the connection fails (a response nobody asked for)
      const err = await bCall;
      expect(isIpcError(err, 'EPROTO') || isIpcError(err, 'ECONNRESET')).toBe(true);
      expect(a.connected).toBe(true);
      await a.close();
      await b.close();
    });

    it('borrowEvents: small events too over the socket; a listener that calls in mid-batch leaves the rest whole and in order', async () => {
      const c = await connect(name, { borrowEvents: true });
      const seen: { id: number; ok: boolean; buffer: ArrayBufferLike }[] = [];
      const answers: Promise<Uint8Array>[] = [];
      const oneWays: Promise<void>[] = [];
      c.on('event', (f) => {
        const id = header(f).id;
        seen.push({ id, ok: f.length === 24 + size(id) && f.subarray(24).every((b) => b === (id & 0xff)), buffer: f.buffer });
        // a request and a one-way one (cpg's MCAST) from inside the listener, while the batch is being read
        if (id % 7 === 3) {
          answers.push(c.request(reqFrame(1, 16)));
          oneWays.push(c.send(reqFrame(2, 16)));
        }
      });
      await until(() => conns.length === 1);
      // the one-way requests go unanswered, as corosync's MCAST
      const heard = answerAllBut(2);
      // small ones, the last one above 4 KiB (lent before this change too)
      const n = 61;
      const size = (id: number) => (id === n - 1 ? 5000 : 40 + id);
      for (let i = 0; i < n; i++) conns[0]!.sendEvent(resFrame(i, new Uint8Array(size(i)).fill(i & 0xff)));
      await until(() => seen.length === n, 60_000);
      expect(seen.map((e) => [e.id, e.ok])).toEqual(Array.from({ length: n }, (_, i) => [i, true]));
      for (const a of await Promise.all(answers)) expect(header(a).id).toBe(1001);
      await Promise.all(oneWays);
      await until(() => heard.length === 2 * answers.length);
      // over the socket, lent from the receive area as the large one is: one buffer for all of them
      if (transport === 'socket') expect(new Set(seen.map((e) => e.buffer)).size).toBe(1);
      await c.close();
    });

    it('eventInto: an event over 4 KiB is read where it says, seeing the event\'s head and length; else as before', async () => {
      const asked: { id: number; head: number; length: number }[] = [];
      const targets: Uint8Array[] = [];
      const c = await connect(name, {
        borrowEvents: true,
        eventInto: (head, length) => {
          asked.push({ id: header(head).id, head: head.length, length });
          // odd ids only, one of them with a wrong length (ignored: read as usual)
          if (header(head).id % 2 === 0) return undefined;
          const into = new Uint8Array(length + 64).subarray(32, 32 + (header(head).id === 5 ? length - 1 : length));
          targets.push(into);
          return into;
        },
      });
      const seen: { id: number; ok: boolean; buffer: ArrayBufferLike; offset: number }[] = [];
      c.on('event', (f) => {
        const id = header(f).id;
        seen.push({ id, ok: f.length === sizes[id]! + 24 && f.subarray(24).every((b) => b === (id & 0xff)), buffer: f.buffer, offset: f.byteOffset });
      });
      await until(() => conns.length === 1);
      const sizes = Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? 100 : 70_000 + i * 997));
      sizes.forEach((n, i) => conns[0]!.sendEvent(resFrame(i, new Uint8Array(n).fill(i & 0xff))));
      await until(() => seen.length === sizes.length, 60_000);
      expect(seen.map((e) => [e.id, e.ok])).toEqual(sizes.map((_, i) => [i, true]));
      const large = sizes.flatMap((n, i) => (n > 4096 ? [i] : []));
      expect(asked).toEqual(large.map((id) => ({ id, head: 256, length: sizes[id]! + 24 })));
      const into = large.filter((id) => id % 2 === 1 && id !== 5);
      for (const id of into) {
        const t = targets[large.filter((i) => i % 2 === 1).indexOf(id)]!;
        expect(seen[id]).toMatchObject({ buffer: t.buffer, offset: 32 });
      }
      // the rest lent as before, from one buffer
      expect(new Set(large.filter((id) => !into.includes(id)).map((id) => seen[id]!.buffer)).size).toBe(1);
      await c.close();
    });

    it('eventInto: backlogs at every size boundary, in order, between replies; what it took is never written again', async () => {
      const max = 1 << 20;
      const kept: { id: number; into: Uint8Array; head: Uint8Array }[] = [];
      let asked = 0;
      const c = await connect(name, {
        maxMessageSize: max,
        borrowEvents: true,
        eventInto: (head, length) => {
          asked++;
          const id = header(head).id;
          if (head.length !== Math.min(length, 256) || header(head).size !== length || id % 2 === 0) return undefined;
          const into = new Uint8Array(length);
          kept.push({ id, into, head });
          return into;
        },
      });
      const impl = (c as unknown as { impl: { intoOn?: boolean } }).impl;
      const seen: [number, number, boolean][] = [];
      // For each event eventInto took: whether its bytes past the head were in the memory the
      // head was shown in (read there and copied out), or only in the buffer (read into it).
      const passedThrough: boolean[] = [];
      c.on('event', (f) => {
        const id = header(f).id;
        seen.push([id, f.length, f.subarray(24).every((b) => b === (id & 0xff))]);
        const k = kept.at(-1);
        if (k?.into === f) {
          const h = k.head;
          passedThrough.push(new Uint8Array(h.buffer, h.byteOffset + 256, 1024).every((b) => b === (id & 0xff)));
        }
      });
      await until(() => conns.length === 1);
      const conn = conns[0]!;
      // frame sizes around the pool's 4 KiB and at the negotiated maximum, small ones between,
      // odd ids taken by eventInto, even ones lent or copied
      const frames = [4096, 4097, 100, 4097, max, 24, max, max - 1, 5000, 70_000, 4096, 300_000, 24, 1_047_752, 1224];
      let id = 0;
      const sendAll = () => {
        for (const n of frames) conn.sendEvent(resFrame(id, new Uint8Array(n - 24).fill(id++ & 0xff)));
      };
      sendAll(); // a backlog, queued before the client reads any
      await until(() => seen.length === frames.length, 60_000);
      if (transport === 'socket') expect(impl.intoOn).toBe(true);
      // again, each backlog sent while a request is due, then its reply (the reads that catch the
      // reply take the events too)
      conn.removeAllListeners('request');
      conn.on('request', (f) => {
        sendAll();
        conn.respond(echoed(f));
      });
      for (let r = 0; r < 3; r++) {
        const before = seen.length;
        expect(header(await c.request(reqFrame(r, 16))).id).toBe(r + 1000);
        await until(() => seen.length === before + frames.length, 60_000);
      }
      const want = Array.from({ length: id }, (_, i) => [i, frames[i % frames.length]!, true]);
      expect(seen).toEqual(want);
      const large = want.filter(([, n]) => (n as number) > 4096);
      expect(asked).toBe(large.length);
      expect(kept.map((k) => k.id)).toEqual(large.filter(([i]) => (i as number) % 2 === 1).map(([i]) => i));
      // the buffers eventInto gave were written once: each still holds its own event
      for (const k of kept) expect(header(k.into).id === k.id && k.into.subarray(24).every((b) => b === (k.id & 0xff))).toBe(true);
      // over socket, every one after those read with the first it took (before the socket
      // peeked: within the first backlog) was received straight into its buffer; shm copies each
      // out of the ring, where it stays
      if (transport === 'shm') expect(passedThrough.every((x) => x)).toBe(true);
      else {
        const first = passedThrough.indexOf(false);
        expect(first).toBeGreaterThan(0);
        expect(first).toBeLessThanOrEqual(kept.length / 4);
        expect(passedThrough.slice(first).every((x) => !x)).toBe(true);
      }
      // events it never takes turn the peeking off again
      const small = seen.length;
      for (let i = 0; i < 40; i++) conn.sendEvent(resFrame(2 * i, new Uint8Array(i % 2 ? 10_000 : 10)));
      await until(() => seen.length === small + 40, 60_000);
      if (transport === 'socket') expect(impl.intoOn).toBe(false);
      await c.close();
    });

    it('eventInto: the server closing with large events queued ends in one disconnect; each event seen is whole', async () => {
      const c = await connect(name, { borrowEvents: true, eventInto: (_h, length) => new Uint8Array(length) });
      const seen: boolean[] = [];
      c.on('event', (f) => seen.push(f.length === 300_024 && f.subarray(24).every((b) => b === (header(f).id & 0xff))));
      const gone = new Promise<IpcError>((resolve) => c.on('disconnect', resolve));
      await until(() => conns.length === 1);
      const conn = conns[0]!;
      conn.sendEvent(resFrame(1, new Uint8Array(300_000).fill(1)));
      await until(() => seen.length === 1);
      for (let i = 2; i < 6; i++) conn.sendEvent(resFrame(i, new Uint8Array(300_000).fill(i)));
      conn.close();
      expect(await gone).toMatchObject({ code: 'ECONNRESET' });
      expect(seen.every((ok) => ok)).toBe(true);
      await c.close();
    });

    it('sendNow(): one-way requests without a promise; false, sending nothing, while requests wait for room', async () => {
      const c = await connect(name, { maxInFlight: 1 });
      await until(() => conns.length === 1);
      const seen = answerAllBut(2);
      expect(c.sendNow(reqFrame(2, 16), 2)).toBe(true);
      const a = c.request(reqFrame(3, 16));
      const b = c.request(reqFrame(4, 16));
      expect(c.queued).toBe(1);
      expect(c.sendNow(reqFrame(2, 17))).toBe(false);
      const later = c.send(reqFrame(2, 18));
      expect(header(await a).id).toBe(1003);
      expect(header(await b).id).toBe(1004);
      await later;
      await until(() => seen.length === 4);
      expect(seen).toEqual([2, 3, 4, 2]);
      expect(() => c.sendNow(new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      conns[0]!.setFlowControl(1);
      expect(() => c.sendNow(reqFrame(2, 16))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      conns[0]!.setFlowControl(0);
      await c.close();
      expect(() => c.sendNow(reqFrame(2, 16))).toThrow(expect.objectContaining({ code: 'ENOTCONN' }));
    });

    it('one-way requests of a turn go out at its end, in order with a request made in that turn', async () => {
      const c = await connect(name);
      await until(() => conns.length === 1);
      const seen: string[] = [];
      conns[0]!.removeAllListeners('request');
      conns[0]!.on('request', (f) => {
        seen.push(`${header(f).id}:${f[16]}:${f.length}`);
        if (header(f).id !== 2) conns[0]!.respond(echoed(f));
      });
      // More than one outbox chunk (4 KiB) and the server socket's queue (10), less than a turn holds.
      const frame = (i: number) => reqFrame(2, 17 + (i % 50), i & 0xff);
      for (let i = 0; i < 60; i++) expect(c.sendNow(frame(i), 2)).toBe(true);
      expect(seen).toEqual([]);
      // The request sends what the turn held first; over socket they fill the server's queue, the
      // rest wait for room, and the request behind them.
      const answer = c.request(reqFrame(3, 17, 7));
      // One-way requests wait behind them up to 64 frames (a turn's batch), then are refused, as
      // libqb refuses a send to a full socket. The ring has room for all.
      const out = (c as unknown as { impl: { out: Outbox } }).impl.out;
      let i = 60;
      for (; i < 80; i++) {
        try {
          c.sendNow(frame(i), 2);
        } catch (e) {
          expect(e).toMatchObject({ code: 'EAGAIN' });
          break;
        }
      }
      if (transport === 'socket') {
        expect(i).toBeLessThan(80);
        expect(out.length).toBe(64);
      } else {
        expect(i).toBe(80);
      }
      expect(header(await answer).id).toBe(1003);
      for (; i < 80; i++) expect(c.sendNow(frame(i), 2)).toBe(true);
      await until(() => seen.length === 81);
      const want = (i: number) => `2:${i & 0xff}:${17 + (i % 50)}`;
      expect(seen).toEqual([...Array.from({ length: 60 }, (_, i) => want(i)), '3:7:17', ...Array.from({ length: 20 }, (_, i) => want(60 + i))]);
      expect(header(await c.request(reqFrame(4, 16))).id).toBe(1004);
      await c.close();
    });

    itShm('a turn\'s held one-way requests are in the request ring at once, their posts at its end', async () => {
      const c = await connect(name);
      await until(() => conns.length === 1);
      const seen = answerAllBut(2);
      const ring = (c as unknown as { impl: { request: Ring } }).impl.request;
      const sem = new Int32Array(ring.semBuffer, Ring.SEM_OFFSET, 1);
      expect(c.sendNow(reqFrame(2, 1000, 0), 2)).toBe(true);
      const free = ring.spaceFree();
      for (let i = 1; i < 10; i++) expect(c.sendNow(reqFrame(2, 1000, i), 2)).toBe(true);
      // All ten chunks (1,000 bytes and two header words each) are written; only the first,
      // which went at once, is posted: a server takes none of the others before their doorbells.
      expect(free - ring.spaceFree()).toBe(9 * 1008);
      expect(Atomics.load(sem, 0)).toBe(1);
      expect(ring.unposted).toBe(9);
      await until(() => seen.length === 10);
      expect(ring.unposted).toBe(0);
      expect(header(await c.request(reqFrame(3, 16))).id).toBe(1003);
      expect(seen).toEqual([...Array(10).fill(2), 3]);
      await c.close();
    });

    itShm('held one-way requests that overflow the request ring: the written ones are posted at once, the next is refused, nothing queued', async () => {
      // A 68 KiB ring takes three 20,000-byte chunks.
      const c = await connect(name, { maxMessageSize: 65536 });
      await until(() => conns.length === 1);
      const got: number[] = [];
      conns[0]!.removeAllListeners('request');
      conns[0]!.on('request', (f) => {
        got.push(header(f).id === 2 ? f[16]! : -header(f).id);
        if (header(f).id !== 2) conns[0]!.respond(echoed(f));
      });
      const impl = (c as unknown as { impl: { request: Ring; out: Outbox } }).impl;
      for (let i = 0; i < 3; i++) expect(c.sendNow(reqFrame(2, 20_000, i), 2)).toBe(true);
      expect(impl.request.unposted).toBe(2);
      // qb_rb_chunk_alloc's EAGAIN: the staged chunks are posted, so that the server makes room
      expect(() => c.sendNow(reqFrame(2, 20_000, 3), 2)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      expect(impl.request.unposted).toBe(0);
      expect(impl.out.bytes).toBe(0);
      // an answered request waits for room in order (as a caller awaits it), a one-way one behind it is refused
      const answer = c.request(reqFrame(3, 20_000));
      expect(impl.out.length).toBe(1);
      await expect(c.send(reqFrame(2, 16, 4), { flowControlMax: 2 })).rejects.toMatchObject({ code: 'EAGAIN' });
      expect(header(await answer).id).toBe(1003);
      expect(c.sendNow(reqFrame(2, 20_000, 5), 2)).toBe(true);
      await until(() => got.length === 5);
      expect(got).toEqual([0, 1, 2, -3, 5]);
      await c.close();
    });

    it('a send refused now (a full ring or socket, flow control) is an EAGAIN without a stack trace; other errors keep theirs', async () => {
      const c = await connect(name, { maxMessageSize: 65536 });
      await until(() => conns.length === 1);
      const got = answerAllBut(2);
      const limit = Error.stackTraceLimit;
      const traced = /\n\s+at /;
      // One turn of 20,000-byte one-way requests: the ring takes three, the socket's cork 512 KiB.
      let full: unknown;
      let sent = 0;
      for (; sent < 100 && full === undefined; sent++) {
        try {
          c.sendNow(reqFrame(2, 20_000, sent), 2);
        } catch (e) {
          full = e;
        }
      }
      expect(isIpcError(full, 'EAGAIN')).toBe(true);
      expect((full as Error).stack).not.toMatch(traced);
      expect(Error.stackTraceLimit).toBe(limit);
      await until(() => got.length === sent - 1);
      conns[0]!.setFlowControl(2);
      let stopped: unknown;
      try {
        c.sendNow(reqFrame(2, 16), 2);
      } catch (e) {
        stopped = e;
      }
      expect(isIpcError(stopped, 'EAGAIN')).toBe(true);
      expect((stopped as Error).stack).not.toMatch(traced);
      const rejected = await c.send(reqFrame(2, 16), { flowControlMax: 2 }).catch((e: unknown) => e);
      expect(isIpcError(rejected, 'EAGAIN')).toBe(true);
      expect((rejected as Error).stack).not.toMatch(traced);
      let invalid: unknown;
      try {
        c.sendNow(new Uint8Array(8));
      } catch (e) {
        invalid = e;
      }
      expect(isIpcError(invalid, 'EINVAL')).toBe(true);
      expect((invalid as Error).stack).toMatch(traced);
      expect(Error.stackTraceLimit).toBe(limit);
      conns[0]!.setFlowControl(0);
      expect(header(await c.request(reqFrame(3, 16))).id).toBe(1003);
      await c.close();
    });

    it('a loop of one-way requests that never yields is refused once the server cannot take more: bounded, nothing lost or reordered', async () => {
      const c = await connect(name, { maxMessageSize: 65536 });
      await until(() => conns.length === 1);
      const got: number[] = [];
      conns[0]!.removeAllListeners('request');
      conns[0]!.on('request', (f) => got.push(f[16]! | (f[17]! << 8)));
      const out = (c as unknown as { impl: { out: Outbox } }).impl.out;
      const frame = (i: number) => {
        const f = reqFrame(2, 3000, i & 0xff);
        f[17] = i >> 8;
        return f;
      };
      // The server (this process) reads nothing until the loop yields.
      let accepted = 0;
      let most = 0;
      for (; accepted < 10_000; accepted++) {
        try {
          c.sendNow(frame(accepted), 2);
        } catch (e) {
          expect(e).toMatchObject({ code: 'EAGAIN' });
          break;
        }
        most = Math.max(most, out.bytes);
      }
      // socket: what the server's queue took and what a turn holds (512 KiB); shm: the ring
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(transport === 'socket' ? 200 : 30);
      expect(most).toBeLessThanOrEqual(512 * 1024 + 3000 + 64);
      // The rest, each sent again after a turn when refused: every one arrives once, in order.
      for (let i = accepted; i < accepted + 300; ) {
        try {
          c.sendNow(frame(i), 2);
          i++;
        } catch (e) {
          expect(e).toMatchObject({ code: 'EAGAIN' });
          await new Promise((r) => setImmediate(r));
        }
      }
      await until(() => got.length === accepted + 300);
      expect(got).toEqual(Array.from({ length: accepted + 300 }, (_, i) => i));
      await c.close();
    });

    it('one-way requests made just before process.exit() still reach the server', async () => {
      const seen: number[] = [];
      // Not answered, as corosync answers no MCAST (an answer nobody asked for ends the connection).
      server.on('connection', (conn) => conn.removeAllListeners('request').on('request', (f) => seen.push(f[16]!)));
      const script = fileURLToPath(new URL('./fixtures/exit-client.ts', import.meta.url));
      const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, name, '8'], { env: await crashTraceEnv(), timeout: 30_000 });
      expect(r.stderr).toBe('');
      await until(() => seen.length === 8);
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('body: a frame in two pieces reaches the server as the one frame, sent at once, held, staged or queued, in order', async () => {
      const max = 200_000;
      const c = await connect(name, { maxMessageSize: max });
      await until(() => conns.length === 1);
      const got: Uint8Array[] = [];
      conns[0]!.removeAllListeners('request');
      conns[0]!.on('request', (f) => {
        got.push(f.slice());
        if (header(f).id !== 2) conns[0]!.respond(echoed(f));
      });
      // Every byte differs from its neighbours, so a lost, doubled or shifted byte shows.
      const whole = (id: number, size: number, seed: number): Uint8Array => {
        const f = reqFrame(id, size);
        for (let i = 16; i < size; i++) f[i] = (i * 7 + seed) & 0xff;
        return f;
      };
      const want: Uint8Array[] = [];
      const split = (f: Uint8Array, cut: number): [Uint8Array, Uint8Array] => [f.slice(0, cut), f.slice(cut)];
      // Answered requests, pipelined near the maximum: most wait for room (the waiting queue
      // copies both pieces), and the socket queue or ring fills mid-stream.
      const calls: Promise<Uint8Array>[] = [];
      for (let i = 0; i < 12; i++) {
        const f = whole(3, max - 24 - i * 13, i);
        const [head, body] = split(f, 16 + ((i * 5) % 40));
        want.push(f);
        calls.push(c.request(head, { body }));
        // The pieces are the caller's again once request() returns.
        head.fill(0xee);
        body.fill(0xee);
      }
      const replies = await Promise.all(calls);
      replies.forEach((r, i) => expect(Buffer.from(r.subarray(24)).equals(Buffer.from(want[i]!))).toBe(true));
      // One-way: the first of the turn goes at once, the rest are held for its end (shm: staged
      // in the ring), or refused when the ring or socket is full (sent again after a turn);
      // small ones and large ones; an empty body.
      for (let i = 0; i < 30; i++) {
        const f = whole(2, i % 3 === 0 ? 60_000 + i : 100 + i, 100 + i);
        const [head, body] = split(f, i === 7 ? f.length : 16 + i);
        want.push(f);
        for (;;) {
          try {
            expect(c.sendNow(head, 2, body)).toBe(true);
            break;
          } catch (e) {
            expect(e).toMatchObject({ code: 'EAGAIN' });
            await new Promise((r) => setImmediate(r));
          }
        }
        head.fill(0xee);
        body.fill(0xee);
      }
      const f = whole(3, 5000, 9);
      want.push(f);
      const last = split(f, 24);
      expect(header(await c.request(last[0], { body: last[1] })).id).toBe(1003);
      await until(() => got.length === want.length);
      got.forEach((g, i) => {
        if (!Buffer.from(g).equals(Buffer.from(want[i]!))) expect.fail(`frame ${i} (${want[i]!.length} bytes) arrived different (${g.length} bytes)`);
      });
      // The header's size counts both pieces; a body does not make a frame larger than allowed.
      const ok = reqFrame(3, 64);
      await expect(c.request(ok.subarray(0, 32), { body: ok.subarray(40) })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(c.request(ok.subarray(0, 8), { body: ok.subarray(8) })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(c.request(ok.subarray(0, 32), { body: 'nope' as unknown as Uint8Array })).rejects.toMatchObject({ code: 'EINVAL' });
      const big = reqFrame(2, max + 1);
      expect(() => c.sendNow(big.subarray(0, 24), 2, big.subarray(24))).toThrow(expect.objectContaining({ code: 'EMSGSIZE' }));
      await expect(c.send(big.subarray(0, 24), { flowControlMax: 2, body: big.subarray(24) })).rejects.toMatchObject({ code: 'EMSGSIZE' });
      conns[0]!.setFlowControl(1);
      expect(() => c.sendNow(ok.subarray(0, 32), 1, ok.subarray(32))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      conns[0]!.setFlowControl(0);
      expect(header(await c.request(ok.subarray(0, 32), { body: ok.subarray(32) })).id).toBe(1003);
      await c.close();
    });

    it('rejects bad frames with typed errors and keeps the connection usable', async () => {
      const c = await connect(name);
      await expect(c.request(new Uint8Array(8))).rejects.toMatchObject({ code: 'EINVAL' });
      const wrongSize = reqFrame(1, 32);
      new DataView(wrongSize.buffer).setInt32(8, 40, true);
      await expect(c.request(wrongSize)).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(c.request('nope' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(c.request(reqFrame(3, 16), { timeout: -1 })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(connect(name, { timeout: Number.NaN })).rejects.toMatchObject({ code: 'EINVAL' });
      // Beyond Node's timer range a timeout would fire after 1 ms.
      await expect(c.request(reqFrame(3, 16), { timeout: 2 ** 31 })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(connect(name, { timeout: 2 ** 31 })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(connect(name, { maxMessageSize: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
      expect(header(await c.request(reqFrame(3, 16))).id).toBe(1003);
      await c.close();
      await expect(c.request(reqFrame(3, 16))).rejects.toMatchObject({ code: 'ENOTCONN' });
      await c.close();
    });

    it('times out and aborts single calls without desynchronising the FIFO', async () => {
      const c = await connect(name);
      const { conn, held } = await holdRequests();
      // Small answers (maxResponseSize) so that all three are in flight at once.
      const small = { maxResponseSize: 64 };
      const t = c.request(reqFrame(1, 16), { timeout: 50, ...small });
      await expect(t).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      const ac = new AbortController();
      const a = c.request(reqFrame(2, 16), { signal: ac.signal, ...small });
      ac.abort();
      await expect(a).rejects.toMatchObject({ code: 'ABORT_ERR' });
      const pre = new AbortController();
      pre.abort();
      await expect(c.request(reqFrame(9, 16), { signal: pre.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
      const third = c.request(reqFrame(3, 16), small);
      await until(() => held.length === 3);
      for (const f of held) conn.respond(echoed(f));
      expect(header(await third).id).toBe(1003);
      expect(() => conn.respond(resFrame(0))).toThrow(IpcError);
      await c.close();
    });

    it('requestWith(): settles with parse(response, ctx) or mapError(err, ctx), in FIFO order', async () => {
      const c = await connect(name);
      const { conn, held } = await holdRequests();
      const parsed: number[] = [];
      const parse = (r: Uint8Array, ctx: string) => {
        const id = header(r).id;
        parsed.push(id);
        if (id === 1002) throw new Error(`bad answer for ${ctx}`);
        return `${ctx}:${id}`;
      };
      const mapError = (e: unknown, ctx: string) => new Error(`${ctx}: ${(e as IpcError).code}`);
      const small = { maxResponseSize: 64 };
      // A call that times out keeps its slot: its late answer is consumed, never parsed.
      const timedOut = c.requestWith(reqFrame(1, 16), { timeout: 30, ...small }, parse, mapError, 'one');
      await expect(timedOut).rejects.toThrow('one: ETIMEDOUT');
      const bad = c.requestWith(reqFrame(2, 16), small, parse, mapError, 'two');
      const good = c.requestWith(reqFrame(3, 16), small, parse, mapError, 'three');
      const plain = c.request(reqFrame(4, 16), small);
      await until(() => held.length === 4);
      for (const f of held) conn.respond(echoed(f));
      // A parser's throw rejects its own call alone, with what it threw.
      await expect(bad).rejects.toThrow('bad answer for two');
      await expect(good).resolves.toBe('three:1003');
      expect(header(await plain).id).toBe(1004);
      expect(parsed).toEqual([1002, 1003]);
      // Errors found before sending go through mapError too.
      await expect(c.requestWith(new Uint8Array(8), undefined, parse, mapError, 'short')).rejects.toThrow('short: EINVAL');
      const pending = c.requestWith(reqFrame(5, 16), undefined, parse, mapError, 'five');
      await until(() => held.length === 5);
      const rejected = expect(pending).rejects.toThrow('five: ENOTCONN');
      await c.close();
      await rejected;
      await expect(c.requestWith(reqFrame(6, 16), undefined, parse, mapError, 'six')).rejects.toThrow('six: ENOTCONN');
    });

    it('honours server flow control with EAGAIN (TRY_AGAIN semantics)', async () => {
      const c = await connect(name);
      await until(() => conns.length === 1);
      conns[0]!.setFlowControl(1);
      const e = await c.request(reqFrame(1, 16)).catch((x: unknown) => x);
      expect(isIpcError(e, 'EAGAIN')).toBe(true);
      conns[0]!.setFlowControl(0);
      expect(header(await c.request(reqFrame(1, 16))).id).toBe(1001);
      await c.close();
    });

    it('send(): requests the server never answers keep their place, and answered ones still get their own answer', async () => {
      const c = await connect(name);
      await until(() => conns.length === 1);
      // Like corosync's cpg MCAST: id 2 gets no answer.
      const seen = answerAllBut(2);
      const answers: Promise<Uint8Array>[] = [];
      const sent: Promise<void>[] = [];
      // Most of these wait for room behind the first request: the one-way frames wait in line too.
      for (let i = 0; i < 50; i++) {
        sent.push(c.send(reqFrame(2, 16 + i)));
        answers.push(c.request(reqFrame(3 + i, 16)));
      }
      sent.push(c.send(reqFrame(2, 16)));
      (await Promise.all(answers)).forEach((r, i) => expect(header(r).id).toBe(1003 + i));
      await Promise.all(sent);
      await until(() => seen.length === 101);
      expect(seen).toEqual([...Array.from({ length: 50 }, (_, i) => [2, 3 + i]).flat(), 2]);
      expect(c.inFlight).toBe(0);

      // libqb's fc_enable_max: level 1 stops every send, level 2 only those that ask for it (libcpg's MCAST).
      conns[0]!.setFlowControl(1);
      await expect(c.send(reqFrame(2, 16))).rejects.toMatchObject({ code: 'EAGAIN' });
      conns[0]!.setFlowControl(2);
      await expect(c.send(reqFrame(2, 16), { flowControlMax: 2 })).rejects.toMatchObject({ code: 'EAGAIN' });
      // An answered request may ask the same (libcpg's fragments): refused, never sent.
      await expect(c.request(reqFrame(9, 16), { flowControlMax: 2 })).rejects.toMatchObject({ code: 'EAGAIN' });
      await c.send(reqFrame(2, 17));
      conns[0]!.setFlowControl(0);
      expect(header(await c.request(reqFrame(9, 16))).id).toBe(1009);
      expect(seen.slice(-2)).toEqual([2, 9]);
      await c.close();
      await expect(c.send(reqFrame(2, 16))).rejects.toMatchObject({ code: 'ENOTCONN' });
    });

    it('rejects pending calls with ECONNRESET when the server drops the client', async () => {
      const c = await connect(name);
      await until(() => conns.length === 1);
      conns[0]!.removeAllListeners('request');
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      const pending = c.request(reqFrame(1, 16));
      conns[0]!.close();
      await expect(pending).rejects.toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
      await until(() => disc !== undefined);
      expect(disc!.code).toBe('ECONNRESET');
      expect(c.connected).toBe(false);
      await expect(c.request(reqFrame(1, 16))).rejects.toMatchObject({ code: 'ENOTCONN' });
      await c.close();
    });

    it('notices when the client goes away', async () => {
      const c = await connect(name);
      await until(() => conns.length === 1);
      const closed = new Promise<void>((r) => conns[0]!.once('close', () => r()));
      await c.close();
      await closed;
      expect(server.connections.size).toBe(0);
    });

    it('serves 1,000 concurrent clients', async () => {
      const clients = await Promise.all(Array.from({ length: 1000 }, () => connect(name, { maxMessageSize: 12328 })));
      expect(server.connections.size).toBe(1000);
      const replies = await Promise.all(clients.map((c, i) => c.request(reqFrame(i, 24))));
      replies.forEach((r, i) => expect(header(r).id).toBe(i + 1000));
      await Promise.all(clients.map((c) => c.close()));
      await until(() => server.connections.size === 0, 60_000);
    });
  });
}

describe('handshake policy', () => {
  it('sends the authorize() verdict in the setup reply', async () => {
    const name = uniqueName('auth');
    const seen: unknown[] = [];
    const server = createServer(name, {
      transport: 'socket',
      authorize: (cred) => {
        seen.push(cred);
        return seen.length === 1 ? -13 : -11;
      },
    });
    await server.listen();
    await expect(connect(name)).rejects.toMatchObject({ name: 'IpcError', code: 'EACCES', errno: 13 });
    await expect(connect(name)).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(seen[0]).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    expect(server.connections.size).toBe(0);
    await server.close();
  });

  it('fails clearly when nobody listens, or on a bad name or signal', async () => {
    await expect(connect(uniqueName('nobody'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(connect('')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(connect('a\0b')).rejects.toMatchObject({ code: 'EINVAL' });
    const ac = new AbortController();
    ac.abort();
    await expect(connect('cmap', { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });

  it('times out a handshake the server never answers', async () => {
    // A listener that never replies: a server in the middle of its handshake timeout.
    const name = uniqueName('mute');
    const server = createServer(name, { handshakeTimeout: 60_000 });
    await server.listen();
    (server as unknown as { establish: () => void }).establish = () => {};
    await expect(connect(name, { timeout: 100 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await server.close();
  });

  it('refuses socket clients with -ENAMETOOLONG when the service name cannot fit libqb socket names', async () => {
    const name = `${uniqueName('long')}-${'x'.repeat(60)}`;
    const server = createServer(name, { transport: 'socket' });
    await server.listen();
    await expect(connect(name)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await server.close();
  });

  it('refuses a second listener on the same name', async () => {
    const name = uniqueName('dup');
    const a = createServer(name);
    await a.listen();
    await expect(createServer(name).listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await a.close();
  });
});
