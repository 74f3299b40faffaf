#!/usr/bin/env node
// Sums vitest's per-package "Tests  N passed | M failed | K skipped" lines from turbo logs into
// one closing line, so a CI run says how many tests it ran, and names every failed test: the
// tail of the log is what survives when a CI run is reported, so the failures must be there; so
// must vitest's unhandled errors, which fail a package whose tests all passed.
// Usage: ci-summary.mjs LOG...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const unhandled = [];
for (const file of process.argv.slice(2)) {
  const bannerOf = new Set();
  // eslint-disable-next-line no-control-regex -- strips ANSI colour codes
  const text = readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  for (const line of text.split('\n')) {
    const m = /^\S*:test:\s+Tests\s+(.*)$/.exec(line);
    if (m) {
      for (const part of m[1].split('|')) {
        const p = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part);
        if (p) totals[p[2] === 'todo' ? 'skipped' : p[2]] += Number(p[1]);
      }
      continue;
    }
    // vitest's summary block: " FAIL  test/x.test.ts > suite > name" (one line per failed test).
    // Only *.test.* files: nstest runs fixture suites that must fail, and their output shows.
    const f = /^(\S*):test:\s+FAIL\s+(\S*\.test\.[cm]?[jt]s\b.*)$/.exec(line);
    if (f) failures.push(`${basename(file, '.log')}  ${f[1]}  ${f[2].trim()}`);
    // The first error line after a package's "Unhandled Error" banner is what went wrong.
    const banner = /^(\S*):test:.*Unhandled (?:Error|Rejection)\b(?!s)/.exec(line);
    if (banner) {
      bannerOf.add(banner[1]);
      continue;
    }
    const u = /^(\S*):test:\s+(\w*Error\b.*)$/.exec(line);
    if (u && bannerOf.delete(u[1])) unhandled.push(`${basename(file, '.log')}  ${u[1]}  ${u[2].trim()}`);
  }
}
for (const f of [...new Set(failures)]) console.log(`failed: ${f}`);
for (const u of [...new Set(unhandled)]) console.log(`unhandled error: ${u}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
