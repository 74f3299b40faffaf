// decodeCpgEvent reads a plain DELIVER or PARTIAL_DELIVER straight from the frame (wire.ts
// plainDelivery) and leaves every other frame to the codec: both must give what the codec's own decode() gives, frame for frame.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codec, decode, encode } from '@corosync-ts/codec-wasm';
import { isCsError } from '@corosync-ts/types';
import type { CpgHandle } from '../src/cpg.js';
import { decodeCpgEvent, plainDeliverArgs } from '../src/cpg-wire.js';

const MESSAGE_AT = 184;
const FRAGMENT_AT = 200;

function deliver(nameLen: number, msglen: number, nodeid = 3, pid = 4242): Uint8Array {
  const groupName = Uint8Array.from({ length: nameLen }, (_, i) => (i * 7 + 1) & 0xff);
  const message = Uint8Array.from({ length: msglen }, (_, i) => (i * 13 + 5) & 0xff);
  return encode('cpg.deliverCallback', { groupName, msglen, nodeid, pid, message }, { dir: 'evt' });
}

function partial(nameLen: number, msglen: number, fraglen: number, type: number, nodeid = 3, pid = 4242): Uint8Array {
  const groupName = Uint8Array.from({ length: nameLen }, (_, i) => (i * 7 + 1) & 0xff);
  const fragment = Uint8Array.from({ length: fraglen }, (_, i) => (i * 13 + 5) & 0xff);
  return encode('cpg.partialDeliverCallback', { groupName, msglen, fraglen, nodeid, pid, type, fragment }, { dir: 'evt' });
}

function poke(frame: Uint8Array, at: number, value: number): Uint8Array {
  const f = frame.slice();
  new DataView(f.buffer).setUint32(at, value >>> 0, true);
  return f;
}

/** What the codec's decode() makes of a frame: the event, or that it refused it. */
function reference(frame: Uint8Array) {
  try {
    return { event: decode(frame, { service: 'cpg', dir: 'evt' }) };
  } catch {
    return { refused: true };
  }
}

function ours(frame: Uint8Array) {
  try {
    return { event: decodeCpgEvent(frame, 'cpg.dispatch') };
  } catch (e) {
    expect(isCsError(e)).toBe(true);
    return { refused: true };
  }
}

/**
 * Events as plain values: the byte fields as arrays, views and copies alike; the header's error
 * left out (decodeCpgEvent never gave it for the two message events: corosync does not set it).
 */
function plain(r: { event?: unknown; refused?: boolean }) {
  if (r.event) {
    const { error: _error, ...event } = r.event as { error?: number };
    r = { event };
  }
  return JSON.parse(JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? String(v) : v)));
}

