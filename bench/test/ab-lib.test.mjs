import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busyLoops } from '../lib/ab.mjs';

/** utime + stime of a process in clock ticks; NaN once it is gone. */
function cpuTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return NaN;
  }
}

describe("lib/ab.mjs busyLoops (the A/B scripts' LOAD=k)", () => {
  it('starts processes that keep spinning until they are killed', async () => {
    const busy = await busyLoops(1);
    try {
      expect(busy).toHaveLength(1);
      const { pid } = busy[0];
      const t0 = cpuTicks(pid);
      // Spinning: its CPU time grows while it stays alive (one that exited has no /proc entry).
      await expect.poll(() => cpuTicks(pid) - t0, { timeout: 5000, interval: 20 }).toBeGreaterThan(5);
      expect(busy[0].exitCode).toBeNull();
    } finally {
      for (const b of busy) b.kill('SIGKILL');
    }
  });
});
