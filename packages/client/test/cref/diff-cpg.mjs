// The TypeScript half of the generated cpg/cfg comparison: diff-cpg.c's commands through
// @corosync-ts/client (built dist), printing the same lines (see diff-cpg.c for the format and
// what makes them deterministic). Run inside the daemon's namespace, commands on stdin.
import { createInterface } from 'node:readline';
import { C, rc } from './preamble.mjs';
const { CpgHandle, CfgHandle, CS_DISPATCH_ONE, CS_DISPATCH_ALL, CS_DISPATCH_ONE_NONBLOCKING, CS_DISPATCH_BLOCKING, CS_ERR_BAD_HANDLE } = C;

const SLOTS = 4;
const WAIT_MS = 20000;
// a node of corosync-mock's simulated cluster is reached through its endpoint's prefix (test/diff-cpg-cluster.ts)
const manual = { dispatch: 'manual', ...(process.env.DIFF_CPG_IPC_PREFIX ? { ipcPrefix: process.env.DIFF_CPG_IPC_PREFIX } : {}) };
const self = process.pid;
const h = new Array(SLOTS).fill(undefined);
const it = new Array(SLOTS).fill(undefined);
const f = new Array(SLOTS).fill(undefined);
const joined = new Array(SLOTS).fill(undefined);
/** 0 none, 1 joined, 2 left. */
const joinedState = new Array(SLOTS).fill(0);
let callbacks = 0;
let curSlot = 0;
let probeSeq = 0n;
let probeSeen = 0;
/** The other drivers of a multi-process run: pid → the label it prints as (diff-cpg.c's peers). */
const peers = new Map();
/** Zero-copy buffers by number (diff-cpg.c's zb). */
const zb = new Array(4).fill(undefined);

const lines = [];
const P = (s) => lines.push(s);
const flush = () => {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  lines.length = 0;
};

const tag = (pid) => peers.get(pid) ?? (pid === self ? 'self' : pid === 0 ? '0' : 'other');
const hex = (b) => `x${Buffer.from(b).toString('hex')}`;
const list = (what, l) => ` ${what}=${l.map((a) => `${a.nodeid}:${tag(a.pid)}:${a.reason}`).join(',')}`;
function checksum(b) {
  let sum = 0;
  for (const x of b) sum = (Math.imul(sum, 31) + x) >>> 0;
  return sum;
}
const callbacksOf = {
  deliverFn: ({ groupName, nodeid, pid, msg }) => {
    P(`  ${curSlot} deliver ${hex(groupName)} node=${nodeid} pid=${tag(pid)} len=${msg.length} sum=${checksum(msg)}`);
    callbacks++;
  },
  confchgFn: ({ groupName, memberList, leftList, joinedList }) => {
    P(`  ${curSlot} confchg ${hex(groupName)}${list('members', memberList)}${list('left', leftList)}${list('joined', joinedList)}`);
    callbacks++;
  },
};
const totemFn = ({ ringId, memberList }) => {
  P(`  ${curSlot} totem ring=${ringId.nodeid}+${ringId.seq - probeSeq} members=${memberList.join(',')}`);
  callbacks++;
};
const shutdownCallback = ({ flags }) => {
  P(`  ${curSlot} shutdown flags=${flags}`);
  callbacks++;
};

function parseName(s) {
  if (s === '-') return null;
  if (!s.startsWith('x')) throw new Error(`bad name ${s}`);
  return new Uint8Array(Buffer.from(s.slice(1), 'hex'));
}
function payload(len, total, off) {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = (Math.imul(off + i, 31) + total) & 0xff;
  return p;
}
const modes = { one: CS_DISPATCH_ONE, all: CS_DISPATCH_ALL, nb: CS_DISPATCH_ONE_NONBLOCKING, blocking: CS_DISPATCH_BLOCKING };
function mode(m) {
  if (!(m in modes)) throw new Error(`bad mode ${m}`);
  return modes[m];
}

/** An iteration slot that never held a handle: what C gives for handle 0. */
const noHandle = () => Promise.reject(new C.CsError(CS_ERR_BAD_HANDLE, 'no handle in this slot'));
/** A slot that never held a handle stands for C's handle 0, as a finalized one does: every check before the handle's is still made. */
const deadCpg = await CpgHandle.initialize({}, manual);
await deadCpg.finalize();
const deadCfg = await CfgHandle.initialize({}, manual);
await deadCfg.finalize();
h.fill(deadCpg);
f.fill(deadCfg);
const on = (x, fn) => Promise.resolve().then(() => fn(x));

