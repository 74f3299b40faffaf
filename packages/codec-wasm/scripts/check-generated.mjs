// CI check: the generated sources and the wasm are a pure function of the catalog and the
// AssemblyScript sources. Regenerating in a built tree must reproduce them byte for byte, so
// what a clean clone builds is what the tests ran on.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputs = ['assembly/generated', 'src/generated', 'build'].flatMap((d) =>
  readdirSync(join(root, d)).map((f) => join(d, f)),
);
const digest = () => new Map(outputs.map((f) => [f, createHash('sha256').update(readFileSync(join(root, f))).digest('hex')]));

const before = digest();
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build-wasm.ts')], { cwd: root, stdio: 'inherit' });
const after = digest();
const changed = outputs.filter((f) => before.get(f) !== after.get(f));
if (changed.length > 0) {
  console.error(`check-generated: regenerating changed ${changed.join(', ')}`);
  process.exit(1);
}
console.log(`check-generated: ${outputs.length} generated files reproduced byte for byte`);
