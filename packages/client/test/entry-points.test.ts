import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runOk } from '@corosync-ts/nstest';
import { describe, expect, it } from 'vitest';

// Each entry point is its own bundled file (scripts/bundle.mjs): what users import through
// '@corosync-ts/client/cpg', '/cfg' and '/sam' must be the very bindings of the main entry (one
// class identity, so `instanceof` holds whichever entry created an object; one SAM state per process).
const dist = (f: string) => new URL(`../dist/${f}`, import.meta.url).href;

/** Runs `body` as an ES module in a fresh Node (what users get: dist/, no test transform); its JSON. */
async function probe<T>(body: string): Promise<T> {
  return JSON.parse(await runOk([process.execPath, '--input-type=module', '-e', body], { timeout: 60_000, cwd: fileURLToPath(new URL('..', import.meta.url)) })) as T;
}

describe('entry points', () => {
  it('CommonJS require() of each entry gives import()\'s very module (Node 20.19+ loads ES modules synchronously)', async () => {
    const out = await runOk([process.execPath, '--input-type=commonjs', '-e', `
      (async () => {
        const r = {};
        for (const s of ['', '/cpg', '/cfg', '/sam']) {
          const m = require('@corosync-ts/client' + s);
          r[s || '.'] = m === (await import('@corosync-ts/client' + s)) && Object.keys(m).length > 0;
        }
        process.stdout.write(JSON.stringify(r));
      })();`], { timeout: 60_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(JSON.parse(out)).toEqual({ '.': true, '/cpg': true, '/cfg': true, '/sam': true });
  });

  it('initialize with a bad callback rejects (never throws), in the loaded-on-use cpg and cfg too', async () => {
    const r = await probe<string[]>(`
      const m = await import(${JSON.stringify(dist('index.js'))});
      const out = [];
      for (const f of [() => m.cpg.initialize({ deliverFn: 5 }), () => m.cpg.initialize({ nope: 1 }), () => m.cfg.initialize({ shutdownCallback: 5 }), () => m.CpgHandle.modelInitialize(1, { confchgFn: 5 })]) {
        let p;
        try { p = f(); } catch { out.push('threw'); continue; }
        out.push(await p.then(() => 'resolved', (e) => String(e.code)));
      }
      process.stdout.write(JSON.stringify(out));`);
    expect(r).toEqual(['7', '7', '7', '7']);
  });

  it('./cpg and ./cfg export the main entry\'s own classes and functions, not copies', async () => {
    const r = await probe<Record<'cpg' | 'cfg', { names: number; differ: string[] }>>(`
      const main = await import(${JSON.stringify(dist('index.js'))});
      const out = {};
      for (const e of ['cpg', 'cfg']) {
        const m = await import(${JSON.stringify(dist(''))} + e + '.js');
        out[e] = { names: Object.keys(m).length, differ: Object.keys(m).filter((k) => m[k] !== main[k]) };
      }
      process.stdout.write(JSON.stringify(out));`);
    expect(r.cpg.names).toBeGreaterThan(10);
    expect(r.cfg.names).toBeGreaterThan(5);
    expect(r.cpg.differ).toEqual([]);
    expect(r.cfg.differ).toEqual([]);
  });

  it('the main entry\'s `sam` and ./sam are one SAM state, whichever is imported first', async () => {
    // The main entry's `sam` loads dist/sam/index.js on its first call (package.json "bundle": { "lazy" }).
    for (const first of ['sam/index.js', 'index.js']) {
      const r = await probe<{ names: string[]; samNames: string[]; states: string[]; fnNames: string[]; bad: boolean[] }>(`
        await import(${JSON.stringify(dist(first))});
        const main = await import(${JSON.stringify(dist('index.js'))});
        const sam = await import(${JSON.stringify(dist('sam/index.js'))});
        const states = [main.sam.state(), sam.state()];
        await sam.initialize(0, sam.SAM_RECOVERY_POLICY_QUIT);
        states.push(main.sam.state());
        await main.sam.finalize();
        states.push(sam.state());
        const e = (() => { try { main.sam.hcSend(); } catch (x) { return x; } })();
        process.stdout.write(JSON.stringify({
          names: Object.keys(main.sam), samNames: Object.keys(sam), states,
          fnNames: Object.keys(sam).filter((k) => typeof sam[k] === 'function' && main.sam[k].name !== sam[k].name),
          bad: [e instanceof main.CsError, main.isCsError(e, main.CS_ERR_BAD_HANDLE), main.sam.SAM_RECOVERY_POLICY_CMAP === sam.SAM_RECOVERY_POLICY_CMAP],
        }));`);
      expect(r.names).toEqual(r.samNames);
      expect(r.fnNames).toEqual([]);
      expect(r.names.length).toBeGreaterThan(5);
      expect(r.states).toEqual(['NOT_INITIALIZED', 'NOT_INITIALIZED', 'INITIALIZED', 'FINALIZED']);
      expect(r.bad).toEqual([true, true, true]);
    }
  });

  it('cpg and cfg: the main entry\'s exports are the loaded-on-use modules\' own, their handles instanceof the main entry\'s classes, their errors its CsError', async () => {
    // dist/cpg-*.js and dist/cfg-*.js are src/cpg.ts and src/cfg.ts; the main entry has the thin
    // src/lazy/ modules in their place (package.json "bundle": { "lazy" }).
    const r = await probe<Record<string, unknown>>(`
      const { readdirSync } = await import('node:fs');
      const { startMockCorosync } = await import('@corosync-ts/testkit');
      const main = await import(${JSON.stringify(dist('index.js'))});
      const file = (p) => readdirSync(new URL(${JSON.stringify(dist(''))})).find((f) => f.startsWith(p + '-') && f.endsWith('.js'));
      const before = main.cpg.flowControlStateGet === undefined;
      const mock = await startMockCorosync({ nodes: 1 });
      const out = { before };
      try {
        const opts = { ipcPrefix: mock.prefix };
        const h = await main.cpg.initialize({}, opts);
        const c = await main.CfgHandle.initialize(null, opts);
        const real = { cpg: await import(${JSON.stringify(dist(''))} + file('cpg')), cfg: await import(${JSON.stringify(dist(''))} + file('cfg')) };
        for (const [k, m] of Object.entries(real)) {
          const names = Object.keys(m);
          out[k] = {
            names: names.length,
            missing: names.filter((n) => !(n in main)),
            constantsDiffer: names.filter((n) => typeof m[n] !== 'function' && typeof m[n] !== 'object' && m[n] !== main[n]),
            freeFunctions: Object.keys(m[k]).join() === Object.keys(main[k]).join(),
          };
        }
        const err = await main.cpg.join(h, 'x'.repeat(200)).catch((x) => x);
        await main.cpg.join(h, 'g');
        out.identity = [
          h instanceof main.CpgHandle, h instanceof main.Session, c instanceof main.CfgHandle, h instanceof main.CfgHandle, c instanceof main.CpgHandle,
          {} instanceof main.CpgHandle, err instanceof main.CsError, err.constructor === main.CsError, main.isCsError(err, main.CS_ERR_NAME_TOO_LONG),
          (await main.cpg.localGet(h)) === (await h.localGet()), main.cfg.localGet === main.cfg.localGet,
        ];
        await main.cpg.finalize(h);
        await main.cfg.finalize(c);
      } finally {
        await mock.close();
      }
      process.stdout.write(JSON.stringify(out));`);
    expect(r.before).toBe(false);
    for (const k of ['cpg', 'cfg']) {
      expect(r[k], k).toEqual({ names: expect.any(Number), missing: [], constantsDiffer: [], freeFunctions: true });
      expect((r[k] as { names: number }).names).toBeGreaterThan(5);
    }
    expect(r.identity).toEqual([true, true, true, false, false, false, true, true, true, true, true]);
  });

  it('quorum and votequorum: loaded on first use, their handles instanceof the main entry\'s classes, bad arguments refused as the real modules refuse them', async () => {
    // dist/quorum-*.js and dist/votequorum-*.js are src/quorum.ts and src/votequorum.ts; the main
    // entry has src/lazy/quorum.ts and src/lazy/votequorum.ts in their place.
    const r = await probe<Record<string, unknown>>(`
      const { startMockCorosync } = await import('@corosync-ts/testkit');
      const main = await import(${JSON.stringify(dist('index.js'))});
      const mock = await startMockCorosync({ nodes: 1 });
      const out = {};
      try {
        const opts = { ipcPrefix: mock.prefix };
        out.before = [{} instanceof main.QuorumHandle, {} instanceof main.VotequorumHandle];
        const badModel = await main.QuorumHandle.modelInitialize(7, {}, undefined, opts).catch((e) => e);
        const badKeys = await main.votequorum.initialize({ nope: () => {} }, opts).catch((e) => e);
        out.refused = [main.isCsError(badModel, main.CS_ERR_INVALID_PARAM), badModel.message, main.isCsError(badKeys, main.CS_ERR_INVALID_PARAM)];
        const q = await main.quorum.initialize(null, opts);
        const q1 = await main.QuorumHandle.modelInitialize(main.QUORUM_MODEL_V1, {}, 'ctx', opts);
        const v = await main.VotequorumHandle.initialize(null, opts);
        out.identity = [
          q instanceof main.QuorumHandle, q1 instanceof main.QuorumHandle, v instanceof main.VotequorumHandle, q instanceof main.Session,
          v instanceof main.QuorumHandle, q instanceof main.VotequorumHandle, {} instanceof main.QuorumHandle,
        ];
        out.calls = [typeof (await main.quorum.getquorate(q)), q1.model, main.quorum.contextGet(q1), (await main.votequorum.getinfo(v, 0)).nodeId > 0];
        await Promise.all([main.quorum.finalize(q), q1.finalize(), main.votequorum.finalize(v)]);
      } finally {
        await mock.close();
      }
      process.stdout.write(JSON.stringify(out));`);
    expect(r.before).toEqual([false, false]);
    expect(r.refused).toEqual([true, 'quorum.modelInitialize: CS_ERR_INVALID_PARAM: unknown quorum model 7', true]);
    expect(r.identity).toEqual([true, true, true, true, false, false, false]);
    expect(r.calls).toEqual(['boolean', 1, 'ctx', true]);
  });

  it('a CsError of @corosync-ts/types, of the main entry or of the sam entry is an instance of every copy\'s CsError', async () => {
    // The entries inline types (package.json "bundle"): CsError answers instanceof by its brand.
    const r = await probe<{ same: boolean[]; instances: boolean[] }>(`
      const main = await import(${JSON.stringify(dist('index.js'))});
      const sam = await import(${JSON.stringify(dist('sam/index.js'))});
      const types = await import('@corosync-ts/types');
      const fromSam = await sam.initialize(-1).catch((e) => e);
      const errors = [new types.CsError(types.CS_ERR_LIBRARY, 'x'), new main.CsError(types.CS_ERR_LIBRARY, 'x'), fromSam];
      const classes = [main.CsError, types.CsError];
      process.stdout.write(JSON.stringify({
        same: [main.CsError !== types.CsError, main.isCsError(fromSam, types.CS_ERR_INVALID_PARAM)],
        instances: [...errors.flatMap((e) => classes.map((C) => e instanceof C)), new Error('x') instanceof main.CsError, errors[0] instanceof Error],
      }));`);
    expect(r.same).toEqual([true, true]);
    expect(r.instances).toEqual([...Array(6).fill(true), false, true]);
  });

  // The main entry carries its own copy of ipc and codec-wasm (scripts/bundle.mjs, "bundle" in
  // package.json): values that cross between those copies and the packages must still be recognised.
  it('the inlined ipc takes a CaptureWriter of @corosync-ts/ipc, and its IpcError is one of ipc\'s', async () => {
    const r = await probe<{ name: string; dirs: string[]; refused: boolean[] }>(`
      const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
      const { join } = await import('node:path');
      const client = await import(${JSON.stringify(dist('index.js'))});
      const ipc = await import('@corosync-ts/ipc');
      const { startMockCorosync } = await import('@corosync-ts/testkit');
      const dir = mkdtempSync(join((await import('node:os')).tmpdir(), 'entry-identity-'));
      const mock = await startMockCorosync({ nodes: 1 });
      const out = {};
      try {
        const w = ipc.CaptureWriter.open(join(dir, 'w.jsonl'), { mode: 'client', name: 'app', version: '1' });
        const h = await client.cmap.initialize({ ipcPrefix: mock.prefix, capture: w });
        out.name = await h.getString('totem.cluster_name');
        await h.finalize();
        w.close();
        out.dirs = readFileSync(w.path, 'utf8').split('\\n').filter(Boolean).slice(1).map((l) => JSON.parse(l)).filter((l) => l.dir).map((l) => l.dir);
        const e = await client.cmap.initialize({ ipcPrefix: 'entry-none-' + process.pid }).catch((x) => x);
        out.refused = [e instanceof client.CsError, e.cause instanceof ipc.IpcError, ipc.isIpcError(e.cause)];
      } finally {
        await mock.close();
        rmSync(dir, { recursive: true, force: true });
      }
      process.stdout.write(JSON.stringify(out));`);
    expect(r).toEqual({ name: 'mockcluster', dirs: ['setup', 'setup', 'req', 'res'], refused: [true, true, true] });
  });

  it('instanceof holds across two copies of ipc and codec-wasm for their errors and writers, and only for them', async () => {
    // A second module instance of each package (another URL): what the client's inlined copy is.
    const r = await probe<boolean[]>(`
      const ipcUrl = import.meta.resolve('@corosync-ts/ipc');
      const codecUrl = import.meta.resolve('@corosync-ts/codec-wasm');
      const [ipc, ipc2, codec, codec2] = await Promise.all([import(ipcUrl), import(ipcUrl + '?copy'), import(codecUrl), import(codecUrl + '?copy')]);
      const d = new codec2.DecodeError('x', { kind: 'truncated' });
      const en = new codec2.EncodeError('x', { kind: 'badType' });
      const { mkdtempSync, rmSync } = await import('node:fs');
      const dir = mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'entry-writer-'));
      const w = ipc2.CaptureWriter.open(dir + '/w.jsonl', { mode: 'client', name: 'app', version: '1' });
      const writers = [w instanceof ipc.CaptureWriter, ipc.isCaptureWriter(w), ipc.isCaptureWriter({}), ipc.isCaptureWriter(Object.create(ipc.CaptureWriter.prototype))];
      w.close();
      rmSync(dir, { recursive: true, force: true });
      process.stdout.write(JSON.stringify([
        ipc.IpcError !== ipc2.IpcError,
        new ipc2.IpcError('EAGAIN', 'x') instanceof ipc.IpcError,
        d instanceof codec.DecodeError, en instanceof codec.EncodeError,
        d instanceof codec.EncodeError, new Error('x') instanceof ipc.IpcError, {} instanceof ipc.CaptureWriter, null instanceof codec.DecodeError,
        ...writers,
      ]));`);
    expect(r).toEqual([true, true, true, true, false, false, false, false, true, true, false, false]);
  });
});

describe('an uncaught error from the bundle', () => {
  it('is printed by Node with one short line of source, not a whole minified file', () => {
    // Node prints the source line where an uncaught error was made: one of the bundle's, which
    // without line breaks held 160 kB of code, all of it written to the terminal.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { cmap } = await import(${JSON.stringify(dist('index.js'))});
      await cmap.initialize({ ipcPrefix: 'corosync-ts-nothing-' + process.pid });`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CS_ERR_LIBRARY');
    const longest = Math.max(...r.stderr.split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(1000);
  });
});
