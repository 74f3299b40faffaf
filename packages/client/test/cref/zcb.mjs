// The TypeScript half of the cpg zero-copy comparison: the same script as zcb.c through
// @corosync-ts/client (built dist), printing the same lines. Run inside a namespace.
import { readdirSync } from 'node:fs';
import { C, P, rc, str } from './preamble.mjs';
const { CpgHandle, CS_DISPATCH_ONE } = C;

let events = 0;
const callbacks = {
  deliverFn: ({ groupName, nodeid, pid, msg }) => {
    let sum = 0;
    for (const b of msg) sum = (Math.imul(sum, 31) + b) >>> 0;
    P(`  deliver ${str(groupName)} node=${nodeid} self=${pid === process.pid ? 1 : 0} len=${msg.length} sum=${sum}${msg.length < 32 ? ` text=${str(msg)}` : ''}`);
    events++;
  },
  confchgFn: ({ groupName, memberList, leftList, joinedList }) => {
    P(`  confchg ${str(groupName)} members=${memberList.length} left=${leftList.length} joined=${joinedList.length}`);
    events++;
  },
};
async function waitEvents(h, n) {
  events = 0;
  while (events < n) await h.dispatch(CS_DISPATCH_ONE);
}
const files = (when) => P(`files ${when} ${readdirSync('/dev/shm').filter((f) => f.startsWith('corosync_zerocopy-')).length}`);

const [e0, h] = await rc(CpgHandle.initialize(callbacks, { dispatch: 'manual' }));
P(`initialize ${e0}`);
const [e1, a] = await rc(h.zcbAlloc(100));
P(`zcb_alloc(100) ${e1}`);
files('after alloc');
a.set(Buffer.from('zero-copy hello'));
P(`zcb_mcast_joined unjoined ${(await rc(h.zcbMcastJoined(2, a, 15)))[0]}`);
P(`join ${(await rc(h.join('zcb-g')))[0]}`);
await waitEvents(h, 1);
P(`zcb_mcast_joined 15 ${(await rc(h.zcbMcastJoined(2, a, 15)))[0]}`);
await waitEvents(h, 1);
for (let i = 0; i < 100; i++) a[i] = (i * 3 + 1) & 0xff;
P(`zcb_mcast_joined 100 ${(await rc(h.zcbMcastJoined(1, a)))[0]}`);
await waitEvents(h, 1);
P(`zcb_mcast_joined 0 ${(await rc(h.zcbMcastJoined(2, a, 0)))[0]}`);
await waitEvents(h, 1);
P(`zcb_mcast_joined 1048577 ${(await rc(h.zcbMcastJoined(2, a, 1048577)))[0]}`);
const [e2, z] = await rc(h.zcbAlloc(0));
P(`zcb_alloc(0) ${e2}`);
P(`zcb_mcast_joined empty ${(await rc(h.zcbMcastJoined(2, z)))[0]}`);
await waitEvents(h, 1);
const [e3, big] = await rc(h.zcbAlloc(1047552));
P(`zcb_alloc(1047552) ${e3}`);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
P(`zcb_mcast_joined 1047552 ${(await rc(h.zcbMcastJoined(2, big)))[0]}`);
await waitEvents(h, 1);
big.set(Buffer.from('again'));
P(`zcb_mcast_joined 5 ${(await rc(h.zcbMcastJoined(2, big, 5)))[0]}`);
await waitEvents(h, 1);
files('after mcast');
P(`zcb_free ${(await rc(h.zcbFree(a)))[0]}`);
P(`zcb_free(0) ${(await rc(h.zcbFree(z)))[0]}`);
P(`leave ${(await rc(h.leave('zcb-g')))[0]}`);
await waitEvents(h, 1);
P(`zcb_mcast_joined after leave ${(await rc(h.zcbMcastJoined(2, big, 5)))[0]}`);
P(`zcb_free(1047552) ${(await rc(h.zcbFree(big)))[0]}`);
P(`finalize ${(await rc(h.finalize()))[0]}`);
P(`zcb_alloc after finalize ${(await rc(h.zcbAlloc(10)))[0]}`);
files('at exit');
