import { describe, expect, it } from 'vitest';
import {
  CMAP_TRACK_ADD, CMAP_TRACK_DELETE, CMAP_TRACK_MODIFY, CMAP_TRACK_PREFIX, CMAP_VALUETYPE_INT64, CMAP_VALUETYPE_STRING, CMAP_VALUETYPE_UINT32,
  CS_DISPATCH_ALL, CS_DISPATCH_BLOCKING, CS_DISPATCH_ONE, CS_DISPATCH_ONE_NONBLOCKING, CsError, isCsError,
} from '@corosync-ts/types';
import { CmapHandle, cmap, type CmapNotification } from '../src/index.js';
import { evt, fakeConnector, res, tick, type FakeIpc } from './fake.js';
import type { Decoded } from '@corosync-ts/codec-wasm';

/** A tiny cmap daemon: enough semantics for the client's paths (not a model of icmap). */
function store() {
  const data = new Map<string, { type: number; bytes: Uint8Array }>();
  const tracks = new Map<bigint, { key: string; cookie: bigint }>();
  let nextHandle = 0x1234n << 32n;
  const handler = (d: Decoded, ipc: FakeIpc): Uint8Array => {
    const f = d.fields as Record<string, any>;
    switch (d.name) {
      case 'cmap.set': {
        const stored = f.type === CMAP_VALUETYPE_STRING ? new Uint8Array([...f.value, 0]) : f.value;
        const old = data.get(f.keyName);
        data.set(f.keyName, { type: f.type, bytes: stored });
        for (const t of tracks.values()) {
          if (t.key === f.keyName) {
            ipc.event(evt('cmap.notify', {
              trackInstHandle: t.cookie, keyName: f.keyName, event: old ? CMAP_TRACK_MODIFY : CMAP_TRACK_ADD,
              newValueType: f.type, oldValueType: old?.type ?? 0, newValue: stored, oldValue: old?.bytes ?? new Uint8Array(0),
            }));
          }
        }
        return res('cmap.set');
      }
      case 'cmap.delete':
        return res('cmap.delete', {}, data.delete(f.keyName) ? 1 : 12);
      case 'cmap.get': {
        const v = data.get(f.keyName);
        if (!v) return res('cmap.error', {}, 12);
        const cap = Number(f.valueLen);
        if (cap > 0 && cap < v.bytes.length) return res('cmap.error', {}, 7);
        const value = new Uint8Array(cap);
        value.set(v.bytes.subarray(0, cap));
        return res('cmap.get', { valueLen: BigInt(v.bytes.length), type: v.type, value: cap ? value.subarray(0, v.bytes.length) : new Uint8Array(0) });
      }
      case 'cmap.iterInit':
        return res('cmap.iterInit', { iterHandle: 77n });
      case 'cmap.trackAdd': {
        const h = nextHandle++;
        tracks.set(h, { key: f.keyName, cookie: f.trackInstHandle });
        return res('cmap.trackAdd', { trackHandle: h });
      }
      case 'cmap.trackDelete': {
        const t = tracks.get(f.trackHandle);
        if (!t) return res('cmap.error', {}, 9);
        tracks.delete(f.trackHandle);
        return res('cmap.trackDelete', { trackInstHandle: t.cookie });
      }
      default:
        return res('cmap.error', {}, 7);
    }
  };
  return { data, tracks, handler };
}

async function open(opts: Parameters<typeof CmapHandle.initialize>[0] = {}) {
  const s = store();
  const fc = fakeConnector('cmap', s.handler);
  const h = await CmapHandle.initialize({ connect: fc.connect, ...opts });
  return { h, fc, s, ipc: fc.last };
}

function code(e: unknown): number | undefined {
  return isCsError(e) ? e.code : undefined;
}

