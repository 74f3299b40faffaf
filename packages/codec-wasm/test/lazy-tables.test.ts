import { describe, expect, it } from 'vitest';
// The first import of the codec in this file's module registry (vitest isolates each test file):
// nothing below may have touched the tables before the first test looks.
import { codec, encode, encoders, findMessage, messages, runtimeMessages } from '../src/index.js';

// Cold start (issue 13): the runtime tables (runtimeMessages, the by-name index, encoders) are
// built on first use, not at import. What importers see must not change.
describe('runtime tables built on first use', () => {
  it('importing made no service encoders yet; the first read makes them and they stay', () => {
    const before = Object.getOwnPropertyDescriptor(encoders, 'cmap')!;
    expect(typeof before.get).toBe('function');
    const cmap = encoders.cmap;
    expect(Object.getOwnPropertyDescriptor(encoders, 'cmap')).toEqual({ value: cmap, writable: true, enumerable: true, configurable: true });
    expect(encoders.cmap).toBe(cmap);
    expect(Object.keys(encoders).sort()).toEqual([...new Set(messages.map((m) => m.service))].sort());
  });

  it('runtimeMessages is one array, indexed like the catalog, whatever is asked first', () => {
    expect(Array.isArray(runtimeMessages)).toBe(true);
    expect(runtimeMessages).toHaveLength(messages.length);
    expect(runtimeMessages).toBe(runtimeMessages);
    expect(runtimeMessages.map((m) => `${m.name}/${m.dir}`)).toEqual(messages.map((m) => `${m.name}/${m.dir}`));
    runtimeMessages.forEach((m, i) => {
      expect(m.index).toBe(i);
      expect(codec.message(i)).toBe(m);
      expect(findMessage(m.name, m.dir)?.name).toBe(m.name);
      expect(m.fields.map((f) => f.name)).toEqual(messages[i]!.fields.map((f) => f.name));
    });
    expect(Object.keys(runtimeMessages)).toHaveLength(messages.length);
    expect(JSON.parse(JSON.stringify(runtimeMessages))).toHaveLength(messages.length);
  });

  it('encoders made lazily encode what encode() does', () => {
    const fields = { keyName: 'totem.cluster_name', valueLen: 16n };
    expect(encoders.cmap.req.get(fields)).toEqual(encode('cmap.get', fields));
    expect(encoders.quorum.req.getquorate({})).toEqual(encode('quorum.getquorate', {}));
  });
});
