import { describe, expect, test } from 'vitest';
import { CmapStore, isReadOnlyKey, type CmapChange } from '../src/index.js';

const T = { I8: 1, U8: 2, I16: 3, U16: 4, I32: 5, U32: 6, I64: 7, U64: 8, FLT: 9, DBL: 10, STR: 11, BIN: 12 };
const enc = (s: string) => new TextEncoder().encode(s);

describe('CmapStore', () => {
  test('iterates in strcmp order with a key before its extensions, live', () => {
    const s = new CmapStore();
    for (const k of ['b.a', 'a.b.c', 'a.b', 'a.c', 'a.B', 'a.b-', 'tot', 'totem.x']) s.set(k, T.U8, 1);
    expect(s.keys('')).toEqual(['a.B', 'a.b', 'a.b-', 'a.b.c', 'a.c', 'b.a', 'tot', 'totem.x']);
    expect(s.keys('tot')).toEqual(['tot', 'totem.x']);
    const it = s.iterate('a.');
    expect(it.next()).toBe('a.B');
    s.delete('a.b');
    s.delete('a.B');
    expect(it.next()).toBe('a.b-');
    s.set('a.zz', T.U8, 1);
    expect([it.next(), it.next(), it.next(), it.next()]).toEqual(['a.b.c', 'a.c', 'a.zz', undefined]);
    expect(it.next()).toBeUndefined();
  });

  test('value rules: fixed sizes, strings stored with NUL, max length, unknown types', () => {
    const s = new CmapStore();
    expect(s.setRaw('t.u32', T.U32, new Uint8Array(3))).toBe(7);
    expect(s.setRaw('t.big', T.BIN, new Uint8Array(16385))).toBe(7);
    expect(s.setRaw('t.bin', T.BIN, new Uint8Array(16384))).toBe(1);
    expect(s.setRaw('t.s', T.STR, enc('hello'))).toBe(1);
    expect(s.get('t.s')!.value).toEqual(enc('hello\0'));
    expect(s.setRaw('t.empty', T.STR, new Uint8Array(0))).toBe(1);
    expect(s.get('t.empty')!.value.length).toBe(1);
    expect(s.setRaw('t.nul', T.STR, enc('ab\0cd'))).toBe(7); // value_len > strlen + 1
    expect(s.setRaw('t.nul2', T.STR, enc('ab\0'))).toBe(1);
    expect(s.setRaw('t.unk', 13, new Uint8Array(1))).toBe(7);
    expect(s.setRaw('t.unk0', 0, new Uint8Array(0))).toBe(1); // icmap's quirk
    expect(s.setRaw('t.u8', T.U8, new Uint8Array([5]))).toBe(1);
    expect(s.setRaw('t.u8', T.STR, enc('x'))).toBe(1); // the type of an existing key may change
    expect(s.get('t.u8')!.type).toBe(T.STR);
  });

  test('new key names: 3..255 chars of [A-Za-z0-9._/:-] else NAME_TOO_LONG; existing keys never re-checked', () => {
    const s = new CmapStore();
    expect(s.setRaw('ab', T.U8, new Uint8Array(1))).toBe(13);
    expect(s.setRaw('ab c', T.U8, new Uint8Array(1))).toBe(13);
    expect(s.setRaw('x'.repeat(256), T.U8, new Uint8Array(1))).toBe(13);
    expect(s.setRaw('x'.repeat(255), T.U8, new Uint8Array(1))).toBe(1);
    expect(s.setRaw('ab:c/-_.X9', T.U8, new Uint8Array(1))).toBe(1);
  });

  test('adjust_int wraps in the width of the type and refuses floats and strings', () => {
    const s = new CmapStore();
    s.set('t.u8', T.U8, 255);
    s.set('t.i8', T.I8, -128);
    s.set('t.u64', T.U64, 0n);
    s.set('t.f', T.FLT, 1);
    s.set('t.s', T.STR, 'x');
    expect(s.adjustInt('t.u8', 1)).toBe(1);
    expect(s.getValue('t.u8')).toBe(0);
    expect(s.adjustInt('t.i8', -1)).toBe(1);
    expect(s.getValue('t.i8')).toBe(127);
    expect(s.adjustInt('t.u64', -1)).toBe(1);
    expect(s.getValue('t.u64')).toBe(0xffff_ffff_ffff_ffffn);
    expect(s.adjustInt('t.f', 1)).toBe(7);
    expect(s.adjustInt('t.s', 1)).toBe(7);
    expect(s.adjustInt('t.none', 1)).toBe(12);
  });

  test('tracking: events, values, no event for an identical set, order of notifiers', () => {
    const s = new CmapStore();
    const seen: string[] = [];
    const tr = (name: string, key: string, flags: number) =>
      s.track(key, flags, (c: CmapChange) => seen.push(`${name}:${c.event}:${c.key}:${c.oldType}>${c.newType}`));
    tr('root-noprefix', '', 7);
    tr('root', '', 15);
    tr('a', 'a', 15);
    tr('ab-exact-old', 'a.b', 7);
    tr('ab-prefix', 'a.b', 15);
    tr('ab-exact-new', 'a.b', 7);
    tr('a.', 'a.', 15);
    tr('del-only', 'a.b', 1);
    s.set('a.b', T.U8, 1);
    expect(seen).toEqual(['ab-exact-new:4:a.b:0>2', 'ab-exact-old:4:a.b:0>2', 'ab-prefix:4:a.b:0>2', 'a.:4:a.b:0>2', 'a:4:a.b:0>2', 'root:4:a.b:0>2']);
    seen.length = 0;
    s.set('a.b', T.U8, 1);
    expect(seen).toEqual([]);
    s.set('a.b', T.U16, 1);
    expect(seen[0]).toBe('ab-exact-new:2:a.b:2>4');
    seen.length = 0;
    s.delete('a.b');
    expect(seen).toEqual(['del-only:1:a.b:4>0', 'ab-exact-new:1:a.b:4>0', 'ab-exact-old:1:a.b:4>0', 'ab-prefix:1:a.b:4>0', 'a.:1:a.b:4>0', 'a:1:a.b:4>0', 'root:1:a.b:4>0']);
  });

  test('notifications carry old and new bytes', () => {
    const s = new CmapStore();
    const got: CmapChange[] = [];
    s.track('k.s', 7, (c) => got.push(c));
    s.set('k.s', T.STR, 'abc');
    s.set('k.s', T.STR, 'hello!');
    expect(got[1]!.newValue).toEqual(enc('hello!\0'));
    expect(got[1]!.oldValue).toEqual(enc('abc\0'));
  });

  test('read-only keys', () => {
    for (const k of ['totem.version', 'nodelist.node.0.nodeid', 'runtime.config.totem.token', 'system.qb_ipc_type', 'quorum.wait_for_all', 'internal_configuration.x']) {
      expect(isReadOnlyKey(k)).toBe(true);
    }
    for (const k of ['runtime.votequorum.two_node', 'quorum.expected_votes', 'quorum.two_node', 'resources.x', 'totem.token']) {
      expect(isReadOnlyKey(k)).toBe(false);
    }
  });
});
