// IpcClient.pollEvents() hands over what the server has sent by now, without waiting for the
// loop to read it (what a C dispatch of the pending events finds), in order, once each; inside an
// 'event' listener it leaves the batch being delivered alone.
import { describe, expect, it } from 'vitest';
import { connect, createServer, type IpcServerConnection } from '../src/index.js';
import { header, resFrame, uniqueName, until } from './helpers.js';

for (const transport of ['socket', 'shm'] as const) {
  describe(`${transport}: pollEvents`, () => {
    it('emits the events already sent before returning, in order, once each; a listener calling it changes nothing', async () => {
      const server = createServer(uniqueName(`poll-${transport}`), { transport });
      const conns: IpcServerConnection[] = [];
      server.on('connection', (x) => conns.push(x));
      await server.listen();
      const c = await connect(server.name);
      try {
        await until(() => conns.length === 1);
        const conn = conns[0]!;
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
      } finally {
        await c.close();
        await server.close();
      }
    });
  });
}
