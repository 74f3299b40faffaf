// The shm request's crossing takes its reply when the server answered during the doorbell
// (issue 13): ringWrite, given the response waiter, takes the reply's token and reads its chunk,
// and the client delivers it once the call is pending. An in-process server cannot answer during
// the doorbell (it runs on this thread), so ringWrite is wrapped: `crossing.before` runs where a
// server preempting the client at its doorbell would answer (the request is not in the ring yet,
// which the client cannot tell apart), `crossing.after` just after the crossing. Every case
// counts the crossings that took a reply, so it is known to have gone through that path.
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureWriter } from '../src/capture-writer.js';
import { connect, createServer, type IpcClient, type IpcError, type IpcServer, type IpcServerConnection } from '../src/index.js';
import { native } from '../src/native.js';
import { echoed, header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

/** ringWrite's result when its crossing took a reply (ring.ts RW_ANSWERED). */
const RW_ANSWERED = 4;
const n = native();

interface Crossing {
  before?(frame: Uint8Array): void;
  after?(frame: Uint8Array): void;
}
let crossing: Crossing = {};
/** ringWrites whose crossing took a reply. */
let answeredInCrossing = 0;
/** waiterWant calls asking the thread for at least one token. */
let handOvers = 0;

let server: IpcServer | undefined;
let client: IpcClient | undefined;
/** The server's side of the last connection. */
let conn: IpcServerConnection;
/** Requests seen (by a crossing or the server) and not answered yet, in order. */
let open: Uint8Array[];
let answered: Set<number>;
/** The server leaves the requests it reads unanswered (answerUpTo answers them). */
let hold: boolean;

function note(f: Uint8Array): void {
  const id = header(f).id;
  if (!answered.has(id) && !open.some((o) => header(o).id === id)) open.push(f.slice());
}

/**
 * Publishes `frame` on the response ring as the server's transport does, without
 * IpcServerConnection.respond()'s count of requests read: a server answering during the doorbell
 * has read a request this server has not.
 */
function publish(frame: Uint8Array): void {
  (conn as unknown as { impl: { respond(f: Uint8Array): void } }).impl.respond(frame);
}

/** Answers the requests seen, in order, up to the one with `id`. */
function answerUpTo(id: number): void {
  const i = open.findIndex((o) => header(o).id === id);
  for (const f of open.splice(0, i + 1)) {
    answered.add(header(f).id);
    publish(echoed(f));
  }
}

/** What an honest server preempting its client at the doorbell does: every request answered there. */
const answerAtDoorbell: Crossing = {
  before(f) {
    note(f);
    answerUpTo(header(f).id);
  },
};

let fdsBefore: string[];
let mapsBefore: string[];
beforeEach(async () => {
  fdsBefore = ipcFds();
  mapsBefore = shmMappings();
  crossing = {};
  answeredInCrossing = 0;
  handOvers = 0;
  open = [];
  answered = new Set();
  hold = false;
  const ringWrite = n.ringWrite.bind(n) as (...a: unknown[]) => number;
  vi.spyOn(n, 'ringWrite').mockImplementation(((...a: unknown[]) => {
    // A client's request, whether or not it looks for its reply (the server's answers ring no doorbell: fd -1).
    const look = (a[2] as number) >= 0;
    if (look) crossing.before?.(a[1] as Uint8Array);
    const r = ringWrite(...a);
    if (r === RW_ANSWERED) answeredInCrossing++;
    if (look) crossing.after?.(a[1] as Uint8Array);
    return r;
  }) as typeof n.ringWrite);
  const waiterWant = n.waiterWant.bind(n);
  vi.spyOn(n, 'waiterWant').mockImplementation((w, count) => {
    if (count > 0) handOvers++;
    return waiterWant(w, count);
  });
  const name = uniqueName('fast');
  server = createServer(name, { transport: 'shm' });
  server.on('connection', (c) => {
    conn = c;
    c.on('request', (f) => {
      if (answered.has(header(f).id)) return;
      note(f);
      if (!hold) answerUpTo(header(f).id);
    });
  });
  await server.listen();
  client = await connect(name);
  expect(client.transport).toBe('shm');
  // The first call registers the response ring with the waiter: it is never answered in its crossing.
  expect(header(await client.request(reqFrame(1, 16))).id).toBe(1001);
  expect(answeredInCrossing).toBe(0);
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  if (server) {
    await until(() => server!.connections.size === 0);
    await server.close();
    server = undefined;
  }
  vi.restoreAllMocks();
  expect(shmFiles()).toEqual([]);
  expect(shmMappings()).toEqual(mapsBefore);
  expect(ipcFds()).toEqual(fdsBefore);
});

/** The response semaphore's count: published replies whose token nobody took. */
function responseTokens(c: IpcClient): number {
  return (c as unknown as { impl: { responseSem: Int32Array } }).impl.responseSem[0]!;
}

const id = (f: Uint8Array) => header(f).id;
/** A hint that lets calls be in flight together (the default claims the whole response ring). */
const small = { maxResponseSize: 64 };

describe('shm: a reply published during the doorbell is taken in the send', () => {
  it('is delivered within request(), before it returns, to the call that sent it; no timer or abort listener outlives it', async () => {
    const c = client!;
    crossing = answerAtDoorbell;
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 50; i++) {
      const ac = new AbortController();
      let inside = true;
      let parsedInside: boolean | undefined;
      const frame = reqFrame(100 + i, 16 + i, i);
      const p = c.requestWith(frame, { timeout: 5000, signal: ac.signal }, (f) => ((parsedInside = inside), f), (e) => e, undefined);
      inside = false;
      ac.abort();
      const r = await p;
      expect(parsedInside).toBe(true);
      expect(id(r)).toBe(1100 + i);
      expect(r.subarray(24)).toEqual(frame);
    }
    expect(timeouts).not.toHaveBeenCalled();
    expect(answeredInCrossing).toBe(50);
    expect(responseTokens(c)).toBe(0);
  });

  it('pipelined calls of mixed sizes, some queued behind a full response ring, settle in order with their own answers', async () => {
    const c = client!;
    crossing = answerAtDoorbell;
    const order: number[] = [];
    const calls: Promise<Uint8Array>[] = [];
    for (let i = 0; i < 64; i++) {
      // Every third call claims the largest answer: it waits until the calls before it are answered.
      const maxResponseSize = i % 3 === 0 ? c.maxMessageSize : 64;
      const call = c.request(reqFrame(200 + i, 16 + ((i * 37) % 3000), i), { maxResponseSize });
      void call.then(() => order.push(200 + i));
      calls.push(call);
    }
    const replies = await Promise.all(calls);
    expect(replies.map(id)).toEqual(calls.map((_, i) => 1200 + i));
    replies.forEach((r, i) => expect(r.length).toBe(24 + 16 + ((i * 37) % 3000)));
    expect(order).toEqual(calls.map((_, i) => 200 + i));
    expect(answeredInCrossing).toBeGreaterThan(20);
    expect(responseTokens(c)).toBe(0);
  });

  it('the token a send takes may be an earlier call\'s: each call still gets its own answer', async () => {
    const c = client!;
    // A and B go out in the same turn (the loop's wait for A has not run): at C's doorbell the
    // server has answered A only.
    crossing = { before: note };
    const a = c.request(reqFrame(10, 16), small);
    const b = c.request(reqFrame(11, 20), small);
    crossing = { before: () => answerUpTo(10) };
    const cc = c.request(reqFrame(12, 24), small);
    crossing = {};
    expect(answeredInCrossing).toBe(1);
    expect(id(await a)).toBe(1010);
    answerUpTo(11);
    expect(id(await b)).toBe(1011);
    note(reqFrame(12, 24));
    answerUpTo(12);
    expect(id(await cc)).toBe(1012);
    expect(responseTokens(c)).toBe(0);
  });

  it('earlier calls handed to the waiter thread, one of their tokens taken in a crossing: the rest is waited for again', async () => {
    const c = client!;
    // Whether the crossing or the thread (asleep on the semaphore on the other vCPU) takes A's
    // token is a race: rounds until the crossing has won a few. Lost by the crossing, the round
    // is the ordinary path.
    for (let round = 0; round < 200 && answeredInCrossing < 3; round++) {
      const base = 600 + 10 * round;
      hold = true;
      const before = handOvers;
      const a = c.request(reqFrame(base, 16), small);
      const b = c.request(reqFrame(base + 1, 16), small);
      await until(() => handOvers > before && open.length === 2);
      crossing = { before: () => answerUpTo(base) };
      const cc = c.request(reqFrame(base + 2, 16), { ...small, timeout: 3000 });
      crossing = {};
      expect(id(await a)).toBe(base + 1000);
      // B and C answered together: the thread, told A's token was taken, would otherwise take B's
      // and sleep on with C's published.
      note(reqFrame(base + 2, 16));
      answerUpTo(base + 2);
      expect([id(await b), id(await cc)]).toEqual([base + 1001, base + 1002]);
      expect(responseTokens(c)).toBe(0);
    }
    expect(answeredInCrossing).toBe(3);
  });

  it('after calls answered in their crossing, a slow reply still wakes the waiter thread, and the next calls take theirs again', async () => {
    const c = client!;
    for (let round = 0; round < 3; round++) {
      crossing = answerAtDoorbell;
      for (let i = 0; i < 10; i++) expect(id(await c.request(reqFrame(300 + 10 * round + i, 16)))).toBe(1300 + 10 * round + i);
      crossing = {};
      hold = true;
      const before = handOvers;
      const slow = c.request(reqFrame(400 + round, 16));
      await until(() => handOvers > before && open.length === 1);
      hold = false;
      answerUpTo(400 + round);
      expect(id(await slow)).toBe(1400 + round);
      expect(responseTokens(c)).toBe(0);
    }
    expect(answeredInCrossing).toBe(30);
  });

  it('an answer above its call\'s maxResponseSize and the pool\'s 4 KiB, left by the crossing\'s read to readPooled(), arrives whole', async () => {
    const c = client!;
    crossing = answerAtDoorbell;
    const frame = reqFrame(30, 60000, 7);
    const r = await c.request(frame, { maxResponseSize: 100 });
    expect(answeredInCrossing).toBe(1);
    expect(id(r)).toBe(1030);
    expect(r.subarray(24)).toEqual(frame);
  });
});

