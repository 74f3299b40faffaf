// Each bench area owns one "## <heading>" section of bench/RESULTS.md and rewrites only that one.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const EMPTY = '# Benchmark results\n\nEach section belongs to the package it measures.\n';

/**
 * Replaces the section whose heading line starts with `## ${heading}` (up to the next `## `) with
 * `section`, or appends it. Written to a temporary file and renamed, so a reader never sees half.
 */
export function writeResultsSection(heading, section, file = RESULTS) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : EMPTY;
  const body = section.trimEnd() + '\n';
  const start = text.startsWith(`## ${heading}`) ? 0 : text.indexOf(`\n## ${heading}`) + 1;
  let out;
  if (start <= 0 && !text.startsWith(`## ${heading}`)) {
    out = text.trimEnd() + '\n\n' + body;
  } else {
    const next = text.indexOf('\n## ', start + 1);
    out = text.slice(0, start) + body + (next < 0 ? '' : '\n' + text.slice(next + 1));
  }
  writeFileSync(`${file}.tmp`, out);
  renameSync(`${file}.tmp`, file);
}
