import { describe, test } from 'vitest';
import { realCorosync } from './real.js';

function isCI(): boolean {
  return process.env.CI === 'true';
}

type DescribeFn = typeof describe;

function unavailableDescribe(reason: string): DescribeFn {
  const ci = isCI();
  const fn = (name: unknown, ...rest: unknown[]) => {
    const label = typeof name === 'function' ? name.name : String(name);
    if (ci) {
      // Under CI a missing daemon is a broken pipeline, not a reason to go green.
      return describe(label, () => {
        test('real corosync is required (CI=true)', () => {
          throw new Error(`real corosync unavailable under CI=true: ${reason}`);
        });
      });
    }
    return describe.skip(`${label} [skipped: ${reason}]`, ...(rest as [() => void]));
  };
  return Object.assign(fn, ci ? describe : describe.skip) as unknown as DescribeFn;
}

/**
 * `describe` for suites that need a real corosync: runs when realCorosync() is available, skips
 * (the reason in the suite name) otherwise, and fails under CI=true instead of skipping.
 */
export const describeReal: DescribeFn = (() => {
  const r = realCorosync();
  return r.available ? describe : unavailableDescribe(r.reason);
})();

