// A shm server that answers and closes at once (corosync after an agreed cfg try_shutdown): the
// answer's token may already be in the response waiter thread's hands, its report not yet on
// the loop, when the loop sees the setup socket's hang-up. The call still gets its answer.
import { afterEach, expect, it, vi } from 'vitest';
import { connect, createServer, type IpcServer } from '../src/index.js';
import { native } from '../src/native.js';
import { header, ipcFds, reqFrame, resFrame, shmFiles, shmMappings, uniqueName, until } from './helpers.js';

let server: IpcServer | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await server?.close();
  server = undefined;
});

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
