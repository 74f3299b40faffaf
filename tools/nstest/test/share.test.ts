import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import { sequenceShare } from '../src/index.js';

const VAR = 'COROSYNC_TS_SEQUENCE_SHARE';
const saved = process.env[VAR];
afterEach(() => {
  if (saved === undefined) delete process.env[VAR];
  else process.env[VAR] = saved;
});

/** The values a seeded property runs its body on under the share `share` (undefined: none set). */
function ran(share: string | undefined, runs: number): number[] {
  if (share === undefined) delete process.env[VAR];
  else process.env[VAR] = share;
  const { numRuns, skip } = sequenceShare(runs);
  const seen: number[] = [];
  fc.assert(
    fc.property(fc.integer(), (v) => {
      if (skip()) return;
      seen.push(v);
    }),
    { seed: 20261206, numRuns },
  );
  return seen;
}

it('the shares of a seed run, one after the other, exactly the sequences the whole run does', () => {
  const all = ran(undefined, 151);
  expect(all).toHaveLength(151);
  const halves = [ran('1/2', 151), ran('2/2', 151)];
  expect(halves.map((h) => h.length)).toEqual([75, 76]);
  expect(halves.flat()).toEqual(all);
  const thirds = [ran('1/3', 151), ran('2/3', 151), ran('3/3', 151)];
  expect(thirds.flat()).toEqual(all);
  expect(ran('1/1', 151)).toEqual(all);
});

it('a share that is not k/n with 1 <= k <= n is an error, not the whole run', () => {
  for (const bad of ['', '2', '0/2', '3/2', '1/0', 'a/b', '1/2/3', ' 1/2']) {
    process.env[VAR] = bad;
    expect(() => sequenceShare(10), bad).toThrow(VAR);
  }
});
