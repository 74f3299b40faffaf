// "Our server" for the server bench: @corosync-ts/ipc + the codec answering cmap GET
// (and SET_CURRENT_MAP, which cmap_initialize does not send, but cmapctl would).
import { decode, encode } from '@corosync-ts/codec-wasm';
import { createServer } from '@corosync-ts/ipc';

const transport = process.argv[2] === 'socket' ? 'socket' : 'shm';
const store = new Map([['totem.cluster_name', { type: 11, value: new TextEncoder().encode('nstest\0') }]]);
const server = createServer('cmap', { transport });
server.on('connection', (conn) => {
  conn.on('request', (frame) => {
    const m = decode(frame, { service: 'cmap', dir: 'req' });
    if (m.name === 'cmap.get') {
      const e = store.get(m.fields.keyName);
      const cap = Number(m.fields.valueLen);
      if (!e) return conn.respond(encode('cmap.get', { valueLen: 0n, type: 0, value: new Uint8Array(0) }, { dir: 'res', error: 12 }));
      // corosync sizes the reply by the requested capacity (40 + cap).
      const out = new Uint8Array(40 + cap);
      out.set(encode('cmap.get', { valueLen: BigInt(e.value.length), type: e.type, value: e.value }, { dir: 'res', error: 1 }));
      new DataView(out.buffer).setInt32(8, out.length, true);
      return conn.respond(out);
    }
    if (m.name === 'cmap.setCurrentMap') return conn.respond(encode('cmap.setCurrentMap', {}, { dir: 'res', error: 1 }));
    conn.respond(encode('cmap.set', {}, { dir: 'res', error: 7 }));
  });
});
await server.listen();
console.log(JSON.stringify({ event: 'listening' }));
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
