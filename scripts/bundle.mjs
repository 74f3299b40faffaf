// Bundles a published package's JavaScript: one ESM file per entry point (every `import` target of
// its exports map and every bin under dist/), from src/, into dist/, next to the declarations tsc
// writes (`tsc --emitDeclarationOnly`). Why: Node's ESM loader resolves, reads, compiles and links
// each module file on its own (URL and realpath work, a stat and an open per file, and a package
// resolution per file for every `@corosync-ts/*` import in it), and that was most of the import
// time of `@corosync-ts/client`: ~40 source modules, then 8 shared chunk files, now 2 files (its
// entry and the one chunk it shares with the files of cpg and cfg, which load on first use).
//
// Shared chunks only where a dynamic import needs one. A sub-entry (`./cpg`) whose every export the main entry (`.`) exports too, and
// that the main entry imports, is written as a re-export of the main entry's file: its classes and
// functions are the main entry's, one identity (`instanceof` holds across entry points). Any other
// sub-entry (`./sam`: module state of its own, and light on its own) is bundled into its own file,
// and the main entry imports that file instead of inlining it. Modules such an entry shares with
// the main one are copied into both files: the bundle refuses a copied module that declares a class
// whose instanceof does not answer by a brand.
// A dynamic import inside an entry becomes a file beside that entry, loaded when it runs; what
// that file and its entry both use becomes a chunk beside them that both import ("lazy" below).
//
// Other packages stay imports, so each package is loaded once and its classes stay one identity.
// Except the workspace packages a package.json lists in "bundle": { "inline": [...] } (the client:
// ipc, codec-wasm and types): those are compiled from their sources into the entry, tree-shaken to what
// the entry uses. Each package file the ESM loader opens costs a fresh process milliseconds
// (resolve, read, compile, link: ~1/3 of the client's import when it was four files), and the
// client uses a fraction of ipc (no server) and of codec-wasm (no capture parser). Only packages
// whose values cross the boundary safely may be listed: their errors and writers are recognised by
// a Symbol.for brand, not by class identity (CsError, IpcError, DecodeError, CaptureWriter), and
// the ipc addon is found through the package. `node:` builtins become `process.getBuiltinModule()`
// reads (Node >= 20.16; every engine we support): an ESM `import ... from 'node:fs'` builds the module namespace of fs, which
// reads every lazy getter of fs and loads its whole streams stack (~3 ms of every importer's cold
// start); getBuiltinModule returns the CommonJS object as it is, and only the names used are read.
//
//   node ../../scripts/bundle.mjs [src/extra.ts ...]   (in the package directory, after tsc; extra
//   entries for files that a bin outside dist/ imports)
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { jsonLiterals } from './json-literals.mjs';

const pkgDir = process.cwd();
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const inline = pkg.bundle?.inline ?? [];
// "bundle": { "minify": true }: whitespace and syntax only. A module's source is decoded, scanned
// and pre-parsed whole at import, so every comment and indent costs a fresh process time (the
// client: 328 -> 240 kB, ~2.5 ms of its import on Node 20). Identifiers keep their names (class names in
// util.inspect and stack traces; renaming them measured no faster); the source map maps back.
const minify = pkg.bundle?.minify === true;

// With "minify", large top-level data literals are compiled as JSON.parse calls (json-literals.mjs).
const JSON_LITERAL_MIN = 2048;
const ts = minify ? (await import('typescript')).default : undefined;
const jsonLiteralNames = new Set();

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

/** The source of the exports map's "." entry, if it is one of ours. */
function mainEntry(manifest, entries) {
  const dot = typeof manifest.exports === 'string' ? manifest.exports : manifest.exports?.['.'];
  const target = typeof dot === 'string' ? dot : dot?.import ?? dot?.default;
  const src = typeof target === 'string' ? `src/${target.replace(/^\.\/dist\//, '').replace(/\.js$/, '')}.ts` : undefined;
  return entries.includes(src) ? src : entries[0];
}

const req = createRequire(join(pkgDir, 'package.json'));
/** '<inlined package>/a/b' -> the absolute path of a/b in that package's directory. */
function inInlined(spec) {
  const name = inline.find((n) => spec.startsWith(`${n}/`));
  if (!name) throw new Error(`bundle: ${spec} is not in a package of "bundle": { "inline" }`);
  return join(dirname(req.resolve(`${name}/package.json`)), spec.slice(name.length + 1));
}
// "bundle": { "replace": { "<inlined package>/src/x.ts": "src/y.ts" } }: the bundle compiles y.ts
// where the inlined package has x.ts (the client: the codec's bytes from a file, not a literal).
// "copy": { "dist/f": "<inlined package>/f" } copies a file the replacement reads into dist/.
const replacements = new Map(Object.entries(pkg.bundle?.replace ?? {}).map(([from, to]) => [inInlined(from), resolve(pkgDir, to)]));
const copies = Object.entries(pkg.bundle?.copy ?? {}).map(([to, from]) => [join(pkgDir, to), inInlined(from)]);

