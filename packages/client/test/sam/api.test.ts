// In-process checks that need no supervisor: bad input is a typed CsError, state is untouched.
import { describe, expect, it } from 'vitest';
import { CS_ERR_BAD_HANDLE, CS_ERR_INVALID_PARAM, CsError, isCsError } from '@corosync-ts/types';
import * as sam from '../../src/sam/index.js';

async function rejects(fn: () => unknown, code: number): Promise<CsError> {
  try {
    await fn();
  } catch (e) {
    expect(isCsError(e, code), String(e)).toBe(true);
    return e as CsError;
  }
  throw new Error('did not throw');
}

describe('sam API input checks', () => {
  it('rejects bad arguments with CS_ERR_INVALID_PARAM and stays NOT_INITIALIZED', async () => {
    const e = await rejects(() => sam.initialize(-1, sam.SAM_RECOVERY_POLICY_QUIT), CS_ERR_INVALID_PARAM);
    expect(e).toBeInstanceOf(CsError);
    expect(e.name).toBe('CsError');
    expect(e.operation).toBe('sam.initialize');
    await rejects(() => sam.initialize(1.5, sam.SAM_RECOVERY_POLICY_QUIT), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.initialize(1000, 0.5), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.initialize(1000, 3), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.initialize(Number.NaN, 1), CS_ERR_INVALID_PARAM);
    // An unknown option (or a misspelt connection option) must not reach the real corosync's names.
    await rejects(() => sam.initialize(1000, 1, { connectoin: { ipcPrefix: 'mock-' } } as never), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.initialize(1000, 1, { connection: { ipcPrefx: 'mock-' } } as never), CS_ERR_INVALID_PARAM);
    expect(sam.state()).toBe('NOT_INITIALIZED');
    // libsam checks the data pointer of sam_data_restore before its state.
    await rejects(() => sam.dataRestore(null as unknown as Uint8Array), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.dataGetsize(), CS_ERR_BAD_HANDLE);
  });

  it('after initialize: bad signal, data and callback are CS_ERR_INVALID_PARAM and change nothing', async () => {
    await sam.initialize(1000, sam.SAM_RECOVERY_POLICY_RESTART);
    expect(sam.state()).toBe('INITIALIZED');
    await rejects(() => sam.warnSignalSet('SIGNOPE' as NodeJS.Signals), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.warnSignalSet(65), CS_ERR_INVALID_PARAM);
    await rejects(() => sam.dataStore('text' as unknown as Uint8Array), CS_ERR_INVALID_PARAM);
    expect(sam.dataGetsize()).toBe(0);
    await sam.dataStore(Uint8Array.of(1, 2, 3));
    const copy = sam.dataRestore();
    copy[0] = 99;
    // Stored data is a copy both ways.
    expect([...sam.dataRestore()]).toEqual([1, 2, 3]);
    await sam.warnSignalSet('SIGUSR1');
    await sam.warnSignalSet(10);
    // hcCallbackRegister needs REGISTERED before anything else.
    await rejects(() => sam.hcCallbackRegister(42 as unknown as () => number), CS_ERR_BAD_HANDLE);
    expect(sam.isSupervisedChild()).toBe(false);
    await sam.finalize();
    expect(sam.state()).toBe('FINALIZED');
    await rejects(() => sam.finalize(), CS_ERR_BAD_HANDLE);
  });
});
