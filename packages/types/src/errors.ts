/**
 * cs_error_t exactly as corosync 3.1.7's corotypes.h declares it (29 is unused upstream).
 */
export const CsErrorCode = {
  CS_OK: 1,
  CS_ERR_LIBRARY: 2,
  CS_ERR_VERSION: 3,
  CS_ERR_INIT: 4,
  CS_ERR_TIMEOUT: 5,
  CS_ERR_TRY_AGAIN: 6,
  CS_ERR_INVALID_PARAM: 7,
  CS_ERR_NO_MEMORY: 8,
  CS_ERR_BAD_HANDLE: 9,
  CS_ERR_BUSY: 10,
  CS_ERR_ACCESS: 11,
  CS_ERR_NOT_EXIST: 12,
  CS_ERR_NAME_TOO_LONG: 13,
  CS_ERR_EXIST: 14,
  CS_ERR_NO_SPACE: 15,
  CS_ERR_INTERRUPT: 16,
  CS_ERR_NAME_NOT_FOUND: 17,
  CS_ERR_NO_RESOURCES: 18,
  CS_ERR_NOT_SUPPORTED: 19,
  CS_ERR_BAD_OPERATION: 20,
  CS_ERR_FAILED_OPERATION: 21,
  CS_ERR_MESSAGE_ERROR: 22,
  CS_ERR_QUEUE_FULL: 23,
  CS_ERR_QUEUE_NOT_AVAILABLE: 24,
  CS_ERR_BAD_FLAGS: 25,
  CS_ERR_TOO_BIG: 26,
  CS_ERR_NO_SECTIONS: 27,
  CS_ERR_CONTEXT_NOT_FOUND: 28,
  CS_ERR_TOO_MANY_GROUPS: 30,
  CS_ERR_SECURITY: 100,
} as const;

export type CsErrorName = keyof typeof CsErrorCode;
export type CsErrorValue = (typeof CsErrorCode)[CsErrorName];

export const CS_OK = CsErrorCode.CS_OK;
export const CS_ERR_LIBRARY = CsErrorCode.CS_ERR_LIBRARY;
export const CS_ERR_VERSION = CsErrorCode.CS_ERR_VERSION;
export const CS_ERR_INIT = CsErrorCode.CS_ERR_INIT;
export const CS_ERR_TIMEOUT = CsErrorCode.CS_ERR_TIMEOUT;
export const CS_ERR_TRY_AGAIN = CsErrorCode.CS_ERR_TRY_AGAIN;
export const CS_ERR_INVALID_PARAM = CsErrorCode.CS_ERR_INVALID_PARAM;
export const CS_ERR_NO_MEMORY = CsErrorCode.CS_ERR_NO_MEMORY;
export const CS_ERR_BAD_HANDLE = CsErrorCode.CS_ERR_BAD_HANDLE;
export const CS_ERR_BUSY = CsErrorCode.CS_ERR_BUSY;
export const CS_ERR_ACCESS = CsErrorCode.CS_ERR_ACCESS;
export const CS_ERR_NOT_EXIST = CsErrorCode.CS_ERR_NOT_EXIST;
export const CS_ERR_NAME_TOO_LONG = CsErrorCode.CS_ERR_NAME_TOO_LONG;
export const CS_ERR_EXIST = CsErrorCode.CS_ERR_EXIST;
export const CS_ERR_NO_SPACE = CsErrorCode.CS_ERR_NO_SPACE;
export const CS_ERR_INTERRUPT = CsErrorCode.CS_ERR_INTERRUPT;
export const CS_ERR_NAME_NOT_FOUND = CsErrorCode.CS_ERR_NAME_NOT_FOUND;
export const CS_ERR_NO_RESOURCES = CsErrorCode.CS_ERR_NO_RESOURCES;
export const CS_ERR_NOT_SUPPORTED = CsErrorCode.CS_ERR_NOT_SUPPORTED;
export const CS_ERR_BAD_OPERATION = CsErrorCode.CS_ERR_BAD_OPERATION;
export const CS_ERR_FAILED_OPERATION = CsErrorCode.CS_ERR_FAILED_OPERATION;
export const CS_ERR_MESSAGE_ERROR = CsErrorCode.CS_ERR_MESSAGE_ERROR;
export const CS_ERR_QUEUE_FULL = CsErrorCode.CS_ERR_QUEUE_FULL;
export const CS_ERR_QUEUE_NOT_AVAILABLE = CsErrorCode.CS_ERR_QUEUE_NOT_AVAILABLE;
export const CS_ERR_BAD_FLAGS = CsErrorCode.CS_ERR_BAD_FLAGS;
export const CS_ERR_TOO_BIG = CsErrorCode.CS_ERR_TOO_BIG;
export const CS_ERR_NO_SECTIONS = CsErrorCode.CS_ERR_NO_SECTIONS;
export const CS_ERR_CONTEXT_NOT_FOUND = CsErrorCode.CS_ERR_CONTEXT_NOT_FOUND;
export const CS_ERR_TOO_MANY_GROUPS = CsErrorCode.CS_ERR_TOO_MANY_GROUPS;
export const CS_ERR_SECURITY = CsErrorCode.CS_ERR_SECURITY;

