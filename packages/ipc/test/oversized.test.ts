// A response or event larger than the client's negotiated maximum: refused by default; with
// sendOversized sent as libqb's server sends it when the transport carries it, the client's
// receiving end deciding (ours takes a shm chunk that fits the ring, and drops a socket
// connection whose datagram is longer than the grant).
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError, connect, createServer, type IpcServer, type IpcServerConnection } from '../src/index.js';
import { uniqueName, until } from './helpers.js';

function event(len: number): Uint8Array {
  const f = new Uint8Array(len);
  const v = new DataView(f.buffer);
  v.setInt32(0, 7, true);
  v.setInt32(8, len, true);
  return f;
}

const emsgsize = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return e instanceof IpcError ? e.code : e;
  }
  return 'sent';
};

for (const transport of ['socket', 'shm'] as const) {
  describe(`oversized frames (${transport})`, () => {
    let server: IpcServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    async function pair(opts: { sendOversized?: boolean; maxMessageSize?: number }) {
      const name = uniqueName('oversized');
      const conns: IpcServerConnection[] = [];
      server = createServer(name, { transport, ...opts });
      server.on('connection', (c) => conns.push(c));
      await server.listen();
      const c = await connect(name, { maxMessageSize: 100 });
      await until(() => conns.length === 1);
      return { c, conn: conns[0]! };
    }

    it('are refused with EMSGSIZE by default', async () => {
      const { c, conn } = await pair({});
      expect(c.maxMessageSize).toBe(12328);
      expect(emsgsize(() => conn.sendEvent(event(15000)))).toBe('EMSGSIZE');
      expect(conn.closed).toBe(false);
      await c.close();
    });

    it('with sendOversized, go out when the transport carries them', async () => {
      const { c, conn } = await pair({ sendOversized: true, maxMessageSize: 0 });
      expect(c.maxMessageSize).toBe(12328);
      const got: number[] = [];
      let lost: IpcError | undefined;
      c.on('event', (f) => got.push(f.length));
      c.on('disconnect', (e) => (lost = e));
      if (transport === 'shm') {
        // 12,328 rounds up to a 16 KiB ring: 15,000 bytes fit it, 20,000 do not.
        expect(emsgsize(() => conn.sendEvent(event(20000)))).toBe('EMSGSIZE');
        expect(emsgsize(() => conn.sendEvent(event(15000)))).toBe('sent');
        await until(() => got.length === 1);
        expect(got).toEqual([15000]);
        expect(lost).toBeUndefined();
        await c.close();
      } else {
        // Beyond the send buffer (SO_SNDBUF - 32: 425,952 bytes with Linux's defaults) no datagram goes.
        expect(emsgsize(() => conn.sendEvent(event(8 << 20)))).toBe('EMSGSIZE');
        expect(conn.closed).toBe(false);
        expect(emsgsize(() => conn.sendEvent(event(15000)))).toBe('sent');
        await until(() => lost !== undefined);
        expect(lost?.code).toBe('ECONNRESET');
        expect(lost?.message).toMatch(/event socket: .*EMSGSIZE/);
        expect(got).toEqual([]);
      }
    });
  });
}
