// Builds the API reference (docs/api) from the TSDoc comments of the five packages with typedoc,
// pinned here and installed aside (.docs-tools/) so that the workspace's lockfile stays as it is.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = ['typedoc@0.28.14', 'typescript@5.9.3'];
const prefix = join(root, '.docs-tools');
const bin = join(prefix, 'node_modules', 'typedoc', 'bin', 'typedoc');

if (!existsSync(bin)) {
  const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', ...TOOLS], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const r = spawnSync(process.execPath, [bin, '--options', join(root, 'typedoc.json'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
if (r.status === 0 && !existsSync(join(root, 'docs', 'api', 'index.html'))) {
  console.error('docs: typedoc succeeded but wrote no docs/api/index.html');
  process.exit(1);
}
process.exit(r.status ?? 1);
