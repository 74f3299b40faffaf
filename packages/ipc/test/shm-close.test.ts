// Closing a shm client whose connection ended. A server that answers and closes at once
// (corosync after an agreed cfg try_shutdown): the answer's token may already be in the
// response waiter thread's hands, its report not yet on the loop, when the loop sees the setup
// socket's hang-up; the call still gets its answer. A connection we failed (a bad frame) while
// the server lives, or a live server that hung up: its files are its own to remove, close()
// does not wait for them. A server killed -9, reaped or still a zombie: its files are ours to
// remove, at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it, vi } from 'vitest';
import { connect, createServer, type IpcClient, type IpcError, type IpcServer } from '../src/index.js';
import { native } from '../src/native.js';
import { MAX, hostileShmServer, type FakeConn } from './fixtures/hostile-shm-server.js';
import { header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

let server: IpcServer | undefined;
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await server?.close();
  server = undefined;
});

const ECHO_SERVER = fileURLToPath(new URL('./fixtures/echo-server.mjs', import.meta.url));

/** Resolves once the echo server that `child` runs (fixtures/echo-server.mjs) listens. */
function listening(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if ((JSON.parse(l) as { event?: string }).event === 'listening') resolve();
    });
    child.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
}

/**
 * Makes the server hang up (`hangUp`) with the clock and the timers frozen, then closes the
 * client: whether close() finished without waiting on a timer (one that waits shows as a pending
 * timer, which never fires here). Its disconnect error too.
 */
async function closesWithoutTimer(c: IpcClient, hangUp: () => void): Promise<{ closed: boolean; err: IpcError }> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  try {
    const disconnected = new Promise<IpcError>((resolve) => c.once('disconnect', resolve));
    hangUp();
    const err = await disconnected;
    let closed = false;
    void c.close().then(() => (closed = true));
    while (!closed && vi.getTimerCount() === 0) await new Promise((r) => setImmediate(r));
    return { closed, err };
  } finally {
    vi.useRealTimers();
  }
}

/**
 * `body` with a shm client of hostileShmServer (in this process) after one echoed request, its
 * connection there and the six ring files of it; the server closed after.
 */
async function withHostileClient(tag: string, body: (c: IpcClient, conn: FakeConn, files: string[]) => Promise<void>): Promise<void> {
  const name = uniqueName(tag);
  const srv = hostileShmServer(name, 'shm');
  try {
    const c = await connect(name, { maxMessageSize: MAX, timeout: 5000 });
    expect(header(await c.request(reqFrame(1, 16))).id).toBe(1001);
    const conn = srv.conns[0]!;
    await body(c, conn, ['request', 'response', 'event'].flatMap((k) => [`${conn.base(k)}-header`, `${conn.base(k)}-data`]));
  } finally {
    srv.close();
  }
}

/**
 * `body` with a shm client of fixtures/echo-server.mjs, which `command(name)` runs in `child`,
 * after one echoed request; `child` killed after, and nothing of the client left.
 */
async function withChildServer(
  tag: string,
  command: (name: string) => string[],
  body: (c: IpcClient, child: ChildProcess, exited: Promise<unknown>) => Promise<void>,
): Promise<void> {
  const fdsBefore = ipcFds();
  const name = uniqueName(tag);
  const [file, ...args] = command(name);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, QUIET: '1' } });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await listening(child);
    const c = await connect(name, { timeout: 5000 });
    expect(c.transport).toBe('shm');
    expect(header(await c.request(reqFrame(1, 16))).id).toBe(1001);
    await body(c, child, exited);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  expect(shmMappings()).toEqual([]);
  expect(ipcFds()).toEqual(fdsBefore);
}

