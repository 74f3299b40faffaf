// The TypeScript half of the reference comparison: the same script of calls as cref.c, through
// @corosync-ts/client (built dist), printing the same lines. Run inside the daemon's namespace:
//   node ts-ref.mjs [all|cmap|quorum|votequorum]
import { C, P, rc } from './preamble.mjs';
const {
  CmapHandle, QuorumHandle, VotequorumHandle,
  CS_DISPATCH_ONE, CS_DISPATCH_ALL, CS_DISPATCH_ONE_NONBLOCKING, CS_TRACK_CURRENT, CS_TRACK_CHANGES, CS_TRACK_CHANGES_ONLY,
  CMAP_TRACK_ADD, CMAP_TRACK_DELETE, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX, CMAP_MAP_STATS, CMAP_VALUETYPE_BINARY, CMAP_VALUETYPE_UINT32,
  QUORUM_MODEL_V1,
} = C;

const manual = { dispatch: 'manual' };
function g(x) {
  return String(Number(x.toPrecision(6)));
}
function prValue(type, value, data) {
  if (type === 0) return '-';
  if (type === 9 || type === 10) return g(value);
  if (type === 11) return `"${value}"`;
  if (type >= 1 && type <= 8) return String(value);
  return '0x' + Buffer.from(data).toString('hex');
}
const K = 'test.cref.';
const key = (s) => K + s;

// ------------------------------------------------------------------------------------------ cmap

function notify(n) {
  const v = (x) => `${x.type}/${x.len}/${prValue(x.type, x.value, x.data)}`;
  P(`  notify ${n.userData} event=${n.event} key=${n.keyName} new=${v(n.newValue)} old=${v(n.oldValue)}`);
}

async function cleanup(h) {
  for await (const it of h.iter(K)) await rc(h.delete(it.keyName));
}

