// "Our server" for the server bench: @corosync-ts/ipc + the codec answering cmap GET
// (and SET_CURRENT_MAP, which cmap_initialize does not send, but cmapctl would).
import { DIR_CODES, SERVICE_CODES, codec, encoders } from '@corosync-ts/codec-wasm';
import { createServer } from '@corosync-ts/ipc';

const transport = process.argv[2] === 'socket' ? 'socket' : 'shm';
const store = new Map([['totem.cluster_name', { type: 11, value: new TextEncoder().encode('nstest\0') }]]);
// Requests are read through the codec's allocation-free fast path (validated in WASM, fields
// read from its slots), as a server in production would; every reply is still encoded per GET.
const GET = codec.messageIndex('cmap.get', 'req');
const GET_KEY = codec.fieldIndex(GET, 'keyName');
const GET_CAP = codec.fieldIndex(GET, 'valueLen');
const SET_MAP = codec.messageIndex('cmap.setCurrentMap', 'req');
const server = createServer('cmap', { transport });
server.on('connection', (conn) => {
  conn.on('request', (frame) => {
    codec.inputBuffer(frame.length).set(frame);
    const m = codec.decodeInput(frame.length, SERVICE_CODES.cmap, DIR_CODES.req);
    if (m === GET) {
      const e = store.get(codec.string(GET_KEY));
      const cap = codec.number(GET_CAP);
      if (!e) return conn.respond(encoders.cmap.res.get({ valueLen: 0n, type: 0, value: new Uint8Array(0) }, { error: 12 }));
      // corosync sizes the reply by the requested capacity (40 + cap); the encoder zero-pads.
      return conn.respond(encoders.cmap.res.get({ valueLen: BigInt(e.value.length), type: e.type, value: e.value }, { error: 1, size: 40 + cap }));
    }
    if (m === SET_MAP) return conn.respond(encoders.cmap.res.setCurrentMap({}, { error: 1 }));
    conn.respond(encoders.cmap.res.set({}, { error: 7 }));
  });
});
await server.listen();
console.log(JSON.stringify({ event: 'listening' }));
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
