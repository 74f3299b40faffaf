// The goals of issue 13 ("fast in every regime"), as checks over the figures the bench areas emit
// (bench/lib/figures.mjs). Each goal holds in every regime the report runs (idle and loaded) and
// for every figure id it names; a figure that was not measured is reported as such, never as met.
import { advantage } from './figures.mjs';
import { judgeCost } from './noise.mjs';

/**
 * check kinds:
 *   atLeast  advantage(figure) ≥ value   (ours value× the baseline or better, either unit direction)
 *   atMost   ours ≤ value (absolute, in the figure's unit)
 *   plus     ours − baseline ≤ value (in the figure's unit)
 *   costCI   the figure's per-round cost ratio to its baseline (its 95% interval, ratioCI) ≤ value,
 *            judged against its A/A control's interval (controlCI) by bench/lib/noise.mjs's judgeCost:
 *            'met', 'missed' or 'within noise'
 * `unit` (atMost, plus) names the value's unit, also when the figure is missing.
 */
export const GOALS = [
  {
    goal: 'Client GET throughput ≥ 1.0x libcmap',
    // Both shapes (bench/README.md "The getUint32 rows: one shape each"): the client on
    // corosync's vCPU and on the other one; either is where a service may run.
    ids: ['client.get.ops.socket', 'client.get.ops.shm', 'client.get-apart.ops.socket', 'client.get-apart.ops.shm'],
    check: { kind: 'atLeast', value: 1.0 },
  },
  {
    goal: 'Client CPU per GET ≤ 1.5x libcmap',
    ids: ['client.get.cpu.socket', 'client.get.cpu.shm', 'client.get-apart.cpu.socket', 'client.get-apart.cpu.shm'],
    check: { kind: 'atLeast', value: 1 / 1.5 },
  },
  {
    goal: 'Queued shm notifications ≥ 1.0x libcmap',
    ids: ['client.notify.queued.shm'],
    check: { kind: 'atLeast', value: 1.0 },
  },
  {
    goal: 'Memory per extra handle ≤ libcmap + 50 kB',
    ids: ['client.memory.handle.socket', 'client.memory.handle.shm'],
    check: { kind: 'plus', value: 50, unit: 'kB' },
  },
  {
    goal: 'Importing @corosync-ts/client ≤ 25 ms',
    ids: ['coldstart.import'],
    check: { kind: 'atMost', value: 25, unit: 'ms' },
  },
  {
    goal: 'One-call script within 1.3x of `node -e 0` + `corosync-cmapctl -g`',
    ids: ['coldstart.onecall.socket', 'coldstart.onecall.shm'],
    check: { kind: 'atLeast', value: 1 / 1.3 },
  },
  {
    goal: 'Mock ≥ 1.0x corosync serving C GETs (plain process)',
    ids: ['testkit.mock.ops.socket', 'testkit.mock.ops.shm'],
    check: { kind: 'atLeast', value: 1.0 },
  },
  {
    goal: 'Mock ≥ 1.0x corosync serving C GETs, `corosync-mock --rr` (SCHED_RR 99 like corosync)',
    ids: ['testkit.mock.rr.ops.socket', 'testkit.mock.rr.ops.shm'],
    check: { kind: 'atLeast', value: 1.0 },
  },
  {
    goal: 'cpg mcast ≥ 1.0x libcpg (msgs/s and p50 round trip; issue 14)',
    ids: ['socket', 'shm'].flatMap((t) => ['64', '1k', '64k', '1m'].flatMap((s) => [`cpg.mcast.msgs.${t}.${s}`, `cpg.mcast.latency.${t}.${s}`])),
    check: { kind: 'atLeast', value: 1.0 },
  },
  {
    goal: 'Recorder adds < 5% per call',
    ids: ['inspector.recorder.plain.shm', 'inspector.recorder.gzip.shm', 'inspector.recorder.plain.socket', 'inspector.recorder.gzip.socket'],
    check: { kind: 'costCI', value: 1.05 },
  },
];

/** The goal's threshold in words, next to the figure. */
export function describeCheck(check, unit = check.unit ?? '') {
  switch (check.kind) {
    case 'atLeast':
      return check.value >= 1 ? `≥ ${fmt(check.value)}x baseline` : `cost ≤ ${fmt(1 / check.value)}x baseline`;
    case 'atMost':
      return `≤ ${fmt(check.value)} ${unit}`.trim();
    case 'plus':
      return `≤ baseline + ${fmt(check.value)} ${unit}`.trim();
    case 'costCI':
      return `cost ≤ ${fmt(check.value)}x baseline (95% interval, against an A/A control)`;
    default:
      throw new TypeError(`unknown check kind ${check.kind}`);
  }
}

/** 'met' | 'missed' (or, for costCI, 'within noise') for one figure against one check. */
export function verdict(check, f) {
  switch (check.kind) {
    case 'atLeast': {
      const a = advantage(f);
      if (a === null) throw new TypeError(`goal needs a baseline, figure ${f.id} has none`);
      return a >= check.value ? 'met' : 'missed';
    }
    case 'atMost':
      return f.ours <= check.value ? 'met' : 'missed';
    case 'plus':
      if (f.baseline === null) throw new TypeError(`goal needs a baseline, figure ${f.id} has none`);
      return f.ours - f.baseline <= check.value ? 'met' : 'missed';
    case 'costCI':
      if (!Array.isArray(f.ratioCI) || !Array.isArray(f.controlCI)) throw new TypeError(`goal needs ratioCI and controlCI, figure ${f.id} has ${Array.isArray(f.ratioCI) ? 'no controlCI' : 'no ratioCI'}`);
      return judgeCost(f.ratioCI, f.controlCI, check.value);
    default:
      throw new TypeError(`unknown check kind ${check.kind}`);
  }
}

/**
 * One row per goal × regime × figure id: the figure (or undefined), and its verdict
 * ('met', 'missed' or 'not measured').
 */
export function evaluate(figures, regimes, goals = GOALS) {
  const rows = [];
  for (const g of goals) {
    for (const regime of regimes) {
      for (const id of g.ids) {
        const f = figures.find((x) => x.id === id && x.regime === regime);
        rows.push({ goal: g.goal, check: g.check, regime, id, figure: f, verdict: f ? verdict(g.check, f) : 'not measured' });
      }
    }
  }
  return rows;
}

export function fmt(x) {
  if (x === null || x === undefined) return '–';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
