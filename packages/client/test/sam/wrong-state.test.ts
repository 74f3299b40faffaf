// Every SAM call in every state against libsam itself: wrong-state.c and wrong-state.ts make the
// same calls in the same order and must print the same cs_error_t on every line.
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeRequiring } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  SAM_RECOVERY_POLICY_QUIT,
  SAM_RECOVERY_POLICY_RESTART,
} from '@corosync-ts/types';
import { cToolchain, compileFixture, ended, killAll, run, runFixture } from './helpers.js';

const toolchain = await cToolchain();
const describeC = describeRequiring('a C toolchain with libsam', toolchain.ok ? undefined : toolchain.reason);

describeC('sam: cs_error_t of every call in every state, as libsam returns it', () => {
  let binary = '';
  beforeAll(async () => {
    binary = await compileFixture('wrong-state.c', ['sam']);
  }, 120_000);
  afterAll(async () => {
    killAll();
    if (binary) await rm(dirname(binary), { recursive: true, force: true });
  });

  for (const [interval, policy] of [
    [1000, SAM_RECOVERY_POLICY_RESTART],
    [0, SAM_RECOVERY_POLICY_QUIT],
    [5000, SAM_RECOVERY_POLICY_QUIT],
  ] as const) {
    it(`interval ${interval}, policy ${policy}: same lines, same exit status`, async () => {
      const c = await run(binary, [String(interval), String(policy)]);
      const ts = await runFixture('wrong-state.ts', [String(interval), String(policy)]);
      expect(ts.stderr).toBe('');
      const cLines = c.stdout.trimEnd().split('\n');
      expect(cLines.length).toBeGreaterThan(70);
      expect(ts.stdout.trimEnd().split('\n')).toEqual(cLines);
      expect(ts.code, ended(ts)).toBe(c.code);
    }, 60_000);
  }
});
