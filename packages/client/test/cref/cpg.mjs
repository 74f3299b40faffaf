// The TypeScript half of the cpg reference comparison: the same script as cpg.c through
// @corosync-ts/client (built dist), printing the same lines. Run inside the daemon's namespace.
import { spawn } from 'node:child_process';
import { C, P, rc, str } from './preamble.mjs';
const { CpgHandle, CS_DISPATCH_ONE, CS_DISPATCH_ONE_NONBLOCKING } = C;

const self = process.pid;
let child = -1;
const tag = (pid) => (pid === self ? 'self' : pid === child ? 'child' : 'other');
const list = (what, l) => ` ${what}=${l.map((a) => `${a.nodeid}:${tag(a.pid)}:${a.reason}`).join(',')}`;
let events = 0;
const callbacks = {
  deliverFn: ({ groupName, nodeid, pid, msg }) => {
    let sum = 0;
    for (const b of msg) sum = (Math.imul(sum, 31) + b) >>> 0;
    P(`  deliver ${str(groupName)} node=${nodeid} pid=${tag(pid)} len=${msg.length} sum=${sum}${msg.length < 32 ? ` text=${str(msg)}` : ''}`);
    events++;
  },
  confchgFn: ({ groupName, memberList, leftList, joinedList }) => {
    P(`  confchg ${str(groupName)}${list('members', memberList)}${list('left', leftList)}${list('joined', joinedList)}`);
    events++;
  },
};
async function waitEvents(h, n) {
  events = 0;
  while (events < n) await h.dispatch(CS_DISPATCH_ONE);
}

if (process.argv[2] === 'child') {
  const c = await CpgHandle.initialize({ deliverFn: () => events++, confchgFn: () => events++ }, { dispatch: 'manual' });
  await c.join('cref-g');
  await waitEvents(c, 1);
  await c.mcastJoined(2, 'from-child');
  await waitEvents(c, 1);
  process.exit(0);
}

const manual = { dispatch: 'manual' };
const model = {
  ...callbacks,
  totemConfchgFn: ({ ringId, memberList }) => {
    P(`  totem ring=${ringId.nodeid} members=${memberList.length} first=${memberList[0] ?? 0}`);
    events++;
  },
};
P(`model_initialize(2) ${(await rc(CpgHandle.modelInitialize(2, model, undefined, manual)))[0]}`);
P(`model_initialize(flags 2) ${(await rc(CpgHandle.modelInitialize(1, { ...model, flags: 2 }, undefined, manual)))[0]}`);
const [e0, h] = await rc(CpgHandle.modelInitialize(1, { ...model, flags: 1 }, undefined, manual));
P(`model_initialize ${e0}`);
const [e1, h2] = await rc(CpgHandle.initialize({}, manual));
P(`initialize ${e1}`);
const [e2, nodeid] = await rc(h.localGet());
P(`local_get ${e2} ${nodeid}`);
P(`max_atomic_msgsize_get 1 ${h.maxAtomicMsgsizeGet()}`);
P(`flow_control_state_get 1 ${h.flowControlStateGet()}`);

P(`join(129 bytes) ${(await rc(h.join(new Uint8Array(129).fill(120))))[0]}`);
P(`join ${(await rc(h.join('cref-g')))[0]}`);
await waitEvents(h, 2);
P(`join again ${(await rc(h.join('cref-g')))[0]}`);
const [e3, members] = await rc(h.membershipGet('cref-g'));
P(`membership_get ${e3}${list('members', members)}`);
const [e4, none] = await rc(h.membershipGet('nope'));
P(`membership_get(nope) ${e4} ${none.length}`);

P(`mcast ${(await rc(h.mcastJoined(2, 'hello-1')))[0]}`);
P(`mcast iov ${(await rc(h.mcastJoined(1, [Buffer.from('hel'), Buffer.from('lo-2')])))[0]}`);
await waitEvents(h, 2);
const big = new Uint8Array(3000000);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
P(`mcast 3000000 ${(await rc(h.mcastJoined(2, big)))[0]}`);
await waitEvents(h, 1);
P(`mcast 1047552 ${(await rc(h.mcastJoined(2, big.subarray(0, 1047552))))[0]}`);
await waitEvents(h, 1);
P(`mcast iov 1047553+5 ${(await rc(h.mcastJoined(2, [big.subarray(0, 1047553), big.subarray(1047553, 1047558)])))[0]}`);
await waitEvents(h, 1);

const c = spawn(process.execPath, [new URL(import.meta.url).pathname, 'child'], { stdio: 'ignore' });
child = c.pid;
const exited = new Promise((r) => c.on('exit', r));
await waitEvents(h, 3);
P(`child exit ${await exited}`);

async function iterate(type, group) {
  const [e, it] = await rc(h.iterationInitialize(type, group));
  P(`iteration_initialize(${type}) ${e}`);
  if (e !== 1) return;
  let r;
  for (;;) {
    r = await rc(h.iterationNext(it));
    if (r[0] !== 1) break;
    P(`  ${str(r[1].groupName)} node=${r[1].nodeid} pid=${tag(r[1].pid)}`);
  }
  P(`  next ${r[0]}`);
  r = await rc(h.iterationNext(it));
  P(`  next again ${r[0]} ${r[0] === 1 ? str(r[1].groupName) : ''}`);
  P(`  finalize ${(await rc(h.iterationFinalize(it)))[0]}`);
  P(`  finalize again ${(await rc(h.iterationFinalize(it)))[0]}`);
}
await iterate(3, null);
await iterate(1, null);
await iterate(2, 'cref-g');
await iterate(2, 'nope');
await iterate(4, null);
await iterate(2, null);
await iterate(3, 'cref-g');

P(`h2 leave ${(await rc(h2.leave('cref-g')))[0]}`);
P(`h2 mcast ${(await rc(h2.mcastJoined(2, 'hello-1')))[0]}`);
P(`h2 dispatch(ONE_NONBLOCKING) ${(await rc(h2.dispatch(CS_DISPATCH_ONE_NONBLOCKING)))[0]}`);
P(`leave ${(await rc(h.leave('cref-g')))[0]}`);
await waitEvents(h, 1);
P(`h2 finalize ${(await rc(h2.finalize()))[0]}`);
P(`finalize ${(await rc(h.finalize()))[0]}`);
P(`finalize again ${(await rc(h.finalize()))[0]}`);
