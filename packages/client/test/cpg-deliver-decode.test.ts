// decodeCpgEvent reads a plain DELIVER straight from the frame (wire.ts plainDelivery) and leaves
// every other frame to the codec: both must give what the codec's own decode() gives, frame for frame.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codec, decode, encode } from '@corosync-ts/codec-wasm';
import { isCsError } from '@corosync-ts/types';
import { decodeCpgEvent } from '../src/wire.js';

const MESSAGE_AT = 184;

function deliver(nameLen: number, msglen: number, nodeid = 3, pid = 4242): Uint8Array {
  const groupName = Uint8Array.from({ length: nameLen }, (_, i) => (i * 7 + 1) & 0xff);
  const message = Uint8Array.from({ length: msglen }, (_, i) => (i * 13 + 5) & 0xff);
  return encode('cpg.deliverCallback', { groupName, msglen, nodeid, pid, message }, { dir: 'evt' });
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
      base.subarray(0, MESSAGE_AT - 1), // shorter than the fixed part
      poke(base.subarray(0, MESSAGE_AT - 1).slice(), 8, MESSAGE_AT - 1),
      new Uint8Array(0),
      encode('cpg.partialDeliverCallback', { groupName: new Uint8Array(3), msglen: 10, fraglen: 4, nodeid: 1, pid: 2, type: 1, fragment: new Uint8Array(4) }, { dir: 'evt' }),
      encode('cpg.confchgCallback', { groupName: new Uint8Array(3), memberList: [], leftList: [], joinedList: [] }, { dir: 'evt' }),
    ];
    for (const f of cases) {
      const want = reference(f);
      expect(plain(ours(f))).toEqual(plain(want));
    }
    expect(spy).toHaveBeenCalledTimes(cases.length);
  });
});
