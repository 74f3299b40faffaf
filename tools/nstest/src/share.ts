/**
 * CI runs the whole suite twice, on Node 20 and again on Node 24. A generated-sequence property
 * with a fixed seed ran the same sequences in both passes: twice the time for the coverage of one.
 * With COROSYNC_TS_SEQUENCE_SHARE=k/n (.ci/run sets 1/2, then 2/2) a run takes the k-th of n
 * consecutive slices of the seed's first `runs` sequences, so the passes together run each of
 * them once, the same ones as a run without the variable (which runs them all).
 *
 * fast-check has no "start at run i": `numRuns` is the end of this share and the property returns
 * at once while `skip()` is true (the runs before it). The skipped sequences are still generated,
 * which is what keeps sequence i the same whatever the share. Shrinking after a failure only
 * calls the property after those, so skip() is false for every candidate.
 */
export function sequenceShare(runs: number): { numRuns: number; skip(): boolean } {
  const v = process.env.COROSYNC_TS_SEQUENCE_SHARE;
  if (v === undefined) return { numRuns: runs, skip: () => false };
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const [k, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!(k >= 1 && k <= n)) throw new Error(`COROSYNC_TS_SEQUENCE_SHARE=${JSON.stringify(v)}: expected k/n with 1 <= k <= n`);
  const from = Math.floor(((k - 1) * runs) / n);
  let calls = 0;
  return { numRuns: Math.floor((k * runs) / n), skip: () => calls++ < from };
}
