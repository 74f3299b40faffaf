// A server that misbehaves over shared memory (issue 9, items 3, 5, 6): the files it names
// and the rings it shares. Every case ends in a typed IpcError in bounded time, leaves no
// fd, mapping or /dev/shm file behind, never writes into a file outside the connection's
// directory, and leaves other connections alone. The process must also survive: before the
// SIGBUS guard, a truncated ring file killed the test worker.
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, copyFileSync, existsSync, linkSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, createServer, type IpcClient, type IpcError, type IpcServer } from '../src/index.js';
import { native } from '../src/native.js';
import { Ring } from '../src/ring.js';
import { MAX, hostileShmServer, type FakeConn, type ReplyFields } from './fixtures/hostile-shm-server.js';
import { echoServer, echoed, header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

const NOBODY = 65534;
const OFF_WRITE_PT = 0;
const OFF_READ_PT = 4;
const OFF_WORD_SIZE = 8;
const OFF_DATA_PATH = 4108;
const OFF_REF_COUNT = 8204;
const OFF_SEM = 8208;

function poke(path: string, offset: number, value: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  writeSync(fd, b, 0, 4, offset);
  closeSync(fd);
}

function pokeString(path: string, offset: number, value: string): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.from(`${value}\0`);
  writeSync(fd, b, 0, b.length, offset);
  closeSync(fd);
}

let outside: string;
/** Replace `path` by a symlink to a copy of it outside /dev/shm; the copy's path. */
function moveOutside(path: string): string {
  const copy = join(outside, basename(path));
  copyFileSync(path, copy);
  unlinkSync(path);
  symlinkSync(copy, path);
  return copy;
}

function replaceWith(path: string, make: (p: string) => void): void {
  unlinkSync(path);
  make(path);
}

/** Undone after each case, before the leak checks. */
const cleanup: (() => void)[] = [];

/** Files outside /dev/shm whose bytes must never change. */
const watched = new Map<string, Buffer>();
function watch(path: string): void {
  watched.set(path, readFileSync(path));
}

let bystanderServer: IpcServer;
let bystander: IpcClient;
beforeAll(async () => {
  const name = uniqueName('bystander');
  ({ server: bystanderServer } = await echoServer(name, { transport: 'shm' }));
  bystander = await connect(name, { timeout: 5000 });
});
afterAll(async () => {
  await bystander.close();
  await bystanderServer.close();
});

let fdsBefore: string[];
let mapsBefore: string[];
let filesBefore: string[];
beforeEach(() => {
  outside = mkdtempSync(join(tmpdir(), 'cts-outside-'));
  watched.clear();
  fdsBefore = ipcFds();
  mapsBefore = shmMappings();
  filesBefore = shmFiles();
});
afterEach(async () => {
  for (const [path, bytes] of watched) expect(readFileSync(path).equals(bytes), `${path} changed`).toBe(true);
  rmSync(outside, { recursive: true, force: true });
  for (const f of cleanup.splice(0)) f();
  expect(ipcFds()).toEqual(fdsBefore);
  expect(shmMappings()).toEqual(mapsBefore);
  expect(shmFiles()).toEqual(filesBefore);
  // Nothing that happened to the victim reaches another connection.
  expect(header(await bystander.request(reqFrame(7, 16), { timeout: 5000 })).id).toBe(1007);
});

/** Why connecting to `name` failed; undefined if it did not (then one request, as a client would make). */
async function refusal(name: string): Promise<IpcError | undefined> {
  return connect(name, { maxMessageSize: MAX, timeout: 5000 }).then(
    async (c) => {
      await c.request(reqFrame(1, 16), { timeout: 200 }).catch(() => {});
      await c.close();
      return undefined;
    },
    (e: IpcError) => e,
  );
}

/**
 * Runs `body` with a client of a hostile shm server after one honest round trip (the rings work
 * until the server turns on us), the server no longer echoing; `disc()` is the client's
 * disconnect error once there is one. Closes both sides after, whatever `body` did.
 */
