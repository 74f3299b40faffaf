/**
 * The benchmarked messages: for each, K frame variants (K differently valued frames of the same
 * message, so neither side can keep a value from one iteration to the next), the fields objects
 * they were encoded from, and two consumers that read the same values, one through the codec's
 * fast-path accessors and one through the DataView baseline. A consumer reads the header (id,
 * size, error), every integer field (u64 as a double), the offset and length of every string and
 * bytes field (no string is built), and every list element; it adds them all into a sink.
 */
import { DIR_CODES, SERVICE_CODES, codec, encode } from '@corosync-ts/codec-wasm';
import * as B from './baseline.ts';

export const K = 16;

export interface Case {
  name: string;
  message: string;
  dir: 'req' | 'res' | 'evt';
  service: number;
  dirCode: number;
  fields: object[];
  frames: Uint8Array[];
  /** message code the baseline returns */
  code: number;
  enc: (f: object, u8: Uint8Array, dv: DataView) => number;
  /** reads the decoded frame whose bytes start at `off` of the input buffer, through the codec */
  wasm: (off: number) => number;
  /** the same reads through the baseline (after B.decode) */
  base: (dv: DataView, off: number) => number;
}

const u64 = (dv: DataView, p: number) => dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 4294967296;
const idx = (msg: string, dir: 'req' | 'res' | 'evt') => {
  const m = codec.messageIndex(msg, dir);
  const f = (name: string) => codec.fieldIndex(m, name);
  return { m, f };
};

const KEYS = [
  'runtime.votequorum.this_node_id', 'totem.cluster_name', 'nodelist.node.0.nodeid', 'quorum.expected_votes',
  'runtime.config.totem.token', 'logging.to_syslog', 'nodelist.node.1.ring0_addr', 'resources.watchdog_timeout',
  'runtime.members.1.ip', 'totem.transport', 'quorum.provider', 'runtime.services.cmap.0.rx',
  'totem.crypto_cipher', 'runtime.totem.pg.mrp.srp.members.2.status', 'logging.debug', 'system.qb_ipc_type',
];

function cmapGetReq(): Case {
  const { f } = idx('cmap.get', 'req');
  const KEY = f('keyName'), VL = f('valueLen');
  const fields = KEYS.map((keyName, i) => ({ keyName, valueLen: BigInt(16 + i) }));
  return {
    name: 'cmap.get req', message: 'cmap.get', dir: 'req', service: SERVICE_CODES.cmap, dirCode: DIR_CODES.req,
    fields, frames: fields.map((x) => encode('cmap.get', x)), code: B.CMAP_GET_REQ, enc: B.encCmapGetReq,
    wasm: () => codec.headerId() + codec.headerSize() + codec.dataOffset(KEY) + codec.dataLength(KEY) + codec.number(VL),
    base: (dv, off) => dv.getInt32(off, true) + dv.getInt32(off + 8, true) + (off + 24) + B.out.nameLen + u64(dv, off + 280),
  };
}

function cmapSetReq(): Case {
  const { f } = idx('cmap.set', 'req');
  const KEY = f('keyName'), VL = f('valueLen'), T = f('type'), V = f('value');
  const fields = KEYS.map((keyName, i) => ({ keyName, valueLen: 4n, type: 6, value: new Uint8Array([i, 0, 0, 0]) }));
  return {
    name: 'cmap.set req', message: 'cmap.set', dir: 'req', service: SERVICE_CODES.cmap, dirCode: DIR_CODES.req,
    fields, frames: fields.map((x) => encode('cmap.set', x)), code: B.CMAP_SET_REQ, enc: B.encCmapSetReq,
    wasm: () =>
      codec.headerId() + codec.headerSize() + codec.dataOffset(KEY) + codec.dataLength(KEY) + codec.number(VL) +
      codec.number(T) + codec.dataOffset(V) + codec.dataLength(V),
    base: (dv, off) =>
      dv.getInt32(off, true) + dv.getInt32(off + 8, true) + (off + 24) + B.out.nameLen + u64(dv, off + 280) +
      dv.getUint8(off + 288) + B.out.dataOff + B.out.dataLen,
  };
}

