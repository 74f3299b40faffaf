// IpcClient.pollEvents(): what the server has queued by now reaches the 'event' listeners before
// the call returns, without a loop turn, as libqb's qb_ipcc_event_recv with timeout 0 reads it.
// The C libraries' dispatch(ALL / ONE_NONBLOCKING) count on that: a cmap notification corosync
// queued on one connection before answering another's call is there when that call returns.
// Inside an 'event' listener it leaves the batch being delivered alone (it goes on after it).
import { describe, expect, it } from 'vitest';
import { connect, type IpcClient, type IpcServerConnection } from '../src/index.js';
import { echoServer, header, resFrame, uniqueName, until } from './helpers.js';

/** A client and the server's side of its connection, closed after body. */
async function withConnection(tag: string, transport: 'socket' | 'shm', body: (c: IpcClient, conn: IpcServerConnection) => Promise<void>): Promise<void> {
  const { server, conns } = await echoServer(uniqueName(`${tag}-${transport}`), { transport });
  const c = await connect(server.name);
  try {
    await until(() => conns.length === 1);
    await body(c, conns[0]!);
  } finally {
    await c.close();
    await server.close();
  }
}

for (const transport of ['socket', 'shm'] as const) {
  describe(`${transport}: pollEvents`, () => {
    it('delivers the events queued so far before it returns, in order, and nothing twice', async () => {
      await withConnection('poll', transport, async (c, conn) => {
        const seen: number[] = [];
        c.on('event', (f: Uint8Array) => seen.push(header(f).id));
        c.pollEvents();
        expect(seen).toEqual([]);
        for (let round = 0; round < 20; round++) {
          // sent while the loop is ours: nothing could have read them yet
          for (let e = 0; e < 1 + (round % 4); e++) conn.sendEvent(resFrame(100 * round + e));
          c.pollEvents();
          expect(seen.splice(0)).toEqual(Array.from({ length: 1 + (round % 4) }, (_, e) => 100 * round + e));
        }
        // and what the loop reads later is only what came after
        conn.sendEvent(resFrame(9999));
        await until(() => seen.length === 1);
        expect(seen).toEqual([9999]);
      });
    });

    it('from inside an event listener, delivers the rest in order', async () => {
      await withConnection('poll-nested', transport, async (c, conn) => {
        const seen: number[] = [];
        c.on('event', (f: Uint8Array) => {
          seen.push(header(f).id);
          if (header(f).id === 1) c.pollEvents();
        });
        for (let e = 1; e <= 5; e++) conn.sendEvent(resFrame(e));
        await until(() => seen.length === 5);
        expect(seen).toEqual([1, 2, 3, 4, 5]);
      });
    });

    it('a listener calling it with more sent meanwhile: its batch goes on first, in order, nothing twice', async () => {
      await withConnection('poll', transport, async (c, conn) => {
        const log: number[] = [];
        c.on('event', (f: Uint8Array) => {
          log.push(header(f).id);
          // nested, with more sent meanwhile: the batch this event is part of goes on after it,
          // in order (the socket's receive area still holds it), nothing twice
          if (header(f).id === 10) {
            conn.sendEvent(resFrame(12));
            conn.sendEvent(resFrame(13));
            c.pollEvents();
          }
        });
        // no loop turn between the sends and the poll: only pollEvents can have read them
        conn.sendEvent(resFrame(1));
        conn.sendEvent(resFrame(2));
        c.pollEvents();
        expect(log).toEqual([1, 2]);
        c.pollEvents();
        expect(log).toEqual([1, 2]);
        for (const id of [10, 11]) conn.sendEvent(resFrame(id));
        c.pollEvents();
        await until(() => log.length === 6);
        expect(log).toEqual([1, 2, 10, 11, 12, 13]);
      });
    });
  });
}