let probeTotemSeen = false;
// other drivers' probes share the group: only this process's own message counts
const probe = await CpgHandle.modelInitialize(
  1,
  {
    deliverFn: ({ pid }) => {
      if (pid === self) probeSeen++;
    },
    confchgFn: () => {},
    totemConfchgFn: ({ ringId }) => {
      probeSeq = ringId.seq;
      probeTotemSeen = true;
    },
    flags: 1,
  },
  undefined,
  manual,
);
const probeName = Buffer.from('diffcpg-probe');
await probe.join(probeName);
while (!probeTotemSeen) await probe.dispatch(CS_DISPATCH_ONE, { timeout: WAIT_MS });

/** Dispatches ONE at a time until `want` callbacks ran: [1, ''], [error, ''], or [1, ' TIMEOUT callbacks=n'] after WAIT_MS. */
async function dispatchUntil(handle, want) {
  callbacks = 0;
  const deadline = Date.now() + WAIT_MS;
  while (callbacks < want) {
    const [err] = await rc(on(handle, (x) => x.dispatch(CS_DISPATCH_ONE, { timeout: Math.max(0, deadline - Date.now()) })));
    if (err === C.CS_ERR_TIMEOUT) return [1, ` TIMEOUT callbacks=${callbacks}`];
    if (err !== 1) return [err, ''];
  }
  return [1, ''];
}

