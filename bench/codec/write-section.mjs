// Replaces (or appends) the "## Codec" section of RESULTS.md with stdin; run under flock.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const [, , file] = process.argv;
const section = readFileSync(0, 'utf8').trimEnd() + '\n';
const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
const start = text.indexOf('\n## Codec (@corosync-ts/codec-wasm)');
let out;
if (start < 0) {
  out = text.trimEnd() + '\n\n' + section;
} else {
  const next = text.indexOf('\n## ', start + 1);
  out = text.slice(0, start + 1) + section + (next < 0 ? '' : '\n' + text.slice(next + 1));
}
writeFileSync(file, out);