describe('cmap argument errors are caught before the wire, with libcmap codes', () => {
  it('key of 256 bytes → 13, also after finalize (libcmap checks the key first)', async () => {
    const { h, ipc } = await open();
    const long = 'k'.repeat(256);
    await expect(h.get(long)).rejects.toSatisfy((e) => code(e) === 13);
    await expect(h.setUint8(long, 1)).rejects.toSatisfy((e) => code(e) === 13);
    await expect(h.delete('é'.repeat(128))).rejects.toSatisfy((e) => code(e) === 13); // 256 UTF-8 bytes
    await h.finalize();
    await expect(h.getInfo(long)).rejects.toSatisfy((e) => code(e) === 13);
    await expect(h.getInfo('a.b.c')).rejects.toSatisfy((e) => code(e) === 9);
    expect(ipc.requests).toHaveLength(0);
  });

  it('calls after finalize → 9; a second finalize → 9', async () => {
    const { h, ipc } = await open();
    await h.finalize();
    expect(ipc.closed).toBe(true);
    await expect(h.finalize()).rejects.toSatisfy((e) => code(e) === 9);
    await expect(h.iterInit('a')).rejects.toSatisfy((e) => code(e) === 9);
    await expect(h.dispatch(CS_DISPATCH_ALL)).rejects.toSatisfy((e) => code(e) === 9);
    expect(() => h.fdGet()).toThrow(CsError);
    expect(() => h.contextGet()).toThrow(expect.objectContaining({ code: 9 }));
  });

  it('bad values → 7 without a request', async () => {
    const { h, ipc } = await open();
    await expect(h.setUint8('a.b.c', 300)).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.setUint64('a.b.c', -1n)).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.setString('a.b.c', 'a\0b')).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.set('a.b.c', undefined as never, CMAP_VALUETYPE_UINT32)).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.trackAdd('a.b.c', CMAP_TRACK_ADD, 'nope' as never)).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.get('a.b.c', { capacity: -1 })).rejects.toSatisfy((e) => code(e) === 7);
    // A handle is a uint64: a number (not a bigint) was a TypeError, -1n was taken as 2^64-1.
    for (const handle of [5, -1n, 2n ** 64n, 'x']) {
      await expect(h.iterNext(handle as bigint)).rejects.toSatisfy((e) => code(e) === 7);
      await expect(h.iterFinalize(handle as bigint)).rejects.toSatisfy((e) => code(e) === 7);
      await expect(h.trackDelete(handle as bigint)).rejects.toSatisfy((e) => code(e) === 7);
    }
    expect(ipc.requests).toHaveLength(0);
  });
});

describe('cmap get and set on the wire', () => {
  it('typed getters: a value of the exact size is read in place; another size → 2 (undecodable), another type → 7', async () => {
    const { h, s } = await open();
    const put = (key: string, type: number, bytes: number[]) => s.data.set(key, { type, bytes: new Uint8Array(bytes) });
    put('t.u32', CMAP_VALUETYPE_UINT32, [1, 2, 3, 4]);
    put('t.i64', CMAP_VALUETYPE_INT64, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    put('t.short', CMAP_VALUETYPE_UINT32, [1, 2]);
    put('t.long', CMAP_VALUETYPE_UINT32, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await h.getUint32('t.u32')).toBe(0x04030201);
    expect(await h.getInt64('t.i64')).toBe(-2n);
    for (const key of ['t.short', 't.long']) {
      await expect(h.getUint32(key)).rejects.toSatisfy((e) => code(e) === 2 && /undecodable value of type 6/.test((e as Error).message));
    }
    await expect(h.getUint16('t.u32')).rejects.toSatisfy((e) => code(e) === 7);
  });

  it('strings travel without NUL; getString is one round trip when it fits', async () => {
    const { h, ipc, s } = await open();
    await h.setString('test.s', 'hello');
    expect(ipc.requests[0]!.fields).toMatchObject({ keyName: 'test.s', valueLen: 5n, type: CMAP_VALUETYPE_STRING });
    expect(s.data.get('test.s')!.bytes).toEqual(new Uint8Array([104, 101, 108, 108, 111, 0]));
    expect(await h.getString('test.s')).toBe('hello');
    expect(ipc.requests).toHaveLength(2);
    expect(ipc.requests[1]!.fields).toMatchObject({ valueLen: 1024n });
    expect(await h.getInfo('test.s')).toEqual({ type: CMAP_VALUETYPE_STRING, length: 6 });
  });

  it('getString of a long value falls back to libcmap\'s length-then-value', async () => {
    const { h, ipc } = await open();
    await h.setString('test.big', 'x'.repeat(3000));
    ipc.requests.length = 0;
    expect(await h.getString('test.big')).toHaveLength(3000);
    expect(ipc.requests.map((r) => (r.fields as { valueLen: bigint }).valueLen)).toEqual([1024n, 0n, 3001n]);
  });

  it('typed getters ask with libcmap\'s 16-byte scratch and reject another type with 7', async () => {
    const { h, ipc } = await open();
    await h.setUint32('test.u', 4000000000);
    expect(await h.getUint32('test.u')).toBe(4000000000);
    expect(ipc.requests[1]!.fields).toMatchObject({ valueLen: 16n });
    await expect(h.getUint8('test.u')).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.getString('test.u')).rejects.toSatisfy((e) => code(e) === 7);
    await expect(h.getInt64('test.none')).rejects.toSatisfy((e) => code(e) === 12);
    await h.setUint64('test.u64', 18000000000000000000n);
    expect(await h.getUint64('test.u64')).toBe(18000000000000000000n);
    const e = await h.get('test.u64');
    expect(e).toMatchObject({ type: 8, length: 8, value: 18000000000000000000n });
  });

  it('an explicit capacity is exactly libcmap\'s *value_len: too small → 7', async () => {
    const { h } = await open();
    await h.setString('test.s', 'hello');
    await expect(h.get('test.s', { capacity: 2 })).rejects.toSatisfy((e) => code(e) === 7);
    expect((await h.get('test.s', { capacity: 6 })).value).toBe('hello');
  });

  it('a daemon error comes back as a CsError naming the call', async () => {
    const { h } = await open();
    const e = await h.delete('test.none').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CsError);
    expect(e).toMatchObject({ code: 12, csName: 'CS_ERR_NOT_EXIST', operation: 'cmap.delete(test.none)' });
  });

  it('C-shaped free functions call the methods', async () => {
    const { h } = await open();
    await cmap.setString(h, 'test.f', 'v');
    expect(await cmap.getString(h, 'test.f')).toBe('v');
    await cmap.finalize(h);
  });
});