function cmapGetRes(): Case {
  const { f } = idx('cmap.get', 'res');
  const VL = f('valueLen'), T = f('type'), V = f('value');
  const fields = KEYS.map((_, i) => ({ valueLen: 4n, type: 6, value: new Uint8Array([i, 1, 0, 0]) }));
  return {
    name: 'cmap.get res', message: 'cmap.get', dir: 'res', service: SERVICE_CODES.cmap, dirCode: DIR_CODES.res,
    fields, frames: fields.map((x) => encode('cmap.get', x, { dir: 'res' })), code: B.CMAP_GET_RES, enc: B.encCmapGetRes,
    wasm: () =>
      codec.headerId() + codec.headerSize() + codec.headerError() + codec.number(VL) + codec.number(T) +
      codec.dataOffset(V) + codec.dataLength(V),
    base: (dv, off) =>
      dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true) + u64(dv, off + 24) +
      dv.getUint8(off + 32) + B.out.dataOff + B.out.dataLen,
  };
}

function cmapSetRes(): Case {
  const fields = KEYS.map(() => ({}));
  return {
    name: 'cmap.set res', message: 'cmap.set', dir: 'res', service: SERVICE_CODES.cmap, dirCode: DIR_CODES.res,
    fields, frames: fields.map((x) => encode('cmap.set', x, { dir: 'res' })), code: B.CMAP_SET_RES, enc: B.encCmapSetRes,
    wasm: () => codec.headerId() + codec.headerSize() + codec.headerError(),
    base: (dv, off) => dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true),
  };
}

/** The sum of the n u32 words at p: a list's elements (two words per votequorum node entry). */
function words(dv: DataView, p: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += dv.getUint32(p + 4 * k, true);
  return s;
}

const ids = (n: number, i: number) => Array.from({ length: n }, (_, k) => k + 1 + (i & 1));

function quorumV0(n: number): Case {
  const { f } = idx('quorum.notification', 'evt');
  const Q = f('quorate'), SEQ = f('ringSeq'), CNT = f('viewListEntries'), L = f('viewList');
  const fields = Array.from({ length: K }, (_, i) => ({ quorate: i & 1, ringSeq: BigInt(1000 + 4 * i), viewList: ids(n, i) }));
  return {
    name: `quorum V0 notification ${n}`, message: 'quorum.notification', dir: 'evt', service: SERVICE_CODES.quorum, dirCode: DIR_CODES.evt,
    fields, frames: fields.map((x) => encode('quorum.notification', x)), code: B.Q_V0, enc: B.encQuorumV0,
    wasm: () => {
      const s = codec.headerId() + codec.headerSize() + codec.headerError() + codec.number(Q) + codec.number(SEQ) + codec.number(CNT);
      return s + words(codec.inputView(), codec.dataOffset(L), codec.dataLength(L));
    },
    base: (dv, off) => {
      const s = dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true) + dv.getInt32(off + 24, true) +
        u64(dv, off + 32) + dv.getUint32(off + 40, true);
      return s + words(dv, B.out.l0, B.out.c0);
    },
  };
}

function quorumV1(n: number): Case {
  const { f } = idx('quorum.v1QuorumNotification', 'evt');
  const Q = f('quorate'), R = f('ringId'), CNT = f('viewListEntries'), L = f('viewList');
  const fields = Array.from({ length: K }, (_, i) => ({
    quorate: i & 1, ringId: { nodeid: 1 + (i & 3), seq: BigInt(1000 + 4 * i) }, viewList: ids(n, i),
  }));
  return {
    name: `quorum V1 quorum notification ${n}`, message: 'quorum.v1QuorumNotification', dir: 'evt', service: SERVICE_CODES.quorum,
    dirCode: DIR_CODES.evt, fields, frames: fields.map((x) => encode('quorum.v1QuorumNotification', x)), code: B.Q_V1_QUORUM,
    enc: B.encQuorumV1,
    wasm: () => {
      const s = codec.headerId() + codec.headerSize() + codec.headerError() + codec.number(Q) + codec.number(R) +
        codec.ringSeq(R) + codec.number(CNT);
      return s + words(codec.inputView(), codec.dataOffset(L), codec.dataLength(L));
    },
    base: (dv, off) => {
      const s = dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true) + dv.getInt32(off + 24, true) +
        dv.getUint32(off + 32, true) + u64(dv, off + 40) + dv.getUint32(off + 48, true);
      return s + words(dv, B.out.l0, B.out.c0);
    },
  };
}

