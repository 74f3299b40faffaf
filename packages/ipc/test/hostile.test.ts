// Peers that do not follow the protocol: every case ends in a typed error or a dropped
// connection, never a crash, a hang or a leaked fd / /dev/shm file.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type IpcError, type IpcServer, type IpcServerConnection } from '../src/index.js';
import { native } from '../src/native.js';
import { rawServer, setupReply, type SetupReplyFields } from './fixtures/raw-server.js';
import { echoServer, header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

/** A server that answers every connection request with `reply`, or closes the connection without one. */
const replying = (name: string, reply: Uint8Array | null) => rawServer(name, (conn) => (reply ? native().send(conn.fd, reply) : conn.close()));

describe('a hostile or broken server', () => {
  let before: string[];
  beforeEach(() => {
    before = ipcFds();
  });
  afterEach(() => {
    expect(ipcFds()).toEqual(before);
    expect(shmMappings()).toEqual([]);
  });

  const cases: [string, SetupReplyFields | null, string][] = [
    ['closes without answering', null, 'ECONNRESET'],
    ['answers with a wrong id', { id: 7 }, 'EBADMSG'],
    ['offers a POSIX message queue transport', { type: 2 }, 'ENOTSUP'],
    ['offers an unknown transport', { type: 9 }, 'EINVAL'],
    ['offers an absurd max message size', { max: 16 }, 'EBADMSG'],
    ['points the control file outside /dev/shm', { type: 0, request: '/etc/passwd', response: '/dev/shm/x/qb-cmap' }, 'EBADMSG'],
    ['names a control file that does not exist', { type: 0, request: '/dev/shm/cts-nothing/qb-control', response: '/dev/shm/cts-nothing/qb' }, 'ENOENT'],
    ['names shm rings that do not exist', { type: 1, request: '/dev/shm/cts-nothing/a', response: '/dev/shm/cts-nothing/b', event: '/dev/shm/cts-nothing/c' }, 'ENOENT'],
    ['names shm rings outside /dev/shm', { type: 1, request: '/etc/a', response: '/etc/b', event: '/etc/c' }, 'EBADMSG'],
    ['refuses with an errno', { error: -111 }, 'ECONNREFUSED'],
  ];
  for (const [what, fields, code] of cases) {
    it(`${what} → ${code}`, async () => {
      const name = uniqueName('rawsrv');
      const srv = replying(name, fields && setupReply(fields));
      try {
        await expect(connect(name, { timeout: 5000 })).rejects.toMatchObject({ name: 'IpcError', code });
      } finally {
        srv.close();
      }
    });
  }

  // After a good socket-transport handshake, the server's own datagram sockets send what no
  // libqb server would: the client's native receive path must turn each into a disconnect.
  // `into`: after an event that eventInto took, so that the event socket peeks each datagram
  // before it reads it (socket.ts intoMode).
  const badDatagrams: [string, 'request' | 'event', number, RegExp, boolean][] = [
    ['a response longer than the negotiated maximum', 'request', 20000, /response socket: .*EMSGSIZE/, false],
    ['a response shorter than a header', 'request', 8, /8-byte response datagram/, false],
    ['an event shorter than a header', 'event', 8, /8-byte event datagram/, false],
    ['an event longer than the negotiated maximum', 'event', 20000, /event socket: .*EMSGSIZE/, false],
    ['an event shorter than a header, peeked', 'event', 8, /8-byte event datagram/, true],
    ['an event longer than the negotiated maximum, peeked', 'event', 20000, /event socket: .*EMSGSIZE/, true],
    ['an empty event, peeked', 'event', 0, /0-byte event datagram/, true],
  ];
  for (const [what, channel, size, reason, into] of badDatagrams) {
    it(`sends ${what} → ECONNRESET, pending calls rejected, nothing leaked`, async () => {
      const n = native();
      const name = uniqueName('rawdgram');
      const dir = mkdtempSync('/dev/shm/cts-ipc-hostile-');
      const base = `${dir}/qb-${name}`;
      writeFileSync(`${dir}/qb-control-${name}`, new Uint8Array(24));
      const sreq = n.socket(1);
      const sevt = n.socket(1);
      const srv = replying(name, setupReply({ type: 0, max: 12328, request: `${dir}/qb-control-${name}`, response: base }));
      try {
        expect(n.bind(sreq, `${base}-request`)).toBe(0);
        expect(n.bind(sevt, `${base}-event-tx`)).toBe(0);
        const taken: Uint8Array[] = [];
        const c = await connect(name, { maxMessageSize: 12328, timeout: 5000, borrowEvents: true, eventInto: (_h, len) => (taken.push(new Uint8Array(len)), taken.at(-1)) });
        let disc: IpcError | undefined;
        c.on('disconnect', (e) => (disc = e));
        const pending = c.request(reqFrame(1, 16)).catch((e: IpcError) => e);
        const fd = channel === 'request' ? sreq : sevt;
        expect(n.connect(fd, `${base}-${channel === 'request' ? 'response' : 'event'}`)).toBe(0);
        if (into) {
          const events: Uint8Array[] = [];
          c.on('event', (f) => events.push(f));
          expect(n.send(fd, resFrame(9, new Uint8Array(8000)))).toBe(8024);
          await until(() => events.length === 1);
          expect(events[0]).toBe(taken[0]);
        }
        const bad = size >= 24 ? resFrame(1, new Uint8Array(size - 24)) : new Uint8Array(size);
        expect(n.send(fd, bad)).toBe(size);
        await until(() => disc !== undefined);
        expect(disc).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
        expect(disc!.message).toMatch(reason);
        expect(await pending).toBe(disc);
        await c.close();
        expect(existsSync(dir)).toBe(false); // the client removed the control file and its directory
      } finally {
        srv.close();
        n.close(sreq);
        n.close(sevt);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('sends a short setup reply and then nothing → ETIMEDOUT (with a timeout)', async () => {
    const name = uniqueName('rawshort');
    const srv = replying(name, new Uint8Array(100));
    try {
      // The server keeps the socket open after the short write: only the timeout ends it.
      await expect(connect(name, { timeout: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      srv.close();
    }
  });
});

describe('a hostile or broken client', () => {
  for (const transport of ['socket', 'shm'] as const) {
    describe(transport, () => {
      let name: string;
      let server: IpcServer;
      let conns: IpcServerConnection[];
      beforeEach(async () => {
        name = uniqueName(`hostile-${transport}`);
        ({ server, conns } = await echoServer(name, { transport, handshakeTimeout: 200 }));
      });
      afterEach(async () => {
        await server.close();
        expect(shmFiles()).toEqual([]);
        expect(shmMappings()).toEqual([]);
      });

      it('a handshake with the wrong id is closed without a reply', async () => {
        const n = native();
        const fd = n.socket(0);
        expect(n.connect(fd, name)).toBe(0);
        const req = reqFrame(5, 24);
        expect(n.send(fd, req)).toBe(24);
        const buf = new Uint8Array(16);
        let r = -11;
        await until(() => (r = n.recvInto(fd, buf)) !== -11);
        expect(r).toBe(0); // EOF, no reply
        n.close(fd);
        expect(server.connections.size).toBe(0);
      });

      it('a connection request with a wrong size field is served, as libqb 2.0.6 does', async () => {
        const n = native();
        const fd = n.socket(0);
        expect(n.connect(fd, name)).toBe(0);
        const req = reqFrame(-1, 24);
        new DataView(req.buffer).setInt32(8, 99, true);
        new DataView(req.buffer).setUint32(16, 20000, true);
        expect(n.send(fd, req)).toBe(24);
        const buf = new Uint8Array(12328);
        let got = 0;
        await until(() => {
          const r = n.recvInto(fd, buf.subarray(got));
          if (r > 0) got += r;
          return got === buf.length;
        });
        const v = new DataView(buf.buffer);
        expect([v.getInt32(0, true), v.getInt32(16, true), v.getInt32(24, true), v.getUint32(28, true)]).toEqual([
          -1, 0, transport === 'socket' ? 0 : 1, 20000,
        ]);
        n.close(fd);
        await until(() => server.connections.size === 0);
      });

      it('a client that never finishes its handshake is dropped after the handshake timeout', async () => {
        const n = native();
        const fd = n.socket(0);
        expect(n.connect(fd, name)).toBe(0);
        expect(n.send(fd, new Uint8Array(10))).toBe(10);
        const buf = new Uint8Array(16);
        let r = -11;
        await until(() => (r = n.recvInto(fd, buf)) !== -11);
        expect(r).toBe(0);
        n.close(fd);
      });

      it('a doorbell or datagram that carries no valid request drops only that client', async () => {
        const victim = await connect(name);
        const bystander = await connect(name);
        await until(() => conns.length === 2);
        let disc: IpcError | undefined;
        victim.on('disconnect', (e) => (disc = e));
        const n = native();
        if (transport === 'shm') {
          // A doorbell without a chunk is dropped (as libqb does); then a corrupt ring header.
          expect(n.send(victim.fd, new Uint8Array([1]))).toBe(1);
          expect(header(await victim.request(reqFrame(1, 16))).id).toBe(1001);
          const hdr = `${conns[0]!.dir}/qb-request-${name}-header`;
          const fd = openSync(hdr, 'r+');
          const b = Buffer.alloc(4);
          b.writeUInt32LE(0xfffffff0);
          writeSync(fd, b, 0, 4, 4); // read_pt far outside the ring
          closeSync(fd);
        } else {
          // An 8-byte datagram into the victim's request socket (libqb calls that a disconnect).
          const s = n.socket(1);
          expect(n.connect(s, `${conns[0]!.dir}/qb-${name}-request`)).toBe(0);
          expect(n.send(s, new Uint8Array(8))).toBe(8);
          n.close(s);
        }
        const pending = victim.request(reqFrame(2, 16)).catch((e: IpcError) => e.code);
        await until(() => disc !== undefined);
        expect(disc!.code).toBe('ECONNRESET');
        expect(await pending).toBe('ECONNRESET');
        expect(header(await bystander.request(reqFrame(3, 16))).id).toBe(1003);
        await victim.close();
        await bystander.close();
      });
    });
  }
});
