import { describe, expect, it } from 'vitest';
import {
  catalog, decode, decodedToJSON, encode, encoders, type Direction, type Service,
} from '../src/index.js';
import { cases } from './cases.js';
import { Frame, hex } from './helpers.js';

const opts = (c: { service: Service | 'qb'; dir: Direction }) =>
  c.service === 'qb' ? { dir: c.dir } : { service: c.service, dir: c.dir };

describe('every catalog message has a hand-built case', () => {
  it('covers the catalog', () => {
    const covered = new Set(cases.map((c) => `${c.dir}:${c.name}`));
    const missing = catalog.messages.map((m) => `${m.dir}:${m.name}`).filter((k) => !covered.has(k));
    expect(missing).toEqual([]);
  });
});

describe.each(cases.map((c, i) => [`${c.dir} ${c.name} #${i}`, c] as const))('%s', (_, c) => {
  it('decodes', () => {
    const d = decode(c.bytes, opts(c));
    expect(d.name).toBe(c.name);
    expect(d.dir).toBe(c.dir);
    expect(d.size).toBe(c.bytes.length);
    expect(d.error).toBe(c.error);
    expect(d.fields).toEqual(c.fields);
  });
  it('encodes by name', () => {
    expect(hex(encode(c.name, c.fields, { dir: c.dir, ...c.header }))).toBe(hex(c.bytes));
  });
  it('encodes through encoders.<service>.<dir>.<msg>', () => {
    const short = c.name.slice(c.name.indexOf('.') + 1);
    const fn = (encoders as unknown as Record<string, Record<string, Record<string, (f: object, h?: object) => Uint8Array>>>)[c.service]![c.dir]![short]!;
    expect(hex(fn(c.fields, c.header))).toBe(hex(c.bytes));
  });
  it('round-trips decode -> encode(d.name, d.fields, d)', () => {
    const d = decode(c.bytes, opts(c));
    expect(hex(encode(d.name, d.fields, d))).toBe(hex(c.bytes));
  });
  it('gives plain JSON', () => {
    const j = decodedToJSON(decode(c.bytes, opts(c)));
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    expect(Object.keys(j)).toEqual(c.error === undefined ? ['name', 'id', 'size', 'fields'] : ['name', 'id', 'size', 'error', 'fields']);
  });
});

describe('typed encoders', () => {
  it('derive count fields when left out', () => {
    const b = encoders.quorum.evt.notification({ quorate: 1, ringSeq: 15n, viewList: [1] });
    expect(decode(b, { service: 'quorum', dir: 'evt' }).fields).toMatchObject({ viewListEntries: 1, viewList: [1] });
    const s = encoders.cmap.req.set({ keyName: 'a.b.c', type: 6, value: new Uint8Array(4) });
    expect(decode(s, { service: 'cmap', dir: 'req' }).fields).toMatchObject({ valueLen: 4n });
  });
  it('encode() picks the request for a shared name unless dir says otherwise', () => {
    expect(decode(encode('cmap.get', { keyName: 'k.k', valueLen: 0n }), { service: 'cmap', dir: 'req' }).name).toBe('cmap.get');
    const r = encode('cmap.get', { valueLen: 0n, type: 0, value: new Uint8Array(0) }, { dir: 'res' });
    expect(r.length).toBe(40);
  });
  it('events and responses default to CS_OK, setup responses to 0, .error to CS_ERR_INVALID_PARAM', () => {
    expect(decode(encoders.cmap.res.set({}), { service: 'cmap', dir: 'res' }).error).toBe(1);
    expect(decode(encoders.cmap.res.error({}), { service: 'cmap', dir: 'res' }).error).toBe(7);
    expect(decode(encoders.qb.setup.connectionResponse({ connectionType: 1, maxMsgSize: 1, connection: 0n, request: 'a', response: 'b', event: 'c' }), { dir: 'setup' }).error).toBe(0);
  });
});

describe('decode leniency', () => {
  it('treats the response to an unknown request id (bare header, id 0, error 7) per service', () => {
    const b = Frame.res(0, 24, 7).bytes;
    expect(decode(b, { service: 'cmap', dir: 'res' }).name).toBe('cmap.set');
    expect(decode(b, { service: 'votequorum', dir: 'res' }).name).toBe('votequorum.status');
    expect(decode(b, { service: 'quorum', dir: 'res' }).name).toBe('quorum.error');
    expect(decode(b, { service: 'cfg', dir: 'res' }).name).toBe('cfg.error');
    expect(decode(Frame.res(9, 24, 7).bytes, { service: 'cmap', dir: 'res' }).name).toBe('cmap.error');
  });
  it('reads an error reply of the fixed size with garbage counts as empty', () => {
    const b = Frame.res(11, 32, 12).u32(24, 0xdeadbeef).u32(28, 0x7fffffff).bytes;
    const d = decode(b, { service: 'cfg', dir: 'res' });
    expect(d.fields).toEqual({ family: 0xdeadbeef, numAddrs: 0x7fffffff, addrs: [] });
  });
  it('ignores padding and garbage after a char[] NUL', () => {
    const b = Frame.req(5, 272).chars(16, 'Qdevice').raw(24, [0xff, 0xfe]).raw(4, [0xfd, 0x7f]).bytes;
    expect(decode(b, { service: 'votequorum', dir: 'req' }).fields).toEqual({ name: 'Qdevice' });
  });
  it('reads a char[] without NUL as all its bytes', () => {
    const b = Frame.req(5, 272).chars(16, 'x'.repeat(255)).bytes;
    expect(decode(b, { service: 'votequorum', dir: 'req' }).fields).toEqual({ name: 'x'.repeat(255) });
  });
  it('cuts a mar_name_t at its length, and at a NUL inside it', () => {
    const b = Frame.req(1, 280).name(16, 'abc.def').u16(16, 3).bytes;
    expect(decode(b, { service: 'cmap', dir: 'req' }).fields).toEqual({ keyName: 'abc' });
    const c = Frame.req(1, 280).name(16, 'ab\0cd').bytes;
    expect(decode(c, { service: 'cmap', dir: 'req' }).fields).toEqual({ keyName: 'ab' });
    const full = Frame.req(1, 280).name(16, 'k'.repeat(256)).bytes;
    expect(decode(full, { service: 'cmap', dir: 'req' }).fields).toEqual({ keyName: 'k'.repeat(256) });
  });
  it('tells the setup request from the response by length', () => {
    expect(decode(Frame.req(-1, 24).u32(16, 12328).bytes, { dir: 'setup' }).name).toBe('qb.connectionRequest');
    expect(decode(Frame.res(-1, 12328).bytes, { dir: 'setup' }).name).toBe('qb.connectionResponse');
  });
  it('accepts the daemon-side max size string of 254 chars and a 4095-char path', () => {
    const p = `/${'p'.repeat(4094)}`;
    const d = decode(Frame.res(-1, 12328, 0).chars(40, p).bytes, { dir: 'setup' });
    expect(d.fields).toMatchObject({ request: p });
  });
});