async function runCmap() {
  let e, v;
  let [ec, h] = await rc(CmapHandle.initialize(manual));
  P(`cmap.initialize ${ec}`);
  await cleanup(h);

  [e] = await rc(h.getInfo(key('missing'))); P(`cmap.get missing ${e}`);
  [e, v] = await rc(h.getString('totem.cluster_name')); P(`cmap.getString totem.cluster_name ${e} ${v ?? ''}`);
  [e, v] = await rc(h.getInfo('totem.cluster_name')); P(`cmap.getInfo totem.cluster_name ${e} ${v?.length} ${v?.type}`);

  const typed = [
    ['Int8', 'i8', -5], ['Uint8', 'u8', 255], ['Int16', 'i16', -300], ['Uint16', 'u16', 65535],
    ['Int32', 'i32', -70000], ['Uint32', 'u32', 4000000000], ['Int64', 'i64', -9000000000000000000n],
    ['Uint64', 'u64', 18000000000000000000n], ['Float', 'flt', 1.5], ['Double', 'dbl', -2.25],
  ];
  for (const [T, k, val] of typed) {
    [e] = await rc(h[`set${T}`](key(k), val)); P(`cmap.set${T} ${e}`);
    [e, v] = await rc(h[`get${T}`](key(k)));
    P(`cmap.get${T} ${e} ${T === 'Float' || T === 'Double' ? g(v) : String(v)}`);
  }
  [e] = await rc(h.setString(key('str'), 'hello')); P(`cmap.setString ${e}`);
  [e, v] = await rc(h.getString(key('str'))); P(`cmap.getString ${e} ${v ?? ''}`);
  [e, v] = await rc(h.getInfo(key('str'))); P(`cmap.getInfo str ${e} ${v?.length} ${v?.type}`);
  [e] = await rc(h.setString(key('empty'), '')); P(`cmap.setString empty ${e}`);
  [e, v] = await rc(h.getString(key('empty'))); P(`cmap.getString empty ${e} "${v ?? ''}"`);
  [e] = await rc(h.set(key('bin'), new Uint8Array([0, 1, 2, 0xfe, 0xff]), CMAP_VALUETYPE_BINARY)); P(`cmap.set binary ${e}`);
  [e, v] = await rc(h.get(key('bin'), { capacity: 64 }));
  P(`cmap.get binary ${e} ${v?.length} ${v?.type} ${prValue(v?.type, v?.value, v?.bytes)}`);
  [e] = await rc(h.set(key('bin0'), new Uint8Array(0), CMAP_VALUETYPE_BINARY)); P(`cmap.set binary empty ${e}`);
  [e, v] = await rc(h.get(key('bin0'), { capacity: 64 })); P(`cmap.get binary empty ${e} ${v?.length} ${v?.type}`);
  [e] = await rc(h.setString(key('big'), 'x'.repeat(2999))); P(`cmap.setString big ${e}`);
  [e, v] = await rc(h.getString(key('big'))); P(`cmap.getString big ${e} ${v?.length ?? 0}`);

  [e] = await rc(h.getUint32(key('str'))); P(`cmap.getUint32 of string ${e}`);
  [e] = await rc(h.getUint8(key('u32'))); P(`cmap.getUint8 of uint32 ${e}`);
  [e] = await rc(h.getString(key('u32'))); P(`cmap.getString of uint32 ${e}`);
  [e] = await rc(h.getUint32(key('big'))); P(`cmap.getUint32 of big ${e}`);
  [e] = await rc(h.get(key('str'), { capacity: 2 })); P(`cmap.get capacity 2 ${e}`);
  [e, v] = await rc(h.get(key('str'), { capacity: 6 })); P(`cmap.get capacity 6 ${e} ${v?.length} ${v?.type} ${v?.value ?? ''}`);
  [e] = await rc(h.setRaw(key('bad'), new TextEncoder().encode('abc'), CMAP_VALUETYPE_UINT32)); P(`cmap.set u32 len 3 ${e}`);
  [e] = await rc(h.setRaw(key('bad'), new TextEncoder().encode('abc'), 13)); P(`cmap.set type 13 ${e}`);
  [e] = await rc(h.setUint8('k'.repeat(299), 1)); P(`cmap.set 299-char key ${e}`);
  [e] = await rc(h.getInfo('k'.repeat(256))); P(`cmap.get 256-char key ${e}`);
  [e] = await rc(h.getInfo('k'.repeat(255))); P(`cmap.get 255-char key ${e}`);
  [e] = await rc(h.setUint8('ab', 1)); P(`cmap.set key ab ${e}`);
  [e] = await rc(h.setUint8('test.cref.a b', 1)); P(`cmap.set key with space ${e}`);

  [e] = await rc(h.setString('totem.cluster_name', 'x')); P(`cmap.set totem.cluster_name ${e}`);
  [e] = await rc(h.setUint32('runtime.config.totem.token', 1)); P(`cmap.set runtime.config.totem.token ${e}`);
  [e] = await rc(h.delete('totem.cluster_name')); P(`cmap.delete totem.cluster_name ${e}`);
  [e] = await rc(h.inc('runtime.config.totem.token')); P(`cmap.inc runtime.config.totem.token ${e}`);

  [e] = await rc(h.inc(key('u8'))); P(`cmap.inc u8 ${e}`);
  [e, v] = await rc(h.getUint8(key('u8'))); P(`cmap.getUint8 after inc ${e} ${v}`);
  [e] = await rc(h.dec(key('u8'))); P(`cmap.dec u8 ${e}`);
  [e, v] = await rc(h.getUint8(key('u8'))); P(`cmap.getUint8 after dec ${e} ${v}`);
  [e] = await rc(h.dec(key('i8'))); P(`cmap.dec i8 ${e}`);
  [e] = await rc(h.inc(key('str'))); P(`cmap.inc string ${e}`);
  [e] = await rc(h.inc(key('flt'))); P(`cmap.inc float ${e}`);
  [e] = await rc(h.inc(key('missing'))); P(`cmap.inc missing ${e}`);

  [e] = await rc(h.setInt8(key('i8w'), -128)); P(`cmap.setInt8 -128 ${e}`);
  [e] = await rc(h.dec(key('i8w'))); P(`cmap.dec i8w ${e}`);
  [e, v] = await rc(h.getInt8(key('i8w'))); P(`cmap.getInt8 after wrap ${e} ${v}`);

  const big = new Uint8Array(16385).map((_, i) => (i * 7) & 0xff);
  [e] = await rc(h.set(key('max'), big.subarray(0, 16384), CMAP_VALUETYPE_BINARY)); P(`cmap.set binary 16384 ${e}`);
  [e] = await rc(h.set(key('over'), big, CMAP_VALUETYPE_BINARY)); P(`cmap.set binary 16385 ${e}`);
  [e, v] = await rc(h.get(key('max'))); // no capacity: any size comes back
  P(`cmap.get binary 16384 ${e} ${v?.length} ${v?.type} ${Number(e === 1 && Buffer.from(v.value).equals(Buffer.from(big.subarray(0, 16384))))}`);

  [e] = await rc(h.delete(key('empty'))); P(`cmap.delete ${e}`);
  [e] = await rc(h.delete(key('empty'))); P(`cmap.delete again ${e}`);

  let it;
  [e, it] = await rc(h.iterInit(K)); P(`cmap.iterInit ${e}`);
  for (;;) {
    [e, v] = await rc(h.iterNext(it));
    if (e !== 1) break;
    P(`cmap.iterNext ${e} ${v.keyName} ${v.valueLen} ${v.type}`);
  }
  P(`cmap.iterNext end ${e}`);
  [e] = await rc(h.iterNext(it)); P(`cmap.iterNext past end ${e}`);
  [e] = await rc(h.iterFinalize(it)); P(`cmap.iterFinalize ${e}`);
  [e] = await rc(h.iterFinalize(it)); P(`cmap.iterFinalize again ${e}`);
  [e] = await rc(h.iterNext(it)); P(`cmap.iterNext finalized ${e}`);
  let it2;
  [e, it2] = await rc(h.iterInit('test.nomatch.')); P(`cmap.iterInit nomatch ${e}`);
  [e] = await rc(h.iterNext(it2)); P(`cmap.iterNext nomatch ${e}`);
  [e] = await rc(h.iterFinalize(it2)); P(`cmap.iterFinalize nomatch ${e}`);
  [e] = await rc(h.iterInit('k'.repeat(256))); P(`cmap.iterInit long prefix ${e}`);

  const ADM = CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY;
  let t1, t2;
  [e, t1] = await rc(h.trackAdd(key('tr'), ADM, notify, 't1')); P(`cmap.trackAdd key ${e}`);
  [e, t2] = await rc(h.trackAdd(key('p.'), ADM | CMAP_TRACK_PREFIX, notify, 't2')); P(`cmap.trackAdd prefix ${e}`);
  [e] = await rc(h.trackAdd(key('x'), 16, notify, 'bad')); P(`cmap.trackAdd type 16 ${e}`);
  [e] = await rc(h.setUint32(key('tr'), 1)); P(`cmap.set tr ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`cmap.dispatch ONE ${e}`);
  [e] = await rc(h.setString(key('tr'), 'abc')); P(`cmap.set tr string ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`cmap.dispatch ONE ${e}`);
  [e] = await rc(h.setString(key('tr'), 'abc')); P(`cmap.set tr same ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE_NONBLOCKING)); P(`cmap.dispatch ONE_NONBLOCKING ${e}`);
  [e] = await rc(h.setUint64(key('p.a'), 7n)); P(`cmap.set p.a ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`cmap.dispatch ONE ${e}`);
  [e] = await rc(h.inc(key('p.a'))); P(`cmap.inc p.a ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`cmap.dispatch ONE ${e}`);
  [e] = await rc(h.delete(key('tr'))); P(`cmap.delete tr ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`cmap.dispatch ONE ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ALL)); P(`cmap.dispatch ALL ${e}`);
  [e] = await rc(h.trackDelete(t1)); P(`cmap.trackDelete ${e}`);
  [e] = await rc(h.trackDelete(t1)); P(`cmap.trackDelete again ${e}`);
  [e] = await rc(h.setUint32(key('tr'), 2)); P(`cmap.set tr untracked ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE_NONBLOCKING)); P(`cmap.dispatch ONE_NONBLOCKING ${e}`);
  [e] = await rc(h.trackDelete(t2)); P(`cmap.trackDelete prefix ${e}`);

  let hs;
  [e, hs] = await rc(CmapHandle.initializeMap(CMAP_MAP_STATS, manual)); P(`cmap.initializeMap stats ${e}`);
  [e] = await rc(hs.setUint32('stats.test', 1)); P(`cmap.set stats ${e}`);
  [e] = await rc(hs.delete('stats.ipcs.global.active')); P(`cmap.delete stats ${e}`);
  [e] = await rc(hs.getUint64('stats.ipcs.global.active')); P(`cmap.getUint64 stats.ipcs.global.active ${e}`);
  [e] = await rc(hs.finalize()); P(`cmap.finalize stats ${e}`);
  [e] = await rc(CmapHandle.initializeMap(7, manual)); P(`cmap.initializeMap 7 ${e}`);

  await cleanup(h);
  [e] = await rc(h.finalize()); P(`cmap.finalize ${e}`);
  [e] = await rc(h.finalize()); P(`cmap.finalize again ${e}`);
  [e] = await rc(h.getInfo('totem.cluster_name')); P(`cmap.get after finalize ${e}`);
  [e] = await rc(h.getInfo('k'.repeat(256))); P(`cmap.get long key after finalize ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ALL)); P(`cmap.dispatch after finalize ${e}`);
  [e] = await rc((async () => h.fdGet())()); P(`cmap.fdGet after finalize ${e}`);
}

// ---------------------------------------------------------------------------------------- quorum

const list = (l) => l.join(',');
const q0 = (n) => P(`  quorum.v0 quorate=${Number(n.quorate)} ring_seq=${n.ringSeq} view=${list(n.viewList)}`);
const q1 = (n) => P(`  quorum.v1 quorate=${Number(n.quorate)} ring=${n.ringId.nodeid}/${n.ringId.seq} view=${list(n.viewList)}`);
const n1 = (n) =>
  P(`  quorum.nodelist ring=${n.ringId.nodeid}/${n.ringId.seq} members=${list(n.memberList)} joined=${list(n.joinedList)} left=${list(n.leftList)}`);

async function runQuorum() {
  let e, v, h, h1;
  const cb = { quorumNotify: q0 };
  const v1 = { quorumNotify: q1, nodelistNotify: n1 };
  [e, h] = await rc(QuorumHandle.initialize(cb, manual)); P(`quorum.initialize ${e} ${h?.quorumType}`);
  [e, v] = await rc(h.getquorate()); P(`quorum.getquorate ${e} ${Number(v)}`);
  [e] = await rc(h.trackstart(CS_TRACK_CURRENT)); P(`quorum.trackstart CURRENT ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`quorum.dispatch ONE ${e}`);
  [e] = await rc(h.trackstart(CS_TRACK_CHANGES)); P(`quorum.trackstart CHANGES ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`quorum.dispatch ONE ${e}`);
  [e] = await rc(h.trackstart(CS_TRACK_CHANGES)); P(`quorum.trackstart CHANGES again ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`quorum.dispatch ONE ${e}`);
  [e] = await rc(h.trackstop()); P(`quorum.trackstop ${e}`);
  [e] = await rc(h.trackstop()); P(`quorum.trackstop again ${e}`);
  [e] = await rc(h.trackstart(CS_TRACK_CHANGES_ONLY)); P(`quorum.trackstart CHANGES_ONLY ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE_NONBLOCKING)); P(`quorum.dispatch ONE_NONBLOCKING ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ALL)); P(`quorum.dispatch ALL ${e}`);
  [e] = await rc(h.dispatch(99)); P(`quorum.dispatch 99 ${e}`);
  [e] = await rc((async () => h.contextSet(cb))()); P(`quorum.contextSet ${e}`);
  [e, v] = await rc((async () => h.contextGet())()); P(`quorum.contextGet ${e} ${Number(v === cb)}`);
  [e] = await rc(h.finalize()); P(`quorum.finalize ${e}`);
  [e] = await rc(h.finalize()); P(`quorum.finalize again ${e}`);
  [e] = await rc(h.getquorate()); P(`quorum.getquorate after finalize ${e}`);
  [e] = await rc(h.trackstart(CS_TRACK_CURRENT)); P(`quorum.trackstart after finalize ${e}`);
  [e] = await rc(h.dispatch(99)); P(`quorum.dispatch 99 after finalize ${e}`);

  [e] = await rc(QuorumHandle.modelInitialize(5, v1, undefined, manual)); P(`quorum.modelInitialize 5 ${e}`);
  [e, h1] = await rc(QuorumHandle.modelInitialize(QUORUM_MODEL_V1, v1, v1, manual)); P(`quorum.modelInitialize V1 ${e} ${h1?.quorumType}`);
  [e, v] = await rc((async () => h1.contextGet())()); P(`quorum.contextGet ${e} ${Number(v === v1)}`);
  [e] = await rc(h1.trackstart(CS_TRACK_CURRENT)); P(`quorum.trackstart CURRENT ${e}`);
  [e] = await rc(h1.dispatch(CS_DISPATCH_ONE)); P(`quorum.dispatch ONE ${e}`);
  [e] = await rc(h1.dispatch(CS_DISPATCH_ONE)); P(`quorum.dispatch ONE ${e}`);
  [e] = await rc(h1.dispatch(CS_DISPATCH_ONE_NONBLOCKING)); P(`quorum.dispatch ONE_NONBLOCKING ${e}`);
  [e] = await rc(h1.finalize()); P(`quorum.finalize ${e}`);
}

