// What the A/B scripts (bench/client/*-ab.mjs, get-acct.mjs) share: their own load and figures.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';

/** k busy processes at normal priority (report.mjs's loaded regime), each gone once its parent is. */
export function busyLoops(k) {
  return Array.from({ length: k }, () =>
    fork('-e', [], { execArgv: ['-e', `const p = process.ppid; for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid !== p) process.exit(0); }`], stdio: 'ignore' }),
  );
}

/** The load averages, as printed beside every figure. */
export const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The middle value (the upper one of an even count). */
export const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