async function turnedServer(body: (c: IpcClient, conn: FakeConn, disc: () => IpcError | undefined) => void | Promise<void>): Promise<void> {
  const name = uniqueName('hshm');
  const srv = hostileShmServer(name, 'shm');
  try {
    const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
    expect(header(await c.request(reqFrame(1, 16), { timeout: 5000 })).id).toBe(1001);
    let disc: IpcError | undefined;
    c.on('disconnect', (e) => (disc = e));
    const conn = srv.conns[0]!;
    conn.echo = false;
    await body(c, conn, () => disc);
    await c.close();
  } finally {
    srv.close();
  }
}

const hdr = (c: FakeConn, kind: string) => `${c.base(kind)}-header`;
const data = (c: FakeConn, kind: string) => `${c.base(kind)}-data`;

describe('a server whose shm files are not what they claim: connect fails with EBADMSG', () => {
  const cases: [string, 'shm' | 'socket', (c: FakeConn) => ReplyFields | void, RegExp][] = [
    ['a ring header is a symlink to a file outside /dev/shm', 'shm', (c) => watch(moveOutside(hdr(c, 'request'))), /symbolic link/],
    ['a ring data file is a symlink to a file outside /dev/shm', 'shm', (c) => watch(moveOutside(data(c, 'response'))), /symbolic link/],
    ['a ring header is owned by another uid', 'shm', (c) => chownSync(hdr(c, 'event'), NOBODY, NOBODY), /owned by uid 65534/],
    ['a ring data file is owned by another uid', 'shm', (c) => chownSync(data(c, 'request'), NOBODY, NOBODY), /owned by uid 65534/],
    ['a ring header has the wrong size', 'shm', (c) => truncateSync(hdr(c, 'response'), 4096), /4096 bytes/],
    ['a ring data file is shorter than its header says', 'shm', (c) => truncateSync(data(c, 'event'), 8192), /8192 bytes, not the 16384/],
    ['a ring data file is longer than its header says', 'shm', (c) => truncateSync(data(c, 'request'), 32768), /32768 bytes/],
    [
      'a ring header announces a ring too small for the negotiated maximum',
      'shm',
      (c) => {
        poke(hdr(c, 'request'), OFF_WORD_SIZE, 1024);
        truncateSync(data(c, 'request'), 4096);
      },
      /does not match the negotiated maximum/,
    ],
    ['a ring header is a FIFO', 'shm', (c) => replaceWith(hdr(c, 'request'), (p) => execFileSync('mkfifo', [p])), /not a regular file/],
    ['a ring data file is a FIFO', 'shm', (c) => replaceWith(data(c, 'response'), (p) => execFileSync('mkfifo', [p])), /not a regular file/],
    ['a ring data file is a character device (/dev/null)', 'shm', (c) => replaceWith(data(c, 'event'), (p) => execFileSync('mknod', [p, 'c', '1', '3'])), /not a regular file/],
    ['a ring header has a second hard link', 'shm', (c) => linkSync(hdr(c, 'response'), `${c.dir}/another-name`), /2 links/],
    [
      'a ring data path leaves the connection directory for another one in /dev/shm',
      'shm',
      (c) => {
        const other = mkdtempSync(`/dev/shm/qb-${process.pid}-other-`);
        copyFileSync(data(c, 'request'), `${other}/data`);
        pokeString(hdr(c, 'request'), OFF_DATA_PATH, `${other}/data`);
        cleanup.push(() => rmSync(other, { recursive: true, force: true }));
      },
      /outside the connection's directory/,
    ],
    [
      'the ring bases lie in different directories',
      'shm',
      (c) => ({ ...c.reply(), event: `/dev/shm/qb-${process.pid}-elsewhere/qb-event-x` }),
      /outside the connection's directory/,
    ],
    ['a ring data path is not NUL-terminated', 'shm', (c) => pokeString(hdr(c, 'response'), OFF_DATA_PATH, '/dev/shm/'.padEnd(4100, 'x')), /not NUL-terminated/],
    ['a ring data path has a ".." component', 'shm', (c) => pokeString(hdr(c, 'event'), OFF_DATA_PATH, `${c.dir}/../${basename(c.dir)}/x`), /not inside \/dev\/shm/],
    ['the control file is a symlink to a file outside /dev/shm', 'socket', (c) => watch(moveOutside(c.controlPath!)), /symbolic link/],
    ['the control file is owned by another uid', 'socket', (c) => chownSync(c.controlPath!, NOBODY, NOBODY), /owned by uid 65534/],
    ['the control file has the wrong size', 'socket', (c) => truncateSync(c.controlPath!, 4096), /4096 bytes, not 24/],
    ['the control file is a FIFO', 'socket', (c) => replaceWith(c.controlPath!, (p) => execFileSync('mkfifo', [p])), /not a regular file/],
    ['the control file has a second hard link', 'socket', (c) => linkSync(c.controlPath!, `${c.dir}/another-name`), /2 links/],
  ];
  for (const [what, transport, tamper, reason] of cases) {
    it(`${transport}: ${what}`, async () => {
      const name = uniqueName('hshm');
      const srv = hostileShmServer(name, transport, tamper);
      try {
        const err = await refusal(name);
        expect(err).toMatchObject({ name: 'IpcError', code: 'EBADMSG' });
        expect(err!.message).toMatch(reason);
      } finally {
        srv.close();
      }
    });
  }

  it('shm: the connection directory is a symlink to a directory outside /dev/shm', async () => {
    const name = uniqueName('hshm');
    const link = `/dev/shm/qb-${process.pid}-link-${name}`;
    symlinkSync(outside, link);
    const rings: Ring[] = [];
    const before = new Map<string, Buffer>();
    const srv = hostileShmServer(name, 'shm', () => {
      // Real rings, but created through the link: their files live in /tmp.
      for (const k of ['request', 'response', 'event']) rings.push(Ring.create(`${link}/qb-${k}-${name}`, MAX));
      for (const f of [`${outside}/qb-request-${name}-header`, `${outside}/qb-request-${name}-data`]) before.set(f, readFileSync(f));
      return { type: 1, request: `${link}/qb-request-${name}`, response: `${link}/qb-response-${name}`, event: `${link}/qb-event-${name}` };
    });
    try {
      const err = await refusal(name);
      expect(err).toMatchObject({ name: 'IpcError', code: 'EBADMSG' });
      expect(err!.message).toMatch(/symbolic link/);
      expect(before.size).toBe(2);
      for (const [f, bytes] of before) expect(readFileSync(f).equals(bytes), `${f} changed`).toBe(true);
    } finally {
      srv.close();
      for (const r of rings) r.destroy();
      unlinkSync(link);
    }
  });

  it('shm: an honest fixture connects and echoes (the cases above fail for their one defect)', async () => {
    const name = uniqueName('hshm');
    const srv = hostileShmServer(name, 'shm');
    try {
      const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
      expect(c.transport).toBe('shm');
      expect(header(await c.request(reqFrame(3, 40), { timeout: 5000 })).id).toBe(1003);
      await c.close();
    } finally {
      srv.close();
    }
  });
});

