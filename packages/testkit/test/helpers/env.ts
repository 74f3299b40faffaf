import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

/** True when the named program is on PATH. */
export function have(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * describe() for suites that need a real program: runs when it is installed, skips with a
 * one-line reason otherwise, and under CI=true a missing program is a failure.
 */
export function describeWith(program: string, name: string, fn: () => void): void {
  if (have(program)) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`${program} is required under CI=true but is not installed`);
    });
    return;
  }
  describe.skip(`${name} (skipped: ${program} not installed)`, fn);
}
