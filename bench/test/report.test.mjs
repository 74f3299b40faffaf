import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advantage, emitFigures, median, parseFigures } from '../lib/figures.mjs';
import { GOALS, describeCheck, evaluate, verdict } from '../lib/goals.mjs';
import { mergeResults, renderReport, splitSections } from '../lib/render.mjs';

const fig = (over) => ({
  id: 'client.get.ops.shm', area: 'client', label: 'getUint32 throughput, shm', unit: 'ops/s',
  higherIsBetter: true, baseline: 20000, ours: 25000, baselineName: 'libcmap', regime: 'idle', ...over,
});

describe('figures', () => {
  it('advantage is ours/baseline for throughput and baseline/ours for times', () => {
    expect(advantage(fig({ ours: 25000, baseline: 20000 }))).toBe(1.25);
    expect(advantage(fig({ higherIsBetter: false, unit: 'ms', ours: 40, baseline: 10 }))).toBe(0.25);
    expect(advantage(fig({ baseline: null }))).toBeNull();
  });

  it('median of odd and even counts, and of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('emitFigures appends one line per figure tagged with the regime, and parseFigures reads them back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-fig-'));
    try {
      const file = join(dir, 'f.jsonl');
      const { regime: _r, ...a } = fig();
      emitFigures([a], { BENCH_FIGURES: file, BENCH_REGIME: 'loaded' });
      emitFigures([{ ...a, id: 'x.y' }], { BENCH_FIGURES: file, BENCH_REGIME: 'idle' });
      const back = parseFigures(readFileSync(file, 'utf8'));
      expect(back.map((f) => [f.id, f.regime])).toEqual([['client.get.ops.shm', 'loaded'], ['x.y', 'idle']]);
      expect(back[0].ours).toBe(25000);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('emitFigures writes nothing without BENCH_FIGURES and rejects a figure that is not a number', () => {
    expect(() => emitFigures([fig()], {})).not.toThrow();
    expect(() => emitFigures([fig({ ours: NaN })], { BENCH_FIGURES: '/nonexistent/never-written' })).toThrow(/ours must be a finite number/);
  });

  it('parseFigures names the bad line', () => {
    const good = JSON.stringify(fig());
    expect(() => parseFigures(`${good}\n{oops\n`)).toThrow(/line 2/);
    expect(() => parseFigures(`${good}\n\n${JSON.stringify(fig({ unit: '' }))}\n`)).toThrow(/line 3: .*unit/);
    expect(parseFigures(`\n${good}\n\n`)).toHaveLength(1);
  });
});

describe('goals', () => {
  it('atLeast: throughput and cost in either direction, the threshold itself is met', () => {
    const c = { kind: 'atLeast', value: 1.0 };
    expect(verdict(c, fig({ ours: 20000 }))).toBe('met');
    expect(verdict(c, fig({ ours: 19999 }))).toBe('missed');
    const cpu = { kind: 'atLeast', value: 1 / 1.5 };
    expect(verdict(cpu, fig({ higherIsBetter: false, baseline: 10, ours: 15 }))).toBe('met');
    expect(verdict(cpu, fig({ higherIsBetter: false, baseline: 10, ours: 15.1 }))).toBe('missed');
    expect(() => verdict(c, fig({ baseline: null }))).toThrow(/baseline/);
  });

  it('atMost and plus', () => {
    expect(verdict({ kind: 'atMost', value: 25 }, fig({ ours: 25, baseline: null }))).toBe('met');
    expect(verdict({ kind: 'atMost', value: 25 }, fig({ ours: 25.5, baseline: null }))).toBe('missed');
    expect(verdict({ kind: 'plus', value: 50 }, fig({ ours: 150, baseline: 100 }))).toBe('met');
    expect(verdict({ kind: 'plus', value: 50 }, fig({ ours: 151, baseline: 100 }))).toBe('missed');
  });

  it('describes each threshold', () => {
    expect(describeCheck({ kind: 'atLeast', value: 1 })).toBe('≥ 1.00x baseline');
    expect(describeCheck({ kind: 'atLeast', value: 1 / 1.3 })).toBe('cost ≤ 1.30x baseline');
    expect(describeCheck({ kind: 'atMost', value: 25, unit: 'ms' })).toBe('≤ 25.0 ms');
    expect(describeCheck({ kind: 'atMost', value: 25 }, 'ms')).toBe('≤ 25.0 ms');
    expect(describeCheck({ kind: 'plus', value: 50 }, 'kB')).toBe('≤ baseline + 50.0 kB');
  });

  it('evaluate gives one row per goal, regime and figure id; a figure not measured is never met', () => {
    const goals = [{ goal: 'g', ids: ['a', 'b'], check: { kind: 'atLeast', value: 1 } }];
    const rows = evaluate([fig({ id: 'a', regime: 'idle' }), fig({ id: 'a', regime: 'loaded', ours: 1 })], ['idle', 'loaded'], goals);
    expect(rows.map((r) => [r.regime, r.id, r.verdict])).toEqual([
      ['idle', 'a', 'met'], ['idle', 'b', 'not measured'], ['loaded', 'a', 'missed'], ['loaded', 'b', 'not measured'],
    ]);
  });

  it('the cpg goal covers msgs/s and p50 round trip at every size bench/cpg measures, both transports', () => {
    const g = GOALS.find((x) => x.goal.startsWith('cpg mcast'));
    expect(g.check).toEqual({ kind: 'atLeast', value: 1.0 });
    expect(g.ids).toHaveLength(16);
    for (const t of ['socket', 'shm']) {
      for (const s of ['64', '1k', '64k', '1m']) expect(g.ids).toEqual(expect.arrayContaining([`cpg.mcast.msgs.${t}.${s}`, `cpg.mcast.latency.${t}.${s}`]));
    }
  });

  it('every goal names figure ids and a known check', () => {
    for (const g of GOALS) {
      expect(g.ids.length).toBeGreaterThan(0);
      expect(() => describeCheck(g.check, 'x')).not.toThrow();
    }
  });
});

describe('render', () => {
  const run = {
    figures: [fig(), fig({ regime: 'loaded', ours: 10000 }), fig({ id: 'coldstart.import', area: 'coldstart', label: 'import', unit: 'ms', higherIsBetter: false, baseline: null, ours: 31, baselineName: '–' })],
    regimes: [
      { name: 'idle', description: 'as is', areas: [{ area: 'client', status: 'ok', loadBefore: [0.1, 0.2, 0.3], loadAfter: [0.4, 0.5, 0.6], seconds: 60 }] },
      { name: 'loaded', description: '2 busy', areas: [{ area: 'client', status: 'ok', loadBefore: [2, 2, 2], loadAfter: [2.5, 2.2, 2.1], seconds: 70 }] },
    ],
    meta: { command: 'node bench/report.mjs', node: 'v20', machine: '2 × cpu', started: 's', finished: 'f', commit: 'abc' },
  };

  it('renders verdicts computed from the figures, with the load around each area', () => {
    const md = renderReport(run);
    expect(md).toContain('| Client GET throughput ≥ 1.0x libcmap | idle | getUint32 throughput, shm (ops/s) | 20,000 (libcmap) | 25,000 | 1.25x | ≥ 1.00x baseline | **met** |');
    expect(md).toContain('| Client GET throughput ≥ 1.0x libcmap | loaded | getUint32 throughput, shm (ops/s) | 20,000 (libcmap) | 10,000 | 0.50x | ≥ 1.00x baseline | **missed** |');
    expect(md).toContain('| Importing @corosync-ts/client ≤ 25 ms | idle | import (ms) | – | 31.0 | – | ≤ 25.0 ms | **missed** |');
    expect(md).toContain('| Importing @corosync-ts/client ≤ 25 ms | loaded | `coldstart.import` | – | – | – | ≤ 25.0 ms | not measured |');
    expect(md).toContain('client: ok in 70 s; load average 2.00 2.00 2.00 before, 2.50 2.20 2.10 after');
    expect(md).toMatch(/\| getUint32 throughput, shm \| ops\/s \| 20,000 \(libcmap\) \| 25,000 \| 1\.25x \| 20,000 \(libcmap\) \| 10,000 \| 0\.50x \|/);
  });

  it('mergeResults keeps only the named sections of the old file, after the report', () => {
    const old = '# Benchmark results\n\nintro\n\n## client — old\n\nold figures\n\n## codec (x)\n\ncodec table\n\n## inspector\n\ninspector table\n';
    const out = mergeResults(old, '## report\n\nnew', ['codec', 'inspector']);
    expect(splitSections(out).map((s) => s.heading)).toEqual(['report', 'codec (x)', 'inspector']);
    expect(out).not.toContain('old figures');
    expect(out).toContain('codec table');
    expect(out.startsWith('# Benchmark results\n\n## report\n')).toBe(true);
  });
});
