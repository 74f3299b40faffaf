import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from '@corosync-ts/nstest';
import { startMockCorosync } from '@corosync-ts/testkit';
import { CS_ERR_INVALID_PARAM } from '@corosync-ts/types';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// Cold start (issue 13): importing the package must not load Node builtins that only a capture
// (zlib, worker_threads, os), a SAM process (net, child_process, os), an error (os) or the addon
// (module) needs; each one costs every importer time. dist/ is what users import;
// test/global-setup.ts builds it from src.
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const LAZY = ['zlib', 'worker_threads', 'net', 'child_process', 'os', 'module'];
// What an ESM `import ... from 'node:fs'` loads (its namespace reads every lazy getter of fs, and
// fs.ReadStream's pulls in the streams stack); the bundles read builtins with getBuiltinModule.
const FS_NAMESPACE = ['internal/fs/streams', 'stream'];
const pkgDir = fileURLToPath(new URL('..', import.meta.url));

/** The builtins loaded by a fresh process that imports `url` and nothing else. */
async function builtinsLoadedBy(url: string): Promise<string[]> {
  // The list is taken before process.stdout is touched: stdout on a pipe loads net by itself.
  const script = `
    await import(${JSON.stringify(url)});
    const loaded = JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)));
    process.stdout.write(loaded);`;
  return JSON.parse(await runOk([process.execPath, '--input-type=module', '-e', script], { timeout: 60_000 })) as string[];
}