/** What each code means to a caller, in corosync's own usage of it. */
export const CS_ERROR_MEANING: Readonly<Record<CsErrorValue, string>> = {
  1: 'success',
  2: 'library error: the connection to corosync failed or was lost',
  3: 'incompatible version',
  4: 'initialization failed',
  5: 'timed out',
  6: 'resource temporarily unavailable, try again',
  7: 'invalid parameter',
  8: 'out of memory',
  9: 'bad or stale handle',
  10: 'busy (for example open iterators or tracks prevent the operation)',
  11: 'access denied',
  12: 'does not exist',
  13: 'name too long or invalid',
  14: 'already exists',
  15: 'no space',
  16: 'interrupted',
  17: 'name not found',
  18: 'no resources',
  19: 'not supported',
  20: 'bad operation',
  21: 'operation failed',
  22: 'message error',
  23: 'queue full',
  24: 'queue not available',
  25: 'bad flags',
  26: 'too big',
  27: 'no more sections (end of iteration)',
  28: 'context not found',
  30: 'too many groups',
  100: 'security error',
};

// Built on first use, not at import (every importer of the client evaluates this module).
let nameByCode: ReadonlyMap<number, CsErrorName> | undefined;
const names = () =>
  (nameByCode ??= new Map((Object.entries(CsErrorCode) as [CsErrorName, number][]).map(([name, code]) => [code, name])));

/** The C enum name of a code, or undefined for a number that is not a cs_error_t. */
export function csErrorName(code: number): CsErrorName | undefined {
  return names().get(code);
}

/** True when `code` is one of the cs_error_t values. */
export function isCsErrorCode(code: unknown): code is CsErrorValue {
  return typeof code === 'number' && names().has(code);
}

/** cs_strerror(): "success" for CS_OK, the enum name for the others, "unknown error" otherwise. */
export function csStrerror(code: number): string {
  if (code === CS_OK) return 'success';
  return names().get(code) ?? 'unknown error';
}

// A registry symbol, not a class identity check: two copies of this package (two versions in one
// node_modules tree, or a bundle plus a dependency) must still recognise each other's errors.
const CS_ERROR_BRAND = Symbol.for('@corosync-ts/types.CsError');

export interface CsErrorOptions {
  /** The underlying cause: a transport error, an errno, an aborted signal's reason. */
  cause?: unknown;
  /** What was being done, e.g. "cmap.get(totem.cluster_name)". Prefixed to the message. */
  operation?: string;
}

/**
 * A corosync call that did not return CS_OK. `code` is the cs_error_t the C library would have
 * returned for the same call, `csName` its C name.
 */
