// The TypeScript half of the differential cmap test: the commands of test/cref/diff-cmap.c (see
// its header for the language), performed through @corosync-ts/client (built dist), printing the
// same lines. Run inside the daemon's namespace, commands on stdin.
import { isUtf8 } from 'node:buffer';
import { createInterface } from 'node:readline';
import { C, IDLE_MS, NSLOT, P, flush, manual, rc } from './diff-common.mjs';

const { CmapHandle, QuorumHandle, VotequorumHandle, isCsError, CS_DISPATCH_ONE, CS_ERR_TIMEOUT } = C;

const PREFIX = 'test.diff.';
const hex = (b) => ' x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** `s<text>`, `x<hex>` or `r<hh>:<n>` as bytes. */
function bytesArg(tok) {
  if (tok.startsWith('s')) return new Uint8Array(Buffer.from(tok.slice(1), 'latin1'));
  if (tok.startsWith('r')) {
    const [b, n] = tok.slice(1).split(':');
    return new Uint8Array(Number(n)).fill(parseInt(b, 16));
  }
  return new Uint8Array(Buffer.from(tok.slice(1), 'hex'));
}
const strArg = (tok) => Buffer.from(bytesArg(tok)).toString('utf8');

const h = new Array(NSLOT);
const it = new Array(NSLOT);
const tr = new Array(NSLOT);
let opened = [];

function notify(n) {
  const v = (x) => `${x.type}/${x.len}/x${Buffer.from(x.data).toString('hex')}`;
  P(`  notify ${n.userData} event=${n.event} key=${n.keyName} new=${v(n.newValue)} old=${v(n.oldValue)}`);
}

async function reset() {
  for (const x of opened) await rc(() => x.finalize());
  opened = [];
  h.fill(undefined);
  it.fill(undefined);
  tr.fill(undefined);
  const [e, c] = await rc(() => CmapHandle.initialize(manual));
  if (e !== 'CS_OK') return;
  const keys = [];
  for await (const x of c.iter(PREFIX)) keys.push(x.keyName);
  for (const k of keys) await rc(() => c.delete(k));
  await c.finalize();
}

const TYPES = ['', 'Int8', 'Uint8', 'Int16', 'Uint16', 'Int32', 'Uint32', 'Int64', 'Uint64', 'Float', 'Double'];
const TYPE_TOKENS = ['', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'flt', 'dbl'];

function typedValue(type, s) {
  return type === 7 || type === 8 ? BigInt(s) : Number(s);
}

function prTyped(type, v) {
  if (type === 9 || type === 10) {
    if (Number.isNaN(v)) return ' nan';
    const b = new Uint8Array(type === 9 ? 4 : 8);
    const dv = new DataView(b.buffer);
    if (type === 9) dv.setFloat32(0, v, true);
    else dv.setFloat64(0, v, true);
    return hex(b);
  }
  return ` ${String(v)}`;
}

