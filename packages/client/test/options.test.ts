// A misspelt option, or a handle option slipped into the callbacks object, is rejected before
// anything is connected: it must never fall back to the real corosync's IPC names.
import { describe, expect, it } from 'vitest';
import { CS_ERR_INVALID_PARAM, isCsError } from '@corosync-ts/types';
import { cfg, cmap, cpg, quorum, votequorum, type HandleOptions } from '../src/index.js';
import type { Connector } from '../src/session.js';

/** A connector that records every attempt: none may happen for a rejected call. */
function recorder(): { connect: Connector; names: string[] } {
  const names: string[] = [];
  return {
    names,
    connect: (name) => {
      names.push(name);
      return Promise.reject(new Error('no connection expected'));
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<{ code: number; message: string; operation?: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isCsError(e)) throw new Error(`expected a CsError, got ${String(e)}`);
  return { code: e.code, message: e.message, operation: e.operation };
}

describe('unknown option keys in initialize', () => {
  it('cmap.initialize rejects a misspelt option with CS_ERR_INVALID_PARAM and connects nothing', async () => {
    const r = recorder();
    const opts = { ipcPrefx: 'mock-', connect: r.connect } as HandleOptions;
    const e = await rejection(cmap.initialize(opts));
    expect(e).toMatchObject({ code: CS_ERR_INVALID_PARAM, operation: 'cmap.initialize' });
    expect(e.message).toContain("unknown options key 'ipcPrefx'");
    expect(r.names).toEqual([]);
  });

  it('quorum.initialize: { ipcPrefix } in the callbacks object is named as a slip, nothing connects', async () => {
    const r = recorder();
    const cb = { quorumNotify: () => {}, ipcPrefix: 'mock-' } as Parameters<typeof quorum.initialize>[0];
    const e = await rejection(quorum.initialize(cb, { connect: r.connect }));
    expect(e).toMatchObject({ code: CS_ERR_INVALID_PARAM, operation: 'quorum.modelInitialize' });
    expect(e.message).toContain("'ipcPrefix' is a handle option: pass it in the options argument");
    expect(r.names).toEqual([]);
  });

  it('quorum model 0 knows only quorumNotify; model 1 also nodelistNotify', async () => {
    const r = recorder();
    const e = await rejection(quorum.modelInitialize(0, { nodelistNotify: () => {} } as never, undefined, { connect: r.connect }));
    expect(e.code).toBe(CS_ERR_INVALID_PARAM);
    // model 1 accepts it and goes on to connect (which the recorder refuses)
    await quorum.modelInitialize(1, { nodelistNotify: () => {} }, undefined, { connect: r.connect }).catch(() => {});
    expect(r.names).toEqual(['quorum']);
  });

  it('votequorum.initialize checks both the callbacks and the options', async () => {
    const r = recorder();
    expect((await rejection(votequorum.initialize({ ipcPrefix: 'x' } as never, { connect: r.connect }))).code).toBe(CS_ERR_INVALID_PARAM);
    expect((await rejection(votequorum.initialize(null, { connect: r.connect, timeOut: 5 } as HandleOptions))).code).toBe(CS_ERR_INVALID_PARAM);
    expect(r.names).toEqual([]);
  });

  it('known keys, null callbacks and undefined options still work as before', async () => {
    const r = recorder();
    await votequorum.initialize(null, { ipcPrefix: 'p-', connect: r.connect, timeout: 1000 }).catch(() => {});
    await cmap.initialize({ connect: r.connect }).catch(() => {});
    expect(r.names).toEqual(['p-votequorum', 'cmap']);
  });

  it('option and callback values of the wrong kind are INVALID_PARAM naming the option, nothing connected', async () => {
    const r = recorder();
    const bad: [string, Record<string, unknown>][] = [
      ['ipcPrefix', { ipcPrefix: 5 }], ['ipcName', { ipcName: {} }], ['dispatch', { dispatch: 'bogus' }],
      ['timeout', { timeout: '5' }], ['timeout', { timeout: NaN }], ['signal', { signal: 5 }], ['signal', { signal: {} }],
      ['connect', { connect: 5 }], ['retry', { retry: 5 }], ['reconnect', { reconnect: 'yes' }], ['retry', { retry: null }],
    ];
    for (const [name, opts] of bad) {
      const e = await rejection(cmap.initialize({ connect: r.connect, ...opts } as HandleOptions));
      expect([e.code, e.message.includes(name)]).toEqual([CS_ERR_INVALID_PARAM, true]);
    }
    const callbacks: [Promise<unknown>, string][] = [
      [cpg.initialize({ deliverFn: 5 } as never, { connect: r.connect }), 'deliverFn'],
      [cpg.modelInitialize(1, { totemConfchgFn: 'f' } as never, undefined, { connect: r.connect }), 'totemConfchgFn'],
      [quorum.initialize({ quorumNotify: {} } as never, { connect: r.connect }), 'quorumNotify'],
      [votequorum.initialize({ nodelistNotify: true } as never, { connect: r.connect }), 'nodelistNotify'],
      [cfg.initialize({ shutdownCallback: 1 } as never, { connect: r.connect }), 'shutdownCallback'],
    ];
    for (const [p, name] of callbacks) {
      const e = await rejection(p);
      expect([e.code, e.message.includes(name)]).toEqual([CS_ERR_INVALID_PARAM, true]);
    }
    expect(r.names).toEqual([]);
    // null and undefined are "no callback", as NULL is in C; an AbortSignal of another realm's kind passes.
    await cpg.initialize({ deliverFn: undefined, confchgFn: null } as never, { connect: r.connect, signal: new AbortController().signal, dispatch: 'manual', timeout: -1 }).catch(() => {});
    expect(r.names).toEqual(['cpg']);
  });
});