/** `import ... from '<inlined package>'` -> that package's main entry source, bundled in. */
const inlinePlugin = {
  name: 'inline-workspace-packages',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (a) => {
      const to = replacements.get(a.path);
      const path = to ?? a.path;
      const source = to || minify ? readFileSync(path, 'utf8') : undefined;
      const json = minify ? jsonLiterals(ts, path, source, JSON_LITERAL_MIN) : undefined;
      if (json) for (const n of json.names) jsonLiteralNames.add(`${n} (${relative(pkgDir, path)})`);
      return to || json ? { contents: json?.contents ?? source, loader: 'ts', resolveDir: dirname(path) } : undefined;
    });
    for (const name of inline) {
      if (!(name in (pkg.dependencies ?? {}))) throw new Error(`bundle: ${name} is inlined but not a dependency of ${pkg.name}`);
      const dir = dirname(req.resolve(`${name}/package.json`));
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const src = join(dir, mainEntry(manifest, entryPoints(manifest)));
      const filter = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
      b.onResolve({ filter }, () => ({ path: src, sideEffects: manifest.sideEffects === false ? false : undefined }));
    }
  },
};

// "bundle": { "lazy": { "src/x.ts": "src/lazy/x.ts" } }: every import of x.ts in the bundle gets the
// thin module instead, but the thin module's own import of x.ts, a dynamic import(): x.ts and what
// only it uses become a file loaded on first use. Why: a fresh process compiles every byte of the
// files it imports (~150 instructions a byte), and a one-call cmap script never runs cpg or cfg.
// The thin module has the real one's exports (its constants, handle class and free functions);
// src/ and the declarations stay the real module's. esbuild splits by file, not by statement: a
// file that the entry and a lazy file both import goes to one shared chunk the entry imports.
const lazyModules = new Map(Object.entries(pkg.bundle?.lazy ?? {}).map(([real, thin]) => [resolve(pkgDir, real), resolve(pkgDir, thin)]));
const lazyPlugin = {
  name: 'lazy-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (a) => {
      if (a.kind === 'entry-point') return undefined;
      const thin = lazyModules.get(resolve(a.resolveDir, a.path).replace(/\.js$/, '.ts'));
      if (thin === undefined || a.importer === thin) return undefined;
      return { path: thin };
    });
  },
};

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

const outFile = (src) => `dist/${src.slice('src/'.length, -'.ts'.length)}.js`;
/** The specifier that reaches `to` (a dist/ file) from a file in the directory of `from` (a dist/ file). */
function specifier(from, to) {
  const r = relative(dirname(from), to);
  return r.startsWith('.') ? r : `./${r}`;
}

const BUILTINS = new Set(builtinModules);
/**
 * `import { readFileSync } from 'node:fs'` -> `var readFileSync = builtin("node:fs").readFileSync`,
 * for the names a bundle uses (each read is pure, so esbuild drops the unused ones).
 */
const builtinsPlugin = {
  name: 'builtins-by-getBuiltinModule',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => {
      if (a.kind === 'dynamic-import') return { path: a.path, external: true };
      if (!BUILTINS.has(a.path.slice('node:'.length))) throw new Error(`bundle: ${a.path} is not a Node builtin`);
      return { path: a.path, namespace: 'builtin', sideEffects: false };
    });
    b.onResolve({ filter: /^builtin-helper$/, namespace: 'builtin' }, () => ({ path: 'helper', namespace: 'builtin-helper', sideEffects: false }));
    b.onLoad({ filter: /.*/, namespace: 'builtin-helper' }, () => ({
      loader: 'js',
      contents: `export function builtin(id) {
  if (typeof globalThis.process?.getBuiltinModule !== 'function') throw new Error(${JSON.stringify(`${pkg.name} needs Node.js >= 20.16 (process.getBuiltinModule)`)});
  return process.getBuiltinModule(id);
}`,
    }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, async (a) => {
      const names = Object.keys(await import(a.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      return {
        loader: 'js',
        contents: [
          `import { builtin } from 'builtin-helper';`,
          `const m = builtin(${JSON.stringify(a.path)});`,
          ...names.map((n) => `export const ${n} = /* @__PURE__ */ (() => m.${n})();`),
          'export default m;',
        ].join('\n'),
      };
    });
  },
};

/** Imports of the sources in `externals` (abs src path -> dist file) become imports of those files. */
function entriesPlugin(fromOut, externals) {
  return {
    name: 'other-entries',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (a) => {
        const abs = resolve(a.resolveDir, a.path).replace(/\.js$/, '.ts');
        const to = externals.get(abs);
        return to ? { path: specifier(fromOut, to), external: true } : undefined;
      });
    },
  };
}

