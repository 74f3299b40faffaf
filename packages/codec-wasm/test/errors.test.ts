import { describe, expect, it } from 'vitest';
import {
  DecodeError, EncodeError, decode, encode, encoders, isDecodeError, isEncodeError,
  type DecodeErrorKind, type Direction, type EncodeErrorKind, type Service,
} from '../src/index.js';
import { Frame } from './helpers.js';

function decodeErr(bytes: Uint8Array, opts: { service?: Service; dir: Direction }): DecodeError {
  try {
    decode(bytes, opts);
  } catch (e) {
    expect(isDecodeError(e)).toBe(true);
    return e as DecodeError;
  }
  throw new Error('decode did not throw');
}

function encodeErr(fn: () => unknown): EncodeError {
  try {
    fn();
  } catch (e) {
    expect(isEncodeError(e)).toBe(true);
    return e as EncodeError;
  }
  throw new Error('encode did not throw');
}

describe('DecodeError kinds', () => {
  const cases: [string, () => DecodeError, { kind: DecodeErrorKind; messageName?: string; field?: string; offset?: number }][] = [
    ['empty input', () => decodeErr(new Uint8Array(0), { service: 'cmap', dir: 'req' }), { kind: 'truncated', field: 'header', offset: 0 }],
    ['short header', () => decodeErr(new Uint8Array(20), { service: 'cmap', dir: 'res' }), { kind: 'truncated', field: 'header', offset: 20 }],
    ['short setup request', () => decodeErr(new Uint8Array(10), { dir: 'setup' }), { kind: 'truncated', messageName: 'qb.connectionRequest', field: 'header' }],
    ['size field above the length', () => decodeErr(Frame.req(2, 300).bytes.subarray(0, 288), { service: 'cmap', dir: 'req' }), { kind: 'sizeMismatch', field: 'size', offset: 8 }],
    ['size field below the length', () => decodeErr(new Uint8Array([...Frame.req(9, 24).bytes, 0]), { service: 'cmap', dir: 'req' }), { kind: 'sizeMismatch', field: 'size', offset: 8 }],
    ['negative size field', () => decodeErr(Frame.req(9, 24).i32(8, -24).bytes, { service: 'cmap', dir: 'req' }), { kind: 'sizeMismatch', field: 'size' }],
    ['fixed message with consistent but short size', () => decodeErr(Frame.req(2, 100).bytes, { service: 'cmap', dir: 'req' }), { kind: 'truncated', messageName: 'cmap.get', field: 'keyName', offset: 16 }],
    ['fixed message too long', () => decodeErr(Frame.req(9, 32).bytes, { service: 'cmap', dir: 'req' }), { kind: 'badSize', messageName: 'cmap.setCurrentMap', field: 'size' }],
    ['truncated setup response', () => decodeErr(Frame.res(-1, 1000).bytes, { dir: 'setup' }), { kind: 'truncated', messageName: 'qb.connectionResponse', field: 'request', offset: 40 }],
    ['unknown request id', () => decodeErr(Frame.req(10, 16).bytes, { service: 'cmap', dir: 'req' }), { kind: 'unknownMessage', field: 'id', offset: 0 }],
    ['negative request id', () => decodeErr(Frame.req(-5, 16).bytes, { service: 'cmap', dir: 'req' }), { kind: 'unknownMessage', field: 'id' }],
    ['unknown event id', () => decodeErr(Frame.res(1, 24).bytes, { service: 'quorum', dir: 'evt' }), { kind: 'unknownMessage', field: 'id' }],
    ['unknown response id with a body', () => decodeErr(Frame.res(9, 32).bytes, { service: 'cmap', dir: 'res' }), { kind: 'unknownMessage', field: 'id' }],
    ['setup id other than -1', () => decodeErr(Frame.req(0, 24).bytes, { dir: 'setup' }), { kind: 'unknownMessage', field: 'id' }],
    ['value_len past the end', () => decodeErr(Frame.req(0, 300).name(16, 'a.b').u64(280, 5n).bytes, { service: 'cmap', dir: 'req' }), { kind: 'countOverrun', messageName: 'cmap.set', field: 'value', offset: 296 }],
    ['value_len of 2^64-1', () => decodeErr(Frame.req(0, 300).u64(280, 0xffffffffffffffffn).bytes, { service: 'cmap', dir: 'req' }), { kind: 'countOverrun', field: 'value' }],
    ['bytes left after the value', () => decodeErr(Frame.req(0, 300).u64(280, 2n).bytes, { service: 'cmap', dir: 'req' }), { kind: 'badSize', messageName: 'cmap.set', field: 'size' }],
    ['notify old value past the end', () => decodeErr(Frame.res(9, 340).u64(320, 2n).u64(328, 3n).bytes, { service: 'cmap', dir: 'evt' }), { kind: 'countOverrun', field: 'oldValue', offset: 338 }],
    ['view list past the end', () => decodeErr(Frame.res(3, 52).u32(40, 2).bytes, { service: 'quorum', dir: 'evt' }), { kind: 'countOverrun', messageName: 'quorum.notification', field: 'viewList', offset: 44 }],
    ['view list without its 4 tail bytes', () => decodeErr(Frame.res(3, 48).u32(40, 1).bytes, { service: 'quorum', dir: 'evt' }), { kind: 'countOverrun', messageName: 'quorum.notification', field: 'viewList', offset: 44 }],
    ['a list 4 bytes short of its tail', () => decodeErr(Frame.res(3, 56).u32(40, 3).bytes, { service: 'quorum', dir: 'evt' }), { kind: 'countOverrun', field: 'viewList' }],
    ['nodelist left list past the end', () => decodeErr(Frame.res(7, 72).u32(40, 1).u32(48, 1).u32(56, 1).bytes, { service: 'quorum', dir: 'evt' }), { kind: 'countOverrun', field: 'leftList', offset: 68 }],
    ['node list past the end', () => decodeErr(Frame.res(3, 56).u32(40, 2).bytes, { service: 'votequorum', dir: 'evt' }), { kind: 'countOverrun', field: 'nodeList', offset: 48 }],
    ['huge address count', () => decodeErr(Frame.res(11, 48).u32(28, 0xffffffff).bytes, { service: 'cfg', dir: 'res' }), { kind: 'countOverrun', field: 'addrs', offset: 32 }],
    ['get reply value past its capacity', () => decodeErr(Frame.res(2, 44).u64(24, 8n).bytes, { service: 'cmap', dir: 'res' }), { kind: 'countOverrun', field: 'value', offset: 40 }],
    ['mar_name_t length 257', () => decodeErr(Frame.req(1, 280).u16(16, 257).bytes, { service: 'cmap', dir: 'req' }), { kind: 'nameTooLong', messageName: 'cmap.delete', field: 'keyName', offset: 16 }],
    ['mar_name_t length 65535', () => decodeErr(Frame.res(5, 304).u16(24, 65535).bytes, { service: 'cmap', dir: 'res' }), { kind: 'nameTooLong', field: 'keyName', offset: 24 }],
    ['cpg group name length 129', () => decodeErr(Frame.req(0, 168).u32(16, 129).bytes, { service: 'cpg', dir: 'req' }), { kind: 'nameTooLong', messageName: 'cpg.join', field: 'groupName', offset: 16 }],
    ['cpg group name length 2^32-1 in an event', () => decodeErr(Frame.res(5, 184).u32(24, 0xffffffff).bytes, { service: 'cpg', dir: 'evt' }), { kind: 'nameTooLong', field: 'groupName', offset: 24 }],
    ['cs_name_t length 257', () => decodeErr(Frame.req(2, 288).u16(24, 257).bytes, { service: 'cfg', dir: 'req' }), { kind: 'nameTooLong', messageName: 'cfg.killNode', field: 'reason', offset: 24 }],
    ['membership count over its 384 entries', () => decodeErr(Frame.res(3, 9248).u32(24, 385).bytes, { service: 'cpg', dir: 'res' }), { kind: 'countOverrun', messageName: 'cpg.membershipGet', field: 'memberCount', offset: 24 }],
    ['ring status count over its 16 slots', () => decodeErr(Frame.res(0, 10272).u32(24, 17).bytes, { service: 'cfg', dir: 'res' }), { kind: 'countOverrun', messageName: 'cfg.ringStatusGet', field: 'interfaceCount', offset: 24 }],
    ['confchg left list past the end', () => decodeErr(Frame.res(4, 208).u32(160, 1).u32(176, 1).bytes, { service: 'cpg', dir: 'evt' }), { kind: 'countOverrun', messageName: 'cpg.confchgCallback', field: 'leftList', offset: 208 }],
    ['deliver msglen past the end', () => decodeErr(Frame.res(5, 190).u32(160, 7).bytes, { service: 'cpg', dir: 'evt' }), { kind: 'countOverrun', field: 'message', offset: 184 }],
    ['mcast with only the request header', () => decodeErr(Frame.req(2, 16).bytes, { service: 'cpg', dir: 'req' }), { kind: 'truncated', messageName: 'cpg.mcastJoined', field: 'guarantee' }],
    ['node status error reply of 32 bytes with CS_OK', () => decodeErr(Frame.res(16, 32, 1).bytes, { service: 'cfg', dir: 'res' }), { kind: 'truncated', messageName: 'cfg.nodeStatusGet' }],
    ['node status error reply of 40 bytes', () => decodeErr(Frame.res(16, 40, 21).bytes, { service: 'cfg', dir: 'res' }), { kind: 'truncated', messageName: 'cfg.nodeStatusGet' }],
    ['unknown service', () => decodeErr(Frame.req(0, 16).bytes, { service: 'evs' as Service, dir: 'req' }), { kind: 'badArgument' }],
    ['missing service', () => decodeErr(Frame.req(0, 16).bytes, { dir: 'req' }), { kind: 'badArgument' }],
    ['unknown dir', () => decodeErr(Frame.req(0, 16).bytes, { service: 'cmap', dir: 'up' as Direction }), { kind: 'badArgument' }],
    ['not bytes', () => decodeErr('0000' as unknown as Uint8Array, { service: 'cmap', dir: 'req' }), { kind: 'badArgument' }],
  ];
  it.each(cases)('%s', (_, run, want) => {
    const e = run();
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.name).toBe('DecodeError');
    expect(e).toMatchObject(want);
    expect(e.message.length).toBeGreaterThan(10);
  });
  it('names the message and field in the text', () => {
    const e = decodeErr(Frame.req(0, 300).name(16, 'a.b').u64(280, 5n).bytes, { service: 'cmap', dir: 'req' });
    expect(e.message).toMatch(/cmap\.set.*value.*296/);
  });
});

