// A backlog of events is delivered in passes of EVENT_PASS: no loop turn inside a pass (a turn
// between the native batches of a backlog cost a large part of its delivery), one between passes
// (a flood does not starve the rest of the loop).
import { afterEach, describe, expect, it } from 'vitest';
import { connect, loopTurn, type IpcServer, type IpcServerConnection } from '../src/index.js';
import { EVENT_PASS } from '../src/shm.js';
import { echoServer, header, resFrame, uniqueName, until } from './helpers.js';

describe('a backlog of shm events', () => {
  let server: IpcServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('is delivered EVENT_PASS events per loop turn, in order', async () => {
    const name = uniqueName('pass');
    let conns: IpcServerConnection[];
    ({ server, conns } = await echoServer(name, { transport: 'shm' }));
    // Room in the event ring for the whole backlog (32-byte chunks), so that it is all there
    // before the client reads any of it.
    const c = await connect(name, { maxMessageSize: 1 << 20 });
    expect(c.transport).toBe('shm');
    await until(() => conns.length === 1);
    const N = EVENT_PASS + 1500;
    const ids: number[] = [];
    const turns: number[] = [];
    c.on('event', (f) => {
      ids.push(header(f).id);
      turns.push(loopTurn());
    });
    // One synchronous run: every event is in the ring before the client's first read.
    for (let i = 0; i < N; i++) conns[0]!.sendEvent(resFrame(i));
    await until(() => ids.length === N, 60_000);
    expect(ids).toEqual(Array.from({ length: N }, (_, i) => i));
    // The first pass in one turn; the rest in a later one.
    expect(turns.slice(0, EVENT_PASS).every((t) => t === turns[0])).toBe(true);
    expect(turns[EVENT_PASS]).not.toBe(turns[0]);
    await c.close();
  });
});