const entries = entryPoints(pkg);
// Files a bin outside dist/ imports (codec-wasm's cli): bundled on their own, whole; a CLI runs in
// its own process anyway.
const standalone = process.argv.slice(2);
if (entries.length === 0) throw new Error(`bundle: ${pkg.name} has no dist/*.js entry in exports or bin`);
const main = mainEntry(pkg, entries);
const before = staleJs(join(pkgDir, 'dist'));

const options = {
  absWorkingDir: pkgDir,
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  format: 'esm',
  // codec-wasm and types also run in browsers: nothing Node-specific is added by the bundler.
  platform: 'neutral',
  target: 'es2022',
  external: Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }).filter((d) => !inline.includes(d)),
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // lineLimit: Node prints the source line of an uncaught error, which without line breaks is the
  // whole file (160 kB of the client's chunk on the user's terminal for one CsError).
  ...(minify ? { minifyWhitespace: true, minifySyntax: true, lineLimit: 240 } : {}),
  // ipc's addon lookup (src/native.ts): a copy compiled into another package's file need not ask
  // whether that package is ipc (a package.json read and parse on every first connect).
  define: { COROSYNC_TS_IPC_INLINED: JSON.stringify(inline.includes('@corosync-ts/ipc')) },
};
const abs = (src) => join(pkgDir, src);

/** What `src` exports and which source modules it pulls in, bundled alone (nothing written). */
async function survey(src) {
  const r = await build({ ...options, entryPoints: [src], write: false, sourcemap: false, plugins: [lazyPlugin, builtinsPlugin, inlinePlugin] });
  const out = Object.values(r.metafile.outputs).find((o) => o.entryPoint === src);
  return { exports: out.exports, inputs: Object.keys(r.metafile.inputs).filter((f) => f.startsWith('src/')) };
}

const mainSurvey = await survey(main);
const wrappers = [];
const own = [];
for (const src of entries.filter((e) => e !== main)) {
  const { exports } = await survey(src);
  if (mainSurvey.inputs.includes(src) && exports.every((n) => mainSurvey.exports.includes(n))) wrappers.push({ src, exports });
  else own.push(src);
}
// "bundle": { "separate": ["src/x.ts"] }: a private file that the package's code imports (a
// dynamic import(), loaded on first use) built like an own entry: what it shares with the main
// entry is copied into it, not split into a chunk. Why: esbuild puts the modules of each set of
// importers in a chunk of its own, so a lazy file that shares a module of ipc the others do not
// would add a chunk the main entry loads at import (the client's capture writer: its file
// shares native.ts's addon lookup and the fs reads with the main entry).
for (const src of pkg.bundle?.separate ?? []) {
  if (entries.includes(src)) throw new Error(`bundle: ${src} is an entry point, not a separate file`);
  own.push(src);
}

const results = [];
// The main entry, with the own entries it imports left as imports of their files.
const mainExternals = new Map(own.map((s) => [abs(s), outFile(s)]));
const chunkIn = (src) => join(dirname(relative('src', src)), '[name]-[hash]');
results.push(await build({
  ...options, entryPoints: [main], splitting: true, chunkNames: chunkIn(main),
  plugins: [lazyPlugin, builtinsPlugin, inlinePlugin, entriesPlugin(outFile(main), mainExternals)],
}));
for (const src of own) {
  const externals = new Map(entries.filter((e) => e !== src).map((e) => [abs(e), outFile(e)]));
  results.push(await build({
    ...options, entryPoints: [src], splitting: true, chunkNames: chunkIn(src),
    plugins: [lazyPlugin, builtinsPlugin, inlinePlugin, entriesPlugin(outFile(src), externals)],
  }));
}
for (const src of standalone) results.push(await build({ ...options, entryPoints: [src], plugins: [builtinsPlugin] }));

