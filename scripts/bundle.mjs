// Bundles a published package's JavaScript: one ESM file per entry point (every `import` target of
// its exports map and every bin under dist/), from src/, into dist/, next to the declarations tsc
// writes (`tsc --emitDeclarationOnly`). Why: Node's ESM loader resolves, reads and links each module
// file on its own (URL and realpath work, a stat and an open per file), and with ~40 small modules
// behind `@corosync-ts/client` that was most of its import time. Other packages (ours included) and
// node: builtins stay imports, so each package is loaded once and its classes stay one identity.
// Entry points that share modules (client's index and sam) share them through one chunk file.
//
//   node ../../scripts/bundle.mjs [src/extra.ts ...]   (in the package directory, after tsc; extra
//   entries for files that a bin outside dist/ imports)
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const pkgDir = process.cwd();
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));

/** dist/a/b.js -> src/a/b.ts, for every JS file the package's exports and bins point to. */
function entryPoints(manifest) {
  const targets = new Set();
  const walk = (v) => {
    if (typeof v === 'string') targets.add(v);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'types') walk(x);
  };
  walk(manifest.exports);
  walk(manifest.bin);
  return [...targets]
    .map((t) => t.replace(/^\.\//, ''))
    .filter((t) => /^dist\/.*\.js$/.test(t))
    .map((t) => `src/${t.slice('dist/'.length, -'.js'.length)}.ts`)
    .sort();
}

/** Every .js and .js.map under dir: what an earlier build (tsc's per-module output, old chunks) left there. */
function staleJs(dir) {
  let out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(staleJs(p));
    else if (/\.js(\.map)?$/.test(e)) out.push(p);
  }
  return out;
}

const entries = entryPoints(pkg);
// Files a bin outside dist/ imports (codec-wasm's cli): bundled on their own, whole, so that they
// do not split the package's entry into shared chunks; a CLI runs in its own process anyway.
const standalone = process.argv.slice(2);
if (entries.length === 0) throw new Error(`bundle: ${pkg.name} has no dist/*.js entry in exports or bin`);
const before = staleJs(join(pkgDir, 'dist'));

const options = {
  absWorkingDir: pkgDir,
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  // codec-wasm and types also run in browsers: nothing Node-specific is added by the bundler.
  platform: 'neutral',
  target: 'es2022',
  external: ['node:*', ...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies })],
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
};
const results = [await build({ ...options, entryPoints: entries, splitting: entries.length > 1 })];
if (standalone.length > 0) results.push(await build({ ...options, entryPoints: standalone }));
// Stale files go after the new ones are written: a process importing dist/ meanwhile (a test, a
// bench) never finds the entry missing.
const written = new Set(results.flatMap((r) => Object.keys(r.metafile.outputs).map((f) => join(pkgDir, f))));
for (const f of before) if (!written.has(f)) rmSync(f);
const outputs = results.flatMap((r) => Object.entries(r.metafile.outputs)).filter(([f]) => f.endsWith('.js'));
process.stdout.write(
  `bundle ${pkg.name}: ${outputs.map(([f, o]) => `${relative('dist', f)} (${Object.keys(o.inputs).length} modules, ${(o.bytes / 1024).toFixed(0)} kB)`).join(', ')}\n`,
);
