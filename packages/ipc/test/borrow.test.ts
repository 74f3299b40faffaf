// ServerOptions.borrowRequests: large request frames lent (valid during the 'request' listeners),
// small ones and every frame without the option the listener's own. ConnectOptions.borrowEvents
// over socket: every event lent from the receive area.
import { afterEach, expect, it } from 'vitest';
import { connect, type IpcServer } from '../src/index.js';
import { echoServer, header, ipcFds, reqFrame, resFrame, shmMappings, uniqueName, until } from './helpers.js';

let server: IpcServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Requests of these sizes, each filled with its index + 1, through a server with `borrow`; what the listener saw. */
async function serve(transport: 'socket' | 'shm', borrow: boolean, sizes: number[]): Promise<{ kept: Uint8Array[]; seen: number[][] }> {
  const name = uniqueName('borrow');
  const s = await echoServer(name, { transport, borrowRequests: borrow, maxMessageSize: 1 << 20 });
  server = s.server;
  const kept: Uint8Array[] = [];
  const seen: number[][] = [];
  const c = await connect(name, { maxMessageSize: 1 << 20 });
  try {
    s.conns[0]!.prependListener('request', (f) => {
      kept.push(f);
      seen.push([f.length, ...new Set(f.subarray(16))]);
    });
    // all in flight at once: the server reads them one after another into the same buffer
    const answers = await Promise.all(sizes.map((n, i) => c.request(reqFrame(i, n, i + 1))));
    answers.forEach((a, i) => expect([header(a).id, a.length]).toEqual([i + 1000, 24 + sizes[i]!]));
  } finally {
    await c.close();
  }
  return { kept, seen };
}

const sizes = [65536, 100, 65536, 5000, 1 << 19];

for (const transport of ['socket', 'shm'] as const) {
  it(`${transport}: without borrowRequests every request frame stays the listener's own after later ones arrive`, async () => {
    const { kept, seen } = await serve(transport, false, sizes);
    const want = sizes.map((n, i) => [n, i + 1]);
    expect(seen).toEqual(want);
    expect(kept.map((f) => [f.length, ...new Set(f.subarray(16))])).toEqual(want);
  });

  it(`${transport}: with borrowRequests a frame above 4 KiB is correct while its listeners run, then lent out again; small ones stay owned`, async () => {
    const { kept, seen } = await serve(transport, true, sizes);
    expect(seen).toEqual(sizes.map((n, i) => [n, i + 1]));
    // the large frames were views of one buffer, which later requests overwrote
    const large = kept.filter((f) => f.length > 4096);
    expect(new Set(large.map((f) => f.buffer)).size).toBe(1);
    expect(new Set(kept[0]!.subarray(16))).not.toEqual(new Set([1]));
    expect([...new Set(kept[1]!.subarray(16))]).toEqual([2]);
  });
}

it('socket: borrowEvents lends each event correct while its listeners run, through batches of one size and of changing sizes', async () => {
  const name = uniqueName('borrowevt');
  const s = await echoServer(name, { transport: 'socket' });
  server = s.server;
  const c = await connect(name, { borrowEvents: true });
  try {
    const seen: number[][] = [];
    const lent = new Set<Uint8Array>();
    c.on('event', (f: Uint8Array) => {
      seen.push([header(f).id, f.length, ...new Set(f.subarray(24))]);
      lent.add(f);
    });
    await until(() => s.conns.length === 1);
    const conn = s.conns[0]!;
    // batches of one size (a place in a batch keeps its offset and length), then sizes that change
    // within and between batches, then one size again
    const sizes = [...Array<number>(150).fill(64), ...Array.from({ length: 150 }, (_, i) => 24 + (i % 7) * 13), ...Array<number>(70).fill(64)];
    sizes.forEach((n, i) => conn.sendEvent(resFrame(i, new Uint8Array(n - 24).fill((i % 250) + 1))));
    await until(() => seen.length === sizes.length);
    expect(seen).toEqual(sizes.map((n, i) => [i, n, ...(n > 24 ? [(i % 250) + 1] : [])]));
    // views of one area, not one per event
    expect(new Set([...lent].map((f) => f.buffer)).size).toBe(1);
    expect(lent.size).toBeLessThan(sizes.length);
  } finally {
    await c.close();
  }
});

it('socket: borrowEvents, the server gone in the middle of a burst: the events before it whole and in order, then the disconnect, nothing left open', async () => {
  const fds0 = ipcFds();
  const maps0 = shmMappings();
  const name = uniqueName('borrowgone');
  const s = await echoServer(name, { transport: 'socket' });
  server = s.server;
  const c = await connect(name, { borrowEvents: true });
  const seen: number[][] = [];
  c.on('event', (f: Uint8Array) => seen.push([header(f).id, f.length, ...new Set(f.subarray(24))]));
  let gone: Error | undefined;
  c.on('disconnect', (e: Error) => (gone = e));
  await until(() => s.conns.length === 1);
  const conn = s.conns[0]!;
  for (let i = 0; i < 300; i++) conn.sendEvent(resFrame(i, new Uint8Array(40).fill((i % 250) + 1)));
  // some went to the client's socket, the rest wait in the server's outbox: closed with them
  conn.close();
  await until(() => gone !== undefined);
  expect(c.connected).toBe(false);
  expect(seen.length).toBeLessThan(300);
  expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => [i, 64, (i % 250) + 1]));
  await c.close();
  await server.close();
  server = undefined;
  await until(() => ipcFds().length === fds0.length && shmMappings().length === maps0.length);
  expect(ipcFds()).toEqual(fds0);
  expect(shmMappings()).toEqual(maps0);
});
