import { describe, expect, it } from 'vitest';
import { GOALS, describeCheck, verdict } from '../lib/goals.mjs';
import { judgeCost, medianCI } from '../lib/noise.mjs';
import { renderReport } from '../lib/render.mjs';

const ranks = (n) => Array.from({ length: n }, (_, i) => i + 1);

describe('medianCI', () => {
  it('takes the order statistics of the binomial tables (n = 6, 10, 48, 96), whatever the input order', () => {
    // 1-based ranks of the 95% interval of a median: n 6 -> 1..6, 10 -> 2..9, 48 -> 17..32, 96 -> 38..59
    expect(medianCI(ranks(6).reverse())).toEqual({ median: 3.5, lo: 1, hi: 6, n: 6 });
    expect(medianCI(ranks(10))).toEqual({ median: 5.5, lo: 2, hi: 9, n: 10 });
    expect(medianCI(ranks(48))).toEqual({ median: 24.5, lo: 17, hi: 32, n: 48 });
    expect(medianCI(ranks(96))).toMatchObject({ lo: 38, hi: 59 });
    expect(medianCI([3, 1, 2, 5, 4, 7, 6])).toMatchObject({ median: 4, lo: 1, hi: 7 });
  });

  it('gives no finite interval below 6 values, and refuses nothing', () => {
    expect(medianCI(ranks(5))).toEqual({ median: 3, lo: -Infinity, hi: Infinity, n: 5 });
    expect(() => medianCI([])).toThrow(RangeError);
  });

  it('a narrower level gives a narrower interval', () => {
    const wide = medianCI(ranks(48), 0.99);
    const narrow = medianCI(ranks(48), 0.8);
    expect(wide.lo).toBeLessThan(17);
    expect(narrow.lo).toBeGreaterThan(17);
    expect(narrow.hi).toBeLessThan(32);
  });
});

describe('judgeCost (limit 1.05)', () => {
  const calm = [0.98, 1.02];
  it('met or missed only when the side is clear of the limit and the control holds 1', () => {
    expect(judgeCost([0.99, 1.05], calm, 1.05)).toBe('met');
    expect(judgeCost([1.051, 1.2], calm, 1.05)).toBe('missed');
  });

  it('within noise when the side straddles the limit, however narrow the control', () => {
    expect(judgeCost([1.0, 1.06], calm, 1.05)).toBe('within noise');
    expect(judgeCost([0.7, 2.0], [0.6, 1.5], 1.05)).toBe('within noise');
  });

  it('within noise when the control misses 1, however clear the side', () => {
    expect(judgeCost([0.95, 1.0], [1.01, 1.04], 1.05)).toBe('within noise');
    expect(judgeCost([1.2, 1.3], [0.9, 0.99], 1.05)).toBe('within noise');
  });
});

const recorder = (over) => ({
  id: 'inspector.recorder.plain.socket', area: 'inspector', label: 'client recording its own traffic (plain), cmap GET, socket', unit: 'µs/call',
  higherIsBetter: false, baseline: 40, ours: 41, baselineName: 'capture off', ratioCI: [1.0, 1.06], controlCI: [0.97, 1.03], regime: 'loaded', ...over,
});

describe('the recorder goal', () => {
  const goal = GOALS.find((g) => g.goal.startsWith('Recorder'));

  it('is judged on the intervals, not on the point ratio', () => {
    expect(goal.check.kind).toBe('costCI');
    // 41/40 is a cost of 2.5 %, under the limit: the interval still reaches past it
    expect(verdict(goal.check, recorder())).toBe('within noise');
    expect(verdict(goal.check, recorder({ ratioCI: [0.99, 1.04] }))).toBe('met');
    expect(verdict(goal.check, recorder({ ours: 44, ratioCI: [1.06, 1.15] }))).toBe('missed');
    expect(() => verdict(goal.check, recorder({ ratioCI: undefined }))).toThrow(/ratioCI/);
    expect(() => verdict(goal.check, recorder({ controlCI: undefined }))).toThrow(/controlCI/);
    expect(describeCheck(goal.check)).toBe('cost ≤ 1.05x baseline (95% interval, against an A/A control)');
  });

  it('renders the verdict with both intervals beside the ratio', () => {
    const md = renderReport({
      figures: [recorder()],
      regimes: [{ name: 'loaded', description: '2 busy', areas: [] }],
      meta: { command: 'c', node: 'v20', machine: 'm', started: 's', finished: 'f', commit: 'x' },
    });
    expect(md).toContain('| 40.0 (capture off) | 41.0 | 0.98x (cost 1.000–1.060x, A/A control 0.970–1.030x) | cost ≤ 1.05x baseline (95% interval, against an A/A control) | **within noise** |');
  });
});
