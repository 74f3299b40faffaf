// The TypeScript half of the differential quorum / votequorum test: the commands of
// test/cref/diff-vq.c (see its header for the language), performed through @corosync-ts/client
// (built dist), printing the same lines. Run inside the daemon's namespace, commands on stdin.
import { createInterface } from 'node:readline';
import { C, IDLE_MS, NSLOT, P, flush, manual, out, rc } from './diff-common.mjs';

const { QuorumHandle, VotequorumHandle, CpgHandle, isCsError, CS_DISPATCH_ONE, CS_DISPATCH_ALL, CS_ERR_TIMEOUT, CS_TRACK_CURRENT, CPG_TYPE_AGREED } = C;

const nameArg = (tok) => (tok === '-' ? '' : tok.startsWith('L') ? 'q'.repeat(Number(tok.slice(1))) : tok);

// A finalized handle stays in its slot until reset, as the C driver's stale handle does: using it is a case.
const qh = new Array(NSLOT);
const qUsed = new Array(NSLOT).fill(false);
const vh = new Array(NSLOT);
const vUsed = new Array(NSLOT).fill(false);
let curNode = 0;
let curSeq = 0n;

const ringStr = (r) => (r.nodeid === curNode && r.seq === curSeq ? 'cur' : 'other');
const slotOf = (arr, used, h) => arr.findIndex((x, i) => used[i] && x === h);
const list = (what, l) => ` ${what}=${l.join(',')}`;

const qcbV0 = {
  quorumNotify: (n) => P(`  q${slotOf(qh, qUsed, n.handle)} quorum.v0 quorate=${Number(n.quorate)} ring_seq=${n.ringSeq === curSeq ? 'cur' : 'other'}${list('view', n.viewList)}`),
};
const qcbV1 = {
  quorumNotify: (n) => P(`  q${slotOf(qh, qUsed, n.handle)} quorum.v1 quorate=${Number(n.quorate)} ring=${ringStr(n.ringId)}${list('view', n.viewList)}`),
  nodelistNotify: (n) =>
    P(`  q${slotOf(qh, qUsed, n.handle)} quorum.nodelist ring=${ringStr(n.ringId)}${list('members', n.memberList)}${list('joined', n.joinedList)}${list('left', n.leftList)}`),
};
const vcb = {
  quorumNotify: (n) =>
    P(`  v${slotOf(vh, vUsed, n.handle)} votequorum.quorum ctx=${n.context} quorate=${Number(n.quorate)} nodes=${n.nodeList.map((x) => `${x.nodeid}/${x.state}`).join(',')}`),
  nodelistNotify: (n) => P(`  v${slotOf(vh, vUsed, n.handle)} votequorum.nodelist ctx=${n.context} ring=${ringStr(n.ringId)}${list('nodes', n.nodeList)}`),
  expectedVotesNotify: (n) => P(`  v${slotOf(vh, vUsed, n.handle)} votequorum.expectedvotes ctx=${n.context} expected=${n.expectedVotes}`),
};

const info = (e, i) =>
  ` ${e}${e === 'CS_OK'
    ? ` node=${i.nodeId} state=${i.nodeState} votes=${i.nodeVotes} expected=${i.nodeExpectedVotes} highest=${i.highestExpected} total=${i.totalVotes} quorum=${i.quorum} flags=${i.flags} qdevice_votes=${i.qdeviceVotes} qdevice_name=${i.qdeviceName}`
    : ''}`;

let barrierToken = 0;
/** The totem barrier of the C driver's wait_totem (see there). */
async function waitTotem() {
  const token = new Uint8Array(new Uint32Array([++barrierToken]).buffer);
  let seen;
  const delivered = new Promise((r) => (seen = r));
  const [e, h] = await rc(() =>
    CpgHandle.initialize({
      deliverFn: (d) => {
        if (d.pid === process.pid && Buffer.from(d.msg).equals(Buffer.from(token))) seen();
      },
    }),
  );
  if (e !== 'CS_OK') return e;
  const [e2] = await rc(async () => {
    await h.join(`diffvq.${process.pid}.${barrierToken}`);
    await h.mcastJoined(CPG_TYPE_AGREED, token);
    await delivered;
  });
  await rc(() => h.finalize());
  return e2;
}

async function reset() {
  for (let i = 0; i < NSLOT; i++) {
    if (qUsed[i]) await rc(() => qh[i].finalize());
    if (vUsed[i]) await rc(() => vh[i].finalize());
    qUsed[i] = vUsed[i] = false;
  }
  qh.fill(undefined);
  vh.fill(undefined);
  let line = 'reset';
  const [e, h] = await rc(() =>
    VotequorumHandle.initialize(
      {
        nodelistNotify: (n) => {
          curNode = n.ringId.nodeid;
          curSeq = n.ringId.seq;
        },
      },
      manual,
    ),
  );
  if (e !== 'CS_OK') return P(`${line} ${e}`);
  const [ei, i0] = await rc(() => h.getinfo(0));
  if (ei === 'CS_OK' && i0.qdeviceName) await rc(() => h.qdeviceUnregister(i0.qdeviceName));
  const eb = await waitTotem();
  if (eb !== 'CS_OK') line += ` wait_totem ${eb}`;
  await rc(() => h.trackstart(0, CS_TRACK_CURRENT));
  await rc(() => h.dispatch(CS_DISPATCH_ALL));
  for (let n = 0; n <= 3; n++) {
    const [en, i] = await rc(() => h.getinfo(n));
    line += ` |${n}${info(en, i)}`;
  }
  await rc(() => h.finalize());
  P(line);
}

