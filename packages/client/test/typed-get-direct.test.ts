import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import {
  CMAP_VALUETYPE_DOUBLE, CMAP_VALUETYPE_FLOAT, CMAP_VALUETYPE_INT16, CMAP_VALUETYPE_INT32, CMAP_VALUETYPE_INT64, CMAP_VALUETYPE_INT8,
  CMAP_VALUETYPE_UINT16, CMAP_VALUETYPE_UINT32, CMAP_VALUETYPE_UINT64, CMAP_VALUETYPE_UINT8, CS_ERR_TRY_AGAIN,
} from '@corosync-ts/types';
import { CmapHandle } from '../src/index.js';

// A typed getter whose key has a cached request frame goes straight to the connection when the
// call has no options (Session.directWith) and names its operation only for an error. Every
// value and every error must be what the same call gives through call() (any options object,
// even an empty one, takes that path): same class, code, message, operation and cause.

const GETTERS = ['getInt8', 'getUint8', 'getInt16', 'getUint16', 'getInt32', 'getUint32', 'getInt64', 'getUint64', 'getFloat', 'getDouble'] as const;
type Getter = (typeof GETTERS)[number];
const VALUES: [key: string, type: number, value: number | bigint, getter: Getter][] = [
  ['t.i8', CMAP_VALUETYPE_INT8, -5, 'getInt8'],
  ['t.u8', CMAP_VALUETYPE_UINT8, 200, 'getUint8'],
  ['t.i16', CMAP_VALUETYPE_INT16, -30000, 'getInt16'],
  ['t.u16', CMAP_VALUETYPE_UINT16, 60000, 'getUint16'],
  ['t.i32', CMAP_VALUETYPE_INT32, -2000000000, 'getInt32'],
  ['t.u32', CMAP_VALUETYPE_UINT32, 4000000000, 'getUint32'],
  ['t.i64', CMAP_VALUETYPE_INT64, -(2n ** 62n), 'getInt64'],
  ['t.u64', CMAP_VALUETYPE_UINT64, 2n ** 64n - 1n, 'getUint64'],
  ['t.f', CMAP_VALUETYPE_FLOAT, 1.5, 'getFloat'],
  ['t.d', CMAP_VALUETYPE_DOUBLE, -1e300, 'getDouble'],
];

/** What a caller can see of a rejection. */
function shape(e: unknown) {
  const x = e as { constructor: { name: string }; code?: unknown; message?: unknown; operation?: unknown; cause?: { code?: unknown; message?: unknown } };
  return { class: x.constructor.name, code: x.code, message: x.message, operation: x.operation, cause: x.cause && { code: x.cause.code, message: x.cause.message } };
}

async function rejection(p: Promise<unknown>): Promise<ReturnType<typeof shape>> {
  try {
    await p;
  } catch (e) {
    return shape(e);
  }
  throw new Error('resolved');
}

for (const transport of ['socket', 'shm'] as const) {
  describe(`typed getters straight to the connection (${transport})`, () => {
    let mock: MockCorosync;
    beforeEach(async () => {
      mock = await startMockCorosync({ nodes: 2, transport, endpoints: [1, 2] });
    });
    afterEach(async () => {
      await mock?.close();
    });

    it('values of every type, and every error an answer can carry, as through call()', async () => {
      await using h = await CmapHandle.initialize({ ipcPrefix: mock.prefix });
      for (const [key, type, value] of VALUES) await h.set(key, value, type);
      await h.setString('t.s', 'x');
      for (const [key, , value, getter] of VALUES) {
        // The first call makes the key's frame; the second goes straight.
        expect(await h[getter](key)).toEqual(value);
        expect(await h[getter](key)).toEqual(value);
        expect(await h[getter](key, {})).toEqual(value);
      }
      for (const getter of GETTERS) {
        // Another type (7, decoded by the codec), a string, a key that is not there (12).
        for (const key of [getter === 'getUint8' ? 't.i8' : 't.u8', 't.s', 't.none']) {
          const slow = await rejection(h[getter](key, {}));
          expect(slow.operation).toBe(`cmap.${getter}(${key})`);
          expect(await rejection(h[getter](key))).toEqual(slow);
          expect(await rejection(h[getter](key, {}))).toEqual(slow);
        }
        // An error in the answer's header (corosync's bare refusal).
        mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 1 });
        const slow = await rejection(h[getter]('t.u32', {}));
        expect(slow).toMatchObject({ code: CS_ERR_TRY_AGAIN, operation: `cmap.${getter}(t.u32)` });
        mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 1 });
        expect(await rejection(h[getter]('t.u32'))).toEqual(slow);
      }
    });

    it('a connection lost with the call in flight: the same error as through call()', async () => {
      const seen: ReturnType<typeof shape>[] = [];
      for (const [node, opts] of [[1, {}], [2, undefined]] as const) {
        await using h = await CmapHandle.initialize({ ipcPrefix: mock.endpoint(node).prefix });
        await h.setUint32('t.k', 1);
        expect(await h.getUint32('t.k')).toBe(1);
        mock.faults.inject({ call: 'cmap.get', node, killNode: true, times: 1 });
        seen.push(await rejection(h.getUint32('t.k', opts)));
      }
      expect(seen[0]).toMatchObject({ class: 'CsError', code: 2, operation: 'cmap.getUint32(t.k)' });
      expect(seen[1]).toEqual(seen[0]);
    });
  });
}
