#!/usr/bin/env node
// Sums vitest's per-package "Tests  N passed | M failed | K skipped" lines from turbo logs into
// one closing line, so a CI run says how many tests it ran, and names every failed test: the
// tail of the log is what survives when a CI run is reported, so the failures must be there; so
// must vitest's unhandled errors, which fail a package whose tests all passed. Under each name go
// the lines vitest printed for it in its failures section (the error, the expected/received diff,
// where it was thrown), bounded: a report that only says which test failed cannot tell a wrong
// value from a crash, a timeout or a message on stderr, and a flaky failure may not come back.
// Usage: ci-summary.mjs LOG... [--uncounted LOG...]
// Logs after --uncounted (the ipc suite again under ASan) name their failures but add nothing to
// the totals, which count the full-suite runs.
import { readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Lines of details kept per failure, characters per line, and failures that get details. */
export const DETAIL_LINES = 25;
export const LINE_CHARS = 300;
export const DETAILED = 20;

/**
 * The summary's lines for turbo logs (`name` is what the lines call the log: node20, node24;
 * `counted: false` leaves a log's test counts out of the totals).
 * Every line of a turbo log is its task's output prefixed with `<package>:test: `; two packages
 * run at once, so their lines interleave and a failure's details are the lines of its package.
 */
export function summarize(logs) {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const failures = [];
  const unhandled = [];
  for (const { name, text, counted = true } of logs) {
    const bannerOf = new Set();
    // Per package: the records whose details its next lines are. Several: an older vitest
    // prints one error block under consecutive FAIL lines that share it.
    const open = new Map();
    // eslint-disable-next-line no-control-regex -- strips ANSI colour codes
    for (const line of text.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/)) {
      const m = /^(\S*):test: ?(.*)$/.exec(line);
      if (!m) continue;
      const [, pkg, body] = m;
      const t = /^\s*Tests\s+(.*)$/.exec(body);
      if (t) {
        open.delete(pkg);
        if (!counted) continue;
        for (const part of t[1].split('|')) {
          const p = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part);
          if (p) totals[p[2] === 'todo' ? 'skipped' : p[2]] += Number(p[1]);
        }
        continue;
      }
      // vitest's failures section: " FAIL  test/x.test.ts > suite > name" (one line per failed
      // test, or per file that failed to load), its error, then a "⎯⎯⎯[1/3]⎯" rule.
      // Only *.test.* files: nstest runs fixture suites that must fail, and their output shows.
      const f = /^\s*FAIL\s+(\S*\.test\.[cm]?[jt]s\b.*)$/.exec(body);
      if (f) {
        const rec = { what: `${name}  ${pkg}  ${f[1].trim()}`, details: undefined };
        const group = open.get(pkg);
        if (group?.length && group[0].details.lines.length === 0 && group[0].failure) {
          rec.details = group[0].details;
          group.push(rec);
        } else {
          rec.details = { lines: [], more: 0 };
          open.set(pkg, [rec]);
        }
        rec.failure = true;
        failures.push(rec);
        continue;
      }
      // The first error line after a package's "Unhandled Error" banner is what went wrong.
      if (/Unhandled (?:Error|Rejection)\b(?!s)/.test(body)) {
        bannerOf.add(pkg);
        open.delete(pkg);
        continue;
      }
      const u = /^\s*(\w*Error\b.*)$/.exec(body);
      if (u && bannerOf.delete(pkg)) {
        const rec = { what: `${name}  ${pkg}  ${u[1].trim()}`, details: { lines: [], more: 0 } };
        unhandled.push(rec);
        open.set(pkg, [rec]);
        continue;
      }
      const group = open.get(pkg);
      if (!group) continue;
      if (/^\s*(?:⎯|Test Files\s)/.test(body)) {
        open.delete(pkg);
        continue;
      }
      // Blank lines, the source excerpt's "  12| code" lines (the "❯ file:line:col" above them
      // says where), and stack frames in vitest's or Node's own code.
      if (!body.trim() || /^\s+\d*\s*\|/.test(body) || /^\s*❯ .*(?:\/node_modules\/|\bnode:internal\/)/.test(body)) continue;
      const d = group[0].details;
      if (d.lines.length < DETAIL_LINES) d.lines.push(body.length > LINE_CHARS ? `${body.slice(0, LINE_CHARS)}…` : body);
      else d.more++;
    }
  }
  const out = [];
  const seen = new Set();
  let detailed = 0;
  let undetailed = 0;
  const emit = (label, recs) => {
    for (const r of recs) {
      if (seen.has(`${label}${r.what}`)) continue;
      seen.add(`${label}${r.what}`);
      out.push(`${label}: ${r.what}`);
      if (detailed >= DETAILED) {
        undetailed++;
        continue;
      }
      detailed++;
      for (const l of r.details.lines) out.push(`    ${l}`);
      if (r.details.more) out.push(`    … ${r.details.more} more lines in the log`);
    }
  };
  emit('failed', failures);
  emit('unhandled error', unhandled);
  if (undetailed) out.push(`(details for the first ${DETAILED} only: ${undetailed} more in the logs)`);
  out.push(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  return out;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const cut = args.includes('--uncounted') ? args.indexOf('--uncounted') : args.length;
  const read = (counted) => (file) => ({ name: basename(file, '.log'), text: readFileSync(file, 'utf8'), counted });
  const logs = [...args.slice(0, cut).map(read(true)), ...args.slice(cut + 1).map(read(false))];
  for (const line of summarize(logs)) console.log(line);
}