/** The state letter of process `pid` in /proc (Z: a zombie), or undefined once it is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

it('an answer whose token the waiter thread took before the hang-up reaches its call', async () => {
  const fdsBefore = ipcFds();
  const n = native();
  // The thread's reports are held, in order, until the loop has handled the hang-up: what a
  // waiter thread preempted between sem_timedwait and its report does on a loaded machine.
  const held: (() => void)[] = [];
  let gateOpen = false;
  const release = () => {
    gateOpen = true;
    for (const f of held.splice(0)) f();
  };
  const semWaiter = n.semWaiter.bind(n);
  vi.spyOn(n, 'semWaiter').mockImplementation((buf, off, cb) =>
    semWaiter(buf, off, (count) => (gateOpen ? cb(count) : held.push(() => cb(count)))),
  );
  let handedOver = false;
  const waiterWant = n.waiterWant.bind(n);
  vi.spyOn(n, 'waiterWant').mockImplementation((w, count) => {
    if (count > 0) handedOver = true;
    return waiterWant(w, count);
  });
  let clientFd = -1;
  let serverClosed = false;
  const poll = n.poll.bind(n);
  vi.spyOn(n, 'poll').mockImplementation((fd, cb) =>
    poll(fd, (status, events, count) => {
      cb(status, events, count);
      if (fd === clientFd && serverClosed) setImmediate(release);
    }),
  );

  const name = uniqueName('shmclose');
  server = createServer(name, { transport: 'shm' });
  server.on('connection', (c) => {
    c.on('request', (f) => {
      // Answer only once the client sleeps on the semaphore in its thread, then hang up.
      void until(() => handedOver).then(() => {
        c.respond(resFrame(header(f).id + 1000));
        serverClosed = true;
        c.close();
      });
    });
  });
  await server.listen();
  const client = await connect(name);
  expect(client.transport).toBe('shm');
  clientFd = client.fd;
  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));

  const reply = await client.request(reqFrame(7, 16));
  expect(header(reply).id).toBe(1007);
  expect(held).toEqual([]);
  expect(((await disconnected) as Error).message).toMatch(/closed the connection/);
  await client.close();
  await until(() => server!.connections.size === 0);
  await server.close();
  server = undefined;
  expect(shmFiles()).toEqual([]);
  expect(shmMappings()).toEqual([]);
  expect(ipcFds()).toEqual(fdsBefore);
});

it('a bad frame from a live server: close() does not wait for its files, removes none of them, and hangs up', async () => {
  const fdsBefore = ipcFds();
  const mapsBefore = shmMappings();
  const filesBefore = shmFiles();
  await withHostileClient('shmfail', async (c, conn, files) => {
    conn.echo = false;
    const mapped = () => shmMappings().filter((l) => l.includes(conn.dir)).length;
    const serverOnly = mapped() / 2;
    const pending = c.request(reqFrame(2, 16), { verify: (f) => header(f).id === 1002 }).catch((e: IpcError) => e);
    // The bad frame: an answer carrying another call's id. The server stays, keeps its files.
    const { closed, err } = await closesWithoutTimer(c, () => conn.rings!.response.write(resFrame(4242)));
    expect(err.cause).toMatchObject({ name: 'IpcError', code: 'EPROTO' });
    expect(await pending).toBe(err);
    expect(closed, 'close() waits on a timer').toBe(true);

    // Its files are the server's: all still there. Our mappings of them are gone, and the
    // server sees the hang-up that tells it to remove them.
    expect(files.filter((f) => !existsSync(f))).toEqual([]);
    expect(mapped()).toBe(serverOnly);
    // Doorbell bytes first (the one of the last request may still be unread), then EOF.
    let r: number;
    while ((r = native().recvInto(conn.setupFd, new Uint8Array(8))) > 0);
    expect(r).toBe(0);
  });
  expect(shmFiles()).toEqual(filesBefore);
  expect(shmMappings()).toEqual(mapsBefore);
  expect(ipcFds()).toEqual(fdsBefore);
});

it('a server killed -9: close() removes the files it left', async () => {
  await withChildServer('shmkill', (name) => [process.execPath, ECHO_SERVER, 'shm', name], async (c, child, exited) => {
    expect(shmFiles(child.pid)).not.toEqual([]);
    const disconnected = new Promise<IpcError>((resolve) => c.once('disconnect', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await disconnected).code).toBe('ECONNRESET');
    await c.close();
    expect(shmFiles(child.pid)).toEqual([]);
  });
});

it('a live server that hangs up and keeps its files: close() does not wait for it, and removes none of them', async () => {
  const fdsBefore = ipcFds();
  const filesBefore = shmFiles();
  await withHostileClient('shmhangup', async (c, conn, files) => {
    const { closed, err } = await closesWithoutTimer(c, () => conn.hangUp());
    expect(err.message).toMatch(/closed the connection/);
    expect(closed, 'close() waits on a timer').toBe(true);
    // This very process is the server, alive: the files are its own.
    expect(files.filter((f) => !existsSync(f))).toEqual([]);
  });
  expect(shmFiles()).toEqual(filesBefore);
  expect(ipcFds()).toEqual(fdsBefore);
});

it('a server killed -9 that stays a zombie (its parent does not reap it): close() removes its files at once', async () => {
  // The server's parent is `sleep`, which never waits for it.
  const command = (name: string) => ['sh', '-c', '"$0" "$1" shm "$2" & exec sleep 600', process.execPath, ECHO_SERVER, name];
  await withChildServer('shmzombie', command, async (c, parent) => {
    const pid = c.serverCredentials!.pid;
    expect(pid).not.toBe(parent.pid);
    expect(shmFiles(pid)).not.toEqual([]);
    const { closed, err } = await closesWithoutTimer(c, () => process.kill(pid, 'SIGKILL'));
    expect(err.code).toBe('ECONNRESET');
    expect(closed, 'close() waits on a timer').toBe(true);
    expect(shmFiles(pid)).toEqual([]);
    await until(() => procState(pid) === 'Z');
  });
});
