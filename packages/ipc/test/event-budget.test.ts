// The socket client reads the event socket only as far as the control file's event counter says
// (ipc.c recv_batch's budget word), to save the recv that would only say EAGAIN. The counter is
// the peer's: whatever it says, every event arrives, once and in order, and nothing else breaks.
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connect, createServer, type ConnectOptions, type IpcClient, type IpcServerConnection } from '../src/index.js';
import { native, type Mapping } from '../src/native.js';
import { echoed, header, ipcFds, reqFrame, resFrame, shmMappings, uniqueName, until } from './helpers.js';

/** Word indexes of the channels' counters in the control file (control.ts). */
const REQUEST_WORD = 0;
const RESPONSE_WORD = 2;
const EVENT_WORD = 4;

/** What a test body gets: the client, its connection on the server, its control file's words as a peer sees them, the ids of the events it received. */
interface Pair {
  c: IpcClient;
  conn: IpcServerConnection;
  words: Int32Array;
  got: number[];
}

/**
 * A socket server and one client of it (`opts`), the client's control file mapped as a peer sees
 * it, for `body`; then both closed, and no fd or mapping left (the watcher's reference to the
 * control file's mapping goes with it).
 */
async function withPair(name: string, opts: ConnectOptions | undefined, body: (p: Pair) => Promise<void>): Promise<void> {
  const fds0 = ipcFds();
  const maps0 = shmMappings();
  const server = createServer(uniqueName(name), { transport: 'socket' });
  const conns: IpcServerConnection[] = [];
  server.on('connection', (c) => conns.push(c));
  await server.listen();
  const c = await connect(server.name, opts);
  let ctl: Mapping | undefined;
  try {
    await until(() => conns.length === 1);
    const path = (c as unknown as { impl: { control: { path: string } } }).impl.control.path;
    const fd = openSync(path, 'r+');
    try {
      ctl = native().mmap(fd, 24, false) as Mapping;
    } finally {
      closeSync(fd);
    }
    const got: number[] = [];
    c.on('event', (f: Uint8Array) => got.push(header(f).id));
    await body({ c, conn: conns[0]!, words: new Int32Array(ctl.buffer), got });
  } finally {
    if (ctl) native().munmap(ctl);
    await c.close();
    await server.close();
  }
  await until(() => ipcFds().length === fds0.length && shmMappings().length === maps0.length);
  expect(ipcFds()).toEqual(fds0);
  expect(shmMappings()).toEqual(maps0);
}

describe('socket: the event counter as a read budget', () => {
  it('delivers every event whether the counter says fewer, more, or a negative count', async () => {
    await withPair('evbudget', undefined, async ({ c, conn, words, got }) => {
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
    });
  });

  it('keeps the counters as libqb does: one count per frame, whole batches, peeked events and sendmmsg batches alike', async () => {
    // events above 4 KiB with an odd id are read where eventInto says: the event socket then
    // peeks each datagram, and one peeked is counted off when read, not with its batch
    const opts: ConnectOptions = {
      maxMessageSize: 1 << 16,
      borrowEvents: true,
      eventInto: (head, length) => (header(head).id % 2 === 1 ? new Uint8Array(length) : undefined),
    };
    await withPair('evcount', opts, async ({ c, conn, words, got }) => {
      let next = 0;
      const burst = async (sizes: number[]) => {
        for (const n of sizes) conn.sendEvent(resFrame(next++, new Uint8Array(n)));
        await until(() => got.length === next);
        // each event counted once by the server's send and once off by the client's read
        expect(words[EVENT_WORD]).toBe(0);
      };
      await burst(Array.from({ length: 150 }, () => 40)); // batches of 64 and what is left
      await burst(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 5000 + i : 40 + i))); // peeked ones between batches
      await burst(Array.from({ length: 70 }, () => 40)); // the socket still peeking: each after one into-mode event
      expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
      // one-way requests of a turn go out in one sendmmsg batch: counted per frame
      const requests: number[] = [];
      conn.on('request', (f: Uint8Array) => {
        requests.push(header(f).id);
        if (header(f).id >= 1000) conn.respond(echoed(f));
      });
      for (let turn = 0; turn < 25; turn++) {
        // within what the server's socket queues (net.unix.max_dgram_qlen, 10 by default)
        await Promise.all(Array.from({ length: 8 }, (_, i) => c.send(reqFrame(turn * 8 + i, 64))));
        await until(() => requests.length === turn * 8 + 8);
      }
      expect(requests).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(words[REQUEST_WORD]).toBe(0);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(reqFrame(1000 + i, 16))));
      expect(answers.map((a) => header(a).id)).toEqual(Array.from({ length: 20 }, (_, i) => 2000 + i));
      expect([words[REQUEST_WORD], words[RESPONSE_WORD], words[EVENT_WORD]]).toEqual([0, 0, 0]);
      expect(c.connected).toBe(true);
    });
  });
});