describe('cpg delivery decode', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads a plain DELIVER without the codec, with the fields the codec reads', () => {
    const spy = vi.spyOn(codec, 'decodeFrame');
    for (const [nameLen, msglen] of [[0, 0], [1, 1], [8, 64], [128, 1000], [5, 70000]] as const) {
      const frame = deliver(nameLen, msglen);
      // corosync leaves the header's error and padding uninitialised
      const dirty = poke(poke(poke(frame, 16, 0x73aabe80), 4, 0xdeadbeef), 164, 0x01020304);
      for (const f of [frame, dirty]) {
        const got = ours(f);
        expect(plain(got)).toEqual(plain(reference(f)));
        const fields = (got.event as { fields: { message: Uint8Array; msglen: number } }).fields;
        expect(fields.msglen).toBe(msglen);
        // the message is a view of the frame, as before: no copy
        expect(fields.message.buffer).toBe(f.buffer);
      }
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it("reads a plain DELIVER's callback arguments without the codec, as the codec reads them", () => {
    const spy = vi.spyOn(codec, 'decodeFrame');
    const handle = {} as CpgHandle;
    for (const [nameLen, msglen] of [[0, 0], [1, 1], [8, 64], [128, 1000], [5, 70000]] as const) {
      const frame = deliver(nameLen, msglen, 0xfffffff3, 0x80000001);
      const dirty = poke(poke(poke(frame, 16, 0x73aabe80), 4, 0xdeadbeef), 164, 0x01020304);
      for (const f of [frame, dirty]) {
        const want = (reference(f).event as { fields: { groupName: Uint8Array; nodeid: number; pid: number; message: Uint8Array } }).fields;
        const got = plainDeliverArgs(f, handle)!;
        expect(Object.keys(got)).toEqual(['handle', 'groupName', 'nodeid', 'pid', 'msg']);
        expect(got.handle).toBe(handle);
        expect(Array.from(got.groupName)).toEqual(Array.from(want.groupName));
        expect([got.nodeid, got.pid]).toEqual([want.nodeid, want.pid]);
        expect(Array.from(got.msg)).toEqual(Array.from(want.message));
        // the message is a view of the frame (no copy); the group name is the handle's own
        expect(got.msg.buffer).toBe(f.buffer);
        expect(got.msg.byteOffset).toBe(f.byteOffset + MESSAGE_AT);
        expect(got.groupName.buffer).not.toBe(f.buffer);
      }
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it('gives no callback arguments for any frame that is not a plain DELIVER', () => {
    const base = deliver(8, 64);
    const len = base.length;
    const frag = partial(8, 100, 64, 1);
    const cases: Uint8Array[] = [
      poke(base, 8, len + 1),
      poke(base, 8, len - 1),
      poke(base, 160, 63),
      poke(base, 160, 65),
      poke(base, 160, 0xffffffff),
      poke(base, 24, 129),
      poke(base, 24, 0x80000000),
      poke(base, 0, 4),
      poke(base, 0, 17),
      base.subarray(0, MESSAGE_AT - 1),
      poke(base.subarray(0, MESSAGE_AT - 1).slice(), 8, MESSAGE_AT - 1),
      new Uint8Array(0),
      frag,
      poke(frag, 0, 5),
      encode('cpg.confchgCallback', { groupName: new Uint8Array(3), memberList: [], leftList: [], joinedList: [] }, { dir: 'evt' }),
    ];
    for (const f of cases) expect(plainDeliverArgs(f, {} as CpgHandle)).toBeUndefined();
    // a name of exactly 128 bytes and an empty message still are plain
    expect(plainDeliverArgs(deliver(128, 0), {} as CpgHandle)).toBeDefined();
  });

  it('reads a plain PARTIAL_DELIVER without the codec, with the fields the codec reads', () => {
    const spy = vi.spyOn(codec, 'decodeFrame');
    const cases = [[0, 0, 0, 1], [1, 10, 1, 1], [8, 2000000, 70001, 1], [128, 2000000, 65536, 3], [5, 70000, 700, 2], [3, 5, 9, 0xffffffff]] as const;
    for (const [nameLen, msglen, fraglen, type] of cases) {
      const frame = partial(nameLen, msglen, fraglen, type);
      // corosync leaves the header's error and padding uninitialised
      const dirty = poke(poke(poke(poke(frame, 16, 0x73aabe80), 4, 0xdeadbeef), 164, 0x01020304), 196, 0x0a0b0c0d);
      for (const f of [frame, dirty]) {
        const got = ours(f);
        expect(plain(got)).toEqual(plain(reference(f)));
        const fields = (got.event as { name: string; fields: { fragment: Uint8Array; msglen: number; fraglen: number; type: number } }).fields;
        expect((got.event as { name: string }).name).toBe('cpg.partialDeliverCallback');
        expect([fields.msglen, fields.fraglen, fields.type]).toEqual([msglen, fraglen, type]);
        // the fragment is a view of the frame: no copy of a megabyte per fragment
        expect(fields.fragment.buffer).toBe(f.buffer);
      }
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it('leaves every other frame to the codec, which accepts or refuses it as before', () => {
    const spy = vi.spyOn(codec, 'decodeFrame');
    const base = deliver(8, 64);
    const len = base.length;
    const cases: Uint8Array[] = [
      poke(base, 8, len + 1), // size field past the frame
      poke(base, 8, len - 1),
      poke(base, 160, 63), // msglen short of the frame
      poke(base, 160, 65), // msglen past it
      poke(base, 160, 0xffffffff),
      poke(base, 24, 129), // name longer than mar_cpg_name_t holds
      poke(base, 24, 0x80000000),
      poke(base, 0, 4), // another event id (a confchg the size does not fit)
      poke(base, 0, 99), // an unknown one
      poke(base, 0, 17), // a fragment event the size does not fit
      base.subarray(0, MESSAGE_AT - 1), // shorter than the fixed part
      poke(base.subarray(0, MESSAGE_AT - 1).slice(), 8, MESSAGE_AT - 1),
      new Uint8Array(0),
      encode('cpg.confchgCallback', { groupName: new Uint8Array(3), memberList: [], leftList: [], joinedList: [] }, { dir: 'evt' }),
    ];
    for (const f of cases) {
      const want = reference(f);
      expect(plain(ours(f))).toEqual(plain(want));
    }
    expect(spy).toHaveBeenCalledTimes(cases.length);
  });

  it('leaves every other fragment frame to the codec, which accepts or refuses it as before', () => {
    const spy = vi.spyOn(codec, 'decodeFrame');
    const base = partial(8, 100, 64, 1);
    const len = base.length;
    const cases: Uint8Array[] = [
      poke(base, 8, len + 1), // size field past the frame
      poke(base, 8, len - 1),
      poke(base, 168, 63), // fraglen short of the frame
      poke(base, 168, 65), // fraglen past it
      poke(base, 168, 0xffffffff),
      poke(base, 24, 129), // name longer than mar_cpg_name_t holds
      poke(base, 24, 0xffffffff),
      poke(base, 0, 5), // a DELIVER whose msglen does not fit
      base.subarray(0, FRAGMENT_AT - 1), // shorter than the fixed part
      poke(base.subarray(0, FRAGMENT_AT - 1).slice(), 8, FRAGMENT_AT - 1),
      poke(base.subarray(0, MESSAGE_AT).slice(), 8, MESSAGE_AT), // longer than a DELIVER's, shorter than a fragment's
    ];
    for (const f of cases) {
      const want = reference(f);
      expect(plain(ours(f))).toEqual(plain(want));
    }
    expect(spy).toHaveBeenCalledTimes(cases.length);
    // and the codec refuses each of these (no malformed fragment is read as one)
    for (const f of cases.slice(0, 7)) expect(reference(f)).toEqual({ refused: true });
  });
});