async function barrier() {
  await probe.mcastJoined(2, 'b');
  probeSeen = 0;
  while (probeSeen < 1) await probe.dispatch(CS_DISPATCH_ONE, { timeout: WAIT_MS });
}
async function inList(g) {
  return (await probe.membershipGet(g)).some((m) => m.pid === self);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line) continue;
  const [cmd, a = '', b = '', c = '', d = ''] = line.split(' ');
  let s = Number.parseInt(a, 10);
  if (!(s >= 0 && s < SLOTS)) s = 0;
  curSlot = s;
  let out = '';
  let sync = false;
  let e;
  switch (cmd) {
    case 'init': {
      const [err, x] = await rc(CpgHandle.initialize(callbacksOf, manual));
      if (err === 1) h[s] = x;
      e = err;
      break;
    }
    case 'model': {
      const md = { ...callbacksOf, totemConfchgFn: Number(d) ? totemFn : null, flags: Number(c) };
      const [err, x] = await rc(CpgHandle.modelInitialize(Number(b), md, undefined, manual));
      if (err === 1) h[s] = x;
      e = err;
      break;
    }
    case 'join': {
      const name = parseName(b);
      [e] = await rc(on(h[s], (x) => x.join(name)));
      if (e === 1) {
        joined[s] = name;
        joinedState[s] = 1;
      }
      sync = true;
      break;
    }
    case 'leave':
      [e] = await rc(on(h[s], (x) => x.leave(parseName(b))));
      if (e === 1) joinedState[s] = 2;
      sync = true;
      break;
    case 'mcast': {
      const sizes = c.split(',').map(Number);
      const total = sizes.reduce((x, y) => x + y, 0);
      let off = 0;
      const parts = sizes.map((n) => {
        const p = payload(n, total, off);
        off += n;
        return p;
      });
      [e] = await rc(on(h[s], (x) => x.mcastJoined(Number(b), parts.length === 1 ? parts[0] : parts)));
      sync = true;
      break;
    }
    case 'members': {
      const [err, m] = await rc(on(h[s], (x) => x.membershipGet(parseName(b))));
      e = err;
      if (e === 1) out = ` n=${m.length}${list('members', m)}`;
      break;
    }
    case 'local': {
      const [err, id] = await rc(on(h[s], (x) => x.localGet()));
      e = err;
      if (e === 1) out = ` ${id}`;
      break;
    }
    case 'maxsize': {
      const [err, v] = await rc(on(h[s], (x) => x.maxAtomicMsgsizeGet()));
      e = err;
      if (e === 1) out = ` ${v}`;
      break;
    }
    case 'fcstate': {
      const [err, v] = await rc(on(h[s], (x) => x.flowControlStateGet()));
      e = err;
      if (e === 1) out = ` ${v}`;
      break;
    }
    case 'iinit': {
      const i = Number(b) % SLOTS;
      const [err, ith] = await rc(on(h[s], (x) => x.iterationInitialize(Number(c), parseName(d))));
      e = err;
      if (e === 1) it[i] = { handle: h[s], ith };
      break;
    }
    case 'inext': {
      const x = it[s];
      const [err, desc] = await rc(x === undefined ? noHandle() : x.handle.iterationNext(x.ith));
      e = err;
      if (e === 1) out = ` ${hex(desc.groupName)} node=${desc.nodeid} pid=${tag(desc.pid)}`;
      break;
    }
    case 'ifin': {
      const x = it[s];
      [e] = await rc(x === undefined ? noHandle() : x.handle.iterationFinalize(x.ith));
      break;
    }
    case 'dispatch':
      callbacks = 0;
      [e] = await rc(on(h[s], (x) => x.dispatch(mode(b))));
      out = ` callbacks=${callbacks}`;
      break;
    case 'until':
      [e, out] = await dispatchUntil(h[s], Number(b));
      break;
    case 'fin':
      [e] = await rc(on(h[s], (x) => x.finalize()));
      if (e === 1) {
        if (joinedState[s] === 1 && joined[s].length > 0) {
          const deadline = Date.now() + WAIT_MS;
          while (await inList(joined[s])) {
            if (Date.now() > deadline) {
              out = ' STILL-LISTED';
              break;
            }
            await new Promise((r) => setTimeout(r, 1));
          }
        }
        joinedState[s] = 0;
      }
      sync = true;
      break;
    case 'zalloc': {
      const k = Number(b) % zb.length;
      const size = Number(c);
      const [err, buf] = await rc(on(h[s], (x) => x.zcbAlloc(size)));
      e = err;
      if (e === 1) {
        zb[k] = buf;
        for (let i = 0; i < size; i++) buf[i] = (Math.imul(i, 7) + k) & 0xff;
      }
      break;
    }
    case 'zmcast': {
      const k = Number(b) % zb.length;
      [e] = await rc(on(h[s], (x) => x.zcbMcastJoined(Number(c), zb[k], Number(d))));
      sync = true;
      break;
    }
    case 'zfree': {
      const k = Number(b) % zb.length;
      [e] = await rc(on(h[s], (x) => x.zcbFree(zb[k])));
      break;
    }
    case 'peer':
      peers.set(Number(b), a);
      e = 1;
      break;
    case 'whoami':
      e = 1;
      out = ` ${self}`;
      break;
    case 'barrier':
      e = 1;
      sync = true;
      break;
    case 'cinit': {
      const [err, x] = await rc(CfgHandle.initialize({ shutdownCallback }, manual));
      if (err === 1) f[s] = x;
      e = err;
      break;
    }
    case 'clocal': {
      const [err, id] = await rc(on(f[s], (x) => x.localGet()));
      e = err;
      if (e === 1) out = ` ${id}`;
      break;
    }
    case 'cring': {
      const [err, r] = await rc(on(f[s], (x) => x.ringStatusGet()));
      e = err;
      if (e === 1) out = ` ${r.interfaceNames.length}${r.interfaceNames.map((n, i) => ` [${n}|${r.interfaceStatus[i]}]`).join('')}`;
      break;
    }
    case 'cnode': {
      const [err, st] = await rc(on(f[s], (x) => x.nodeStatusGet(Number(b), Number(c))));
      e = err;
      if (e === 1) {
        out = ` v=${st.version} node=${st.nodeid} reachable=${st.reachable} remote=${st.remote} external=${st.external} onwire=${st.onwireMin}/${st.onwireMax}/${st.onwireVer}`;
        st.linkStatus.forEach((l, i) => {
          if (l.enabled || l.connected || l.mtu) out += ` link${i}=${l.enabled}/${l.connected}/${l.dynconnected}/${l.mtu}/${l.srcIpaddr}/${l.dstIpaddr}`;
        });
      }
      break;
    }
    case 'caddrs': {
      const max = Math.min(Number(c), 8);
      const [err, addrs] = await rc(on(f[s], (x) => x.getNodeAddrs(Number(b), max)));
      e = err;
      if (e === 1) out = ` n=${addrs.length}${addrs.map((x) => ` ${x.addressLength}/${x.family}/${x.address}`).join('')}`;
      break;
    }
    case 'ctrack':
      [e] = await rc(on(f[s], (x) => x.trackstart(Number(b) & 0xff)));
      break;
    case 'cuntrack':
      [e] = await rc(on(f[s], (x) => x.trackstop()));
      break;
    case 'creload':
      [e] = await rc(on(f[s], (x) => x.reloadConfig()));
      break;
    case 'creopen':
      [e] = await rc(on(f[s], (x) => x.reopenLogFiles()));
      break;
    case 'creply':
      [e] = await rc(on(f[s], (x) => x.replytoShutdown(Number(b))));
      break;
    case 'cshut':
      [e] = await rc(on(f[s], (x) => x.tryShutdown(Number(b))));
      break;
    case 'ckill':
      [e] = await rc(on(f[s], (x) => x.killNode(Number(b), 'r'.repeat(Math.min(Number(c), 511)))));
      break;
    case 'cuntil':
      [e, out] = await dispatchUntil(f[s], Number(b));
      break;
    case 'cdispatch':
      callbacks = 0;
      [e] = await rc(on(f[s], (x) => x.dispatch(mode(b))));
      out = ` callbacks=${callbacks}`;
      break;
    case 'cfin':
      [e] = await rc(on(f[s], (x) => x.finalize()));
      break;
    default:
      P(`unknown command ${cmd}`);
      flush();
      process.exit(2);
  }
  if (sync) await barrier();
  P(`${line} -> ${e}${out}`);
  // a multi-process run (test/diff-cpg-multi.ts) waits for each answer before the next command
  flush();
}
P('end');
flush();
process.exit(0);
