import { constants } from 'node:os';

// Symbol.for, not instanceof: two copies of this package in one process must still
// recognise each other's errors.
const IPC_ERROR_BRAND = Symbol.for('@corosync-ts/ipc.IpcError');

const NAME_BY_ERRNO = new Map<number, string>();
// Aliases share a number; name them the way libqb/corosync documentation does.
for (const name of ['EAGAIN', 'ENOTSUP', 'EDEADLK', ...Object.keys(constants.errno)]) {
  const n = (constants.errno as Record<string, number>)[name];
  if (n !== undefined && !NAME_BY_ERRNO.has(n)) NAME_BY_ERRNO.set(n, name);
}

/** errno value for a code name ('EAGAIN' → 11); 0 for codes that are not errnos (ABORT_ERR). */
export function errnoOf(code: string): number {
  return (constants.errno as Record<string, number>)[code] ?? 0;
}

/**
 * A transport-level failure. `code` is the errno name libqb would have returned
 * (ECONNREFUSED, ENOTCONN, ECONNRESET, ETIMEDOUT, EAGAIN, EACCES, EMSGSIZE...) or
 * 'ABORT_ERR' for an AbortSignal; `errno` is the positive errno (0 for ABORT_ERR).
 */
export class IpcError extends Error {
  override readonly name = 'IpcError';
  readonly errno: number;
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = errnoOf(code);
    Object.defineProperty(this, IPC_ERROR_BRAND, { value: true });
  }

  /** From a negative errno as returned by the native layer. */
  static fromErrno(negErrno: number, what: string): IpcError {
    const n = Math.abs(negErrno);
    return new IpcError(NAME_BY_ERRNO.get(n) ?? `E${n}`, what);
  }
}

/** True for an IpcError from any copy of this package, optionally with the given code. */
export function isIpcError(e: unknown, code?: string): e is IpcError {
  if (typeof e !== 'object' || e === null) return false;
  if ((e as Record<symbol, unknown>)[IPC_ERROR_BRAND] !== true) return false;
  return code === undefined || (e as IpcError).code === code;
}

export function abortError(signal: AbortSignal): IpcError {
  return new IpcError('ABORT_ERR', 'the operation was aborted', { cause: signal.reason });
}
