// The TypeScript half of the cpg flow-control comparison (see fc.c): the same lines through
// @corosync-ts/client, the `retry` option being the loop around TRY_AGAIN. Refusals are counted
// at the transport (a wrapped connect), since the retry option hides them by design.
import { connect as ipcConnect } from '@corosync-ts/ipc';
import { C, P, rc } from './preamble.mjs';
const { CpgHandle, CS_DISPATCH_ONE } = C;

const SIZE = 1000000;
const CAP = 3000;
let refusals = 0;
const connect = async (name, opts) => {
  const c = await ipcConnect(name, opts);
  const send = c.send.bind(c);
  c.send = async (frame, o) => {
    try {
      return await send(frame, o);
    } catch (e) {
      if (e?.code === 'EAGAIN') refusals++;
      throw e;
    }
  };
  return c;
};

let nextSeq = 0;
let wrong = 0;
let joined = false;
const h = await CpgHandle.initialize(
  {
    deliverFn: ({ pid, msg }) => {
      const seq = Buffer.from(msg.buffer, msg.byteOffset, 4).readUInt32LE(0);
      if (msg.length !== SIZE || pid !== process.pid || seq !== nextSeq) wrong++;
      nextSeq++;
    },
    confchgFn: () => (joined = true),
  },
  { connect },
);
P('initialize 1');
P(`join ${(await rc(h.join('fc-g')))[0]}`);
while (!joined) await h.dispatch(CS_DISPATCH_ONE);
P(`flow_control_state_get 1 ${h.flowControlStateGet()}`);

const msg = new Uint8Array(SIZE);
const view = Buffer.from(msg.buffer);
let seq = 0;
let e = 1;
// As libcpg's, the refusals come mostly from a full request ring or socket (one such message fills
// the ring; the socket's send buffer takes two) and sometimes from corosync's flag.
for (; seq < CAP; seq++) {
  view.writeUInt32LE(seq, 0);
  [e] = await rc(h.mcastJoined(2, msg));
  if (e !== 1) break;
}
P(`mcast until refused ${e}`);
if (e !== 6) process.exit(1);
P(`flow_control_state_get under flow control 1 ${h.flowControlStateGet()}`);
const first = seq;
// Enough attempts for any load: flow control lasts until totem has drained its queue.
const retry = { retries: 100000, initialDelay: 1, maxDelay: 10 };
[e] = await rc(h.mcastJoined(2, msg, { retry }));
const base = refusals;
// Four at a time without awaiting each (as pmxcfs sends): they must still leave in call order
// while one waits for its retry, which the delivery check (seq === nextSeq) sees.
for (seq++; e === 1 && seq < CAP && (seq < 3 * first + 10 || refusals === base); seq += 4) {
  const batch = [];
  for (let i = 0; i < 4; i++) {
    view.writeUInt32LE(seq + i, 0);
    batch.push(rc(h.mcastJoined(2, msg, { retry })));
  }
  e = (await Promise.all(batch)).map(([code]) => code).find((code) => code !== 1) ?? 1;
}
P(`sent through flow control ${e} refused again ${refusals > base ? 'yes' : 'no'}`);
while (nextSeq < seq) await h.dispatch(CS_DISPATCH_ONE, { timeout: 60000 }).catch(() => {});
P(`delivered every message once in order ${wrong === 0 && nextSeq === seq ? 'yes' : 'no'}`);
P(`flow_control_state_get after 1 ${h.flowControlStateGet()}`);
P(`finalize ${(await rc(h.finalize()))[0]}`);
process.stderr.write(`messages ${seq}, first refusal at ${first}, refusals ${refusals}\n`);