async function dispatch(echo, h, mode) {
  P(echo);
  const [e, , err] = await rc(() => h.dispatch(mode, mode === CS_DISPATCH_ONE ? { timeout: IDLE_MS } : undefined));
  if (mode === CS_DISPATCH_ONE && err && isCsError(err, CS_ERR_TIMEOUT)) {
    out[out.lastIndexOf(echo)] = `${echo} idle`;
    return;
  }
  P(`  => ${e}`);
}

const num = (t) => Number(t);
const ctxOut = (c) => String(c ?? 0);

async function run(echo) {
  const [op, ...a] = echo.split(' ');
  if (!op) return;
  if (op === 'end') return P('end');
  if (op === 'reset') return reset();
  if (op === 'wait_totem') return P(`${echo} ${await waitTotem()}`);
  const s = Math.max(0, Math.min(NSLOT - 1, num(a[0]) | 0));
  if (op.startsWith('q') && op !== 'qinit' && op !== 'qmodel' && !qh[s]) return P(`${echo} noslot`);
  if (op.startsWith('v') && op !== 'vinit' && !vh[s]) return P(`${echo} noslot`);
  const q = qh[s];
  const v = vh[s];
  const simple = async (f) => P(`${echo} ${(await rc(f))[0]}`);
  switch (op) {
    case 'qinit':
    case 'qmodel': {
      if (qUsed[s]) await rc(() => qh[s].finalize());
      const model = op === 'qinit' ? 0 : num(a[1]);
      const [e, h] = await rc(() =>
        op === 'qinit'
          ? QuorumHandle.initialize(num(a[1]) ? qcbV0 : null, manual)
          : QuorumHandle.modelInitialize(model, model === 0 ? qcbV0 : model === 1 ? qcbV1 : {}, num(a[2]), manual),
      );
      qh[s] = h;
      qUsed[s] = e === 'CS_OK';
      return P(`${echo} ${e}${e === 'CS_OK' ? ` type=${h.quorumType}` : ''}`);
    }
    case 'qgetq': {
      const [e, r] = await rc(() => q.getquorate());
      return P(`${echo} ${e}${e === 'CS_OK' ? ` ${Number(r)}` : ''}`);
    }
    case 'qtstart':
      return simple(() => q.trackstart(num(a[1])));
    case 'qtstop':
      return simple(() => q.trackstop());
    case 'qfin':
      qUsed[s] = false;
      return simple(() => q.finalize());
    case 'qdisp':
      return dispatch(echo, q, num(a[1]));
    case 'qcset':
      return simple(() => q.contextSet(num(a[1])));
    case 'qcget': {
      const [e, c] = await rc(() => q.contextGet());
      return P(`${echo} ${e}${e === 'CS_OK' ? ` ${ctxOut(c)}` : ''}`);
    }
    case 'vinit': {
      if (vUsed[s]) await rc(() => vh[s].finalize());
      const [e, h] = await rc(() => VotequorumHandle.initialize(num(a[1]) ? vcb : null, manual));
      vh[s] = h;
      vUsed[s] = e === 'CS_OK';
      return P(`${echo} ${e}`);
    }
    case 'vfin':
      vUsed[s] = false;
      return simple(() => v.finalize());
    case 'vinfo': {
      const [e, i] = await rc(() => v.getinfo(num(a[1])));
      return P(`${echo}${info(e, i)}`);
    }
    case 'vsetexp':
      return simple(() => v.setexpected(num(a[1])));
    case 'vsetvotes':
      return simple(() => v.setvotes(num(a[1]), num(a[2])));
    case 'vtstart':
      return simple(() => v.trackstart(BigInt(a[1]), num(a[2])));
    case 'vtstop':
      return simple(() => v.trackstop());
    case 'vdisp':
      return dispatch(echo, v, num(a[1]));
    case 'vcset':
      return simple(() => v.contextSet(num(a[1])));
    case 'vcget': {
      const [e, c] = await rc(() => v.contextGet());
      return P(`${echo} ${e}${e === 'CS_OK' ? ` ${ctxOut(c)}` : ''}`);
    }
    case 'vqreg':
      return simple(() => v.qdeviceRegister(nameArg(a[1])));
    case 'vqunreg':
      return simple(() => v.qdeviceUnregister(nameArg(a[1])));
    case 'vqupd':
      return simple(() => v.qdeviceUpdate(nameArg(a[1]), nameArg(a[2])));
    case 'vqpoll':
      return simple(() => v.qdevicePoll(nameArg(a[1]), num(a[2]), { nodeid: curNode, seq: a[3] === 'bad' ? curSeq + 1000n : curSeq }));
    case 'vqmw':
      return simple(() => v.qdeviceMasterWins(nameArg(a[1]), num(a[2])));
    default:
      return P(`${echo} unknown`);
  }
}

const rl = createInterface({ input: process.stdin });
for await (const cmd of rl) {
  await run(cmd);
  if (cmd === 'end') flush();
}
flush();