function quorumNodelist(n: number): Case {
  const { f } = idx('quorum.v1NodelistNotification', 'evt');
  const R = f('ringId'), L0 = f('memberList'), L1 = f('joinedList'), L2 = f('leftList');
  const fields = Array.from({ length: K }, (_, i) => ({
    ringId: { nodeid: 1 + (i & 3), seq: BigInt(1000 + 4 * i) }, memberList: ids(n, i), joinedList: [n + (i & 1)], leftList: [n + 1 + (i & 1)],
  }));
  const list = (dv: DataView, p: number, c: number) => c + words(dv, p, c);
  return {
    name: `quorum V1 nodelist notification ${n}`, message: 'quorum.v1NodelistNotification', dir: 'evt', service: SERVICE_CODES.quorum,
    dirCode: DIR_CODES.evt, fields, frames: fields.map((x) => encode('quorum.v1NodelistNotification', x)), code: B.Q_V1_NODELIST,
    enc: B.encQuorumNodelist,
    wasm: () => {
      const dv = codec.inputView();
      return codec.headerId() + codec.headerSize() + codec.headerError() + codec.number(R) + codec.ringSeq(R) +
        list(dv, codec.dataOffset(L0), codec.dataLength(L0)) + list(dv, codec.dataOffset(L1), codec.dataLength(L1)) +
        list(dv, codec.dataOffset(L2), codec.dataLength(L2));
    },
    base: (dv, off) =>
      dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true) + dv.getUint32(off + 24, true) +
      u64(dv, off + 32) + list(dv, B.out.l0, B.out.c0) + list(dv, B.out.l1, B.out.c1) + list(dv, B.out.l2, B.out.c2),
  };
}

function vqQuorum(n: number): Case {
  const { f } = idx('votequorum.quorumNotification', 'evt');
  const Q = f('quorate'), C = f('context'), CNT = f('nodeListEntries'), L = f('nodeList');
  const fields = Array.from({ length: K }, (_, i) => ({
    quorate: i & 1, context: BigInt(7 + i), nodeList: ids(n, i).map((nodeid) => ({ nodeid, state: 1 + (nodeid & 1) })),
  }));
  return {
    name: `votequorum quorum notification ${n}`, message: 'votequorum.quorumNotification', dir: 'evt', service: SERVICE_CODES.votequorum,
    dirCode: DIR_CODES.evt, fields, frames: fields.map((x) => encode('votequorum.quorumNotification', x)), code: B.VQ_QUORUM,
    enc: B.encVqQuorum,
    wasm: () => {
      const s = codec.headerId() + codec.headerSize() + codec.headerError() + codec.number(Q) + codec.number(C) + codec.number(CNT);
      return s + words(codec.inputView(), codec.dataOffset(L), 2 * codec.dataLength(L));
    },
    base: (dv, off) => {
      const s = dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true) + dv.getUint32(off + 24, true) +
        u64(dv, off + 32) + dv.getUint32(off + 40, true);
      return s + words(dv, B.out.l0, 2 * B.out.c0);
    },
  };
}

function vqNodelist(n: number): Case {
  const { f } = idx('votequorum.nodelistNotification', 'evt');
  const C = f('context'), R = f('ringId'), CNT = f('nodeListEntries'), L = f('nodeList');
  const fields = Array.from({ length: K }, (_, i) => ({
    context: BigInt(7 + i), ringId: { nodeid: 1 + (i & 3), seq: BigInt(1000 + 4 * i) }, nodeList: ids(n, i),
  }));
  return {
    name: `votequorum nodelist notification ${n}`, message: 'votequorum.nodelistNotification', dir: 'evt', service: SERVICE_CODES.votequorum,
    dirCode: DIR_CODES.evt, fields, frames: fields.map((x) => encode('votequorum.nodelistNotification', x)), code: B.VQ_NODELIST,
    enc: B.encVqNodelist,
    wasm: () => {
      const s = codec.headerId() + codec.headerSize() + codec.headerError() + codec.number(C) + codec.number(R) + codec.ringSeq(R) +
        codec.number(CNT);
      return s + words(codec.inputView(), codec.dataOffset(L), codec.dataLength(L));
    },
    base: (dv, off) => {
      const s = dv.getInt32(off, true) + dv.getInt32(off + 8, true) + dv.getInt32(off + 16, true) + u64(dv, off + 24) +
        dv.getUint32(off + 32, true) + u64(dv, off + 40) + dv.getUint32(off + 48, true);
      return s + words(dv, B.out.l0, B.out.c0);
    },
  };
}

export const CASES: Record<string, () => Case> = {
  'cmap.get req': cmapGetReq,
  'cmap.get res': cmapGetRes,
  'cmap.set req': cmapSetReq,
  'cmap.set res': cmapSetRes,
};
for (const n of [3, 16, 64]) {
  CASES[`quorum V0 notification ${n}`] = () => quorumV0(n);
  CASES[`quorum V1 quorum notification ${n}`] = () => quorumV1(n);
  CASES[`quorum V1 nodelist notification ${n}`] = () => quorumNodelist(n);
  CASES[`votequorum quorum notification ${n}`] = () => vqQuorum(n);
  CASES[`votequorum nodelist notification ${n}`] = () => vqNodelist(n);
}
