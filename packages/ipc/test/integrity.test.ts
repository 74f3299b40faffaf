// Issue 9: a connection never hands a caller another call's answer. Requests in flight are
// bounded (what the server cannot send it drops), each answer can be checked against its
// request, a response nobody asked for fails the connection, and only a trusted process may
// serve it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeRequiring } from '@corosync-ts/nstest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IpcError, connect, createServer, isIpcError, type IpcClient, type IpcServerConnection } from '../src/index.js';
import { header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

/** Bypasses IpcServerConnection.respond()'s own check, as a broken server would. */
function respondUnasked(conn: IpcServerConnection, frame: Uint8Array): void {
  (conn as unknown as { impl: { respond(f: Uint8Array): void } }).impl.respond(frame);
}

for (const transport of ['socket', 'shm'] as const) {
  describe(`${transport}: requests and their answers`, () => {
    let name: string;
    let server: ReturnType<typeof createServer>;
    const conns: IpcServerConnection[] = [];
    let before: string[];
    beforeEach(async () => {
      before = ipcFds();
      name = uniqueName('integrity');
      conns.length = 0;
      server = createServer(name, { transport });
      server.on('connection', (c) => conns.push(c));
      await server.listen();
    });
    afterEach(async () => {
      await server.close();
      expect(ipcFds()).toEqual(before);
      expect(shmMappings()).toEqual([]);
      expect(shmFiles()).toEqual([]);
    });

    /** Holds every request until release() answers them in order (response id = request id + 1000). */
    async function holdingClient(opts: Parameters<typeof connect>[1] = {}) {
      const c = await connect(name, opts);
      await until(() => conns.length === 1);
      const conn = conns[0]!;
      const held: Uint8Array[] = [];
      conn.on('request', (f) => held.push(f));
      return {
        c,
        conn,
        held,
        release(n = held.length) {
          for (const f of held.splice(0, n)) conn.respond(resFrame(header(f).id + 1000, f.slice(0, 16)));
        },
      };
    }

    it('keeps at most maxInFlight requests in flight and sends the rest as answers come, in order', async () => {
      const { c, held, release } = await holdingClient({ maxInFlight: 4 });
      const calls = Array.from({ length: 10 }, (_, i) => c.request(reqFrame(i + 1, 16), { maxResponseSize: 64 }));
      await until(() => held.length === 4);
      expect(c.inFlight).toBe(4);
      expect(c.queued).toBe(6);
      release(2);
      await until(() => held.length === 4);
      expect(held.map((f) => header(f).id)).toEqual([3, 4, 5, 6]);
      while (c.inFlight + c.queued > 0) {
        release();
        await new Promise((r) => setImmediate(r));
      }
      expect((await Promise.all(calls)).map((f) => header(f).id)).toEqual(Array.from({ length: 10 }, (_, i) => 1001 + i));
      await c.close();
    });

    it('without a size hint, sends one request at a time (any answer may take the whole response channel)', async () => {
      const { c, held, release } = await holdingClient();
      const calls = [1, 2, 3].map((id) => c.request(reqFrame(id, 16)));
      await until(() => held.length === 1);
      expect([c.inFlight, c.queued]).toEqual([1, 2]);
      for (let i = 0; i < 3; i++) {
        await until(() => held.length === 1);
        release();
      }
      expect((await Promise.all(calls)).map((f) => header(f).id)).toEqual([1001, 1002, 1003]);
      await c.close();
    });

    it('bounds what is in flight by the room responses take, not only by count', async () => {
      // 1 MiB negotiated: room for one 600 KiB answer, never two.
      const { c, held, release } = await holdingClient();
      const big = { maxResponseSize: 600 * 1024 };
      const calls = [1, 2].map((id) => c.request(reqFrame(id, 16), big));
      await until(() => held.length === 1);
      expect([c.inFlight, c.queued]).toEqual([1, 1]);
      release();
      await until(() => held.length === 1);
      release();
      expect((await Promise.all(calls)).map((f) => header(f).id)).toEqual([1001, 1002]);
      await c.close();
    });

    it('a queued call that times out or is aborted is never sent', async () => {
      const { c, held, release } = await holdingClient({ maxInFlight: 1 });
      const first = c.request(reqFrame(1, 16), { maxResponseSize: 64 });
      const late = c.request(reqFrame(2, 16), { maxResponseSize: 64, timeout: 20 });
      const ac = new AbortController();
      const aborted = c.request(reqFrame(3, 16), { maxResponseSize: 64, signal: ac.signal });
      const last = c.request(reqFrame(4, 16), { maxResponseSize: 64 });
      await expect(late).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      ac.abort();
      await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' });
      await until(() => held.length === 1);
      release();
      await until(() => held.length === 1);
      expect(header(held[0]!).id).toBe(4);
      release();
      expect(header(await first).id).toBe(1001);
      expect(header(await last).id).toBe(1004);
      await c.close();
    });

    it('every call settles when sending a waiting request finds the server gone', async () => {
      const { c, held, release } = await holdingClient();
      const calls = [1, 2, 3].map((id) => c.request(reqFrame(id, 16)).then((f) => header(f).id, (e: IpcError) => e.code));
      await until(() => held.length === 1);
      // What a shm doorbell to a server that has just closed does: the transport fails the
      // connection from inside send() without throwing (white box: the race is too narrow to
      // provoke from outside).
      const impl = (c as unknown as { impl: { send(f: Uint8Array): void } }).impl;
      impl.send = () => c.fail(new IpcError('ECONNRESET', 'doorbell send failed: the server is gone'));
      release();
      expect(await Promise.all(calls)).toEqual([1001, 'ECONNRESET', 'ECONNRESET']);
      await c.close();
    });

    it('an answer that fails verify() fails the connection: no call resolves with it', async () => {
      const { c, conn, held } = await holdingClient();
      const verify = (id: number) => (res: Uint8Array) => header(res).id === id + 1000;
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      const small = { maxResponseSize: 64 };
      const a = c.request(reqFrame(1, 16), { ...small, verify: verify(1) }).catch((e: IpcError) => e);
      const b = c.request(reqFrame(2, 16), { ...small, verify: verify(2) }).catch((e: IpcError) => e);
      await until(() => held.length === 2);
      conn.respond(resFrame(1002)); // the answer to the second request, first
      const ea = await a;
      const eb = await b;
      expect(ea).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
      expect(eb).toBe(ea);
      expect(((ea as IpcError).cause as IpcError).code).toBe('EPROTO');
      expect((ea as IpcError).message).toMatch(/id 1002.*request with id 1/);
      await until(() => disc !== undefined);
      expect(c.connected).toBe(false);
      await c.close();
    });

    // A one-way request between the two calls (cpg MCAST) skips the check for unasked answers,
    // since nothing can be matched to it: the call after it must still make the check.
    it.each([
      ['', false],
      [', a one-way request between', true],
    ])('a duplicated answer is caught before the next call can take it%s', async (_, oneWay) => {
      const { c, conn } = await holdingClient();
      conn.removeAllListeners('request');
      const ONE_WAY = 3;
      conn.on('request', (f) => {
        if (header(f).id === ONE_WAY) return;
        const res = resFrame(header(f).id + 1000);
        conn.respond(res);
        respondUnasked(conn, res);
      });
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      // The first call may get its own answer; what matters is that the copy reaches nobody.
      const first = await c.request(reqFrame(1, 16)).catch((e: IpcError) => e);
      if (first instanceof Uint8Array) expect(header(first).id).toBe(1001);
      if (oneWay) await c.send(reqFrame(ONE_WAY, 16)).catch(() => undefined);
      const second = await c.request(reqFrame(2, 16)).catch((e: IpcError) => e);
      expect(second).toMatchObject({ name: 'IpcError' });
      await until(() => disc !== undefined);
      expect(disc!.code).toBe('ECONNRESET');
      expect((disc!.cause as IpcError).code).toBe('EPROTO');
      expect(disc!.message).toMatch(/nobody asked for/);
      await c.close();
    });

    // What a server killed -9 leaves: its sockets closed by the kernel, its rings untouched.
    function dieLikeKill9(conn: IpcServerConnection): void {
      conn.setup.close();
      const impl = (conn as unknown as { impl: { req?: { close(): void }; evt?: { close(): void } } }).impl;
      impl.req?.close();
      impl.evt?.close();
    }

    it('a server that dies between an answer and the next queued request: every call settles', async () => {
      const { c, conn, held, release } = await holdingClient();
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      // verify() runs once the answer is read and before the queued request is sent: the
      // moment a kill -9 of a busy daemon can fall into (seen against corosync under load).
      const first = c.request(reqFrame(1, 16), {
        verify: (res) => {
          dieLikeKill9(conn);
          return header(res).id === 1001;
        },
      });
      let settled = 0;
      const rest = [2, 3, 4].map((id) =>
        c.request(reqFrame(id, 16)).then(
          (f) => (settled++, f),
          (e: IpcError) => (settled++, e),
        ),
      );
      await until(() => held.length === 1);
      expect([c.inFlight, c.queued]).toEqual([1, 3]);
      release();
      expect(header(await first).id).toBe(1001);
      await until(() => disc !== undefined);
      // The request sent into the dead connection used to be forgotten: never settled.
      await until(() => settled === 3);
      const errs = await Promise.all(rest);
      expect(errs.map((e) => (e as IpcError).code)).toEqual(['ECONNRESET', 'ECONNRESET', 'ECONNRESET']);
      expect(new Set(errs).size).toBe(1);
      expect(errs[0]).toBe(disc);
      expect([c.connected, c.inFlight, c.queued]).toEqual([false, 0, 0]);
      await c.close();
      conn.close();
    });

    it('an answer while nothing is pending fails the connection; later calls get ENOTCONN', async () => {
      const { c, conn } = await holdingClient();
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      respondUnasked(conn, resFrame(1001));
      // shm has no wake-up for a token nobody waits for: the next request finds it first.
      const r = await c.request(reqFrame(1, 16)).catch((e: IpcError) => e);
      expect(isIpcError(r)).toBe(true);
      await until(() => disc !== undefined);
      expect((disc!.cause as IpcError).code).toBe('EPROTO');
      await expect(c.request(reqFrame(1, 16))).rejects.toMatchObject({ code: 'ENOTCONN' });
      await c.close();
    });
  });
}

describe('the request options are checked', () => {
  it('rejects invalid maxInFlight, maxResponseSize, verify, flowControlMax and allowProvider', async () => {
    const name = uniqueName('opts');
    const server = createServer(name, { transport: 'socket' });
    await server.listen();
    try {
      await expect(connect(name, { maxInFlight: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(connect(name, { allowProvider: { uids: [-1] } })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(connect(name, { allowProvider: 'root' as never })).rejects.toMatchObject({ code: 'EINVAL' });
      const c = await connect(name);
      await expect(c.request(reqFrame(1, 16), { maxResponseSize: 3 })).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(c.request(reqFrame(1, 16), { verify: 1 as never })).rejects.toMatchObject({ code: 'EINVAL' });
      // libqb's fc_enable_max is 1 or 2: any other level would refuse at levels the server never
      // means to stop a client at (or at none), silently.
      for (const bad of [0, 3, 1.5, '2', null]) {
        await expect(c.request(reqFrame(1, 16), { flowControlMax: bad as never })).rejects.toMatchObject({ code: 'EINVAL' });
        await expect(c.send(reqFrame(1, 16), { flowControlMax: bad as never })).rejects.toMatchObject({ code: 'EINVAL' });
        expect(() => c.sendNow(reqFrame(1, 16), bad as never)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      }
      await c.close();
    } finally {
      await server.close();
    }
  });
});

// A provider running as another user: nobody (65534) takes the name first.
const echoServer = fileURLToPath(new URL('./fixtures/echo-server.mjs', import.meta.url));
const canSetuid = process.getuid?.() === 0;

async function startForeignServer(transport: 'socket' | 'shm', name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [echoServer, transport, name], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if ((JSON.parse(l) as { event?: string }).event === 'listening') resolve();
    });
    child.once('exit', (code) => reject(new Error(`foreign server exited ${code}: ${stderr}`)));
  });
  return child;
}

for (const transport of ['socket', 'shm'] as const) {
  describeRequiring('root (to run a server as uid 65534)', canSetuid ? undefined : 'not root')(`${transport}: provider authenticity (server as uid 65534)`, () => {
    let child: ChildProcess;
    let name: string;
    let before: string[];
    beforeEach(async () => {
      before = ipcFds();
      name = uniqueName('foreign');
      child = await startForeignServer(transport, name);
    });
    afterEach(async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      expect(ipcFds()).toEqual(before);
      expect(shmMappings()).toEqual([]);
      expect(shmFiles()).toEqual([]);
    });

    it('is refused by default with EACCES, naming who it is', async () => {
      const e = (await connect(name, { timeout: 5000 }).catch((x: unknown) => x)) as IpcError;
      expect(e).toMatchObject({ name: 'IpcError', code: 'EACCES' });
      expect(e.message).toMatch(new RegExp(`pid ${child.pid} running as uid 65534 gid 65534 \\(SO_PEERCRED\\)`));
    });

    it('is refused when only another uid is allowed, and accepted by uid, gid or predicate', async () => {
      await expect(connect(name, { allowProvider: { uids: [0, 1] } })).rejects.toMatchObject({ code: 'EACCES' });
      for (const allowProvider of [{ uids: [65534] }, { gids: [65534] }, (c: { uid: number }) => c.uid === 65534]) {
        const c: IpcClient = await connect(name, { allowProvider, timeout: 5000 });
        expect(c.serverCredentials).toMatchObject({ pid: child.pid, uid: 65534, gid: 65534 });
        const res = await c.request(reqFrame(1, 32), { maxResponseSize: 64 });
        expect(header(res).id).toBe(1001);
        await c.close();
      }
    });
  });
}