describe('EncodeError kinds', () => {
  const cases: [string, () => unknown, { kind: EncodeErrorKind; messageName?: string; field?: string }][] = [
    ['unknown name', () => encode('cmap.nope', {}), { kind: 'unknownMessage' }],
    ['unknown dir for the name', () => encode('cmap.notify', {}, { dir: 'req' }), { kind: 'unknownMessage' }],
    ['fields not an object', () => encoders.cmap.req.delete(null as never), { kind: 'badType', messageName: 'cmap.delete' }],
    ['missing field', () => encoders.cmap.req.get({ keyName: 'a.b' } as never), { kind: 'missingField', field: 'valueLen' }],
    ['unknown field', () => encoders.cmap.req.delete({ keyName: 'a.b', valueLen: 1n } as never), { kind: 'unknownField', field: 'valueLen' }],
    ['number for a u64', () => encoders.cmap.req.iterNext({ iterHandle: 1 as never }), { kind: 'badType', field: 'iterHandle' }],
    ['bigint for a u32', () => encoders.quorum.req.trackstart({ trackFlags: 1n as never }), { kind: 'badType', field: 'trackFlags' }],
    ['string for bytes', () => encoders.cmap.req.set({ keyName: 'a.b', type: 11, value: 'x' as never }), { kind: 'badType', field: 'value' }],
    ['number for a string', () => encoders.cmap.req.delete({ keyName: 5 as never }), { kind: 'badType', field: 'keyName' }],
    ['non-number list element', () => encoders.quorum.evt.notification({ quorate: 1, ringSeq: 0n, viewList: ['1' as never] }), { kind: 'badType', field: 'viewList[0]' }],
    ['bad node entry', () => encoders.votequorum.evt.quorumNotification({ quorate: 1, context: 0n, nodeList: [{ nodeid: 1 } as never] }), { kind: 'badType', field: 'nodeList[0]' }],
    ['address entry of 4 bytes', () => encoders.cfg.res.getNodeAddrs({ family: 2, addrs: [new Uint8Array(4)] }), { kind: 'badValue', field: 'addrs[0]' }],
    ['ringId not an object', () => encoders.votequorum.req.qdevicePoll({ name: 'q', castVote: 1, ringId: 5 as never }), { kind: 'badType', field: 'ringId' }],
    ['ringId seq a number', () => encoders.votequorum.req.qdevicePoll({ name: 'q', castVote: 1, ringId: { nodeid: 1, seq: 1 as never } }), { kind: 'badType', field: 'ringId.seq' }],
    ['u8 of 256', () => encoders.cmap.req.set({ keyName: 'a.b', type: 256, value: new Uint8Array(0) }), { kind: 'outOfRange', field: 'type' }],
    ['u32 negative', () => encoders.quorum.req.trackstart({ trackFlags: -1 }), { kind: 'outOfRange', field: 'trackFlags' }],
    ['u32 of 2^32', () => encoders.quorum.req.trackstart({ trackFlags: 2 ** 32 }), { kind: 'outOfRange', field: 'trackFlags' }],
    ['i32 of 2^31', () => encoders.cmap.req.adjustInt({ keyName: 'a.b', step: 2 ** 31 }), { kind: 'outOfRange', field: 'step' }],
    ['fractional', () => encoders.votequorum.req.setexpected({ expectedVotes: 1.5 }), { kind: 'outOfRange', field: 'expectedVotes' }],
    ['NaN', () => encoders.votequorum.req.setexpected({ expectedVotes: NaN }), { kind: 'outOfRange', field: 'expectedVotes' }],
    ['u64 negative', () => encoders.cmap.req.iterNext({ iterHandle: -1n }), { kind: 'outOfRange', field: 'iterHandle' }],
    ['u64 of 2^64', () => encoders.cmap.req.iterNext({ iterHandle: 2n ** 64n }), { kind: 'outOfRange', field: 'iterHandle' }],
    ['list element of 2^32', () => encoders.quorum.evt.notification({ quorate: 1, ringSeq: 0n, viewList: [2 ** 32] }), { kind: 'outOfRange', field: 'viewList' }],
    ['ringId nodeid negative', () => encoders.quorum.evt.v1QuorumNotification({ quorate: 1, ringId: { nodeid: -1, seq: 0n }, viewList: [] }), { kind: 'outOfRange', field: 'ringId' }],
    ['header error not int32', () => encoders.cmap.res.set({}, { error: 2 ** 31 }), { kind: 'outOfRange' }],
    ['error on a request', () => encode('cmap.delete', { keyName: 'a.b' }, { error: 1 }), { kind: 'badValue' }],
    ['header id of another message', () => encode('cmap.delete', { keyName: 'a.b' }, { id: 3 }), { kind: 'badValue' }],
    ['mar_name_t of 257 bytes', () => encoders.cmap.req.delete({ keyName: 'k'.repeat(257) }), { kind: 'tooLong', field: 'keyName' }],
    ['mar_name_t of 257 UTF-8 bytes in 129 chars', () => encoders.cmap.req.delete({ keyName: `k${'é'.repeat(128)}` }), { kind: 'tooLong', field: 'keyName' }],
    ['char[255] of 255 bytes', () => encoders.votequorum.req.qdeviceRegister({ name: 'q'.repeat(255) }), { kind: 'tooLong', field: 'name' }],
    ['huge string', () => encoders.cmap.req.delete({ keyName: 'k'.repeat(10_000_000) }), { kind: 'tooLong', field: 'keyName' }],
    ['NUL in a name', () => encoders.cmap.req.delete({ keyName: 'a\0b' }), { kind: 'badValue', field: 'keyName' }],
    ['count disagrees with the list', () => encoders.quorum.evt.notification({ quorate: 1, ringSeq: 0n, viewListEntries: 2, viewList: [1] }), { kind: 'countMismatch', field: 'viewListEntries' }],
    ['valueLen disagrees with the value', () => encoders.cmap.req.set({ keyName: 'a.b', type: 11, valueLen: 9n, value: new Uint8Array(3) }), { kind: 'countMismatch', field: 'valueLen' }],
    ['size override below the natural size', () => encoders.cmap.res.get({ valueLen: 4n, type: 6, value: new Uint8Array(4) }, { size: 41 }), { kind: 'badSize' }],
    ['size override on a fixed message', () => encoders.cmap.res.iterInit({ iterHandle: 1n }, { size: 40 }), { kind: 'badSize' }],
    ['size override not an integer', () => encoders.cmap.res.set({}, { size: 1.5 }), { kind: 'badSize' }],
    ['cpg group name of 129 bytes', () => encoders.cpg.req.join({ groupName: new Uint8Array(129), pid: 1, flags: 0 }), { kind: 'tooLong', field: 'groupName' }],
    ['cpg group name a number', () => encoders.cpg.req.join({ groupName: 5 as never, pid: 1, flags: 0 }), { kind: 'badType', field: 'groupName' }],
    ['cs_name_t of 256 bytes (no room for the NUL)', () => encoders.cfg.req.killNode({ nodeid: 1, reason: 'r'.repeat(256) }), { kind: 'tooLong', field: 'reason' }],
    ['NUL in a cs_name_t', () => encoders.cfg.req.killNode({ nodeid: 1, reason: 'a\0b' }), { kind: 'badValue', field: 'reason' }],
    ['cpg address pid negative', () => encoders.cpg.evt.confchgCallback({ groupName: 'g', memberList: [{ nodeid: 1, pid: -1, reason: 0 }], leftList: [], joinedList: [] }), { kind: 'outOfRange', field: 'memberList[0].pid' }],
    ['cpg address not an object', () => encoders.cpg.evt.confchgCallback({ groupName: 'g', memberList: [1 as never], leftList: [], joinedList: [] }), { kind: 'badType', field: 'memberList[0]' }],
    ['385 members', () => encoders.cpg.res.membershipGet({ memberList: Array.from({ length: 385 }, () => ({ nodeid: 1, pid: 1, reason: 0 })) }), { kind: 'tooLong', field: 'memberList' }],
    ['ring status lists of different lengths', () => encoders.cfg.res.ringStatusGet({ interfaceName: ['a'], interfaceStatus: [] }), { kind: 'countMismatch', field: 'interfaceStatus' }],
    ['ring status name of 128 bytes', () => encoders.cfg.res.ringStatusGet({ interfaceName: ['n'.repeat(128)], interfaceStatus: ['s'] }), { kind: 'tooLong', field: 'interfaceName[0]' }],
    ['nine links', () => encoders.cfg.res.nodeStatusGet({ version: 1, nodeid: 1, reachable: 1, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0, linkStatus: Array.from({ length: 9 }, () => ({ enabled: 0, connected: 0, dynconnected: 0, mtu: 0, srcIpaddr: '', dstIpaddr: '' })) }), { kind: 'tooLong', field: 'linkStatus' }],
    ['link flag of 256', () => encoders.cfg.res.nodeStatusGet({ version: 1, nodeid: 1, reachable: 1, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0, linkStatus: [{ enabled: 256, connected: 0, dynconnected: 0, mtu: 0, srcIpaddr: '', dstIpaddr: '' }] }), { kind: 'outOfRange', field: 'linkStatus[0].enabled' }],
    ['short node status reply with CS_OK', () => encoders.cfg.res.nodeStatusGet({ version: 1, nodeid: 1, reachable: 1, remote: 0, external: 0, onwireMin: 0, onwireMax: 0, onwireVer: 0, linkStatus: [] }, { size: 32 }), { kind: 'badSize' }],
    // A holey array: its length alone asks for more scratch than the codec allows (512 MiB).
    ['list too large for the codec memory', () => encoders.quorum.evt.notification({ quorate: 1, ringSeq: 0n, viewList: new Array<number>(70_000_000) }), { kind: 'tooLarge', messageName: 'quorum.notification' }],
  ];
  it.each(cases)('%s', (_, run, want) => {
    const e = encodeErr(run);
    expect(e).toBeInstanceOf(EncodeError);
    expect(e.name).toBe('EncodeError');
    expect(e).toMatchObject(want);
  });
  it('the codec keeps working after an encode error (no stale "given" counts)', () => {
    expect(() => encoders.quorum.evt.notification({ quorate: 1, ringSeq: 0n, viewListEntries: 2, viewList: [1] })).toThrow();
    const b = encoders.quorum.evt.notification({ quorate: 1, ringSeq: 0n, viewList: [1, 2, 3] });
    expect(decode(b, { service: 'quorum', dir: 'evt' }).fields).toMatchObject({ viewListEntries: 3 });
    expect(() => encoders.votequorum.req.qdevicePoll({ name: 'q', castVote: 1, ringId: { nodeid: 1, seq: 1 as never } })).toThrow();
    expect(encoders.votequorum.req.trackstop({}).length).toBe(16);
  });
  it('the metadata-only cmap.get reply may carry a valueLen without value bytes', () => {
    const b = encoders.cmap.res.get({ valueLen: 20n, type: 11, value: new Uint8Array(0) });
    expect(b.length).toBe(40);
  });
});

