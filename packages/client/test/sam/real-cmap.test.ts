// CMAP policy on a private corosync 3.1.7: the resources.process.<pid>.* keys our supervisor
// publishes, step by step, are those libsam publishes for a C program doing the same steps.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { readFileSync } from 'node:fs';
import { FIXTURES, ended, fixtureArgv } from './helpers.js';

/** Pids and monotonic timestamps differ between runs; nothing else may. */
export function normalise(out: string): string {
  const sup = /supervisor (\d+)/.exec(out)?.[1];
  let s = out.replace(/last_updated \(u64\) = \d+/g, 'last_updated (u64) = <ts>');
  if (sup !== undefined) s = s.replaceAll(`resources.process.${sup}.`, 'resources.process.<supervisor>.');
  return s.replace(/supervisor \d+/g, 'supervisor <pid>');
}

const dump = async (ns: Namespace) => {
  const r = await ns.exec(['corosync-cmapctl', 'resources.process.']);
  return r.stdout;
};

describeReal('sam CMAP policy on corosync 3.1.7: same keys as libsam', () => {
  let ns: Namespace;
  let cBinary: string;
  beforeAll(async () => {
    cBinary = await compileC(readFileSync(FIXTURES + 'cmap-steps.c', 'utf8'), ['sam']);
    ns = await startNamespace({ name: 'sam-cmap' });
    await ns.startCorosync({ transport: 'socket' });
  }, 180_000);
  afterAll(async () => {
    await ns?.close();
  });

  const runC = (scenario: string) => ns.exec([cBinary, scenario, '5000'], { timeout: 60_000 });
  const runTs = async (scenario: string) =>
    ns.exec(fixtureArgv('cmap-steps.ts', [scenario, '5000']), { timeout: 60_000, env: await crashTraceEnv() });

  it('QUIT|CMAP: registered, started, stopped, started again, mark_failed → state "failed", supervisor exits 0', async () => {
    const c = await runC('markfailed');
    const cFinal = await dump(ns);
    await ns.exec(['corosync-cmapctl', '-D', 'resources.process.']);
    const t = await runTs('markfailed');
    const tFinal = await dump(ns);
    expect(t.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(t.code, ended(t)).toBe(c.code);
    expect(normalise(c.stdout)).toContain('state (str) = running');
    expect(normalise(t.stdout)).toEqual(normalise(c.stdout));
    expect(cFinal).toContain('state (str) = failed');
    // Same clock as libsam's cs_timestamp_get() (CLOCK_MONOTONIC, ns): ours ran later, so it is larger.
    const ts = (out: string) => BigInt(/last_updated \(u64\) = (\d+)/.exec(out)![1]!);
    expect(ts(tFinal)).toBeGreaterThan(ts(cFinal));
    // The final keys belong to the supervisor, whose pid we know from the child's lines.
    const tSup = /supervisor (\d+)/.exec(t.stdout)![1];
    expect(tFinal).toContain(`resources.process.${tSup}.state (str) = failed`);
    expect(normalise(tFinal.replaceAll(`.${tSup}.`, '.<supervisor>.'))).toEqual(
      normalise(cFinal.replaceAll(`.${/supervisor (\d+)/.exec(c.stdout)![1]}.`, '.<supervisor>.')),
    );
    await ns.exec(['corosync-cmapctl', '-D', 'resources.process.']);
  }, 120_000);

  it('RESTART|CMAP: a crash restarts with state "stopped"; a clean exit of the next instance deletes every key', async () => {
    const c = await runC('restart');
    const cFinal = await dump(ns);
    const t = await runTs('restart');
    const tFinal = await dump(ns);
    expect(t.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(t.code, ended(t)).toBe(c.code);
    expect(normalise(c.stdout)).toContain('== restarted instance 2');
    expect(normalise(t.stdout)).toEqual(normalise(c.stdout));
    expect(cFinal).toBe('');
    expect(tFinal).toBe('');
  }, 120_000);
});
