import type { Direction, Service } from '../src/index.js';
import { Frame } from './helpers.js';

export interface Case {
  name: string;
  service: Service | 'qb';
  dir: Direction;
  fields: Record<string, unknown>;
  /** Header options for encode (error of responses, size override, id of `.error`). */
  header?: { error?: number; size?: number; id?: number };
  bytes: Uint8Array;
  /** Header error expected by decode (responses/events). */
  error?: number;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

const addr = (...b: number[]) => {
  const a = new Uint8Array(16);
  a.set(b);
  return a;
};

/** One case per catalog message (at least), with bytes laid out by hand. */
export const cases: Case[] = [
  // ------------------------------------------------------------------------------------ setup
  {
    name: 'qb.connectionRequest', service: 'qb', dir: 'setup', fields: { maxMsgSize: 1048576 },
    bytes: Frame.req(-1, 24).u32(16, 1048576).bytes,
  },
  {
    name: 'qb.connectionResponse', service: 'qb', dir: 'setup', error: 0,
    fields: {
      connectionType: 0, maxMsgSize: 1048576, connection: 0x55fee0504120n,
      request: '/dev/shm/qb-2607-5601-28-iA3boo/qb-control-cmap', response: '/dev/shm/qb-2607-5601-28-iA3boo/qb-cmap', event: '',
    },
    bytes: Frame.res(-1, 12328, 0).i32(24, 0).u32(28, 1048576).u64(32, 0x55fee0504120n)
      .chars(40, '/dev/shm/qb-2607-5601-28-iA3boo/qb-control-cmap').chars(4136, '/dev/shm/qb-2607-5601-28-iA3boo/qb-cmap').bytes,
  },
  {
    name: 'qb.connectionResponse', service: 'qb', dir: 'setup', error: -13, header: { error: -13 },
    fields: { connectionType: 0, maxMsgSize: 0, connection: 0n, request: '', response: '', event: '' },
    bytes: Frame.res(-1, 12328, -13).bytes,
  },

  // ------------------------------------------------------------------------------ cmap req
  {
    name: 'cmap.set', service: 'cmap', dir: 'req', fields: { keyName: 'test.str', valueLen: 3n, type: 11, value: new Uint8Array([0x61, 0x62, 0x63]) },
    bytes: Frame.req(0, 299).name(16, 'test.str').u64(280, 3n).u8(288, 11).raw(296, [0x61, 0x62, 0x63]).bytes,
  },
  {
    name: 'cmap.set', service: 'cmap', dir: 'req', fields: { keyName: 'a.b', valueLen: 0n, type: 12, value: new Uint8Array(0) },
    bytes: Frame.req(0, 296).name(16, 'a.b').u8(288, 12).bytes,
  },
  { name: 'cmap.delete', service: 'cmap', dir: 'req', fields: { keyName: 'test.str' }, bytes: Frame.req(1, 280).name(16, 'test.str').bytes },
  {
    name: 'cmap.get', service: 'cmap', dir: 'req', fields: { keyName: 'runtime.votequorum.this_node_id', valueLen: 16n },
    bytes: Frame.req(2, 288).name(16, 'runtime.votequorum.this_node_id').u64(280, 16n).bytes,
  },
  {
    name: 'cmap.adjustInt', service: 'cmap', dir: 'req', fields: { keyName: 'x.counter', step: -1 },
    bytes: Frame.req(3, 288).name(16, 'x.counter').i32(280, -1).bytes,
  },
  { name: 'cmap.iterInit', service: 'cmap', dir: 'req', fields: { prefix: '' }, bytes: Frame.req(4, 280).bytes },
  { name: 'cmap.iterInit', service: 'cmap', dir: 'req', fields: { prefix: 'nodelist.node.' }, bytes: Frame.req(4, 280).name(16, 'nodelist.node.').bytes },
  {
    name: 'cmap.iterNext', service: 'cmap', dir: 'req', fields: { iterHandle: 0x365eaae800000001n },
    bytes: Frame.req(5, 24).u64(16, 0x365eaae800000001n).bytes,
  },
  { name: 'cmap.iterFinalize', service: 'cmap', dir: 'req', fields: { iterHandle: 0xffffffffffffffffn }, bytes: Frame.req(6, 24).u64(16, 0xffffffffffffffffn).bytes },
  {
    name: 'cmap.trackAdd', service: 'cmap', dir: 'req', fields: { keyName: 'totem.', trackType: 4 | 8, trackInstHandle: 0x6b8b456700000000n },
    bytes: Frame.req(7, 296).name(16, 'totem.').i32(280, 12).u64(288, 0x6b8b456700000000n).bytes,
  },
  { name: 'cmap.trackDelete', service: 'cmap', dir: 'req', fields: { trackHandle: 7n }, bytes: Frame.req(8, 24).u64(16, 7n).bytes },
  { name: 'cmap.setCurrentMap', service: 'cmap', dir: 'req', fields: { map: 1 }, bytes: Frame.req(9, 24).i32(16, 1).bytes },

  // ------------------------------------------------------------------------------ cmap res
  { name: 'cmap.set', service: 'cmap', dir: 'res', error: 1, fields: {}, bytes: Frame.res(0, 24).bytes },
  { name: 'cmap.set', service: 'cmap', dir: 'res', error: 7, header: { error: 7 }, fields: {}, bytes: Frame.res(0, 24, 7).bytes },
  { name: 'cmap.delete', service: 'cmap', dir: 'res', error: 12, header: { error: 12 }, fields: {}, bytes: Frame.res(1, 24, 12).bytes },
  {
    // cmap_get_uint32 asks for 16 bytes: the reply is 40 + 16, value_len 4.
    name: 'cmap.get', service: 'cmap', dir: 'res', error: 1, header: { size: 56 },
    fields: { valueLen: 4n, type: 6, value: new Uint8Array([1, 0, 0, 0]) },
    bytes: Frame.res(2, 56).u64(24, 4n).u8(32, 6).raw(40, [1, 0, 0, 0]).bytes,
  },
  {
    name: 'cmap.get', service: 'cmap', dir: 'res', error: 1,
    fields: { valueLen: 6n, type: 11, value: new TextEncoder().encode('hello\0') },
    bytes: Frame.res(2, 46).u64(24, 6n).u8(32, 11).raw(40, new TextEncoder().encode('hello\0')).bytes,
  },
  {
    // Metadata-only GET (value_len 0 asked): 40 bytes, value_len = actual length, no value.
    name: 'cmap.get', service: 'cmap', dir: 'res', error: 1,
    fields: { valueLen: 20n, type: 11, value: new Uint8Array(0) },
    bytes: Frame.res(2, 40).u64(24, 20n).u8(32, 11).bytes,
  },
  {
    // Capacity too small: bare 40-byte error, value_len still the capacity asked for.
    name: 'cmap.get', service: 'cmap', dir: 'res', error: 7, header: { error: 7 },
    fields: { valueLen: 16n, type: 0, value: new Uint8Array(0) },
    bytes: Frame.res(2, 40, 7).u64(24, 16n).bytes,
  },
  { name: 'cmap.adjustInt', service: 'cmap', dir: 'res', error: 1, fields: {}, bytes: Frame.res(3, 24).bytes },
  { name: 'cmap.iterInit', service: 'cmap', dir: 'res', error: 1, fields: { iterHandle: 0x79aacfa800000000n }, bytes: Frame.res(4, 32).u64(24, 0x79aacfa800000000n).bytes },
  {
    name: 'cmap.iterNext', service: 'cmap', dir: 'res', error: 1, fields: { keyName: 'totem.cluster_name', valueLen: 8n, type: 11 },
    bytes: Frame.res(5, 304).name(24, 'totem.cluster_name').u64(288, 8n).u8(296, 11).bytes,
  },
  { name: 'cmap.iterFinalize', service: 'cmap', dir: 'res', error: 9, header: { error: 9 }, fields: {}, bytes: Frame.res(6, 24, 9).bytes },
  { name: 'cmap.trackAdd', service: 'cmap', dir: 'res', error: 1, fields: { trackHandle: 2n }, bytes: Frame.res(7, 32).u64(24, 2n).bytes },
  { name: 'cmap.trackDelete', service: 'cmap', dir: 'res', error: 1, fields: { trackInstHandle: 99n }, bytes: Frame.res(8, 32).u64(24, 99n).bytes },
  { name: 'cmap.setCurrentMap', service: 'cmap', dir: 'res', error: 1, fields: {}, bytes: Frame.res(10, 24).bytes },

  // ------------------------------------------------------------------------------ cmap evt
  {
    // The verified modify notification: "abc" -> "hello!", 347 bytes.
    name: 'cmap.notify', service: 'cmap', dir: 'evt', error: 1,
    fields: {
      trackInstHandle: 0x6b8b456700000000n, keyName: 'test.str', event: 2, newValueType: 11, oldValueType: 11,
      newValueLen: 7n, oldValueLen: 4n, newValue: new TextEncoder().encode('hello!\0'), oldValue: new TextEncoder().encode('abc\0'),
    },
    bytes: Frame.res(9, 347).u64(24, 0x6b8b456700000000n).name(32, 'test.str').i32(296, 2).u8(304, 11).u8(312, 11)
      .u64(320, 7n).u64(328, 4n).raw(336, new TextEncoder().encode('hello!\0abc\0')).bytes,
  },
  {
    name: 'cmap.notify', service: 'cmap', dir: 'evt', error: 1,
    fields: {
      trackInstHandle: 1n, keyName: 'test.str', event: 1, newValueType: 0, oldValueType: 11,
      newValueLen: 0n, oldValueLen: 7n, newValue: new Uint8Array(0), oldValue: new TextEncoder().encode('hello!\0'),
    },
    bytes: Frame.res(9, 343).u64(24, 1n).name(32, 'test.str').i32(296, 1).u8(312, 11).u64(328, 7n)
      .raw(336, new TextEncoder().encode('hello!\0')).bytes,
  },

  // ---------------------------------------------------------------------------- quorum req
  { name: 'quorum.getquorate', service: 'quorum', dir: 'req', fields: {}, bytes: Frame.req(0, 16).bytes },
  { name: 'quorum.trackstart', service: 'quorum', dir: 'req', fields: { trackFlags: 2 }, bytes: Frame.req(1, 24).u32(16, 2).bytes },
  { name: 'quorum.trackstop', service: 'quorum', dir: 'req', fields: {}, bytes: Frame.req(2, 16).bytes },
  { name: 'quorum.gettype', service: 'quorum', dir: 'req', fields: {}, bytes: Frame.req(3, 16).bytes },
  { name: 'quorum.modelGettype', service: 'quorum', dir: 'req', fields: { model: 1 }, bytes: Frame.req(4, 24).u32(16, 1).bytes },

  // ---------------------------------------------------------------------------- quorum res
  { name: 'quorum.getquorate', service: 'quorum', dir: 'res', error: 1, fields: { quorate: 1 }, bytes: Frame.res(0, 32).u32(24, 1).bytes },
  { name: 'quorum.trackstart', service: 'quorum', dir: 'res', error: 14, header: { error: 14 }, fields: {}, bytes: Frame.res(1, 24, 14).bytes },
  { name: 'quorum.trackstop', service: 'quorum', dir: 'res', error: 1, fields: {}, bytes: Frame.res(2, 24).bytes },
  { name: 'quorum.gettype', service: 'quorum', dir: 'res', error: 1, fields: { quorumType: 1 }, bytes: Frame.res(4, 32).u32(24, 1).bytes },
  {
    name: 'quorum.modelGettype', service: 'quorum', dir: 'res', error: 7, header: { error: 7 }, fields: { quorumType: 1 },
    bytes: Frame.res(5, 32, 7).u32(24, 1).bytes,
  },

  // ---------------------------------------------------------------------------- quorum evt
  {
    // The verified V0 notification of the host daemon (node 1, seq 15).
    name: 'quorum.notification', service: 'quorum', dir: 'evt', error: 1,
    fields: { quorate: 1, ringSeq: 15n, viewListEntries: 1, viewList: [1] },
    bytes: Frame.res(3, 52).i32(24, 1).u64(32, 15n).u32(40, 1).u32(44, 1).bytes,
  },
  {
    name: 'quorum.notification', service: 'quorum', dir: 'evt', error: 1,
    fields: { quorate: 0, ringSeq: 0n, viewListEntries: 0, viewList: [] },
    bytes: Frame.res(3, 48).bytes,
  },
  {
    name: 'quorum.v1QuorumNotification', service: 'quorum', dir: 'evt', error: 1,
    fields: { quorate: 1, ringId: { nodeid: 1, seq: 0x1cn }, viewListEntries: 3, viewList: [1, 2, 3] },
    bytes: Frame.res(6, 68).i32(24, 1).u32(32, 1).u64(40, 0x1cn).u32(48, 3).u32s(52, [1, 2, 3]).bytes,
  },
  {
    name: 'quorum.v1NodelistNotification', service: 'quorum', dir: 'evt', error: 1,
    fields: {
      ringId: { nodeid: 2, seq: 8n }, memberListEntries: 2, joinedListEntries: 1, leftListEntries: 1,
      memberList: [1, 2], joinedList: [2], leftList: [3],
    },
    bytes: Frame.res(7, 80).u32(24, 2).u64(32, 8n).u32(40, 2).u32(48, 1).u32(56, 1).u32s(60, [1, 2, 2, 3]).bytes,
  },

  // ------------------------------------------------------------------------ votequorum req
  { name: 'votequorum.getinfo', service: 'votequorum', dir: 'req', fields: { nodeid: 0 }, bytes: Frame.req(0, 24).bytes },
  { name: 'votequorum.setexpected', service: 'votequorum', dir: 'req', fields: { expectedVotes: 3 }, bytes: Frame.req(1, 24).u32(16, 3).bytes },
  { name: 'votequorum.setvotes', service: 'votequorum', dir: 'req', fields: { votes: 5, nodeid: 1 }, bytes: Frame.req(2, 24).u32(16, 5).i32(20, 1).bytes },
  {
    name: 'votequorum.trackstart', service: 'votequorum', dir: 'req', fields: { context: 0xdeadbeefn, trackFlags: 1 },
    bytes: Frame.req(3, 32).u64(16, 0xdeadbeefn).u32(24, 1).bytes,
  },
  { name: 'votequorum.trackstop', service: 'votequorum', dir: 'req', fields: {}, bytes: Frame.req(4, 16).bytes },
  { name: 'votequorum.qdeviceRegister', service: 'votequorum', dir: 'req', fields: { name: 'Qdevice' }, bytes: Frame.req(5, 272).chars(16, 'Qdevice').bytes },
  { name: 'votequorum.qdeviceUnregister', service: 'votequorum', dir: 'req', fields: { name: 'Qdevice' }, bytes: Frame.req(6, 272).chars(16, 'Qdevice').bytes },
  {
    name: 'votequorum.qdeviceUpdate', service: 'votequorum', dir: 'req', fields: { oldname: 'old', newname: 'new' },
    bytes: Frame.req(7, 528).chars(16, 'old').chars(271, 'new').bytes,
  },
  {
    name: 'votequorum.qdevicePoll', service: 'votequorum', dir: 'req', fields: { name: 'Qdevice', castVote: 1, ringId: { nodeid: 1, seq: 4n } },
    bytes: Frame.req(8, 296).chars(16, 'Qdevice').i32(272, 1).u32(280, 1).u64(288, 4n).bytes,
  },
  {
    name: 'votequorum.qdeviceMasterWins', service: 'votequorum', dir: 'req', fields: { name: 'Qdevice', allow: 1 },
    bytes: Frame.req(9, 280).chars(16, 'Qdevice').u32(272, 1).bytes,
  },

  // ------------------------------------------------------------------------ votequorum res
  { name: 'votequorum.status', service: 'votequorum', dir: 'res', error: 1, fields: {}, bytes: Frame.res(0, 24).bytes },
  { name: 'votequorum.status', service: 'votequorum', dir: 'res', error: 7, header: { error: 7 }, fields: {}, bytes: Frame.res(0, 24, 7).bytes },
  {
    // votes=1 exp=3 high=3 total=1 quorum=2 flags=0, as observed.
    name: 'votequorum.getinfo', service: 'votequorum', dir: 'res', error: 1,
    fields: {
      nodeid: 1, state: 1, votes: 1, expectedVotes: 3, highestExpected: 3, totalVotes: 1, quorum: 2, flags: 0,
      qdeviceVotes: 0, qdeviceName: '',
    },
    bytes: Frame.res(1, 320).u32s(24, [1, 1, 1, 3, 3, 1, 2, 0, 0]).bytes,
  },
  {
    name: 'votequorum.getinfo', service: 'votequorum', dir: 'res', error: 1,
    fields: {
      nodeid: 2, state: 1, votes: 1, expectedVotes: 3, highestExpected: 3, totalVotes: 3, quorum: 2, flags: 2 | 64 | 128 | 256,
      qdeviceVotes: 1, qdeviceName: 'Qdevice',
    },
    bytes: Frame.res(1, 320).u32s(24, [2, 1, 1, 3, 3, 3, 2, 450, 1]).chars(60, 'Qdevice').bytes,
  },

  // ------------------------------------------------------------------------ votequorum evt
  {
    name: 'votequorum.quorumNotification', service: 'votequorum', dir: 'evt', error: 1,
    fields: { quorate: 1, context: 42n, nodeListEntries: 2, nodeList: [{ nodeid: 1, state: 1 }, { nodeid: 0, state: 0 }] },
    bytes: Frame.res(3, 64).u32(24, 1).u64(32, 42n).u32(40, 2).u32s(48, [1, 1, 0, 0]).bytes,
  },
  {
    name: 'votequorum.expectedvotesNotification', service: 'votequorum', dir: 'evt', error: 1,
    fields: { context: 42n, expectedVotes: 5 }, bytes: Frame.res(4, 40).u64(24, 42n).u32(32, 5).bytes,
  },
  {
    name: 'votequorum.nodelistNotification', service: 'votequorum', dir: 'evt', error: 1,
    fields: { context: 0n, ringId: { nodeid: 1, seq: 12n }, nodeListEntries: 1, nodeList: [1] },
    bytes: Frame.res(5, 60).u32(32, 1).u64(40, 12n).u32(48, 1).u32(56, 1).bytes,
  },

  // ------------------------------------------------------------------------------------ cfg
  { name: 'cfg.getNodeAddrs', service: 'cfg', dir: 'req', fields: { nodeid: 0 }, bytes: Frame.req(5, 24).bytes },
  { name: 'cfg.localGet', service: 'cfg', dir: 'req', fields: {}, bytes: Frame.req(6, 16).bytes },
  {
    // The verified host reply: node 1 on 127.0.0.1, 48 bytes.
    name: 'cfg.getNodeAddrs', service: 'cfg', dir: 'res', error: 1,
    fields: { family: 2, numAddrs: 1, addrs: [addr(127, 0, 0, 1)] },
    bytes: Frame.res(11, 48).u32(24, 2).u32(28, 1).raw(32, [127, 0, 0, 1]).bytes,
  },
  {
    // Error reply: 32 bytes with an uninitialised count, read as no addresses.
    name: 'cfg.getNodeAddrs', service: 'cfg', dir: 'res', error: 12, header: { error: 12 },
    fields: { family: 0, numAddrs: 0, addrs: [] },
    bytes: Frame.res(11, 32, 12).bytes,
  },
  { name: 'cfg.localGet', service: 'cfg', dir: 'res', error: 1, fields: { localNodeid: 1 }, bytes: Frame.res(12, 32).u32(24, 1).bytes },

  // ------------------------------------------------------------------------------ more cfg
  { name: 'cfg.ringStatusGet', service: 'cfg', dir: 'req', fields: {}, bytes: Frame.req(0, 16).bytes },
  { name: 'cfg.ringReenable', service: 'cfg', dir: 'req', fields: {}, bytes: Frame.req(1, 16).bytes },
  {
    // libcfg sends strlen + 1: the length counts the NUL
    name: 'cfg.killNode', service: 'cfg', dir: 'req', fields: { nodeid: 2, reason: 'test' },
    bytes: Frame.req(2, 288).u32(16, 2).u16(24, 5).chars(26, 'test').bytes,
  },
  { name: 'cfg.tryShutdown', service: 'cfg', dir: 'req', fields: { flags: 1 }, bytes: Frame.req(3, 24).u32(16, 1).bytes },
  { name: 'cfg.replytoShutdown', service: 'cfg', dir: 'req', fields: { response: 1 }, bytes: Frame.req(4, 24).u32(16, 1).bytes },
  { name: 'cfg.reloadConfig', service: 'cfg', dir: 'req', fields: {}, bytes: Frame.req(7, 16).bytes },
  { name: 'cfg.reopenLogFiles', service: 'cfg', dir: 'req', fields: {}, bytes: Frame.req(8, 16).bytes },
  { name: 'cfg.nodeStatusGet', service: 'cfg', dir: 'req', fields: { nodeid: 1, version: 1 }, bytes: Frame.req(9, 32).u32(16, 1).u32(24, 1).bytes },
  { name: 'cfg.trackstart', service: 'cfg', dir: 'req', fields: { trackFlags: 255 }, bytes: Frame.req(10, 24).u8(16, 255).bytes },
  { name: 'cfg.trackstop', service: 'cfg', dir: 'req', fields: {}, bytes: Frame.req(11, 16).bytes },
  {
    name: 'cfg.ringStatusGet', service: 'cfg', dir: 'res', error: 1,
    fields: { interfaceCount: 2, interfaceName: ['0 127.0.0.1', '1 10.0.0.1'], interfaceStatus: ['n11', 'n00'] },
    bytes: Frame.res(0, 10272).u32(24, 2).chars(32, '0 127.0.0.1').chars(160, '1 10.0.0.1').chars(2080, 'n11').chars(2592, 'n00').bytes,
  },
  { name: 'cfg.ringReenable', service: 'cfg', dir: 'res', error: 19, header: { error: 19 }, fields: {}, bytes: Frame.res(1, 24, 19).bytes },
  { name: 'cfg.trackstart', service: 'cfg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(2, 24).bytes },
  { name: 'cfg.trackstop', service: 'cfg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(3, 24).bytes },
  { name: 'cfg.killNode', service: 'cfg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(8, 24).bytes },
  { name: 'cfg.tryShutdown', service: 'cfg', dir: 'res', error: 10, header: { error: 10 }, fields: {}, bytes: Frame.res(9, 24, 10).bytes },
  { name: 'cfg.replytoShutdown', service: 'cfg', dir: 'res', error: 11, header: { error: 11 }, fields: {}, bytes: Frame.res(13, 24, 11).bytes },
  { name: 'cfg.reloadConfig', service: 'cfg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(14, 24).bytes },
  { name: 'cfg.reopenLogFiles', service: 'cfg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(15, 24).bytes },
  {
    // node 2 configured but down: link 0 enabled, not connected
    name: 'cfg.nodeStatusGet', service: 'cfg', dir: 'res', error: 1,
    fields: {
      version: 1, nodeid: 2, reachable: 0, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0,
      linkStatus: [
        { enabled: 1, connected: 0, dynconnected: 0, mtu: 522, srcIpaddr: '127.0.0.1', dstIpaddr: '127.0.0.2' },
        ...Array.from({ length: 7 }, () => ({ enabled: 0, connected: 0, dynconnected: 0, mtu: 0, srcIpaddr: '', dstIpaddr: '' })),
      ],
    },
    bytes: Frame.res(16, 4200).u32(24, 1).u32(28, 2).u8(40, 1).u32(44, 522).chars(48, '127.0.0.1').chars(304, '127.0.0.2').bytes,
  },
  {
    // an unknown node: only the 32-byte version reply, everything after `version` empty
    name: 'cfg.nodeStatusGet', service: 'cfg', dir: 'res', error: 21, header: { error: 21, size: 32 },
    fields: { version: 0, nodeid: 0, reachable: 0, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0, linkStatus: [] },
    bytes: Frame.res(16, 32, 21).bytes,
  },
  { name: 'cfg.shutdownCallback', service: 'cfg', dir: 'evt', error: 1, fields: { flags: 0 }, bytes: Frame.res(10, 32).bytes },

  // ------------------------------------------------------------------------------------ cpg
  {
    name: 'cpg.join', service: 'cpg', dir: 'req', fields: { groupName: utf8('grpA'), pid: 4697, flags: 1 },
    bytes: Frame.req(0, 168).cpgName(16, 'grpA').u32(152, 4697).u32(160, 1).bytes,
  },
  {
    name: 'cpg.leave', service: 'cpg', dir: 'req', fields: { groupName: utf8('grpA'), pid: 4697 },
    bytes: Frame.req(1, 160).cpgName(16, 'grpA').u32(152, 4697).bytes,
  },
  {
    // a 24-byte response-style header; msglen decides the payload
    name: 'cpg.mcastJoined', service: 'cpg', dir: 'req', error: 0,
    fields: { guarantee: 2, msglen: 7, message: utf8('hello-1') },
    bytes: Frame.res(2, 47, 0).u32(24, 2).u32(32, 7).chars(40, 'hello-1').bytes,
  },
  {
    name: 'cpg.membershipGet', service: 'cpg', dir: 'req', fields: { groupName: new Uint8Array([0, 0xff, 0x5c]) },
    bytes: Frame.req(3, 152).u32(16, 3).raw(24, [0, 0xff, 0x5c]).bytes,
  },
  { name: 'cpg.localGet', service: 'cpg', dir: 'req', fields: {}, bytes: Frame.req(4, 16).bytes },
  {
    name: 'cpg.iterationInitialize', service: 'cpg', dir: 'req', fields: { groupName: utf8(''), iterationType: 3 },
    bytes: Frame.req(5, 160).u32(152, 3).bytes,
  },
  {
    name: 'cpg.iterationNext', service: 'cpg', dir: 'req', fields: { iterationHandle: 0x6b8b456700000001n },
    bytes: Frame.req(6, 24).u64(16, 0x6b8b456700000001n).bytes,
  },
  {
    name: 'cpg.iterationFinalize', service: 'cpg', dir: 'req', fields: { iterationHandle: 0x6b8b456700000001n },
    bytes: Frame.req(7, 24).u64(16, 0x6b8b456700000001n).bytes,
  },
  { name: 'cpg.finalize', service: 'cpg', dir: 'req', fields: {}, bytes: Frame.req(8, 16).bytes },
  {
    name: 'cpg.zcbAlloc', service: 'cpg', dir: 'req', fields: { mapSize: 156n, pathToFile: '/dev/shm/corosync_zerocopy-Ab12Cd' },
    bytes: Frame.req(9, 152).u64(16, 156n).chars(24, '/dev/shm/corosync_zerocopy-Ab12Cd').bytes,
  },
  {
    name: 'cpg.zcbFree', service: 'cpg', dir: 'req', fields: { mapSize: 156n, serverAddress: 0x7f0012345000n },
    bytes: Frame.req(10, 32).u64(16, 156n).u64(24, 0x7f0012345000n).bytes,
  },
  {
    name: 'cpg.zcbMcastJoined', service: 'cpg', dir: 'req', fields: { serverAddress: 0x7f0012345000n },
    bytes: Frame.req(11, 24).u64(16, 0x7f0012345000n).bytes,
  },
  {
    name: 'cpg.partialMcast', service: 'cpg', dir: 'req', error: 0,
    fields: { guarantee: 1, msglen: 3000000, fraglen: 3, type: 1, fragment: new Uint8Array([1, 2, 3]) },
    bytes: Frame.res(12, 59, 0).u32(24, 1).u32(32, 3000000).u32(40, 3).u32(48, 1).raw(56, [1, 2, 3]).bytes,
  },
  { name: 'cpg.join', service: 'cpg', dir: 'res', error: 14, header: { error: 14 }, fields: {}, bytes: Frame.res(0, 24, 14).bytes },
  { name: 'cpg.leave', service: 'cpg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(1, 24).bytes },
  { name: 'cpg.zcbMcastJoined', service: 'cpg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(2, 24).bytes },
  {
    name: 'cpg.membershipGet', service: 'cpg', dir: 'res', error: 1,
    fields: { memberCount: 2, memberList: [{ nodeid: 1, pid: 8849, reason: 0 }, { nodeid: 2, pid: 77, reason: 0 }] },
    bytes: Frame.res(3, 9248).u32(24, 2).cpgAddrs(32, [{ nodeid: 1, pid: 8849, reason: 0 }, { nodeid: 2, pid: 77, reason: 0 }]).bytes,
  },
  { name: 'cpg.localGet', service: 'cpg', dir: 'res', error: 1, fields: { localNodeid: 1 }, bytes: Frame.res(7, 32).u32(24, 1).bytes },
  {
    name: 'cpg.iterationInitialize', service: 'cpg', dir: 'res', error: 1, fields: { iterationHandle: 0x1234567800000000n },
    bytes: Frame.res(9, 32).u64(24, 0x1234567800000000n).bytes,
  },
  {
    name: 'cpg.iterationNext', service: 'cpg', dir: 'res', error: 1, fields: { groupName: utf8('grpA'), nodeid: 1, pid: 4697 },
    bytes: Frame.res(10, 168).cpgName(24, 'grpA').u32(160, 1).u32(164, 4697).bytes,
  },
  { name: 'cpg.iterationFinalize', service: 'cpg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(11, 24).bytes },
  { name: 'cpg.finalize', service: 'cpg', dir: 'res', error: 1, fields: {}, bytes: Frame.res(12, 24).bytes },
  { name: 'cpg.partialMcast', service: 'cpg', dir: 'res', error: 16, header: { error: 16 }, fields: {}, bytes: Frame.res(18, 24, 16).bytes },
  {
    // counts member, joined, left; lists member, LEFT, joined
    name: 'cpg.confchgCallback', service: 'cpg', dir: 'evt', error: 1,
    fields: {
      groupName: utf8('grpA'), memberListEntries: 1, joinedListEntries: 1, leftListEntries: 1,
      memberList: [{ nodeid: 1, pid: 10, reason: 0 }], leftList: [{ nodeid: 1, pid: 11, reason: 2 }], joinedList: [{ nodeid: 1, pid: 10, reason: 1 }],
    },
    bytes: Frame.res(4, 256).cpgName(24, 'grpA').u32(160, 1).u32(168, 1).u32(176, 1)
      .cpgAddrs(184, [{ nodeid: 1, pid: 10, reason: 0 }, { nodeid: 1, pid: 11, reason: 2 }, { nodeid: 1, pid: 10, reason: 1 }]).bytes,
  },
  {
    name: 'cpg.deliverCallback', service: 'cpg', dir: 'evt', error: 1,
    fields: { groupName: utf8('grpA'), msglen: 7, nodeid: 1, pid: 4697, message: utf8('hello-1') },
    bytes: Frame.res(5, 191).cpgName(24, 'grpA').u32(160, 7).u32(168, 1).u32(176, 4697).chars(184, 'hello-1').bytes,
  },
  {
    name: 'cpg.totemConfchgCallback', service: 'cpg', dir: 'evt', error: 1,
    fields: { ringId: { nodeid: 1, seq: 5n }, memberListEntries: 1, memberList: [1] },
    bytes: Frame.res(13, 52).u32(24, 1).u64(32, 5n).u32(40, 1).u32(44, 1).bytes,
  },
  {
    name: 'cpg.partialDeliverCallback', service: 'cpg', dir: 'evt', error: 1,
    fields: { groupName: utf8('grpA'), msglen: 3000000, fraglen: 2, nodeid: 1, pid: 4697, type: 3, fragment: new Uint8Array([9, 8]) },
    bytes: Frame.res(17, 202).cpgName(24, 'grpA').u32(160, 3000000).u32(168, 2).u32(176, 1).u32(184, 4697).u32(192, 3).raw(200, [9, 8]).bytes,
  },

  // ---------------------------------------------------------------------------- bare errors
  { name: 'cmap.error', service: 'cmap', dir: 'res', error: 7, header: { id: 11, error: 7 }, fields: {}, bytes: Frame.res(11, 24, 7).bytes },
  { name: 'quorum.error', service: 'quorum', dir: 'res', error: 7, header: { id: 0, error: 7 }, fields: {}, bytes: Frame.res(0, 24, 7).bytes },
  { name: 'votequorum.error', service: 'votequorum', dir: 'res', error: 7, header: { id: 12, error: 7 }, fields: {}, bytes: Frame.res(12, 24, 7).bytes },
  { name: 'cfg.error', service: 'cfg', dir: 'res', error: 6, header: { id: 0, error: 6 }, fields: {}, bytes: Frame.res(0, 24, 6).bytes },
  { name: 'cpg.error', service: 'cpg', dir: 'res', error: 7, header: { id: 19, error: 7 }, fields: {}, bytes: Frame.res(19, 24, 7).bytes },
];
