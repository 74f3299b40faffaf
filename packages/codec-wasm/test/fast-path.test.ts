import { describe, expect, it } from 'vitest';
import { DIR_CODES, SERVICE_CODES, codec, decode, encode, encoders, isDecodeError } from '../src/index.js';
import { Frame, hex } from './helpers.js';

describe('fast path', () => {
  const GET_RES = codec.messageIndex('cmap.get', 'res');
  const VALUE_LEN = codec.fieldIndex(GET_RES, 'valueLen');
  const TYPE = codec.fieldIndex(GET_RES, 'type');
  const VALUE = codec.fieldIndex(GET_RES, 'value');

  it('looks up message and field indices once', () => {
    expect(GET_RES).toBeGreaterThanOrEqual(0);
    expect(codec.message(GET_RES)?.name).toBe('cmap.get');
    expect([VALUE_LEN, TYPE, VALUE]).toEqual([0, 1, 2]);
    expect(codec.messageIndex('cmap.nope', 'res')).toBe(-1);
    expect(codec.fieldIndex(GET_RES, 'nope')).toBe(-1);
  });

  it('decodes bytes written straight into WASM memory', () => {
    const frame = Frame.res(2, 56).u64(24, 4n).u8(32, 6).raw(40, [0x2a, 0, 0, 0]).bytes;
    const input = codec.inputBuffer(frame.length);
    input.set(frame);
    expect(codec.decodeInput(frame.length, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(GET_RES);
    expect(codec.headerId()).toBe(2);
    expect(codec.headerSize()).toBe(56);
    expect(codec.headerError()).toBe(1);
    expect(codec.number(VALUE_LEN)).toBe(4);
    expect(codec.bigint(VALUE_LEN)).toBe(4n);
    expect(codec.number(TYPE)).toBe(6);
    expect(codec.dataOffset(VALUE)).toBe(40);
    expect(codec.dataLength(VALUE)).toBe(4);
    expect([...codec.bytes(VALUE)]).toEqual([0x2a, 0, 0, 0]);
    expect(codec.decoded(GET_RES).fields).toEqual({ valueLen: 4n, type: 6, value: new Uint8Array([0x2a, 0, 0, 0]) });
  });

  it('reads strings and list elements in place', () => {
    const n = codec.messageIndex('quorum.v1QuorumNotification', 'evt');
    const frame = encoders.quorum.evt.v1QuorumNotification({ quorate: 1, ringId: { nodeid: 3, seq: 9n }, viewList: [1, 2, 3] });
    codec.inputBuffer(frame.length).set(frame);
    expect(codec.decodeInput(frame.length, SERVICE_CODES.quorum, DIR_CODES.evt)).toBe(n);
    const ring = codec.fieldIndex(n, 'ringId');
    const list = codec.fieldIndex(n, 'viewList');
    expect(codec.number(ring)).toBe(3);
    expect(codec.bigint(ring)).toBe(9n);
    expect(codec.dataLength(list)).toBe(3);
    expect([0, 1, 2].map((k) => codec.listElement(list, k))).toEqual([1, 2, 3]);
    expect(codec.listElement(list, 3)).toBeNaN();

    const it5 = codec.messageIndex('cmap.iterNext', 'res');
    const f = encoders.cmap.res.iterNext({ keyName: 'totem.cluster_name', valueLen: 8n, type: 11 });
    codec.inputBuffer(f.length).set(f);
    expect(codec.decodeInput(f.length, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(it5);
    expect(codec.string(codec.fieldIndex(it5, 'keyName'))).toBe('totem.cluster_name');
  });

  it('returns -1 for bad bytes and describes them on demand', () => {
    const frame = Frame.res(2, 44).u64(24, 8n).bytes;
    codec.inputBuffer(frame.length).set(frame);
    expect(codec.decodeInput(frame.length, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(-1);
    const e = codec.lastError();
    expect(isDecodeError(e)).toBe(true);
    expect(e).toMatchObject({ kind: 'countOverrun', messageName: 'cmap.get', field: 'value', offset: 40 });
    const frame2 = Frame.res(2, 40).bytes;
    codec.inputBuffer(40).set(frame2);
    expect(codec.decodeInput(41, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(-1);
    expect(codec.lastError().message).toMatch(/cmap res frame.*size field 40, 41 bytes/);
    expect(codec.decodeInput(1 << 30, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(-1);
    expect(codec.lastError().kind).toBe('tooLarge');
  });

  it('survives memory growth: old views detach, new ones work', () => {
    const small = codec.inputBuffer(16);
    const big = codec.inputBuffer(8 * 1024 * 1024);
    expect(small.byteLength).toBe(0); // detached by memory.grow
    const frame = Frame.req(0, 16).bytes;
    big.set(frame);
    expect(codec.decodeInput(16, SERVICE_CODES.quorum, DIR_CODES.req)).toBe(codec.messageIndex('quorum.getquorate', 'req'));
  });

  it('encodeView returns the frame in WASM memory, identical to encode()', () => {
    const SET = codec.messageIndex('cmap.set', 'req');
    const fields = { keyName: 'a.b.c', type: 6, value: new Uint8Array([1, 0, 0, 0]) };
    const v = codec.encodeView(SET, fields);
    expect(hex(v)).toBe(hex(encode('cmap.set', fields)));
    const n = codec.encodeOutput(SET, fields);
    expect(n).toBe(300);
    expect(codec.outputBuffer()).toBe(codec.outputBuffer()); // cached: no view per call
    expect(hex(codec.outputBuffer().subarray(0, n))).toBe(hex(v));
  });

  it('encodeView returns the whole frame when encoding it grows the memory', () => {
    const MCAST = codec.messageIndex('cpg.mcastJoined', 'req');
    // Larger than any frame encoded before in this process: the output region grows under it.
    const message = new Uint8Array(6 * 1024 * 1024).fill(0x5a);
    const fields = { guarantee: 1, msglen: message.length, message };
    const v = codec.encodeView(MCAST, fields);
    expect(v.byteLength).toBe(40 + message.length); // struct req_lib_cpg_mcast, then the message
    expect(hex(v.subarray(v.length - 4))).toBe('5a5a5a5a');
    expect(hex(v)).toBe(hex(encode('cpg.mcastJoined', fields)));
  });

  it('encodes a trailing bytes field straight into the output: same bytes, zero fill past it, no stale output', () => {
    const GET = codec.messageIndex('cmap.get', 'res');
    // A large value first leaves 0x77 in the output region...
    encoders.cmap.res.get({ valueLen: 65536n, type: 6, value: new Uint8Array(65536).fill(0x77) });
    // ...which a shorter frame padded to a larger size (the daemon's zero fill) must not show.
    const value = new Uint8Array([1, 2, 3, 4]);
    const v = codec.encodeView(GET, { valueLen: 4n, type: 6, value }, { size: 40 + 100 });
    expect(v.length).toBe(140);
    expect([...v.subarray(40, 44)]).toEqual([1, 2, 3, 4]);
    expect(v.subarray(44).every((b) => b === 0)).toBe(true);
    expect(hex(v)).toBe(hex(Frame.res(2, 140).u64(24, 4n).u32(32, 6).raw(40, [1, 2, 3, 4]).bytes));
    // a value that would not fit still fails before anything is copied
    expect(() => codec.encodeView(GET, { valueLen: 5n, type: 6, value })).toThrow(/count/);
  });

  it('decodes an encodeView() frame with decode() even when that grows the memory', () => {
    const MCAST = codec.messageIndex('cpg.mcastJoined', 'req');
    const message = new Uint8Array(12 * 1024 * 1024).fill(0x3c);
    const v = codec.encodeView(MCAST, { guarantee: 2, msglen: message.length, message });
    const d = decode(v, { service: 'cpg', dir: 'req' });
    expect(d.name).toBe('cpg.mcastJoined');
    expect((d.fields as { message: Uint8Array }).message.length).toBe(message.length);
    expect((d.fields as { message: Uint8Array }).message[message.length - 1]).toBe(0x3c);
  });

  it('encodes a bytes field that is a view of its own memory (a decoded frame) even when the output grows', () => {
    const MCAST = codec.messageIndex('cpg.mcastJoined', 'req');
    const MESSAGE = codec.fieldIndex(MCAST, 'message');
    // Larger than every frame encoded before here: encoding the delivery grows the output region.
    const message = new Uint8Array(20 * 1024 * 1024).fill(0x61);
    message[message.length - 1] = 0x62;
    // made by hand: encoding it would grow the output region first
    const req = Frame.res(2, 40 + message.length, 0).u32(24, 2).u32(32, message.length).raw(40, message).bytes;
    codec.inputBuffer(req.length).set(req);
    expect(codec.decodeInput(req.length, SERVICE_CODES.cpg, DIR_CODES.req)).toBe(MCAST);
    const view = codec.bytes(MESSAGE);
    const DELIVER = codec.messageIndex('cpg.deliverCallback', 'evt');
    const out = codec.encodeView(DELIVER, { groupName: new Uint8Array([0x67]), msglen: view.length, nodeid: 1, pid: 2, message: view });
    expect(out.length).toBe(184 + message.length);
    expect(out[184]).toBe(0x61);
    expect(out[out.length - 1]).toBe(0x62);
  });

  describe('decodeFrame', () => {
    const DELIVER = codec.messageIndex('cpg.deliverCallback', 'evt');
    const MESSAGE = codec.fieldIndex(DELIVER, 'message');
    const GROUP = codec.fieldIndex(DELIVER, 'groupName');
    const delivery = (n: number) => {
      const message = new Uint8Array(n);
      for (let i = 0; i < n; i++) message[i] = i * 7;
      return encode('cpg.deliverCallback', { groupName: new TextEncoder().encode('grp'), msglen: n, nodeid: 3, pid: 77, message }, { error: 1 });
    };

    it('leaves a large delivery\'s message in the frame and decodes the rest as decodeInput() does', () => {
      const frame = delivery(200000);
      // stale bytes where the message would be in WASM memory: whatever is there must not matter
      codec.inputBuffer(frame.length).fill(0xee);
      expect(codec.decodeFrame(frame, SERVICE_CODES.cpg, DIR_CODES.evt)).toBe(DELIVER);
      expect(codec.number(codec.fieldIndex(DELIVER, 'nodeid'))).toBe(3);
      expect(codec.number(codec.fieldIndex(DELIVER, 'pid'))).toBe(77);
      expect(new TextDecoder().decode(codec.bytes(GROUP))).toBe('grp');
      const at = codec.dataOffset(MESSAGE);
      expect(at).toBe(184);
      expect(codec.dataLength(MESSAGE)).toBe(200000);
      expect(hex(frame.subarray(at, at + 200000))).toBe(hex(delivery(200000).subarray(184)));
      // WASM memory does not hold it: refused rather than stale bytes
      expect(() => codec.bytes(MESSAGE)).toThrow(RangeError);
      expect(() => codec.decoded(DELIVER)).toThrow(RangeError);
      // the next decode lifts that
      codec.inputBuffer(frame.length).set(frame);
      expect(codec.decodeInput(frame.length, SERVICE_CODES.cpg, DIR_CODES.evt)).toBe(DELIVER);
      expect(codec.bytes(MESSAGE).length).toBe(200000);
      expect(codec.decoded(DELIVER).fields).toMatchObject({ nodeid: 3, pid: 77, msglen: 200000 });
    });

    it('copies small frames and messages with other variable parts whole', () => {
      const small = delivery(10);
      expect(codec.decodeFrame(small, SERVICE_CODES.cpg, DIR_CODES.evt)).toBe(DELIVER);
      expect([...codec.bytes(MESSAGE)]).toEqual([...small.subarray(184)]);
      // a confchg's lists are read by the decoder: the whole frame goes into WASM memory
      const member = (i: number) => ({ nodeid: i, pid: 1000 + i, reason: 1 });
      const many = Array.from({ length: 100 }, (_, i) => member(i));
      const confchg = encoders.cpg.evt.confchgCallback({ groupName: new TextEncoder().encode('g'), memberList: many, leftList: [], joinedList: many.slice(0, 50) });
      const C = codec.messageIndex('cpg.confchgCallback', 'evt');
      expect(confchg.length).toBeGreaterThan(512);
      codec.inputBuffer(confchg.length).fill(0xee);
      expect(codec.decodeFrame(confchg, SERVICE_CODES.cpg, DIR_CODES.evt)).toBe(C);
      expect(codec.decoded(C).fields).toMatchObject({ memberList: many, joinedList: many.slice(0, 50), leftList: [] });
    });

    it('fails a hostile large frame as decodeInput() does', () => {
      const check = (frame: Uint8Array) => {
        codec.inputBuffer(frame.length).set(frame);
        const whole = codec.decodeInput(frame.length, SERVICE_CODES.cpg, DIR_CODES.evt);
        const wholeError = whole < 0 ? codec.lastError().kind : undefined;
        codec.inputBuffer(frame.length).fill(0);
        expect(codec.decodeFrame(frame, SERVICE_CODES.cpg, DIR_CODES.evt)).toBe(whole);
        expect(whole).toBe(-1);
        expect(codec.lastError().kind).toBe(wholeError);
      };
      // msglen larger than the bytes that follow, and smaller
      check(new Frame(100184).i32(0, 5).i32(8, 100184).i32(16, 1).u32(160, 100185).bytes);
      check(new Frame(100184).i32(0, 5).i32(8, 100184).i32(16, 1).u32(160, 99).bytes);
      // header size that is not the frame's length, an unknown id, a group name over 128 bytes
      check(new Frame(100184).i32(0, 5).i32(8, 100183).i32(16, 1).u32(160, 100000).bytes);
      check(new Frame(100184).i32(0, 99).i32(8, 100184).i32(16, 1).bytes);
      check(new Frame(100184).i32(0, 5).i32(8, 100184).i32(16, 1).u32(24, 129).u32(160, 100000).bytes);
    });
  });

  it('inputBuffer() returns the same view while it is big enough', () => {
    const a = codec.inputBuffer(10);
    expect(codec.inputBuffer(20)).toBe(a);
    expect(a.length).toBeGreaterThanOrEqual(20);
  });

  it('decodes frames in place at an offset of the input buffer', () => {
    const a = encoders.quorum.evt.notification({ quorate: 1, ringSeq: 5n, viewList: [4, 5] });
    const b = encoders.votequorum.evt.nodelistNotification({ context: 9n, ringId: { nodeid: 2, seq: 77n }, nodeList: [1, 2, 3] });
    const input = codec.inputBuffer(1024);
    input.set(a, 100);
    input.set(b, 300);
    const vq = codec.messageIndex('votequorum.nodelistNotification', 'evt');
    expect(codec.decodeAt(300, b.length, SERVICE_CODES.votequorum, DIR_CODES.evt)).toBe(vq);
    const ring = codec.fieldIndex(vq, 'ringId');
    const list = codec.fieldIndex(vq, 'nodeList');
    expect(codec.headerId()).toBe(5);
    expect(codec.headerSize()).toBe(b.length);
    expect(codec.headerError()).toBe(1);
    expect(codec.ringSeq(ring)).toBe(77);
    expect(codec.dataOffset(list)).toBe(300 + 56);
    const dv = codec.inputView();
    expect([0, 1, 2].map((k) => dv.getUint32(codec.dataOffset(list) + 4 * k, true))).toEqual([1, 2, 3]);
    expect(codec.decoded(vq).fields).toMatchObject({ context: 9n, nodeList: [1, 2, 3] });

    const q = codec.messageIndex('quorum.notification', 'evt');
    expect(codec.decodeAt(100, a.length, SERVICE_CODES.quorum, DIR_CODES.evt)).toBe(q);
    expect(codec.decoded(q).fields).toEqual({ quorate: 1, ringSeq: 5n, viewListEntries: 2, viewList: [4, 5] });
    // past the end of the input buffer: an error, never a read outside it
    expect(codec.decodeAt(codec.inputBuffer(0).length - 10, 52, SERVICE_CODES.quorum, DIR_CODES.evt)).toBe(-1);
    expect(codec.lastError().kind).toBe('tooLarge');
  });

  it('decodeStream walks concatenated frames inside WASM', () => {
    const frames = [
      encoders.cmap.res.get({ valueLen: 4n, type: 6, value: new Uint8Array([1, 2, 3, 4]) }),
      encoders.cmap.res.set({}),
      encoders.cmap.res.error({}, { id: 0, error: 7 }),
      encoders.cmap.res.iterNext({ keyName: 'totem.cluster_name', valueLen: 8n, type: 11 }),
    ];
    const total = frames.reduce((s, f) => s + f.length, 0);
    const all = new Uint8Array(total + 10);
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.length;
    }
    all.set(frames[0]!.subarray(0, 10), at); // a partial frame at the end is left for later
    codec.inputBuffer(all.length).set(all);
    expect(codec.decodeStream(all.length, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(4);
    expect(codec.streamConsumed()).toBe(total);
    const sum = codec.streamSum();
    // the sum covers the fields: the same frames give it again, a changed value changes it
    codec.inputBuffer(total).set(all.subarray(0, total));
    expect(codec.decodeStream(total, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(4);
    expect(codec.streamSum()).toBe(sum);
    codec.inputBuffer(total)[40] = 9; // a value byte: bytes count by length, so no change
    codec.inputBuffer(total)[32] = 7; // the type field: 6 -> 7
    expect(codec.decodeStream(total, SERVICE_CODES.cmap, DIR_CODES.res)).toBe(4);
    expect(codec.streamSum()).toBe((sum + 1) >>> 0);
  });

  it('decodeStream stops at the first bad frame and says where', () => {
    const good = encoders.quorum.evt.notification({ quorate: 1, ringSeq: 5n, viewList: [4] });
    const bad = Frame.res(3, 52).u32(40, 9).bytes; // count 9 in a frame with room for 1
    const buf = codec.inputBuffer(good.length * 2 + bad.length);
    buf.set(good, 0);
    buf.set(bad, good.length);
    buf.set(good, good.length + bad.length);
    expect(codec.decodeStream(good.length * 2 + bad.length, SERVICE_CODES.quorum, DIR_CODES.evt)).toBe(-1);
    expect(codec.streamConsumed()).toBe(good.length);
    expect(codec.lastError()).toMatchObject({ kind: 'countOverrun', messageName: 'quorum.notification', field: 'viewList' });

    const garbage = codec.inputBuffer(64);
    garbage.fill(0);
    garbage.set(good, 0);
    new DataView(garbage.buffer, garbage.byteOffset).setInt32(good.length + 8, 3, true); // size 3 < 24
    expect(codec.decodeStream(good.length + 24, SERVICE_CODES.quorum, DIR_CODES.evt)).toBe(-1);
    expect(codec.streamConsumed()).toBe(good.length);
    expect(codec.lastError().kind).toBe('badFrame');
    expect(codec.decodeStream(1 << 30, SERVICE_CODES.quorum, DIR_CODES.evt)).toBe(-1);
    expect(codec.lastError().kind).toBe('tooLarge');
  });

  it('decodeStream never throws or traps on random bytes', () => {
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let r = 0; r < 3000; r++) {
      const n = rnd() % 600;
      const buf = codec.inputBuffer(n);
      for (let i = 0; i < n; i++) buf[i] = rnd() >>> 24;
      // plausible sizes now and then, so frames get past the header
      for (let at = 0; at + 12 <= n; at += 24 + (rnd() % 64)) new DataView(buf.buffer, buf.byteOffset).setInt32(at + 8, 24 + (rnd() % 64), true);
      const svc = 1 + (rnd() % 4);
      const dir = rnd() % 4;
      const k = codec.decodeStream(n, svc, dir);
      if (k < 0) expect(isDecodeError(codec.lastError())).toBe(true);
      expect(codec.streamConsumed()).toBeLessThanOrEqual(n);
    }
  });
});
