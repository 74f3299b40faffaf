import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

describe('cs_error_t', () => {
  it('matches corotypes.h, with 29 unused', () => {
    const codes = Object.values(T.CsErrorCode).sort((a, b) => a - b);
    expect(codes).toEqual([...Array.from({ length: 28 }, (_, i) => i + 1), 30, 100]);
    expect(T.CS_ERR_TRY_AGAIN).toBe(6);
    expect(T.csErrorName(29)).toBeUndefined();
  });

  it('cs_strerror: "success", the enum name, or "unknown error"', () => {
    expect(T.csStrerror(1)).toBe('success');
    expect(T.csStrerror(12)).toBe('CS_ERR_NOT_EXIST');
    expect(T.csStrerror(29)).toBe('unknown error');
  });

  it('every code has a meaning', () => {
    for (const code of Object.values(T.CsErrorCode)) expect(T.CS_ERROR_MEANING[code]).toMatch(/\w/);
  });
});

describe('CsError', () => {
  it('carries code, C name, operation and cause', () => {
    const cause = new Error('socket closed');
    const e = new T.CsError(T.CS_ERR_LIBRARY, undefined, { operation: 'cmap.get(a.b)', cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CsError');
    expect(e.code).toBe(2);
    expect(e.csName).toBe('CS_ERR_LIBRARY');
    expect(e.operation).toBe('cmap.get(a.b)');
    expect(e.cause).toBe(cause);
    expect(e.message).toMatch(/^cmap\.get\(a\.b\): CS_ERR_LIBRARY: /);
  });

  it('isCsError checks the brand and optionally the code', () => {
    const e = new T.CsError(T.CS_ERR_TRY_AGAIN);
    expect(T.isCsError(e)).toBe(true);
    expect(T.isCsError(e, T.CS_ERR_TRY_AGAIN)).toBe(true);
    expect(T.isCsError(e, T.CS_ERR_EXIST)).toBe(false);
    expect(T.CsError.is(e)).toBe(true);
    expect(T.isCsError(new Error('x'))).toBe(false);
    expect(T.isCsError({ code: 6, name: 'CsError' })).toBe(false);
    expect(T.isCsError(null)).toBe(false);
  });

  it('recognises an error made by a second copy of the package', async () => {
    // A fresh module instance stands in for a duplicated dependency: different class, same brand.
    const url = new URL('../src/errors.ts', import.meta.url).href + '?copy=2';
    const copy = (await import(/* @vite-ignore */ url)) as typeof T;
    expect(copy.CsError).not.toBe(T.CsError);
    const foreign = new copy.CsError(T.CS_ERR_ACCESS);
    // instanceof answers by the brand too: @corosync-ts/client's bundle carries its own copy.
    expect(foreign instanceof T.CsError).toBe(true);
    expect(new T.CsError(T.CS_ERR_ACCESS) instanceof copy.CsError).toBe(true);
    expect(foreign instanceof Error).toBe(true);
    expect(new Error('x') instanceof T.CsError).toBe(false);
    expect({ code: 11, name: 'CsError' } instanceof T.CsError).toBe(false);
    expect(T.isCsError(foreign, T.CS_ERR_ACCESS)).toBe(true);
  });

  it('names unknown codes without throwing', () => {
    const e = new T.CsError(77);
    expect(e.csName).toBe('unknown error');
    expect(e.message).toContain('unknown cs_error_t 77');
  });
});

describe('errno mapping (qb_to_cs_error)', () => {
  it.each([
    [0, T.CS_OK],
    [5, T.CS_OK],
    [-T.Errno.EAGAIN, T.CS_ERR_TRY_AGAIN],
    [-T.Errno.ETIMEDOUT, T.CS_ERR_TRY_AGAIN],
    [-T.Errno.EACCES, T.CS_ERR_ACCESS],
    [-T.Errno.EBADF, T.CS_ERR_BAD_HANDLE],
    [-T.Errno.ENOENT, T.CS_ERR_NOT_EXIST],
    [-T.Errno.EMSGSIZE, T.CS_ERR_TOO_BIG],
    [-T.Errno.ECONNREFUSED, T.CS_ERR_LIBRARY],
    [-T.Errno.ENOTCONN, T.CS_ERR_LIBRARY],
    [-9999, T.CS_ERR_LIBRARY],
  ])('qb result %i -> %i', (r, cs) => {
    expect(T.csErrorFromQbResult(r)).toBe(cs);
  });
  it('positive errno form', () => {
    expect(T.csErrorFromErrno(T.Errno.EAGAIN)).toBe(T.CS_ERR_TRY_AGAIN);
    expect(T.csErrorFromErrno(T.Errno.ECONNREFUSED)).toBe(T.CS_ERR_LIBRARY);
  });
});

describe('constants', () => {
  it('match the 3.1.7 headers', () => {
    expect([T.CS_DISPATCH_ONE, T.CS_DISPATCH_ALL, T.CS_DISPATCH_BLOCKING, T.CS_DISPATCH_ONE_NONBLOCKING]).toEqual([1, 2, 3, 4]);
    expect([T.CS_TRACK_CURRENT, T.CS_TRACK_CHANGES, T.CS_TRACK_CHANGES_ONLY]).toEqual([1, 2, 4]);
    expect([T.CMAP_TRACK_DELETE, T.CMAP_TRACK_MODIFY, T.CMAP_TRACK_ADD, T.CMAP_TRACK_PREFIX]).toEqual([1, 2, 4, 8]);
    expect(T.CmapValueType.BINARY).toBe(12);
    expect(T.cmapValueTypeName(6)).toBe('UINT32');
    expect(T.CMAP_VALUE_TYPE_SIZE[T.CMAP_VALUETYPE_DOUBLE]).toBe(8);
    expect(T.VOTEQUORUM_INFO_QDEVICE_MASTER_WINS).toBe(512);
    expect(T.SAM_RECOVERY_POLICY_QUORUM_RESTART).toBe(T.SAM_RECOVERY_POLICY_QUORUM | T.SAM_RECOVERY_POLICY_RESTART);
    expect(T.SAM_RECOVERY_POLICY_CONFDB).toBe(T.SAM_RECOVERY_POLICY_CMAP);
    expect(T.CMAP_KEYNAME_REGEX.test('ab:c/-_.X9')).toBe(true);
    expect(T.CMAP_KEYNAME_REGEX.test('ab c')).toBe(false);
  });
});
