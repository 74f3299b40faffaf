// Judging a small cost against the noise it is measured in (the recorder's "< 5% per call" goal,
// bench/inspector/run.mjs): per-round ratios of a side to its baseline measured in the same round,
// their median with a confidence interval that assumes nothing about their distribution, and the
// same for an A/A control (a second baseline measured exactly like the side), which says how wide
// the interval of a side that costs nothing comes out at this moment. The rule is written out in
// bench/README.md ("Judged against the noise").

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialCdfHalf(k, n) {
  let term = 2 ** -n; // C(n, 0) / 2^n: for n up to ~1,000 this stays a normal double
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * The median of xs and a confidence interval for it from order statistics: the k-th smallest and
 * the k-th largest value, k as large as the binomial tail allows (coverage at least `level` for any
 * continuous distribution of independent rounds). Fewer than 6 values cannot give a 95% interval:
 * lo and hi are then -Infinity and Infinity.
 * @returns {{ median: number, lo: number, hi: number, n: number }}
 */
export function medianCI(xs, level = 0.95) {
  const n = xs.length;
  if (n === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = n >> 1;
  const median = n % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  const tail = (1 - level) / 2;
  // the largest k with P(X < k) = P(X ≤ k-1) ≤ tail
  let k = 0;
  while (k + 1 <= n && binomialCdfHalf(k, n) <= tail) k++;
  if (k === 0) return { median, lo: -Infinity, hi: Infinity, n };
  return { median, lo: s[k - 1], hi: s[n - k], n };
}

/**
 * The verdict on "cost ratio ≤ limit" (e.g. 1.05) from the side's 95% interval and the A/A
 * control's (intervals of per-round ratios to the same baseline, [lo, hi]):
 *   met           the control's interval holds 1 and the side's whole interval is at or under the limit;
 *   missed        the control's interval holds 1 and the side's whole interval is over the limit;
 *   within noise  anything else: the side's interval holds the limit (at this noise the bench cannot
 *                 tell whether the cost is under or over it), or the control's interval misses 1
 *                 (two handles that both do nothing came out different: the run is off balance by
 *                 at least that much, and no side of it is judged).
 */
export function judgeCost(ratioCI, controlCI, limit) {
  const [lo, hi] = ratioCI;
  const [clo, chi] = controlCI;
  if (!(clo <= 1 && chi >= 1)) return 'within noise';
  if (hi <= limit) return 'met';
  if (lo > limit) return 'missed';
  return 'within noise';
}