describe('import cost', () => {
  it('importing @corosync-ts/client loads none of zlib, worker_threads, net, child_process, os, module', async () => {
    const loaded = await builtinsLoadedBy(entry);
    // The probe must see builtins at all, or an empty list would pass for the wrong reason.
    expect(loaded).toContain('internal/modules/esm/loader');
    expect(loaded.filter((m) => LAZY.includes(m))).toEqual([]);
  });

  it('@corosync-ts/client/sam alone does not load them either', async () => {
    const loaded = await builtinsLoadedBy(fileURLToPath(new URL('../dist/sam/index.js', import.meta.url)));
    expect(loaded.filter((m) => LAZY.includes(m))).toEqual([]);
  });

  it('importing the client (and with it ipc, codec-wasm, types) does not build the fs module namespace', async () => {
    expect((await builtinsLoadedBy(entry)).filter((m) => FS_NAMESPACE.includes(m))).toEqual([]);
    expect((await builtinsLoadedBy(fileURLToPath(new URL('../dist/sam/index.js', import.meta.url)))).filter((m) => FS_NAMESPACE.includes(m))).toEqual([]);
  });

  it('a one-call script (initialize, getString, finalize) loads none of them, nor perf_hooks, over either transport', async () => {
    // The probe is a fresh process and the mock runs here: the probe's list is the client's alone.
    for (const transport of ['socket', 'shm'] as const) {
      const mock = await startMockCorosync({ nodes: 1, transport });
      try {
        const script = `
          const { cmap } = await import(${JSON.stringify(entry)});
          const h = await cmap.initialize({ ipcPrefix: ${JSON.stringify(mock.prefix)} });
          const name = await h.getString('totem.cluster_name');
          await h.finalize();
          const loaded = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
          process.stdout.write(JSON.stringify({ name, loaded }));`;
        const r = JSON.parse(await runOk([process.execPath, '--input-type=module', '-e', script], { timeout: 60_000 })) as { name: string; loaded: string[] };
        expect(r.name).toBe('mockcluster');
        expect(r.loaded).toContain('internal/modules/esm/loader');
        expect(r.loaded.filter((m) => [...LAZY, 'perf_hooks'].includes(m)), transport).toEqual([]);
      } finally {
        await mock.close();
      }
    }
  });

  it('a one-call script (initialize, getString, getUint32, finalize) never compiles the codec\'s WASM module, over either transport', async () => {
    // WebAssembly.Module is wrapped before the import: every compile of the process goes through it.
    for (const transport of ['socket', 'shm'] as const) {
      const mock = await startMockCorosync({ nodes: 1, transport });
      try {
        const script = `
          let compiled = 0;
          const Module = WebAssembly.Module;
          WebAssembly.Module = function (...a) { compiled++; return new Module(...a); };
          const { cmap } = await import(${JSON.stringify(entry)});
          const h = await cmap.initialize({ ipcPrefix: ${JSON.stringify(mock.prefix)} });
          const name = await h.getString('totem.cluster_name');
          const nodeid = await h.getUint32('runtime.votequorum.this_node_id');
          await h.finalize();
          process.stdout.write(JSON.stringify({ name, nodeid, compiled }));`;
        const r = JSON.parse(await runOk([process.execPath, '--input-type=module', '-e', script], { timeout: 60_000 })) as { name: string; nodeid: number; compiled: number };
        expect(r, transport).toEqual({ name: 'mockcluster', nodeid: 1, compiled: 0 });
        // ...and the probe sees a compile when one happens: a SET goes through the codec's encoder.
        const withSet = script.replace('await h.finalize();', "await h.setString('test.probe', 'x'); await h.finalize();");
        const s = JSON.parse(await runOk([process.execPath, '--input-type=module', '-e', withSet], { timeout: 60_000 })) as { compiled: number };
        expect(s.compiled).toBe(1);
      } finally {
        await mock.close();
      }
    }
  });

  it('the main entry has no WASM literal: dist/codec.wasm holds the very bytes codec-wasm embeds', () => {
    const generated = readFileSync(join(pkgDir, '../codec-wasm/src/generated/wasm.ts'), 'utf8');
    const embedded = Buffer.from(/WASM_BASE64 = '([A-Za-z0-9+/=]+)'/.exec(generated)![1]!, 'base64');
    expect(embedded.length).toBeGreaterThan(1000);
    expect(readFileSync(join(pkgDir, 'dist/codec.wasm')).equals(embedded)).toBe(true);
    expect(readFileSync(join(pkgDir, 'dist/index.js'), 'latin1')).not.toContain(embedded.toString('base64').slice(0, 64));
  });

  it('dist/ is one file per entry point, a private chunk they share, and the files loaded on first use', async () => {
    // The entries are minified (statements share lines): esbuild reads their imports.
    const jsFiles = (dir: string): string[] =>
      readdirSync(join(pkgDir, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
    const files = jsFiles('dist').map((f) => f.slice('dist/'.length));
    const imports = new Map<string, { path: string; kind: string }[]>();
    for (const file of files) {
      const r = await build({ entryPoints: [join(pkgDir, 'dist', file)], bundle: true, write: false, metafile: true, external: ['*'], format: 'esm', logLevel: 'silent' });
      imports.set(file, Object.values(r.metafile.inputs)[0]!.imports);
    }
    const of = (file: string, kind: string) => imports.get(file)!.filter((i) => i.kind === kind).map((i) => i.path);
    const ours = (file: string) => of(file, 'import-statement').filter((s) => s.startsWith('.'));
    const chunk = files.find((f) => /^chunk-\w+\.js$/.test(f))!;
    const lazy = (name: string) => files.find((f) => new RegExp(`^${name}-\\w+\\.js$`).test(f))!;
    expect(files.sort()).toEqual(
      [
        'index.js', 'cpg.js', 'cfg.js', 'sam/index.js', chunk, lazy('cpg'), lazy('cfg'), lazy('quorum'), lazy('votequorum'),
        files.find((f) => /^sam\/client-links-\w+\.js$/.test(f))!, 'capture-file.js',
      ].sort(),
    );
    // The main entry loads its chunk and nothing else of ours; cpg's, cfg's, quorum's and
    // votequorum's code and the sam entry come when first called (package.json "bundle": { "lazy" }).
    // Those files share that one chunk: a module that only some of them import would be a second
    // chunk the main entry loads at import (scripts/bundle.mjs refuses to write it).
    expect(ours('index.js')).toEqual([`./${chunk}`]);
    expect(of('index.js', 'dynamic-import').sort()).toEqual(['cpg', 'cfg', 'quorum', 'votequorum'].map((n) => `./${lazy(n)}`).sort());
    expect(ours(chunk)).toEqual([]);
    // The capture writer comes with the first capture file opened, in a file of its own that
    // shares no chunk (package.json "bundle": { "separate" }).
    expect(of(chunk, 'dynamic-import')).toEqual(['./capture-file.js']);
    expect(ours('capture-file.js')).toEqual([]);
    expect(readFileSync(join(pkgDir, 'dist', chunk), 'latin1')).not.toContain('captureLines');
    // The codec's message catalog is compiled as a string for JSON.parse, not as a 16 kB literal
    // (scripts/json-literals.mjs).
    expect(readFileSync(join(pkgDir, 'dist', chunk), 'latin1')).toMatch(/\bmessages=JSON\.parse\('\[\{"name":"qb\.connectionRequest"/);
    expect(readFileSync(join(pkgDir, 'dist/capture-file.js'), 'latin1')).toContain('captureLines');
    expect(ours(lazy('cpg'))).toEqual([`./${chunk}`]);
    expect(ours(lazy('cfg'))).toEqual([`./${chunk}`]);
    expect(ours(lazy('quorum'))).toEqual([`./${chunk}`]);
    expect(ours(lazy('votequorum'))).toEqual([`./${chunk}`]);
    expect(ours('sam/index.js')).toEqual([]);
    expect(ours('cpg.js')).toEqual(['./index.js']);
    expect(ours('cfg.js')).toEqual(['./index.js']);
    // ipc, codec-wasm and types are compiled into the files (package.json "bundle"). Builtins are
    // read with process.getBuiltinModule, never imported as ESM.
    for (const f of files) {
      expect(of(f, 'import-statement').filter((s) => !s.startsWith('.')), f).toEqual([]);
      // A byte above 0x7f makes Node hold the whole module as a two-byte string (slower to decode and parse).
      expect(readFileSync(join(pkgDir, 'dist', f)).findIndex((b) => b > 0x7f), f).toBe(-1);
    }
  });

  it('a one-call cmap script runs without the files of cpg, cfg, quorum, votequorum, sam and the capture writer: it never loads them', async () => {
    // A copy of dist/ without them, beside dist/ (the addon is found through the package).
    const copy = mkdtempSync(join(pkgDir, '.import-cost-'));
    const mock = await startMockCorosync({ nodes: 1 });
    try {
      const gone = /^(cpg-\w+|cfg-\w+|quorum-\w+|votequorum-\w+|sam|capture-file)(\.js)?$/;
      cpSync(join(pkgDir, 'dist'), join(copy, 'dist'), { recursive: true, filter: (src) => !gone.test(basename(src)) });
      expect(existsSync(join(copy, 'dist/sam'))).toBe(false);
      const entryCopy = join(copy, 'dist/index.js');
      const script = `
        const { cmap, quorum, votequorum, CpgHandle } = await import(${JSON.stringify(entryCopy)});
        const h = await cmap.initialize({ ipcPrefix: ${JSON.stringify(mock.prefix)} });
        const name = await h.getString('totem.cluster_name');
        await h.finalize();
        const missing = await Promise.all([
          CpgHandle.initialize({}, { ipcPrefix: ${JSON.stringify(mock.prefix)} }),
          quorum.initialize(null, { ipcPrefix: ${JSON.stringify(mock.prefix)} }),
          votequorum.initialize(null, { ipcPrefix: ${JSON.stringify(mock.prefix)} }),
        ].map((p) => p.then(() => 'loaded', (e) => e.code)));
        process.stdout.write(JSON.stringify({ name, missing }));`;
      const r = JSON.parse(await runOk([process.execPath, '--input-type=module', '-e', script], { timeout: 60_000 })) as Record<string, unknown>;
      // cpg's, quorum's and votequorum's files are absent, so their first calls fail: the probe does see lazy loads.
      expect(r).toEqual({ name: 'mockcluster', missing: ['ERR_MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND'] });
    } finally {
      await mock.close();
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('the published files record a capture by the option and by COROSYNC_TS_CAPTURE, and refuse a bad path at initialize', async () => {
    const mock = await startMockCorosync({ nodes: 1 });
    const dir = mkdtempSync(join(pkgDir, '.import-cost-capture-'));
    try {
      const script = `
        const { cmap } = await import(${JSON.stringify(entry)});
        const opts = { ipcPrefix: ${JSON.stringify(mock.prefix)} };
        const file = process.argv[1];
        const h = await cmap.initialize(file ? { ...opts, capture: file } : opts);
        const name = await h.getString('totem.cluster_name');
        await h.finalize();
        const bad = await cmap.initialize({ ...opts, capture: ${JSON.stringify(join(dir, 'no-such-dir', 'x.jsonl'))} }).then(() => 'opened', (e) => e.code);
        process.stdout.write(JSON.stringify({ name, bad }));`;
      const byOption = join(dir, 'option.jsonl');
      const byEnv = join(dir, 'env.jsonl');
      const outs = [
        await runOk([process.execPath, '--input-type=module', '-e', script, byOption], { timeout: 60_000 }),
        await runOk([process.execPath, '--input-type=module', '-e', script], { timeout: 60_000, env: { COROSYNC_TS_CAPTURE: byEnv } }),
      ];
      for (const [i, file] of [byOption, byEnv].entries()) {
        expect(JSON.parse(outs[i]!), file).toEqual({ name: 'mockcluster', bad: CS_ERR_INVALID_PARAM });
        const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { hex?: string; dir?: string; corosyncCapture?: number });
        expect(lines[0], file).toMatchObject({ corosyncCapture: 1, recorder: { mode: 'client', name: '@corosync-ts/client' } });
        expect(lines.filter((l) => l.hex).map((l) => l.dir), file).toEqual(['setup', 'setup', 'req', 'res']);
      }
    } finally {
      await mock.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