// ------------------------------------------------------------------------------------ votequorum

let lastRing = { nodeid: 0, seq: 0n };
const vqCallbacks = {
  quorumNotify: (n) =>
    P(`  votequorum.quorum ctx=${n.context} quorate=${Number(n.quorate)} nodes=${n.nodeList.map((x) => `${x.nodeid}:${x.state}`).join(',')}`),
  nodelistNotify: (n) => {
    lastRing = n.ringId;
    P(`  votequorum.nodelist ctx=${n.context} ring=${n.ringId.nodeid}/${n.ringId.seq} nodes=${list(n.nodeList)}`);
  },
  expectedVotesNotify: (n) => P(`  votequorum.expectedvotes ctx=${n.context} expected=${n.expectedVotes}`),
};
function prInfo(what, e, i) {
  if (e !== 1) return P(`${what} ${e}`);
  P(`${what} ${e} node=${i.nodeId} state=${i.nodeState} votes=${i.nodeVotes} expected=${i.nodeExpectedVotes} highest=${i.highestExpected} total=${i.totalVotes} quorum=${i.quorum} flags=${i.flags} qdevice_votes=${i.qdeviceVotes} qdevice_name="${i.qdeviceName}"`);
}

// setexpected answers before its totem message is delivered: wait for the new quorum (as cref.c does)
async function settledInfo(h, quorum) {
  let r;
  for (let i = 0; i < 200; i++) {
    r = await rc(h.getinfo(0));
    if (r[0] !== 1 || r[1].quorum === quorum) break;
    await new Promise((res) => setTimeout(res, 10));
  }
  return r;
}