describe('cmap iteration', () => {
  it('iter() ends at CS_ERR_NO_SECTIONS and finalizes the iterator; break finalizes too', async () => {
    const keys = ['test.a', 'test.b', 'test.c'];
    let i = 0;
    const fc = fakeConnector('cmap', (d) => {
      if (d.name === 'cmap.iterInit') return res('cmap.iterInit', { iterHandle: 5n });
      if (d.name === 'cmap.iterNext') {
        const k = keys[i++];
        return k ? res('cmap.iterNext', { keyName: k, valueLen: 4n, type: 6 }) : res('cmap.error', {}, 27);
      }
      if (d.name === 'cmap.iterFinalize') return res('cmap.iterFinalize');
      return res('cmap.error', {}, 7);
    });
    const h = await CmapHandle.initialize({ connect: fc.connect });
    const seen = [];
    for await (const it of h.iter('test.')) seen.push(it);
    expect(seen).toEqual(keys.map((keyName) => ({ keyName, valueLen: 4, type: 6 })));
    expect(fc.last.requests.at(-1)!.name).toBe('cmap.iterFinalize');
    i = 0;
    for await (const it of h.iter('test.')) {
      expect(it.keyName).toBe('test.a');
      break;
    }
    expect(fc.last.requests.at(-1)!.name).toBe('cmap.iterFinalize');
    expect(fc.last.requests.filter((r) => r.name === 'cmap.iterNext')).toHaveLength(5);
  });
});

