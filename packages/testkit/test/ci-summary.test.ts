// scripts/ci-summary.mjs, the closing lines of a CI run (.ci/run): fed what vitest really prints
// for failing tests, as turbo logs it (every line prefixed "<package>:test: ", two packages
// interleaved), it names each failure with why it failed, bounded, and sums the totals.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JS script of the repository, no declarations
import { DETAIL_LINES, summarize } from '../../../scripts/ci-summary.mjs';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const summary = summarize as (logs: { name: string; text: string }[]) => string[];

const failing = `
import { expect, it } from 'vitest';
it('child result', () => {
  expect({ code: 1, signal: null, stdout: '', stderr: 'Error: boom\\n    at main (x.mjs:3:9)\\n' }).toEqual({ code: 0, signal: null, stdout: 'ok', stderr: '' });
});
it('throws', () => {
  throw new Error('Command failed: node x.mjs\\nthe second line of its message');
});
it('long diff', () => {
  expect(Array.from({ length: 60 }, (_, i) => i)).toEqual(Array.from({ length: 60 }, (_, i) => 2 * i));
});
it('passes', () => {});
`;
const rejecting = `
import { it } from 'vitest';
it('leaves a rejection behind', () => {
  void Promise.reject(new TypeError('nobody caught me'));
});
`;

// What another package's test task prints meanwhile: its own error-looking lines stay its own.
const other = [' ✓ test/a.test.ts (3 tests) 5ms', 'Error: a line the other package logged', ' ❯ src/other.ts:1:1', '      Tests  3 passed (3)'];

let dir = '';
let log = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cts-ci-summary-'));
  writeFileSync(join(dir, 'failing.test.ts'), failing);
  writeFileSync(join(dir, 'rejecting.test.ts'), rejecting);
  // Colours on, as CI's turbo log has them.
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir], { env: { ...process.env, FORCE_COLOR: '1' }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: stdout + stderr }),
    );
  });
  expect(out.code).toBe(1);
  const lines: string[] = [];
  out.stdout.split('\n').forEach((l, i) => {
    lines.push(`@corosync-ts/demo:test: ${l}`);
    if (i < other.length) lines.push(`@corosync-ts/other:test: ${other[i]}`);
  });
  log = lines.join('\n');
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines under `head` up to the next unindented one. */
function under(out: string[], head: string): string[] {
  const i = out.indexOf(head);
  expect(i, `${head}\nin\n${out.join('\n')}`).toBeGreaterThanOrEqual(0);
  const end = out.findIndex((l, k) => k > i && !l.startsWith('    '));
  return out.slice(i + 1, end);
}

describe('ci-summary', () => {
  it('names each failed test with its error and its expected/received diff, without ANSI codes', () => {
    const out = summary([{ name: 'node24', text: log }]);
    // eslint-disable-next-line no-control-regex -- looks for ANSI escapes
    expect(out.filter((l) => /\x1b/.test(l))).toEqual([]);
    const child = under(out, 'failed: node24  @corosync-ts/demo  failing.test.ts > child result');
    expect(child[0]).toMatch(/^ {4}AssertionError: expected \{ code: 1, .* to deeply equal/);
    expect(child).toEqual(
      expect.arrayContaining(['    -   "code": 0,', '    +   "code": 1,', '    +   "stderr": "Error: boom', '    +     at main (x.mjs:3:9)', '    -   "stdout": "ok",']),
    );
    expect(child.at(-1)).toMatch(/❯ failing\.test\.ts:4:\d+$/);
    expect(under(out, 'failed: node24  @corosync-ts/demo  failing.test.ts > throws').slice(0, 2)).toEqual([
      '    Error: Command failed: node x.mjs',
      '    the second line of its message',
    ]);
    // demo's two passing tests and the other package's three
    expect(out.at(-1)).toBe('tests: 5 passed, 3 failed, 0 skipped');
  });

  it('bounds each failure: a long diff ends in a count of the lines left out', () => {
    const out = summary([{ name: 'node20', text: log }]);
    const long = under(out, 'failed: node20  @corosync-ts/demo  failing.test.ts > long diff');
    expect(long.length).toBe(DETAIL_LINES + 1);
    expect(long.at(-1)).toMatch(/^ {4}… \d+ more lines in the log$/);
  });

  it("keeps a package's lines to its own failures when two packages' output interleaves", () => {
    const out = summary([{ name: 'node24', text: log }]);
    expect(out.filter((l) => l.includes('the other package') || l.includes('src/other.ts'))).toEqual([]);
  });

  it("names an unhandled rejection with where vitest says it came from, not vitest's own frames", () => {
    const out = summary([{ name: 'node24', text: log }]);
    const details = under(out, 'unhandled error: node24  @corosync-ts/demo  TypeError: nobody caught me');
    expect(details).toEqual([expect.stringMatching(/❯ rejecting\.test\.ts:4:\d+$/), expect.stringContaining('This error originated in "rejecting.test.ts"')]);
  });

  it('as a command: one log per argument, named by its file name', async () => {
    const file = join(dir, 'node24.log');
    writeFileSync(file, log);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [join(root, 'scripts', 'ci-summary.mjs'), file, file], (err, out) => (err ? reject(err) : resolve(out))),
    );
    const once = summary([{ name: 'node24', text: log }]);
    // The same log twice: each failure once, the totals twice.
    expect(stdout.trimEnd().split('\n')).toEqual([...once.slice(0, -1), 'tests: 10 passed, 6 failed, 0 skipped']);
  });

  it('names the failures of a log given after --uncounted, and leaves its tests out of the totals', async () => {
    const file = join(dir, 'node20.log');
    const asan = join(dir, 'asan.log');
    writeFileSync(file, log);
    writeFileSync(asan, log);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [join(root, 'scripts', 'ci-summary.mjs'), file, '--uncounted', asan], (err, out) => (err ? reject(err) : resolve(out))),
    );
    const out = stdout.trimEnd().split('\n');
    expect(out).toContain('failed: asan  @corosync-ts/demo  failing.test.ts > child result');
    expect(out).toContain('failed: node20  @corosync-ts/demo  failing.test.ts > child result');
    expect(out.at(-1)).toBe('tests: 5 passed, 3 failed, 0 skipped');
  });
});
