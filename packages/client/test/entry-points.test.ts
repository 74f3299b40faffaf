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

  it('./sam is the module the main entry exports as `sam` (one SAM state), whichever is imported first', async () => {
    for (const first of ['sam/index.js', 'index.js']) {
      const r = await probe<{ same: boolean; names: number; differ: string[] }>(`
        await import(${JSON.stringify(dist(first))});
        const main = await import(${JSON.stringify(dist('index.js'))});
        const sam = await import(${JSON.stringify(dist('sam/index.js'))});
        process.stdout.write(JSON.stringify({ same: main.sam === sam, names: Object.keys(sam).length, differ: Object.keys(sam).filter((k) => main.sam[k] !== sam[k]) }));`);
      expect(r).toEqual({ same: true, names: expect.any(Number), differ: [] });
      expect(r.names).toBeGreaterThan(5);
    }
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
      process.stdout.write(JSON.stringify([
        ipc.IpcError !== ipc2.IpcError,
        new ipc2.IpcError('EAGAIN', 'x') instanceof ipc.IpcError,
        d instanceof codec.DecodeError, en instanceof codec.EncodeError,
        d instanceof codec.EncodeError, new Error('x') instanceof ipc.IpcError, {} instanceof ipc.CaptureWriter, null instanceof codec.DecodeError,
      ]));`);
    expect(r).toEqual([true, true, true, true, false, false, false, false]);
  });
});
