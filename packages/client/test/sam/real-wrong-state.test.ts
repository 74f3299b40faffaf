// wrong-state.c vs wrong-state.ts with the QUORUM and CMAP policies, which need a daemon (and, in a
// namespace without one, the errors libsam returns when the daemon is missing).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileC, crashTraceEnv, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import {
  SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_QUIT,
  SAM_RECOVERY_POLICY_QUORUM_QUIT,
  SAM_RECOVERY_POLICY_QUORUM_RESTART,
  SAM_RECOVERY_POLICY_RESTART,
} from '@corosync-ts/types';
import { FIXTURES, ended, fixtureArgv, libsamReference } from './helpers.js';

const POLICIES = [
  SAM_RECOVERY_POLICY_QUIT | SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_RESTART | SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_QUORUM_RESTART,
  SAM_RECOVERY_POLICY_QUORUM_QUIT | SAM_RECOVERY_POLICY_CMAP,
];

// The health-check interval, ms. Nothing here waits for a check: between sam_start and the next
// hc_send or stop the supervisor must not time out (it kills the child, then the C program dies by a
// signal while ours does not). At 1 s that happened at load 17; 20 s is beyond any stall we see.
const HC_INTERVAL = 20_000;

async function compare(ns: Namespace, binary: string, interval: number, policy: number): Promise<string[]> {
  // The 'daemon up' tests check that a clean exit leaves no keys: a killed reference's are not ours.
  const c = await libsamReference(
    () => ns.exec([binary, String(interval), String(policy)], { timeout: 60_000 }),
    (r) => r.signal,
    () => ns.exec(['corosync-cmapctl', '-D', 'resources.process.']),
  );
  const t = await ns.exec(fixtureArgv('wrong-state.ts', [String(interval), String(policy)]), { timeout: 60_000, env: await crashTraceEnv() });
  expect(t.stderr).toBe('');
  const cl = c.stdout.trimEnd().split('\n');
  expect(t.stdout.trimEnd().split('\n')).toEqual(cl);
  expect(t.code, ended(t)).toBe(c.code);
  return cl;
}

describeReal('sam wrong-state parity with libsam: QUORUM and CMAP policies', () => {
  let up: Namespace;
  let down: Namespace;
  let binary: string;
  beforeAll(async () => {
    binary = await compileC(readFileSync(FIXTURES + 'wrong-state.c', 'utf8'), ['sam']);
    up = await startNamespace({ name: 'sam-ws-up' });
    await up.startCorosync({ transport: 'socket' });
    down = await startNamespace({ name: 'sam-ws-down' });
  }, 180_000);
  afterAll(async () => {
    await up?.close();
    await down?.close();
  });

  for (const policy of POLICIES) {
    it(`daemon up, policy 0x${policy.toString(16)}`, async () => {
      const lines = await compare(up, binary, HC_INTERVAL, policy);
      expect(lines).toContain('REGISTERED.start 1');
      // A clean exit removes every key the supervisor wrote.
      expect((await up.exec(['corosync-cmapctl', 'resources.process.'])).stdout).toBe('');
    }, 120_000);

    it(`no daemon, policy 0x${policy.toString(16)}: the connection error, then the same calls`, async () => {
      const lines = await compare(down, binary, HC_INTERVAL, policy);
      expect(lines.some((l) => /^(NOT_INITIALIZED\.initialize|INITIALIZED\.register) [^19]/.test(l))).toBe(true);
    }, 120_000);
  }
});
