import { Errno } from '@corosync-ts/types';

// Symbol.for, not instanceof: two copies of this package in one process (or this package and its
// copy inlined in @corosync-ts/client's bundle) must still recognise each other's errors.
const IPC_ERROR_BRAND = Symbol.for('@corosync-ts/ipc.IpcError');

// node:os is read on the first error, not at import: Node's bootstrap does not load it.
let errnos: Record<string, number> | undefined;
const errnoTable = (): Record<string, number> => (errnos ??= process.getBuiltinModule('node:os').constants.errno as Record<string, number>);

let nameByErrno: Map<number, string> | undefined;
function errnoName(n: number): string | undefined {
  if (!nameByErrno) {
    nameByErrno = new Map();
    // Aliases share a number; name them the way libqb/corosync documentation does.
    for (const name of ['EAGAIN', 'ENOTSUP', 'EDEADLK', ...Object.keys(errnoTable())]) {
      const v = errnoTable()[name];
      if (v !== undefined && !nameByErrno.has(v)) nameByErrno.set(v, name);
    }
  }
  return nameByErrno.get(n);
}

/**
 * errno value for a code name ('EAGAIN' → 11); 0 for codes that are not errnos (ABORT_ERR). The
 * codes this layer raises are in Errno (the values the addon's syscalls are compared with), so an
 * error on the common path, such as close() rejecting what is pending with ENOTCONN, loads no node:os.
 */
export function errnoOf(code: string): number {
  return (Errno as Record<string, number>)[code] ?? errnoTable()[code] ?? 0;
}

/**
 * A transport-level failure. `code` is the errno name libqb would have returned
 * (ECONNREFUSED, ENOTCONN, ECONNRESET, ETIMEDOUT, EAGAIN, EACCES, EMSGSIZE...) or
 * 'ABORT_ERR' for an AbortSignal; `errno` is the positive errno (0 for ABORT_ERR).
 */
export class IpcError extends Error {
  /** By the brand, so an IpcError of another copy (the client's bundle inlines one) is one too. */
  static override [Symbol.hasInstance](value: unknown): value is IpcError {
    return isIpcError(value);
  }

  override readonly name = 'IpcError';
  readonly errno: number;
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = errnoOf(code);
    Object.defineProperty(this, IPC_ERROR_BRAND, { value: true });
  }

  /**
   * EAGAIN for a send refused now (a full request ring or socket, flow control), built without a
   * stack trace: it is a loop's flow-control signal (libqb returns -EAGAIN, libcpg an int), not a
   * fault to trace, and a throughput loop meets it once per few messages. Capturing the stack of
   * an optimized caller (inlined frames translated from deoptimization data) was a third of a
   * 64 KiB cpg burst's CPU over shm (perf, bench/README.md "64 KiB over shm: TRY_AGAIN").
   */
  static tryAgain(message: string): IpcError {
    return withoutStack(() => new IpcError('EAGAIN', message));
  }

  /** From a negative errno as returned by the native layer. */
  static fromErrno(negErrno: number, what: string): IpcError {
    const n = Math.abs(negErrno);
    return new IpcError(errnoName(n) ?? `E${n}`, what);
  }
}

/** `make()` with no stack trace captured for the errors it constructs. */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
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
