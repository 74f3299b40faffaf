// The machine-readable side of every bench area: each figure it measured, appended as one JSON line
// to the file named by BENCH_FIGURES (set by bench/report.mjs; unset, nothing is written). The
// report reads them back, checks them against bench/lib/goals.mjs and renders RESULTS.md, so no
// ratio or verdict there is written by hand.
import { appendFileSync } from 'node:fs';

/**
 * A figure: one measurement of ours next to its baseline, both in `unit`.
 * @typedef {object} Figure
 * @property {string} id          stable key the goals refer to, e.g. "client.get.ops.shm"
 * @property {string} area        bench area that measured it
 * @property {string} label       what was measured, for the table
 * @property {string} unit        "ops/s", "ms", "µs/call", ...
 * @property {boolean} higherIsBetter  true for throughput, false for times
 * @property {number} ours
 * @property {number | null} baseline  null when the figure has no baseline (an absolute goal)
 * @property {string} baselineName     e.g. "libcmap", "corosync 3.1.7"
 * @property {string} [note]
 */

/** Appends figures (one JSON line each) to BENCH_FIGURES, tagged with BENCH_REGIME. */
export function emitFigures(figures, env = process.env) {
  if (!env.BENCH_FIGURES) return;
  const regime = env.BENCH_REGIME ?? 'unspecified';
  for (const f of figures) validateFigure(f);
  appendFileSync(env.BENCH_FIGURES, figures.map((f) => JSON.stringify({ ...f, regime }) + '\n').join(''));
}

export function validateFigure(f) {
  for (const k of ['id', 'area', 'label', 'unit', 'baselineName']) {
    if (typeof f[k] !== 'string' || f[k] === '') throw new TypeError(`figure ${f.id ?? '?'}: ${k} must be a non-empty string`);
  }
  if (typeof f.higherIsBetter !== 'boolean') throw new TypeError(`figure ${f.id}: higherIsBetter must be a boolean`);
  if (!Number.isFinite(f.ours)) throw new TypeError(`figure ${f.id}: ours must be a finite number, got ${f.ours}`);
  if (f.baseline !== null && !Number.isFinite(f.baseline)) throw new TypeError(`figure ${f.id}: baseline must be a finite number or null`);
  return f;
}

/** Parses a BENCH_FIGURES file: one figure per non-empty line; a bad line names its number. */
export function parseFigures(text) {
  const out = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let f;
    try {
      f = JSON.parse(line);
    } catch (e) {
      throw new SyntaxError(`figures line ${i + 1}: ${e.message}`);
    }
    try {
      out.push(validateFigure(f));
    } catch (e) {
      throw new TypeError(`figures line ${i + 1}: ${e.message}`);
    }
  });
  return out;
}

/**
 * How many times better ours is than the baseline (≥ 1: ours as good or better), whatever the
 * unit's direction: baseline/ours for times, ours/baseline for throughput. null without a baseline.
 */
export function advantage(f) {
  if (f.baseline === null) return null;
  return f.higherIsBetter ? f.ours / f.baseline : f.baseline / f.ours;
}

export const median = (xs) => {
  if (xs.length === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