describe('a server that truncates or corrupts its rings after the handshake: the connection fails', () => {
  // [what, tamper (after connect; the fake server has stopped answering), what the server
  //  does next (null: nothing, the client's request is the trigger), expected cause]
  type Step = (c: FakeConn) => void;
  const post = (kind: 'response' | 'event'): Step => (c) => {
    native().semPost(c.rings![kind].semBuffer, Ring.SEM_OFFSET);
    if (kind === 'event') native().send(c.setupFd, new Uint8Array([0]));
  };
  const cases: [string, Step, Step | null, string, RegExp][] = [
    ['truncates the response ring data file, then posts a response', (c) => truncateSync(data(c, 'response'), 0), post('response'), 'EBADMSG', /truncated under us/],
    ['truncates the request ring data file', (c) => truncateSync(data(c, 'request'), 0), null, 'EBADMSG', /truncated under us/],
    ['truncates the event ring data file, then sends an event', (c) => truncateSync(data(c, 'event'), 0), post('event'), 'EBADMSG', /truncated under us/],
    ['truncates the request ring header', (c) => truncateSync(hdr(c, 'request'), 0), null, 'ECONNRESET', /released the request ring/],
    // Read by the waiter thread's sem_timedwait: it reports the fault within one 100 ms wait.
    ['truncates the response ring header while a response is due', (c) => truncateSync(hdr(c, 'response'), 0), null, 'EBADMSG', /truncated under us/],
    ['puts the request ring write pointer past the end (used to retry forever)', (c) => poke(hdr(c, 'request'), OFF_WRITE_PT, 4096 + 17), null, 'EBADMSG', /write pointer 4113/],
    ['puts the request ring read pointer past the end', (c) => poke(hdr(c, 'request'), OFF_READ_PT, 0xfffffff0), null, 'EBADMSG', /read pointer 4294967280/],
    ['changes the request ring reference count', (c) => poke(hdr(c, 'request'), OFF_REF_COUNT, 7), null, 'ECONNRESET', /released the request ring/],
    ['puts the event ring read pointer past the end, then sends an event', (c) => poke(hdr(c, 'event'), OFF_READ_PT, 5000), post('event'), 'EBADMSG', /read pointer 5000/],
    ['puts the response ring read pointer past the end, then posts', (c) => poke(hdr(c, 'response'), OFF_READ_PT, 4096), post('response'), 'EBADMSG', /outside its 4096 words/],
    ['posts a response it never wrote', () => {}, post('response'), 'EBADMSG', /not committed/],
    [
      'posts a response chunk longer than the ring',
      (c) => {
        poke(data(c, 'response'), 0, 0x7ffffff0);
        poke(data(c, 'response'), 4, 0xa1a1a1a1);
        poke(hdr(c, 'response'), OFF_READ_PT, 0);
        poke(hdr(c, 'response'), OFF_WRITE_PT, 100);
      },
      post('response'),
      'EBADMSG',
      /runs past the published part/,
    ],
    [
      'posts a response chunk that runs past its write pointer (stale bytes beyond)',
      (c) => {
        poke(data(c, 'response'), 0, 1000);
        poke(data(c, 'response'), 4, 0xa1a1a1a1);
        poke(hdr(c, 'response'), OFF_READ_PT, 0);
        poke(hdr(c, 'response'), OFF_WRITE_PT, 10);
      },
      post('response'),
      'EBADMSG',
      /1000 at word 0 runs past the published part of the ring \(10 words\)/,
    ],
    [
      'sets a huge event semaphore count and rings the doorbell',
      (c) => poke(hdr(c, 'event'), OFF_SEM, 0x7fffffff),
      (c) => native().send(c.setupFd, new Uint8Array([0])),
      'EBADMSG',
      /not committed/,
    ],
  ];
  for (const [what, tamper, next, cause, reason] of cases) {
    it(what, () =>
      turnedServer(async (c, conn, disc) => {
        tamper(conn);
        const pending = c.request(reqFrame(2, 16)).catch((e: IpcError) => e);
        next?.(conn);
        await until(() => disc() !== undefined, 5000);
        expect(disc()).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
        const root = disc()!.cause === undefined ? disc()! : (disc()!.cause as IpcError);
        expect(root).toMatchObject({ name: 'IpcError', code: cause });
        expect(root.message).toMatch(reason);
        expect(await pending).toBe(disc());
      }),
    );
  }
});

