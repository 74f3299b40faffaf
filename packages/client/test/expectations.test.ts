import { describe, expect, it } from 'vitest';
import { messages } from '@corosync-ts/codec-wasm';
import { expectationFor, spec } from '../src/wire.js';

// The answer check of a request id is built on its first request (cold start, issue 13), no longer
// as one table of every id at the first call. This compares it, id by id, with that table built
// here the way it was (the last request of a service and id wins; cpg's zero-copy pair apart).
const frameWithId = (id: number, len = 24) => {
  const f = new Uint8Array(len);
  new DataView(f.buffer).setInt32(0, id, true);
  return f;
};
type Service = Parameters<typeof expectationFor>[0];

function oracle(): Map<string, { resId: number; max: number | undefined } | 'zcb'> {
  const table = new Map<string, { resId: number; max: number | undefined } | 'zcb'>();
  for (const m of messages) {
    if (m.dir !== 'req') continue;
    const res = spec(m.name, 'res') ?? spec(`${m.service}.status`, 'res');
    if (!res || res.id === null) continue;
    const fixed = !res.fields.some((f) => 'count' in f);
    table.set(`${m.service}.${m.id}`, { resId: res.id, max: fixed ? res.size : undefined });
  }
  for (const name of ['cpg.zcbAlloc', 'cpg.zcbFree']) table.set(`cpg.${spec(name, 'req')!.id}`, 'zcb');
  return table;
}

describe('expectationFor, built per request id', () => {
  it('answers every request of the catalog as the whole table did', () => {
    const want = oracle();
    const seen = new Set<string>();
    for (const m of messages) {
      if (m.dir !== 'req' || (m.service as string) === 'qb' || m.id === null) continue;
      const key = `${m.service}.${m.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const w = want.get(key);
      const e = expectationFor(m.service as Service, frameWithId(m.id, Math.max(24, m.size)));
      if (w === undefined) {
        expect(e, key).toBeUndefined();
        continue;
      }
      expect(e, key).toBeDefined();
      if (w === 'zcb') {
        expect(e!.maxResponseSize, key).toBe(24);
        expect(e!.verify(frameWithId(0)), key).toBe(true);
        expect(e!.verify(frameWithId(0, 32)), key).toBe(false);
        continue;
      }
      if (key !== `cmap.${spec('cmap.get', 'req')!.id}`) {
        expect(e!.maxResponseSize, key).toBe(w.max);
        // Built once: the same check for the next request of this id.
        expect(expectationFor(m.service as Service, frameWithId(m.id, Math.max(24, m.size))), key).toBe(e);
      }
      expect(e!.verify(frameWithId(w.resId)), key).toBe(true);
      expect(e!.verify(frameWithId(w.resId + 100000)), key).toBe(false);
    }
    expect(seen.size).toBeGreaterThan(20);
  });

  it('a request id the catalog does not know has no check, and asking again still has none', () => {
    expect(expectationFor('cmap', frameWithId(999999))).toBeUndefined();
    expect(expectationFor('cmap', frameWithId(999999))).toBeUndefined();
  });
});