async function run(cmd) {
  const echo = cmd.length > 180 ? `${cmd.slice(0, 180)}...` : cmd;
  const [op, ...a] = cmd.split(' ');
  if (!op) return;
  if (op === 'end') return P('end');
  if (op === 'reset') {
    await reset();
    return P('reset');
  }
  if (op === 'qgq') {
    const [e, q] = await rc(async () => {
      const x = await QuorumHandle.initialize({}, manual);
      try {
        return await x.getquorate();
      } finally {
        await x.finalize();
      }
    });
    return P(`${echo} ${e}${e === 'CS_OK' ? ` ${Number(q)}` : ''}`);
  }
  if (op === 'vqinfo') {
    const [e, i] = await rc(async () => {
      const x = await VotequorumHandle.initialize(null, manual);
      try {
        return await x.getinfo(0);
      } finally {
        await x.finalize();
      }
    });
    return P(`${echo} ${e}${e === 'CS_OK'
      ? ` node=${i.nodeId} state=${i.nodeState} votes=${i.nodeVotes} expected=${i.nodeExpectedVotes} highest=${i.highestExpected} total=${i.totalVotes} quorum=${i.quorum} flags=${i.flags}`
      : ''}`);
  }
  const s = Number(a[0]);
  if (!(s >= 0 && s < NSLOT)) return P(`${echo} badslot`);
  if (op === 'init' || op === 'initmap') {
    const [e, nh] = await rc(() => (op === 'init' ? CmapHandle.initialize(manual) : CmapHandle.initializeMap(Number(a[1]), manual)));
    if (nh) {
      h[s] = nh;
      opened.push(nh);
    }
    return P(`${echo} ${e}`);
  }
  const hh = h[s];
  if (!hh) return P(`${echo} noslot`);
  switch (op) {
    case 'fin': {
      const [e] = await rc(() => hh.finalize());
      return P(`${echo} ${e}`);
    }
    case 'set': {
      const type = TYPE_TOKENS.indexOf(a[1]);
      const [e] = await rc(() => hh[`set${TYPES[type]}`](strArg(a[2]), typedValue(type, a[3])));
      return P(`${echo} ${e}`);
    }
    case 'sets': {
      const [e] = await rc(() => hh.setString(strArg(a[1]), strArg(a[2])));
      return P(`${echo} ${e}`);
    }
    case 'setraw': {
      const [e] = await rc(() => hh.setRaw(strArg(a[2]), bytesArg(a[3]), Number(a[1])));
      return P(`${echo} ${e}`);
    }
    case 'get': {
      const key = strArg(a[1]);
      const cap = Number(a[2]);
      if (cap < 0) {
        const [e, v] = await rc(() => hh.getInfo(key));
        return P(`${echo} ${e}${e === 'CS_OK' ? ` type=${v.type} len=${v.length}` : ''}`);
      }
      const [e, v] = await rc(() => hh.get(key, { capacity: cap }));
      return P(`${echo} ${e}${e === 'CS_OK' ? ` type=${v.type} len=${v.length}${hex(v.bytes.subarray(0, Math.min(v.length, cap)))}` : ''}`);
    }
    case 'gett': {
      const type = TYPE_TOKENS.indexOf(a[1]);
      const [e, v] = await rc(() => hh[`get${TYPES[type]}`](strArg(a[2])));
      return P(`${echo} ${e}${e === 'CS_OK' ? prTyped(type, v) : ''}`);
    }
    case 'gets': {
      const key = strArg(a[1]);
      const [e, v] = await rc(() => hh.getString(key));
      if (e !== 'CS_OK') return P(`${echo} ${e}`);
      // Bytes that are not UTF-8 (diff-cmap.c says "(not UTF-8)") must come back as
      // TextDecoder reads them; the stored bytes, read back with get(), tell which case it is.
      const [, raw] = await rc(() => hh.get(key));
      const stored = raw?.bytes.subarray(0, raw.bytes.indexOf(0) < 0 ? raw.bytes.length : raw.bytes.indexOf(0));
      if (stored && !isUtf8(stored) && v === new TextDecoder().decode(stored)) return P(`${echo} ${e} (not UTF-8)`);
      return P(`${echo} ${e}${hex(Buffer.from(v, 'utf8'))}`);
    }
    case 'del':
    case 'inc':
    case 'dec': {
      const f = { del: 'delete', inc: 'inc', dec: 'dec' }[op];
      const [e] = await rc(() => hh[f](strArg(a[1])));
      return P(`${echo} ${e}`);
    }
    case 'iinit': {
      const [e, ni] = await rc(() => hh.iterInit(strArg(a[2])));
      if (e === 'CS_OK') it[Number(a[1])] = ni;
      return P(`${echo} ${e}`);
    }
    case 'inext':
    case 'ifin': {
      const i = it[Number(a[1])];
      if (i === undefined) return P(`${echo} noiter`);
      if (op === 'ifin') {
        const [e] = await rc(() => hh.iterFinalize(i));
        return P(`${echo} ${e}`);
      }
      const [e, v] = await rc(() => hh.iterNext(i));
      if (e !== 'CS_OK') return P(`${echo} ${e}`);
      return P(`${echo} ${e}${v.keyName.startsWith(PREFIX) ? ` ${v.keyName} len=${v.valueLen} type=${v.type}` : ' (other)'}`);
    }
    case 'tadd': {
      const t = Number(a[1]);
      const [e, nt] = await rc(() => hh.trackAdd(strArg(a[2]), Number(a[3]), notify, `t${t}`));
      if (e === 'CS_OK') tr[t] = nt;
      return P(`${echo} ${e}`);
    }
    case 'tdel': {
      const t = tr[Number(a[1])];
      if (t === undefined) return P(`${echo} notrack`);
      const [e] = await rc(() => hh.trackDelete(t));
      return P(`${echo} ${e}`);
    }
    case 'disp': {
      const mode = Number(a[1]);
      // diff-cmap.c calls ONE only when an event comes within IDLE_MS: the same here
      const [e, , err] = await rc(() => hh.dispatch(mode, mode === CS_DISPATCH_ONE ? { timeout: IDLE_MS } : undefined));
      if (mode === CS_DISPATCH_ONE && err && isCsError(err, CS_ERR_TIMEOUT)) return P(`${echo} idle`);
      return P(`${echo} ${e}`);
    }
    default:
      return P(`${echo} unknown`);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  await run(line);
  flush();
}
await reset();
flush();