describe('a server that breaks the request ring between the one-way requests of a turn', () => {
  // The first one-way request of a turn is published at once, the next ones are written into the
  // ring unposted (the turn's end posts them): the tampering lands on such a held write.
  const cases: [string, (c: FakeConn) => void, RegExp][] = [
    ['truncates the request ring data file', (c) => truncateSync(data(c, 'request'), 0), /truncated under us/],
    ['puts the request ring write pointer past the end', (c) => poke(hdr(c, 'request'), OFF_WRITE_PT, 4096 + 17), /write pointer 4113/],
  ];
  for (const [what, tamper, reason] of cases) {
    it(`${what}: the held request fails the connection with EBADMSG, nothing is posted`, () =>
      turnedServer((c, conn, disc) => {
        expect(c.sendNow(reqFrame(2, 16), 2)).toBe(true);
        const sem = new Int32Array(conn.rings!.request.semBuffer, Ring.SEM_OFFSET, 1);
        const posted = Atomics.load(sem, 0);
        tamper(conn);
        expect(() => c.sendNow(reqFrame(2, 16), 2)).toThrow(expect.objectContaining({ code: 'ECONNRESET' }));
        expect(disc()).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
        expect(disc()!.cause).toMatchObject({ name: 'IpcError', code: 'EBADMSG' });
        expect((disc()!.cause as IpcError).message).toMatch(reason);
        expect(Atomics.load(sem, 0)).toBe(posted);
      }),
    );
  }
});