// qdevice update and unregister answer before their totem message is delivered (the name changes
// then): wait for the name (as cref.c does)
async function settledQdeviceName(h, name) {
  for (let i = 0; i < 200; i++) {
    const r = await rc(h.getinfo(0));
    if (r[0] !== 1 || r[1].qdeviceName === name) break;
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function runVotequorum() {
  let e, v, h;
  [e, h] = await rc(VotequorumHandle.initialize(vqCallbacks, manual)); P(`votequorum.initialize ${e}`);
  [e, v] = await rc(h.getinfo(0)); prInfo('votequorum.getinfo 0', e, v);
  [e, v] = await rc(h.getinfo(1)); prInfo('votequorum.getinfo 1', e, v);
  [e, v] = await rc(h.getinfo(99)); prInfo('votequorum.getinfo 99', e, v);
  [e] = await rc(h.setexpected(0)); P(`votequorum.setexpected 0 ${e}`);
  [e] = await rc(h.setexpected(5)); P(`votequorum.setexpected 5 ${e}`);
  [e, v] = await settledInfo(h, 3); prInfo('votequorum.getinfo 0', e, v);
  [e] = await rc(h.setexpected(3)); P(`votequorum.setexpected 3 ${e}`);
  [e, v] = await settledInfo(h, 2); prInfo('votequorum.getinfo 0', e, v);
  [e] = await rc(h.setvotes(1, 1)); P(`votequorum.setvotes 1 1 ${e}`);
  [e] = await rc(h.setvotes(99, 1)); P(`votequorum.setvotes 99 1 ${e}`);
  [e] = await rc(h.setvotes(0, 0)); P(`votequorum.setvotes qdevice 0 ${e}`);

  [e] = await rc(h.trackstart(42n, CS_TRACK_CURRENT)); P(`votequorum.trackstart 42 CURRENT ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.trackstart(43n, CS_TRACK_CHANGES)); P(`votequorum.trackstart 43 CHANGES ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.setexpected(3)); P(`votequorum.setexpected 3 tracked ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.trackstart(44n, CS_TRACK_CHANGES)); P(`votequorum.trackstart 44 CHANGES again ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`votequorum.dispatch ONE ${e}`);
  [e] = await rc(h.trackstop()); P(`votequorum.trackstop ${e}`);
  [e] = await rc(h.trackstop()); P(`votequorum.trackstop again ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE_NONBLOCKING)); P(`votequorum.dispatch ONE_NONBLOCKING ${e}`);
  [e] = await rc(h.dispatch(0)); P(`votequorum.dispatch 0 ${e}`);

  [e] = await rc(h.qdeviceRegister('')); P(`votequorum.qdeviceRegister empty ${e}`);
  [e] = await rc(h.qdeviceRegister('q'.repeat(255))); P(`votequorum.qdeviceRegister 255 ${e}`);
  [e] = await rc(h.qdeviceUnregister('crefq')); P(`votequorum.qdeviceUnregister not registered ${e}`);
  [e] = await rc(h.qdeviceRegister('crefq')); P(`votequorum.qdeviceRegister ${e}`);
  [e] = await rc(h.qdeviceRegister('crefq')); P(`votequorum.qdeviceRegister same ${e}`);
  [e] = await rc(h.qdeviceRegister('other')); P(`votequorum.qdeviceRegister other ${e}`);
  [e, v] = await rc(h.getinfo(0)); prInfo('votequorum.getinfo registered', e, v);
  [e] = await rc(h.qdeviceUpdate('wrong', 'crefq2')); P(`votequorum.qdeviceUpdate wrong ${e}`);
  [e] = await rc(h.qdeviceUpdate('crefq', 'crefq2')); P(`votequorum.qdeviceUpdate ${e}`);
  await settledQdeviceName(h, 'crefq2');
  [e] = await rc(h.qdevicePoll('crefq2', 0, { nodeid: lastRing.nodeid, seq: lastRing.seq + 1000n })); P(`votequorum.qdevicePoll bad ring ${e}`);
  [e] = await rc(h.qdevicePoll('wrong', 0, lastRing)); P(`votequorum.qdevicePoll wrong name ${e}`);
  [e] = await rc(h.qdevicePoll('crefq2', 0, lastRing)); P(`votequorum.qdevicePoll ${e}`);
  [e] = await rc(h.qdeviceMasterWins('crefq2', 1)); P(`votequorum.qdeviceMasterWins ${e}`);
  [e] = await rc(h.qdeviceMasterWins('wrong', 0)); P(`votequorum.qdeviceMasterWins wrong ${e}`);
  [e, v] = await rc(h.getinfo(0)); prInfo('votequorum.getinfo polled', e, v);
  [e] = await rc(h.qdeviceMasterWins('crefq2', 0)); P(`votequorum.qdeviceMasterWins off ${e}`);
  [e] = await rc(h.qdeviceUnregister('wrong')); P(`votequorum.qdeviceUnregister wrong ${e}`);
  [e] = await rc(h.qdeviceUnregister('crefq2')); P(`votequorum.qdeviceUnregister ${e}`);
  [e] = await rc(h.qdeviceUnregister('crefq2')); P(`votequorum.qdeviceUnregister again ${e}`);
  await settledQdeviceName(h, '');
  [e, v] = await rc(h.getinfo(0)); prInfo('votequorum.getinfo unregistered', e, v);

  [e] = await rc(h.finalize()); P(`votequorum.finalize ${e}`);
  [e] = await rc(h.finalize()); P(`votequorum.finalize again ${e}`);
  [e] = await rc(h.getinfo(0)); P(`votequorum.getinfo after finalize ${e}`);
  [e] = await rc(h.qdeviceRegister('')); P(`votequorum.qdeviceRegister empty after finalize ${e}`);
  [e] = await rc(h.trackstop()); P(`votequorum.trackstop after finalize ${e}`);
}

// A daemon without a quorum provider: QUORUM_FREE, always quorate, no votequorum service.
async function runFree() {
  let e, h, v;
  [e, h] = await rc(QuorumHandle.initialize({ quorumNotify: q0 }, manual)); P(`quorum.initialize ${e} ${h?.quorumType}`);
  [e, v] = await rc(h.getquorate()); P(`quorum.getquorate ${e} ${Number(v)}`);
  [e] = await rc(h.trackstart(CS_TRACK_CURRENT)); P(`quorum.trackstart CURRENT ${e}`);
  [e] = await rc(h.dispatch(CS_DISPATCH_ONE)); P(`quorum.dispatch ONE ${e}`);
  [e] = await rc(h.finalize()); P(`quorum.finalize ${e}`);
  [e] = await rc(VotequorumHandle.initialize(null, manual)); P(`votequorum.initialize ${e}`);
}

const what = process.argv[2] ?? 'all';
if (what === 'all' || what === 'cmap') await runCmap();
if (what === 'all' || what === 'quorum') await runQuorum();
if (what === 'all' || what === 'votequorum') await runVotequorum();
if (what === 'free') await runFree();
