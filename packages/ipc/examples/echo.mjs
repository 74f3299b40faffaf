// Runnable: `node examples/echo.mjs` (Linux; after `pnpm --filter @corosync-ts/ipc... build`).
// A libqb service and a client of it in one process, over the shm transport.
import { connect, createServer } from '@corosync-ts/ipc';

const server = createServer('demo-echo', {
  transport: 'shm',
  // Refuse anyone but root and ourselves, as corosync does with uidgid.* keys.
  authorize: ({ uid }) => (uid === 0 || uid === process.getuid() ? 0 : -13 /* -EACCES */),
});
server.on('connection', (conn) => {
  conn.on('request', (frame) => {
    // Response header: id, size, error (24 bytes), then the request echoed back.
    const res = new Uint8Array(24 + frame.length);
    const v = new DataView(res.buffer);
    v.setInt32(0, 1000, true);
    v.setInt32(8, res.length, true);
    v.setInt32(16, 1, true);
    res.set(frame, 24);
    conn.respond(res);
    conn.sendEvent(res.slice(0, 24)); // events use the response header too
  });
});
await server.listen();

const client = await connect('demo-echo', { timeout: 5000 });
client.on('event', (frame) => console.log('event of', frame.length, 'bytes'));
const req = new Uint8Array(32);
new DataView(req.buffer).setInt32(8, req.length, true); // request header: id 0, size 32
const res = await client.request(req, { timeout: 1000 });
console.log(client.transport, client.serverCredentials, 'response of', res.length, 'bytes');
await new Promise((r) => setTimeout(r, 10)); // let the event arrive
await client.close();
await server.close();