describe('a server that swaps its directory for a symlink after the handshake', () => {
  it('socket: closing the client removes nothing through the link', async () => {
    const name = uniqueName('hshm');
    const srv = hostileShmServer(name, 'socket');
    try {
      const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
      const conn = srv.conns[0]!;
      // The real directory goes elsewhere; in its place a link to a directory outside
      // holding a file of the control file's name.
      const hidden = `${conn.dir}-real`;
      renameSync(conn.dir, hidden);
      writeFileSync(join(outside, basename(conn.controlPath!)), 'precious');
      watch(join(outside, basename(conn.controlPath!)));
      symlinkSync(outside, conn.dir);
      await c.close();
      expect(existsSync(join(outside, basename(conn.controlPath!)))).toBe(true);
      unlinkSync(conn.dir);
      renameSync(hidden, conn.dir);
    } finally {
      srv.close();
    }
  });
});

describe('a client that corrupts or truncates the rings our server writes into', () => {
  const cases: [string, (dir: string, name: string) => void][] = [
    ['puts the response ring write pointer past the end', (dir, name) => poke(`${dir}/qb-response-${name}-header`, OFF_WRITE_PT, 4096 + 3)],
    ['truncates the response ring data file', (dir, name) => truncateSync(`${dir}/qb-response-${name}-data`, 0)],
  ];
  for (const [what, tamper] of cases) {
    it(`${what}: the server drops that client, respond() does not throw, the process survives`, async () => {
      const name = uniqueName('hshm-srv');
      const server = createServer(name, { transport: 'shm', maxMessageSize: MAX });
      const thrown: unknown[] = [];
      let closed = false;
      server.on('connection', (c) => {
        c.on('close', () => (closed = true));
        c.on('request', (f) => {
          try {
            c.respond(echoed(f));
          } catch (e) {
            thrown.push(e);
          }
        });
      });
      await server.listen();
      try {
        const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
        expect(header(await c.request(reqFrame(1, 16), { timeout: 5000 })).id).toBe(1001);
        const conn = [...server.connections][0]!;
        tamper(conn.dir, name);
        const pending = c.request(reqFrame(2, 16)).catch((e: IpcError) => e);
        await until(() => closed, 5000);
        expect(thrown).toEqual([]);
        expect(await pending).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
        await c.close();
      } finally {
        await server.close();
      }
    });
  }
});