export class CsError extends Error {
  /** By the brand, so a CsError of another copy (the client's bundle inlines one) is one too. */
  static override [Symbol.hasInstance](value: unknown): value is CsError {
    return isCsError(value);
  }

  override readonly name = 'CsError';
  readonly code: number;
  readonly csName: string;
  readonly operation: string | undefined;

  constructor(code: number, message?: string, options: CsErrorOptions = {}) {
    const csName = csStrerror(code) === 'success' ? 'CS_OK' : csStrerror(code);
    const meaning = isCsErrorCode(code) ? CS_ERROR_MEANING[code] : `unknown cs_error_t ${code}`;
    const detail = message ?? meaning;
    const text = `${options.operation ? `${options.operation}: ` : ''}${csName}: ${detail}`;
    super(text, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.csName = csName;
    this.operation = options.operation;
    Object.defineProperty(this, CS_ERROR_BRAND, { value: true });
  }

  /** Same as isCsError(); convenient as `CsError.is(e)`. */
  static is(value: unknown): value is CsError {
    return isCsError(value);
  }
}

/** True for a CsError from any copy of this package, optionally with a given code. */
export function isCsError(value: unknown, code?: number): value is CsError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[CS_ERROR_BRAND] !== true) return false;
  return code === undefined || (value as CsError).code === code;
}

/** Linux errno values that libqb reports to the corosync libraries, and those the ipc layer's syscalls return. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  EPIPE: 32,
  ENOSYS: 38,
  ELOOP: 40,
  ENOMSG: 42,
  EBADE: 52,
  ETIME: 62,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  ENOTSUP: 95,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
} as const;

const ERRNO_TO_CS: ReadonlyMap<number, number> = new Map([
  [Errno.EBADF, CS_ERR_BAD_HANDLE],
  [Errno.ENOMEM, CS_ERR_NO_MEMORY],
  [Errno.ENOMSG, CS_ERR_TRY_AGAIN],
  [Errno.ENOBUFS, CS_ERR_TRY_AGAIN],
  [Errno.ETIMEDOUT, CS_ERR_TRY_AGAIN],
  [Errno.EAGAIN, CS_ERR_TRY_AGAIN],
  [Errno.EBADE, CS_ERR_FAILED_OPERATION],
  [Errno.ETIME, CS_ERR_TIMEOUT],
  [Errno.EINVAL, CS_ERR_INVALID_PARAM],
  [Errno.EBUSY, CS_ERR_BUSY],
  [Errno.EACCES, CS_ERR_ACCESS],
  [Errno.EOVERFLOW, CS_ERR_NAME_TOO_LONG],
  [Errno.EEXIST, CS_ERR_EXIST],
  [Errno.ENOSPC, CS_ERR_NO_SPACE],
  [Errno.EINTR, CS_ERR_INTERRUPT],
  [Errno.ENOENT, CS_ERR_NOT_EXIST],
  [Errno.ENODEV, CS_ERR_NOT_EXIST],
  [Errno.ENOSYS, CS_ERR_NOT_SUPPORTED],
  [Errno.ENOTSUP, CS_ERR_NOT_SUPPORTED],
  [Errno.EBADMSG, CS_ERR_MESSAGE_ERROR],
  [Errno.EMSGSIZE, CS_ERR_TOO_BIG],
  [Errno.E2BIG, CS_ERR_TOO_BIG],
]);

/** The cs_error_t corosync's libraries report for a (positive) errno from libqb. */
export function csErrorFromErrno(errno: number): number {
  return ERRNO_TO_CS.get(errno) ?? CS_ERR_LIBRARY;
}

/**
 * corosync's qb_to_cs_error(): a libqb result, >= 0 for success or a negative errno, mapped to the
 * cs_error_t. ECONNREFUSED, ENOTCONN and anything unknown become CS_ERR_LIBRARY.
 */
export function csErrorFromQbResult(result: number): number {
  return result >= 0 ? CS_OK : csErrorFromErrno(-result);
}
