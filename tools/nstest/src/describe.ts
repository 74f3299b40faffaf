import { describe, test } from 'vitest';
import { haveProgram } from './proc.js';
import { realCorosync } from './real.js';

export { haveProgram };

type DescribeFn = typeof describe;

/** True under CI=true, where a missing prerequisite is a broken pipeline, not a reason to go green. */
export function isCI(): boolean {
  return process.env.CI === 'true';
}

/**
 * The one "skip, or fail under CI" rule: `describe` for suites that need `what` (a daemon, a
 * program, root). With `missing` undefined it is `describe`; otherwise the suite is skipped with
 * the reason in its name, and under CI=true it fails with that reason instead.
 *
 *     describeRequiring('chromium', existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found`)('renders', () => { ... })
 */
export function describeRequiring(what: string, missing: string | undefined): DescribeFn {
  if (missing === undefined) return describe;
  const ci = isCI();
  const fn = (name: unknown, ...rest: unknown[]) => {
    const label = typeof name === 'function' ? name.name : String(name);
    if (ci) {
      return describe(label, () => {
        test(`${what} is required (CI=true)`, () => {
          throw new Error(`${what} unavailable under CI=true: ${missing}`);
        });
      });
    }
    return describe.skip(`${label} [skipped: ${missing}]`, ...(rest as [() => void]));
  };
  return Object.assign(fn, ci ? describe : describe.skip) as unknown as DescribeFn;
}

/** `describe` for suites that run the given programs (see describeRequiring). */
export function describeWithPrograms(...programs: string[]): DescribeFn {
  const missing = programs.filter((p) => !haveProgram(p));
  return describeRequiring(programs.join(', '), missing.length ? `${missing.join(', ')} not installed` : undefined);
}

/** `describe` for suites that need a real corosync (see describeRequiring). */
export const describeReal: DescribeFn = (() => {
  const r = realCorosync();
  return describeRequiring('real corosync', r.available ? undefined : r.reason);
})();