describe('shm: events published before an answer taken in the crossing', () => {
  it('go first, from a microtask, never inside request(); a listener\'s own request is answered too', async () => {
    const c = client!;
    crossing = {
      before(f) {
        if (id(f) === 40) conn.sendEvent(resFrame(77));
        answerAtDoorbell.before!(f);
      },
    };
    const log: string[] = [];
    let inRequest = false;
    let nested: Promise<Uint8Array> | undefined;
    c.on('event', (e) => {
      log.push(`event ${id(e)} inRequest=${inRequest}`);
      nested = c.request(reqFrame(41, 16));
      void nested.then((r) => log.push(`nested ${id(r)}`));
    });
    inRequest = true;
    const p = c.request(reqFrame(40, 16));
    inRequest = false;
    void p.then((r) => log.push(`answer ${id(r)}`));
    await p;
    await until(() => nested !== undefined);
    await nested;
    expect(log).toEqual(['event 77 inRequest=false', 'answer 1040', 'nested 1041']);
    expect(answeredInCrossing).toBe(2);
  });

  it('a deferred answer is not overwritten by the wait of an earlier call that finds the next reply', async () => {
    const c = client!;
    hold = true;
    const events: number[] = [];
    c.on('event', (e) => events.push(id(e)));
    // A goes out first, its wait queued; B's doorbell finds A answered after an event, and B's own
    // reply is published before the loop's wait runs.
    crossing = { before: note };
    const a = c.request(reqFrame(50, 16), small);
    crossing = {
      before(f) {
        note(f);
        conn.sendEvent(resFrame(78));
        answerUpTo(50);
      },
      after: () => answerUpTo(51),
    };
    const b = c.request(reqFrame(51, 32), small);
    crossing = {};
    expect(answeredInCrossing).toBe(1);
    expect([id(await a), id(await b)]).toEqual([1050, 1051]);
    expect(events).toEqual([78]);
    expect(c.connected).toBe(true);
    expect(responseTokens(c)).toBe(0);
  });

  it('a deferred answer is not overwritten by the next call\'s crossing in the same turn', async () => {
    const c = client!;
    const events: number[] = [];
    c.on('event', (e) => events.push(id(e)));
    crossing = {
      before(f) {
        conn.sendEvent(resFrame(id(f) + 100));
        answerAtDoorbell.before!(f);
      },
    };
    const calls = [55, 56, 57].map((i) => c.request(reqFrame(i, 16 + i), small));
    crossing = {};
    expect((await Promise.all(calls)).map(id)).toEqual([1055, 1056, 1057]);
    expect(events).toEqual([155, 156, 157]);
    // The first only: the next two find its answer still to deliver and leave theirs to the wait.
    expect(answeredInCrossing).toBe(1);
    expect(responseTokens(c)).toBe(0);
  });

  it('closing the client while an answer taken in the crossing waits behind an event: the call settles, nothing leaks', async () => {
    const c = client!;
    crossing = {
      before(f) {
        conn.sendEvent(resFrame(79));
        answerAtDoorbell.before!(f);
      },
    };
    c.on('event', () => {});
    const p = c.request(reqFrame(60, 16)).then(
      (r) => id(r),
      (e: IpcError) => e.code,
    );
    expect(answeredInCrossing).toBe(1);
    const closing = c.close();
    expect([1060, 'ENOTCONN', 'ECONNRESET']).toContain(await p);
    await closing;
  });
});

