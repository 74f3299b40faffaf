import { describe, expect, expectTypeOf, it } from 'vitest';
import { decode, encoders, type FieldsOf, type SpecOf } from '../src/index.js';
import { Frame } from './helpers.js';

// Compile-time checks of the catalog-derived types (run by `tsc -p tsconfig.json`, the
// package's typecheck script), with a runtime sanity check so the file is not empty at run time.
describe('catalog-derived types', () => {
  it('narrow decode() results by name and dir', () => {
    const d = decode(Frame.res(2, 40).u64(24, 5n).u8(32, 11).bytes, { service: 'cmap', dir: 'res' });
    if (d.name === 'cmap.get' && d.dir === 'res') {
      expectTypeOf(d.fields.valueLen).toEqualTypeOf<bigint>();
      expectTypeOf(d.fields.type).toEqualTypeOf<number>();
      expectTypeOf(d.fields.value).toEqualTypeOf<Uint8Array>();
      expect(d.fields.valueLen).toBe(5n);
    } else {
      expect.unreachable();
    }
  });

  it('derive field types from the catalog', () => {
    expectTypeOf<FieldsOf<SpecOf<'quorum.v1NodelistNotification', 'evt'>>>().toEqualTypeOf<{
      ringId: { nodeid: number; seq: bigint };
      memberListEntries: number;
      joinedListEntries: number;
      leftListEntries: number;
      memberList: number[];
      joinedList: number[];
      leftList: number[];
    }>();
    expectTypeOf<FieldsOf<SpecOf<'votequorum.quorumNotification', 'evt'>>['nodeList']>().toEqualTypeOf<{ nodeid: number; state: number }[]>();
    expectTypeOf<FieldsOf<SpecOf<'cfg.getNodeAddrs', 'res'>>['addrs']>().toEqualTypeOf<Uint8Array[]>();
    expectTypeOf<FieldsOf<SpecOf<'qb.connectionResponse', 'setup'>>['request']>().toEqualTypeOf<string>();
  });

  it('type the encoders: count fields optional, wrong types rejected', () => {
    const ok = () => encoders.cmap.req.set({ keyName: 'a.b', type: 11, value: new Uint8Array(1) });
    expect(ok().length).toBe(297);
    // @ts-expect-error valueLen is a bigint
    const bad1 = () => encoders.cmap.req.get({ keyName: 'a.b', valueLen: 1 });
    // @ts-expect-error keyName is required
    const bad2 = () => encoders.cmap.req.delete({});
    // @ts-expect-error no such message
    const bad3 = () => encoders.quorum.req.nope;
    expect([bad1, bad2, bad3].every((f) => typeof f === 'function')).toBe(true);
  });
});
