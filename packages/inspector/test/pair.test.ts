// pairFrames() (typed-array queues) against the plain statement of libqb's rule: per connection,
// the n-th response answers the n-th request (libqb's disconnect request, id -3, and cpg's MCAST,
// id 2 on a cpg connection, have none), and
// a setup response the setup request before it. A recorder's `dropped` line cuts its connection:
// what was waiting for an answer before it is not paired with what comes after it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pairer, noReplyIds, pairFrames } from '../src/model.js';

// services[1] is cpg in these frames; which of its requests get no answer comes from the catalog
const CPG = 1;
const NO_REPLY = noReplyIds(['cmap', 'cpg']);

function reference(n: number, conn: Int32Array, dir: Uint8Array, id: Int32Array, len: Int32Array, svc: Uint8Array, drops: { at: number; conn: number }[] = []): Int32Array {
  const pair = new Int32Array(n).fill(-1);
  const queues = new Map<number, { q: number[]; setup: number }>();
  for (let i = 0; i < n; i++) {
    for (const d of drops) if (d.at === i) queues.delete(d.conn);
    let st = queues.get(conn[i]!);
    if (!st) queues.set(conn[i]!, (st = { q: [], setup: -1 }));
    if (dir[i] === 0) {
      if (id[i] !== -3 && !(svc[i] === CPG && id[i] === 2)) st.q.push(i);
    } else if (dir[i] === 1) {
      const r = st.q.shift();
      if (r !== undefined) {
        pair[r] = i;
        pair[i] = r;
      }
    } else if (dir[i] === 3) {
      if (len[i]! <= 24) st.setup = i;
      else if (st.setup >= 0) {
        pair[st.setup] = i;
        pair[i] = st.setup;
        st.setup = -1;
      }
    }
  }
  return pair;
}

describe('pairFrames', () => {
  it("takes the requests that get no answer from the codec's catalog: cpg's MCAST, nothing of cmap's", () => {
    expect(NO_REPLY.map((ids) => (ids ? [...ids] : ids))).toEqual([undefined, [2]]);
  });

  it('pairs as libqb answers, over many connections, whatever the interleaving', () => {
    const frame = fc.record({ conn: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 200 })), dir: fc.integer({ min: 0, max: 3 }), id: fc.constantFrom(0, 1, 2, -3), len: fc.constantFrom(24, 48), svc: fc.integer({ min: 0, max: 1 }) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 300 }), (fs) => {
        const n = fs.length;
        const cols = [Int32Array.from(fs, (f) => f.conn), Uint8Array.from(fs, (f) => f.dir), Int32Array.from(fs, (f) => f.id), Int32Array.from(fs, (f) => f.len), Uint8Array.from(fs, (f) => f.svc)] as const;
        expect(pairFrames(n, ...cols, NO_REPLY)).toEqual(reference(n, ...cols));
      }),
      { numRuns: 500 },
    );
  });

  it('starts each connection afresh after a dropped line, fed in pieces as a capture loads', () => {
    // dir 4: the recorder's `dropped` line for that connection, between the frames
    const item = fc.record({ conn: fc.integer({ min: 1, max: 4 }), dir: fc.integer({ min: 0, max: 4 }), id: fc.constantFrom(0, 1, 2, -3), len: fc.constantFrom(24, 48), svc: fc.integer({ min: 0, max: 1 }) });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 300 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 4 }), (items, cuts) => {
        const fs = items.filter((f) => f.dir !== 4);
        const drops: { at: number; conn: number }[] = [];
        let at = 0;
        for (const f of items) {
          if (f.dir === 4) drops.push({ at, conn: f.conn });
          else at++;
        }
        const n = fs.length;
        const cols = [Int32Array.from(fs, (f) => f.conn), Uint8Array.from(fs, (f) => f.dir), Int32Array.from(fs, (f) => f.id), Int32Array.from(fs, (f) => f.len)] as const;
        const svc = Uint8Array.from(fs, (f) => f.svc);
        const pair = new Int32Array(n);
        const p = new Pairer();
        const bounds = [...new Set([0, ...cuts.filter((x) => x < n), n])].sort((a, b) => a - b);
        for (let k = 1; k < bounds.length; k++) p.add(bounds[k - 1]!, bounds[k]!, ...cols, pair, undefined, undefined, drops, svc, NO_REPLY);
        expect(pair).toEqual(reference(n, ...cols, svc, drops));
      }),
      { numRuns: 500 },
    );
  });
});
