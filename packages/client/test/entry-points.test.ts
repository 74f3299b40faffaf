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

  it('a CsError made by ipc or types is an instance of the class every entry exports', async () => {
    const r = await probe<boolean[]>(`
      const { CsError } = await import(${JSON.stringify(dist('index.js'))});
      const types = await import('@corosync-ts/types');
      const cpg = await import(${JSON.stringify(dist('cpg.js'))});
      const e = new types.CsError(types.CS_ERR_LIBRARY, 'x');
      process.stdout.write(JSON.stringify([e instanceof CsError, CsError === types.CsError, cpg.CpgHandle !== undefined]));`);
    expect(r).toEqual([true, true, true]);
  });
});