describe('cpg group names', () => {
  it('an ITERATIONINITIALIZE group past 128 bytes reads as empty: libcpg leaves it unset unless ONE_GROUP', () => {
    const d = decode(Frame.req(5, 160).u32(16, 0x7ffd1234).u32(152, 1).bytes, { service: 'cpg', dir: 'req' });
    expect(d.fields).toEqual({ groupName: new Uint8Array(0), iterationType: 1 });
  });
  it('are bytes, NULs included, and encode from a string as UTF-8', () => {
    const b = encoders.cpg.req.join({ groupName: 'grp\0é', pid: 7, flags: 1 });
    expect(decode(b, { service: 'cpg', dir: 'req' }).fields).toEqual({ groupName: new Uint8Array([0x67, 0x72, 0x70, 0, 0xc3, 0xa9]), pid: 7, flags: 1 });
  });
});

describe('guards', () => {
  it('recognise errors by a Symbol.for brand, not the class', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('@corosync-ts/codec-wasm.DecodeError')]: true });
    expect(isDecodeError(foreign)).toBe(true);
    expect(isDecodeError(new Error('x'))).toBe(false);
    expect(isEncodeError(new DecodeError('x', { kind: 'badValue' }))).toBe(false);
    expect(isEncodeError(new EncodeError('x', { kind: 'badValue' }))).toBe(true);
    expect(isDecodeError(null)).toBe(false);
    expect(isDecodeError('DecodeError')).toBe(false);
  });
});
