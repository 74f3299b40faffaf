// What a daemon grants as max_msg_size and what becomes of traffic larger than the grant, printed
// as lines: run against corosync and against corosync-mock in their namespaces, both must print
// the same (real-msgsize.test.ts). Argument: how long, in ms, to wait for something that a
// daemon may never send.
import { spawn, spawnSync } from 'node:child_process';
import { C, P, rc } from './preamble.mjs';
const { connect } = await import('@corosync-ts/ipc');
const { CmapHandle, CpgHandle } = C;
const patience = Number(process.argv[2] ?? 1500);

if (process.argv[3] === 'send') {
  const len = Number(process.argv[4]);
  let own = false;
  let wake;
  const sender = await CpgHandle.initialize({ deliverFn: ({ msg }) => { if (msg.length === 7) { own = true; wake?.(); } } });
  await sender.join('msgsize');
  await sender.mcastJoined(1, new Uint8Array(len));
  await sender.mcastJoined(1, new Uint8Array(7));
  while (!own) await new Promise((r) => (wake = r));
  await sender.finalize();
  process.exit(0);
}

const PY = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(b'\\0' + sys.argv[1].encode().ljust(107, b'\\0'))
s.sendall(struct.pack('<iiiiII', -1, 0, 24, 0, int(sys.argv[2]), 0))
d = b''
while len(d) < 32:
    c = s.recv(65536)
    if not c: break
    d += c
print(('error %d' % struct.unpack_from('<i', d, 16)[0]) if len(d) >= 32 and struct.unpack_from('<i', d, 16)[0] else (struct.unpack_from('<I', d, 28)[0] if len(d) >= 32 else 'closed %d' % len(d)))
`;
const rawGrant = (service, ask) => spawnSync('python3', ['-c', PY, service, String(ask)], { encoding: 'utf8' }).stdout.trim() || 'failed';

for (const service of ['cmap', 'cpg']) {
  for (const ask of [0, 100, 12327, 12328, 65536, 1 << 20, 8 << 20]) P(`raw ${service} ask=${ask} granted=${await rawGrant(service, ask)}`);
  for (const ask of [1, 100, 12328, 65536, 1 << 20, 8 << 20]) {
    const c = await connect(service, { maxMessageSize: ask });
    P(`ipc ${service} maxMessageSize=${ask} granted=${c.maxMessageSize}`);
    await c.close();
  }
}

const big = await CmapHandle.initialize();
const small = await CmapHandle.initialize({ maxMessageSize: 100 });
// Requests: libqb's client refuses one over the grant before sending (-EMSGSIZE: CS_ERR_TOO_BIG).
for (const len of [12000, 13000]) {
  const [es] = await rc(small.setString('msgsize.req', 'x'.repeat(len)));
  const [ea] = await rc(small.getString('totem.cluster_name', { timeout: patience }));
  P(`cmap set len=${len} set=${es} then=${ea}`);
}
// Answers: a GET of a value larger than the grant, then a small GET on the same handle.
for (const len of [12000, 15000, 16384]) {
  const [es] = await rc(big.setString(`msgsize.v${len}`, 'x'.repeat(len)));
  const [eg, v] = await rc(small.getString(`msgsize.v${len}`, { timeout: patience }));
  const [ea] = await rc(small.getString('totem.cluster_name', { timeout: patience }));
  P(`cmap get len=${len} set=${es} get=${eg}${v === undefined ? '' : ` got=${v.length}`} then=${ea}`);
}
await big.finalize();
await small.finalize().catch(() => {});

// Events: cpg deliveries to a member that asked for 100 bytes, each followed by a small one,
// multicast by a child process (corosync lets one process join a group once).
for (const len of [11000, 15000, 20000]) {
  const seen = [];
  let wake;
  const receiver = await CpgHandle.initialize({
    deliverFn: ({ msg }) => {
      seen.push(msg.length);
      wake?.();
    },
  }, { maxMessageSize: 100 });
  let state = 'up';
  receiver.on('disconnect', (e) => {
    state = `lost ${e.code}`;
    wake?.();
  });
  await receiver.join('msgsize');
  const child = spawn(process.execPath, [process.argv[1], String(patience), 'send', String(len)], { stdio: 'inherit' });
  // The sender exits once its own small message came back: by then the daemon has handed both
  // messages to every member it delivers them to, so the wait for ours starts there, not at a
  // spawn whose start-up a loaded machine may stretch past any fixed patience.
  const code = await new Promise((r) => child.once('exit', (c) => r(c)));
  const deadline = Date.now() + patience;
  while (!seen.includes(7) && state === 'up' && Date.now() < deadline) {
    await Promise.race([new Promise((r) => (wake = r)), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
  }
  const [el] = await rc(receiver.localGet());
  P(`cpg deliver len=${len} sender=${code} received=${seen.join(',') || 'none'} then localGet=${el} ${state}`);
  await receiver.finalize().catch(() => {});
}
P('end');