/** No class, or every class answers instanceof by a brand (static [Symbol.hasInstance]): copies are then one class to callers. */
function brandedClassesOnly(source) {
  const classes = source.match(/^\s*(export\s+)?(abstract\s+)?class\s/gm)?.length ?? 0;
  return classes <= (source.match(/static\s+(override\s+)?\[Symbol\.hasInstance\]/g)?.length ?? 0);
}
const moduleFiles = (r) => new Set(Object.values(r.metafile.outputs).flatMap((o) => Object.keys(o.inputs)).filter((f) => /(^|\/)src\//.test(f)));
// A module copied into two entries' files exists twice at run time: harmless for functions and
// constants, wrong for a class (instanceof) or state that must be one.
const [mainModules, ...ownModules] = results.slice(0, 1 + own.length).map(moduleFiles);
for (const [i, mods] of ownModules.entries()) {
  for (const m of mods) {
    if (mainModules.has(m) && !brandedClassesOnly(readFileSync(abs(m), 'utf8'))) {
      throw new Error(`bundle: ${m} declares a class and would be copied into both ${outFile(main)} and ${outFile(own[i])}; import it there through the main entry, or make its instanceof answer by a brand`);
    }
  }
}

// The main entry imports at most one chunk: every file it loads at import costs a fresh process ~2 M
// instructions besides its bytes (a resolve, a read, a link). esbuild gives each set of importers
// its own chunk, so a module that only some of the files loaded on first use import (e.g. one the
// main entry and cpg share, but not quorum) becomes a chunk of its own, loaded at import all the same.
const mainOut = Object.entries(results[0].metafile.outputs).find(([, o]) => o.entryPoint === main);
const mainChunks = mainOut?.[1].imports.filter((i) => i.kind === 'import-statement' && !i.external) ?? [];
if (mainChunks.length > 1) {
  throw new Error(`bundle: ${outFile(main)} imports ${mainChunks.length} chunks (${mainChunks.map((i) => relative('dist', i.path)).join(', ')}); move what splits them off into a module that the main entry and every "lazy" module import alike`);
}

const written = new Set(results.flatMap((r) => Object.keys(r.metafile.outputs).map((f) => join(pkgDir, f))));
// A replacement finds its file by import.meta.url: it must land in files of the copy's directory.
for (const [f, o] of results.flatMap((r) => Object.entries(r.metafile.outputs))) {
  const replaced = Object.keys(o.inputs).filter((i) => replacements.has(abs(i)));
  if (replaced.length > 0 && copies.some(([to]) => dirname(to) !== dirname(abs(f)))) {
    throw new Error(`bundle: ${replaced.join(', ')} is compiled into ${f}, not beside ${copies.map(([to]) => relative(pkgDir, to)).join(', ')}`);
  }
}
for (const [to, from] of copies) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}
for (const { src, exports } of wrappers) {
  const file = outFile(src);
  mkdirSync(dirname(abs(file)), { recursive: true });
  writeFileSync(abs(file), `// ${pkg.name}/${relative('src', src).replace(/(\/index)?\.ts$/, '')}: the main entry's own bindings, so that classes keep one identity.\nexport { ${exports.join(', ')} } from ${JSON.stringify(specifier(file, outFile(main)))};\n`);
  written.add(abs(file));
}
// Stale files go after the new ones are written: a process importing dist/ meanwhile (a test, a
// bench) never finds the entry missing.
for (const f of before) if (!written.has(f)) rmSync(f);
// Node decodes a module's file as UTF-8; one character above 0x7f anywhere (a comment's arrow) makes
// the whole source a two-byte string, slower to decode and to scan (~2 ms of the client's import on Node 20).
// esbuild escapes strings and identifiers; a minified file has no comments left to carry one.
if (minify) {
  for (const f of [...written].filter((x) => x.endsWith('.js'))) {
    const at = readFileSync(f).findIndex((b) => b > 0x7f);
    if (at >= 0) throw new Error(`bundle: ${relative(pkgDir, f)} has a non-ASCII byte at offset ${at}`);
  }
}
const outputs = results.flatMap((r) => Object.entries(r.metafile.outputs)).filter(([f]) => f.endsWith('.js'));
process.stdout.write(
  `bundle ${pkg.name}: ${[
    ...outputs.map(([f, o]) => `${relative('dist', f)} (${Object.keys(o.inputs).length} modules, ${(o.bytes / 1024).toFixed(0)} kB)`),
    ...wrappers.map((w) => `${relative('dist', outFile(w.src))} (re-exports ${relative('dist', outFile(main))})`),
  ].join(', ')}${jsonLiteralNames.size > 0 ? `; JSON.parse for ${[...jsonLiteralNames].join(', ')}` : ''}\n`,
);