describe('a backlog of events read in batches (Ring.readMany)', () => {
  const evt = (id: number) => resFrame(id, new Uint8Array(40).fill(id & 0xff));
  const pointer = (c: FakeConn, off: number) => readFileSync(hdr(c, 'event')).readUInt32LE(off);

  it('takes a backlog in a few native calls, in order, each frame its own intact copy', async () => {
    const name = uniqueName('hshm');
    const srv = hostileShmServer(name, 'shm');
    const calls = { n: 0 };
    const n = native();
    const orig = n.ringReadMany;
    n.ringReadMany = (...args) => {
      calls.n++;
      return orig(...args);
    };
    cleanup.push(() => (n.ringReadMany = orig));
    try {
      const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
      const conn = srv.conns[0]!;
      const got: Uint8Array[] = [];
      c.on('event', (f) => got.push(f));
      // More than the 4 KiB test ring holds at once is not needed: 60 events of 64 bytes fill most of it.
      for (let i = 1; i <= 60; i++) conn.sendEvent(evt(i));
      await until(() => got.length === 60, 5000);
      expect(got.map((f) => header(f).id)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      for (const f of got) expect(f).toEqual(evt(header(f).id));
      // Frames never share bytes: each is a separate stretch of its slab.
      const spans = got.map((f) => [f.buffer, f.byteOffset, f.byteOffset + f.length] as const);
      for (let i = 1; i < spans.length; i++) {
        if (spans[i]![0] === spans[i - 1]![0]) expect(spans[i]![1]).toBeGreaterThanOrEqual(spans[i - 1]![2]);
      }
      expect(calls.n).toBeGreaterThan(0);
      expect(calls.n).toBeLessThan(30);
      await c.close();
    } finally {
      srv.close();
    }
  });

  it('a bad chunk in the middle of a batch: the events before it are delivered, then EBADMSG', async () => {
    const name = uniqueName('hshm');
    const srv = hostileShmServer(name, 'shm');
    try {
      const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
      const conn = srv.conns[0]!;
      conn.echo = false;
      const got: number[] = [];
      c.on('event', (f) => got.push(header(f).id));
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      const ring = conn.rings!.event;
      // Written without doorbells so that the client finds them all at once.
      for (let i = 1; i <= 5; i++) ring.write(evt(i));
      const bad = pointer(conn, OFF_WRITE_PT);
      ring.write(evt(6));
      for (let i = 7; i <= 10; i++) ring.write(evt(i));
      // Chunk 6 now claims to be longer than what was published after it.
      poke(data(conn, 'event'), bad * 4, 3000);
      native().send(conn.setupFd, new Uint8Array(10));
      await until(() => disc !== undefined, 5000);
      expect(got).toEqual([1, 2, 3, 4, 5]);
      expect(disc).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
      expect((disc!.cause as IpcError).code).toBe('EBADMSG');
      expect((disc!.cause as IpcError).message).toMatch(/length 3000 at word \d+ runs past the published part/);
      conn.close();
      await c.close();
    } finally {
      srv.close();
    }
  });
});

describe('events over 4 KiB lent from the event ring itself (borrowEvents)', () => {
  // The test ring: 16 KiB of data (MAX), mapped twice back to back.
  const RING = 16384;
  const big = (id: number, n = 6000) => resFrame(id, new Uint8Array(n).fill(id & 0xff));
  const whole = (f: Uint8Array, id: number, n = 6000) => f.length === 24 + n && header(f).id === id && f.subarray(24).every((b) => b === (id & 0xff));
  const readPt = (c: FakeConn) => readFileSync(hdr(c, 'event')).readUInt32LE(OFF_READ_PT);
  const bell = (c: FakeConn, n = 1) => native().send(c.setupFd, new Uint8Array(n));

  /** A client of the fake server with borrowEvents; `body` gets it, its connection and its disconnect error. */
  async function lending(body: (c: IpcClient, conn: FakeConn, disc: () => IpcError | undefined) => Promise<void>): Promise<void> {
    const name = uniqueName('hshm');
    const srv = hostileShmServer(name, 'shm');
    try {
      const c = await connect(name, { maxMessageSize: MAX, timeout: 5000, borrowEvents: true });
      let disc: IpcError | undefined;
      c.on('disconnect', (e) => (disc = e));
      const conn = srv.conns[0]!;
      await body(c, conn, () => disc);
      conn.close();
      await c.close();
    } finally {
      srv.close();
    }
  }

  it('is the ring\'s memory, whole and never written over while the listener runs; reclaimed when it returns; empty once closed', () =>
    lending(async (c, conn) => {
      const ring = conn.rings!.event;
      const seen: { id: number; ok: boolean }[] = [];
      let kept: Uint8Array | undefined;
      let during: { lent: boolean; readPt: number; wrote: boolean[] } | undefined;
      const before = readPt(conn);
      c.on('event', (f) => {
        const id = header(f).id;
        if (id === 1) {
          kept = f;
          // The server writes on: one more fits beside the lent chunk, the next does not (its
          // room is the lent chunk's, not reclaimed yet), and nothing lands on the lent bytes.
          const wrote = [ring.write(big(2)), ring.write(big(3))];
          during = { lent: f.buffer.byteLength === 2 * RING, readPt: readPt(conn), wrote };
        }
        seen.push({ id, ok: whole(f, id) });
      });
      conn.sendEvent(big(1));
      // event 2 is taken in the same pass, after event 1's chunk went back (its doorbell is late)
      await until(() => seen.length === 2, 5000);
      expect(during).toEqual({ lent: true, readPt: before, wrote: [true, false] });
      bell(conn);
      // the room event 1 took is the writer's again
      expect(ring.write(big(3))).toBe(true);
      bell(conn);
      await until(() => seen.length === 3, 5000);
      expect(seen).toEqual([1, 2, 3].map((id) => ({ id, ok: true })));
      expect(c.connected).toBe(true);
      await c.close();
      expect(kept!.length).toBe(0);
    }));

  it('an event that wraps past the ring\'s end is lent whole (the second mapping continues it)', () =>
    lending(async (c, conn) => {
      const seen: { id: number; ok: boolean; wraps: boolean }[] = [];
      c.on('event', (f) => {
        const id = header(f).id;
        seen.push({ id, ok: whole(f, id, 5000) && f.buffer.byteLength === 2 * RING, wraps: f.byteOffset < RING && f.byteOffset + f.length > RING });
      });
      for (let i = 1; i <= 8; i++) {
        conn.sendEvent(big(i, 5000));
        await until(() => seen.length === i, 5000);
      }
      expect(seen.map((s) => [s.id, s.ok])).toEqual(Array.from({ length: 8 }, (_, i) => [i + 1, true]));
      expect(seen.filter((s) => s.wraps).length).toBeGreaterThan(0);
    }));

  const lengths: [string, number, RegExp][] = [
    ['longer than the ring', 0x7ffffff0, /length 2147483632 at word 0 runs past the published part/],
    ['past what the writer published', 9000, /length 9000 at word 0 runs past the published part of the ring \(100 words\)/],
  ];
  for (const [what, len, reason] of lengths) {
    it(`a chunk length ${what}: EBADMSG, the listener never sees it`, () =>
      lending(async (c, conn, disc) => {
        let events = 0;
        c.on('event', () => events++);
        poke(data(conn, 'event'), 0, len);
        poke(data(conn, 'event'), 4, 0xa1a1a1a1);
        poke(hdr(conn, 'event'), OFF_READ_PT, 0);
        poke(hdr(conn, 'event'), OFF_WRITE_PT, 100);
        native().semPost(conn.rings!.event.semBuffer, Ring.SEM_OFFSET);
        bell(conn);
        await until(() => disc() !== undefined, 5000);
        expect(events).toBe(0);
        expect(disc()!.cause).toMatchObject({ name: 'IpcError', code: 'EBADMSG' });
        expect((disc()!.cause as IpcError).message).toMatch(reason);
      }));
  }

  it('the server rewriting a lent chunk\'s length: the chunk is reclaimed by the length checked when it was lent', () =>
    lending(async (c, conn) => {
      const seen: number[] = [];
      const at = readPt(conn);
      c.on('event', (f) => {
        poke(data(conn, 'event'), at * 4, 12000);
        seen.push(f.length);
      });
      conn.sendEvent(big(1));
      await until(() => seen.length === 1, 5000);
      // 2 words of chunk header, then the 6,024-byte frame in words
      expect(readPt(conn)).toBe(at + 2 + 6024 / 4);
      expect(seen).toEqual([6024]);
      conn.sendEvent(big(2));
      await until(() => seen.length === 2, 5000);
      expect(c.connected).toBe(true);
    }));

  it('the server truncating the ring file while a chunk is lent: the listener reads zeros, then the connection fails with EBADMSG', () =>
    lending(async (c, conn, disc) => {
      const seen: number[] = [];
      c.on('event', (f) => {
        truncateSync(data(conn, 'event'), 0);
        seen.push(f[24 + 100]!);
      });
      conn.sendEvent(big(1));
      await until(() => disc() !== undefined, 5000);
      expect(seen).toEqual([0]);
      expect(disc()!.cause).toMatchObject({ name: 'IpcError', code: 'EBADMSG' });
      expect((disc()!.cause as IpcError).message).toMatch(/truncated under us/);
    }));

  it('the server closing while a chunk is lent: the frame stays whole until the listener returns, then one disconnect', () =>
    lending(async (c, conn, disc) => {
      const seen: boolean[] = [];
      c.on('event', (f) => {
        conn.close();
        seen.push(whole(f, 1));
      });
      conn.sendEvent(big(1));
      await until(() => disc() !== undefined, 5000);
      expect(seen).toEqual([true]);
      expect(disc()).toMatchObject({ name: 'IpcError', code: 'ECONNRESET' });
    }));

  it('the client closing inside the listener: the frame stays whole until it returns, the rest is not delivered', () =>
    lending(async (c, conn) => {
      const seen: boolean[] = [];
      let closing: Promise<void> | undefined;
      c.on('event', (f) => {
        closing ??= c.close();
        seen.push(whole(f, header(f).id));
      });
      conn.rings!.event.write(big(1));
      conn.rings!.event.write(big(2));
      bell(conn, 2);
      await until(() => closing !== undefined, 5000);
      await closing;
      expect(seen).toEqual([true]);
    }));
});
