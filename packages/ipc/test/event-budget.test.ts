// The socket client reads the event socket only as far as the control file's event counter says
// (ipc.c recv_batch's budget word), to save the recv that would only say EAGAIN. The counter is
// the peer's: whatever it says, every event arrives, once and in order, and nothing else breaks.
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connect, createServer, type IpcServerConnection } from '../src/index.js';
import { native, type Mapping } from '../src/native.js';
import { header, ipcFds, resFrame, shmMappings, uniqueName, until } from './helpers.js';

/** Word index of the event channel's counter in the control file (control.ts). */
const EVENT_WORD = 4;

describe('socket: the event counter as a read budget', () => {
  it('delivers every event whether the counter says fewer, more, or a negative count', async () => {
    const fds0 = ipcFds();
    const maps0 = shmMappings();
    const server = createServer(uniqueName('evbudget'), { transport: 'socket' });
    const conns: IpcServerConnection[] = [];
    server.on('connection', (c) => conns.push(c));
    await server.listen();
    const c = await connect(server.name);
    let ctl: Mapping | undefined;
    try {
      await until(() => conns.length === 1);
      const conn = conns[0]!;
      const path = (c as unknown as { impl: { control: { path: string } } }).impl.control.path;
      const fd = openSync(path, 'r+');
      ctl = native().mmap(fd, 24, false) as Mapping;
      closeSync(fd);
      const words = new Int32Array(ctl.buffer);
      const got: number[] = [];
      c.on('event', (f: Uint8Array) => got.push(header(f).id));
      let next = 0;
      // Events sent in one turn, then the counter set as a peer might keep it, before the client
      // reads any of them.
      const round = async (k: number, counter: number | undefined) => {
        const want = got.length + k;
        for (let i = 0; i < k; i++) conn.sendEvent(resFrame(next++));
        if (counter !== undefined) words[EVENT_WORD] = counter;
        await until(() => got.length >= want);
      };
      await round(5, 1); // one counted of five: the rest at later wake-ups
      await round(4, 1000); // more counted than queued: the batch ends at EAGAIN
      await round(3, -7); // negative (the client lowered an undercount): no budget
      await round(6, 0); // a peer that keeps no count
      await round(8, undefined); // counted as libqb counts
      expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
      expect(c.connected).toBe(true);
      // Nothing arrives beyond them, and requests still work after the miscounts.
      c.on('event', () => expect.unreachable('an event nobody sent'));
      conn.on('request', (f: Uint8Array) => conn.respond(resFrame(header(f).id)));
      const r = await c.request(new Uint8Array(resFrame(77)), { maxResponseSize: 64 });
      expect(header(r).id).toBe(77);
    } finally {
      if (ctl) native().munmap(ctl);
      await c.close();
      await server.close();
    }
    // The watcher's reference to the control file's mapping goes with it: no fd or mapping left.
    await until(() => ipcFds().length === fds0.length && shmMappings().length === maps0.length);
    expect(ipcFds()).toEqual(fds0);
    expect(shmMappings()).toEqual(maps0);
  });
});
