// pairFrames() (typed-array queues) against the plain statement of libqb's rule: per connection,
// the n-th response answers the n-th request (libqb's disconnect request, id -3, has none), and
// a setup response the setup request before it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairFrames } from '../src/model.js';

function reference(n: number, conn: Int32Array, dir: Uint8Array, id: Int32Array, len: Int32Array): Int32Array {
  const pair = new Int32Array(n).fill(-1);
  const queues = new Map<number, { q: number[]; setup: number }>();
  for (let i = 0; i < n; i++) {
    let st = queues.get(conn[i]!);
    if (!st) queues.set(conn[i]!, (st = { q: [], setup: -1 }));
    if (dir[i] === 0) {
      if (id[i] !== -3) st.q.push(i);
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
  it('pairs as libqb answers, over many connections, whatever the interleaving', () => {
    const frame = fc.record({ conn: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 200 })), dir: fc.integer({ min: 0, max: 3 }), id: fc.constantFrom(0, 1, -3), len: fc.constantFrom(24, 48) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 300 }), (fs) => {
        const n = fs.length;
        const cols = [Int32Array.from(fs, (f) => f.conn), Uint8Array.from(fs, (f) => f.dir), Int32Array.from(fs, (f) => f.id), Int32Array.from(fs, (f) => f.len)] as const;
        expect(pairFrames(n, ...cols)).toEqual(reference(n, ...cols));
      }),
      { numRuns: 500 },
    );
  });
});