describe('shm: calls that gave up, and answers that do not fit, met in the crossing', () => {
  it('the late answer of a timed-out call is dropped; an aborted one\'s too; the next call gets its own', async () => {
    const c = client!;
    hold = true;
    crossing = { before: note };
    const timedOut = c.request(reqFrame(70, 16), { ...small, timeout: 20 });
    await expect(timedOut).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const ac = new AbortController();
    const aborted = c.request(reqFrame(71, 16), { ...small, signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' });
    hold = false;
    crossing = answerAtDoorbell;
    expect(id(await c.request(reqFrame(72, 16), small))).toBe(1072);
    expect(answeredInCrossing).toBe(1);
    expect(responseTokens(c)).toBe(0);
  });

  it('a parse error rejects that call only; a failed verify fails the connection with EPROTO', async () => {
    const c = client!;
    crossing = answerAtDoorbell;
    const bad = new Error('cannot parse');
    await expect(
      c.requestWith(reqFrame(80, 16), undefined, () => {
        throw bad;
      }, (e) => e, undefined),
    ).rejects.toBe(bad);
    expect(id(await c.request(reqFrame(81, 16)))).toBe(1081);
    const disconnected = new Promise<IpcError>((resolve) => c.once('disconnect', resolve));
    await expect(c.request(reqFrame(82, 16), { verify: (r) => id(r) === 82 })).rejects.toMatchObject({ code: 'ECONNRESET', message: expect.stringMatching(/EPROTO.*does not answer/) });
    expect((await disconnected).message).toMatch(/EPROTO.*does not answer/);
    expect(answeredInCrossing).toBe(3);
  });
});

describe('shm: a hostile server at the doorbell', () => {
  it('answering twice: the surplus reply fails the connection with EPROTO', async () => {
    const c = client!;
    crossing = {
      before(f) {
        answerAtDoorbell.before!(f);
        publish(echoed(f));
      },
    };
    const disconnected = new Promise<IpcError>((resolve) => c.once('disconnect', resolve));
    const call = c.request(reqFrame(90, 16));
    // Found as the answer is taken, within request(): the next call is refused.
    await expect(c.request(reqFrame(91, 16))).rejects.toMatchObject({ code: 'ENOTCONN' });
    expect(id(await call)).toBe(1090);
    expect((await disconnected).message).toMatch(/EPROTO.*nobody asked for/);
    expect(answeredInCrossing).toBe(1);
  });

  it('a reply published before the request is sent: EPROTO, nothing delivered to the call', async () => {
    const c = client!;
    publish(resFrame(999));
    await expect(c.request(reqFrame(92, 16))).rejects.toMatchObject({ code: 'ECONNRESET', message: expect.stringMatching(/EPROTO.*nobody asked for/) });
    expect(answeredInCrossing).toBe(0);
  });

  it('a wrong id answers nothing verify accepts: EPROTO; one whose header size lies is delivered as the chunk it is or fails typed', async () => {
    const c = client!;
    crossing = {
      before(f) {
        answered.add(id(f));
        const r = resFrame(id(f) + 5000);
        if (id(f) === 94) new DataView(r.buffer).setInt32(8, 1 << 20, true);
        publish(r);
      },
    };
    const lied = await c.request(reqFrame(94, 16)).then(
      (r) => r.length,
      (e: IpcError) => e.code,
    );
    expect([24, 'EBADMSG', 'ECONNRESET']).toContain(lied);
    if (c.connected) await expect(c.request(reqFrame(95, 16), { verify: (r) => id(r) === 1095 })).rejects.toMatchObject({ code: 'ECONNRESET', message: expect.stringMatching(/EPROTO.*does not answer/) });
    expect(answeredInCrossing).toBeGreaterThan(0);
  });

  it('closing the connection right after answering: the call gets its answer, then one disconnect', async () => {
    const c = client!;
    const disconnected = new Promise<IpcError>((resolve) => c.once('disconnect', resolve));
    crossing = { before: answerAtDoorbell.before, after: () => conn.close() };
    expect(id(await c.request(reqFrame(96, 16)))).toBe(1096);
    expect(answeredInCrossing).toBe(1);
    expect((await disconnected).code).toBe('ECONNRESET');
  });

  it('truncating the response ring after answering: the crossing\'s read faults (SIGBUS absorbed) and the connection fails with a typed error', async () => {
    const c = client!;
    const dataPath = (c as unknown as { impl: { response: { dataPath: string } } }).impl.response.dataPath;
    crossing = {
      before(f) {
        answerAtDoorbell.before!(f);
        truncateSync(dataPath, 0);
      },
    };
    const r = await c.request(reqFrame(97, 16)).then(
      (res) => id(res),
      (e: IpcError) => e.code,
    );
    expect(['EBADMSG', 'ECONNRESET']).toContain(r);
    expect(c.connected).toBe(false);
  });
});

describe('shm: recording calls answered in the crossing', () => {
  it('writes each req frame before its res frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cts-fast-'));
    try {
      const path = join(dir, 'c.jsonl');
      const cw = CaptureWriter.open(path, { mode: 'client', name: 'test', version: '0' });
      const first = conn;
      const c = await connect(server!.name, { capture: cw, captureService: 'cmap' });
      expect(conn).not.toBe(first);
      expect(id(await c.request(reqFrame(2, 16)))).toBe(1002);
      crossing = answerAtDoorbell;
      for (let i = 0; i < 5; i++) await c.request(reqFrame(500 + i, 16 + i));
      expect(answeredInCrossing).toBe(5);
      await c.close();
      cw.close();
      const frames = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"hex"'))
        .map((l) => JSON.parse(l) as { dir: string; hex: string })
        .filter((l) => l.dir === 'req' || l.dir === 'res')
        .map((l) => `${l.dir}:${l.hex.length / 2}`);
      expect(frames).toEqual(['req:16', 'res:40', ...[0, 1, 2, 3, 4].flatMap((i) => [`req:${16 + i}`, `res:${40 + i}`])]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