describe('cmap tracking and dispatch', () => {
  it('auto mode: callbacks run from the event loop with typed old and new values', async () => {
    const { h } = await open();
    const got: CmapNotification[] = [];
    const th = await h.trackAdd('test.t', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, (n) => got.push(n), 'ud');
    await h.setUint32('test.t', 1);
    await h.setString('test.t', 'abc');
    await tick();
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ trackHandle: th, event: CMAP_TRACK_ADD, keyName: 'test.t', userData: 'ud', handle: h });
    expect(got[0]!.newValue).toMatchObject({ type: 6, len: 4, value: 1 });
    expect(got[0]!.oldValue).toMatchObject({ type: 0, len: 0, value: undefined });
    expect(got[1]!.newValue).toMatchObject({ type: 11, len: 4, value: 'abc' });
    expect(got[1]!.oldValue).toMatchObject({ type: 6, value: 1 });
  });

  it('decodes a notification frame built by hand from the verified wire example', async () => {
    const { h, ipc } = await open();
    const got: CmapNotification[] = [];
    const th = await h.trackAdd('test.str', CMAP_TRACK_MODIFY, (n) => got.push(n));
    const cookie = (ipc.requests[0]!.fields as { trackInstHandle: bigint }).trackInstHandle;
    // 347 bytes: "abc" → "hello!" (corosync-services.md §3.1)
    const f = new Uint8Array(347);
    const dv = new DataView(f.buffer);
    dv.setInt32(0, 9, true);
    dv.setInt32(8, 347, true);
    dv.setInt32(16, 1, true);
    dv.setBigUint64(24, cookie, true);
    dv.setUint16(32, 8, true);
    f.set(new TextEncoder().encode('test.str'), 40);
    dv.setInt32(296, 2, true);
    f[304] = 11;
    f[312] = 11;
    dv.setBigUint64(320, 7n, true);
    dv.setBigUint64(328, 4n, true);
    f.set(new TextEncoder().encode('hello!\0abc\0'), 336);
    ipc.event(f);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ trackHandle: th, event: 2, keyName: 'test.str' });
    expect(got[0]!.newValue).toMatchObject({ type: 11, len: 7, value: 'hello!' });
    expect(got[0]!.oldValue).toMatchObject({ type: 11, len: 4, value: 'abc' });
  });

  it('manual mode reproduces cs_dispatch_flags_t', async () => {
    const { h } = await open({ dispatch: 'manual' });
    const got: string[] = [];
    await h.trackAdd('test.m', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, (n) => got.push(String(n.newValue.value)));
    await expect(h.dispatch(CS_DISPATCH_ONE_NONBLOCKING)).rejects.toSatisfy((e) => code(e) === 6);
    await h.dispatch(CS_DISPATCH_ALL); // nothing pending: CS_OK
    for (const v of [1, 2, 3]) await h.setUint32('test.m', v);
    await tick();
    expect(got).toEqual([]);
    expect(h.pendingEvents).toBe(3);
    await h.dispatch(CS_DISPATCH_ONE);
    expect(got).toEqual(['1']);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(got).toEqual(['1', '2', '3']);
    const one = h.dispatch(CS_DISPATCH_ONE); // waits for the next event
    await tick();
    await h.setUint32('test.m', 4);
    await one;
    expect(got).toEqual(['1', '2', '3', '4']);
  });

  it('BLOCKING runs until finalize; finalize inside a callback makes dispatch reject 9', async () => {
    const { h } = await open({ dispatch: 'manual' });
    let n = 0;
    await h.trackAdd('test.b', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, () => {
      if (++n === 2) void h.finalize();
    });
    const blocking = h.dispatch(CS_DISPATCH_BLOCKING);
    await h.setUint32('test.b', 1);
    await h.setUint32('test.b', 2);
    await expect(blocking).rejects.toSatisfy((e) => code(e) === 9);
    expect(n).toBe(2);

    const other = await open({ dispatch: 'manual' });
    const b2 = other.h.dispatch(CS_DISPATCH_BLOCKING);
    await tick();
    await other.h.finalize();
    await expect(b2).resolves.toBeUndefined();
  });

  it('unknown flags behave like BLOCKING for cmap (libcmap does not validate them)', async () => {
    const { h } = await open({ dispatch: 'manual' });
    let settled = false;
    const p = h.dispatch(99).then(() => (settled = true));
    await h.trackAdd('test.x', CMAP_TRACK_ADD, () => {});
    await h.setUint32('test.x', 1);
    await tick();
    expect(settled).toBe(false);
    await h.finalize();
    await p;
    expect(settled).toBe(true);
  });

  it('notifications for a deleted track are dropped; trackDelete of an unknown handle → 9', async () => {
    const { h, ipc } = await open();
    const got: unknown[] = [];
    const th = await h.trackAdd('test.d', CMAP_TRACK_ADD, (n) => got.push(n));
    const cookie = (ipc.requests[0]!.fields as { trackInstHandle: bigint }).trackInstHandle;
    await h.trackDelete(th);
    ipc.event(evt('cmap.notify', { trackInstHandle: cookie, keyName: 'test.d', event: 4, newValueType: 6, oldValueType: 0, newValue: new Uint8Array(4), oldValue: new Uint8Array(0) }));
    expect(got).toEqual([]);
    await expect(h.trackDelete(th)).rejects.toSatisfy((e) => code(e) === 9);
  });

  it('track() is an async iterator; return() deletes the track', async () => {
    const { h, s } = await open();
    const stream = await h.track('test.i', CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE);
    expect(s.tracks.size).toBe(1);
    await h.setUint32('test.i', 1);
    await h.setUint32('test.i', 2);
    const events: number[] = [];
    for await (const n of stream) {
      events.push(n.newValue.value as number);
      if (events.length === 2) break;
    }
    expect(events).toEqual([1, 2]);
    expect(s.tracks.size).toBe(0);
  });

  it('an unknown event id is CS_ERR_LIBRARY from dispatch', async () => {
    const { h, ipc } = await open({ dispatch: 'manual' });
    const f = new Uint8Array(24);
    new DataView(f.buffer).setInt32(0, 42, true);
    new DataView(f.buffer).setInt32(8, 24, true);
    ipc.event(f);
    await expect(h.dispatch(CS_DISPATCH_ALL)).rejects.toSatisfy((e) => code(e) === 2);
  });

  it('in auto mode a malformed event goes to the error listener', async () => {
    const { h, ipc } = await open();
    const errors: unknown[] = [];
    h.on('error', (e) => errors.push(e));
    ipc.event(new Uint8Array([1, 2, 3]));
    expect(errors).toHaveLength(1);
    expect(isCsError(errors[0], 2)).toBe(true);
  });
});

describe('cmap PREFIX tracks', () => {
  it('sends the prefix and track type as given (null = root)', async () => {
    const { h, ipc } = await open();
    await h.trackAdd(null, CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX, () => {});
    expect(ipc.requests[0]!.fields).toMatchObject({ keyName: '', trackType: 13 });
  });
});
