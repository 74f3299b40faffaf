import { withoutStack } from '@corosync-ts/ipc';
import { CS_ERR_LIBRARY, CS_ERR_INVALID_PARAM, CsError, Errno, csErrorFromErrno, isCsError } from '@corosync-ts/types';

/** An IpcError from any copy of @corosync-ts/ipc, recognised by shape (errno + code). */
function ipcErrno(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { name, errno } = e as { name?: unknown; errno?: unknown };
  return name === 'IpcError' && typeof errno === 'number' ? Math.abs(errno) : undefined;
}

/**
 * Maps whatever a transport call threw to the CsError the C library would have returned:
 * corosync's qb_to_cs_error() for libqb errnos (disconnect, ECONNREFUSED → CS_ERR_LIBRARY),
 * CS_ERR_LIBRARY for anything unrecognised (a malformed frame from the peer included).
 */
export function toCsError(e: unknown, operation: string): CsError {
  if (isCsError(e)) return e;
  const errno = ipcErrno(e);
  // A send refused now (a full ring or socket, flow control): a loop's flow-control signal, as
  // libcpg's int, built without a stack trace as ipc's IpcError.tryAgain is.
  if (errno === Errno.EAGAIN) return withoutStack(() => new CsError(csErrorFromErrno(errno), (e as Error).message, { operation, cause: e }));
  if (errno !== undefined) return new CsError(csErrorFromErrno(errno), (e as Error).message, { operation, cause: e });
  return new CsError(CS_ERR_LIBRARY, e instanceof Error ? e.message : String(e), { operation, cause: e });
}

export function invalidParam(operation: string, why: string): CsError {
  return new CsError(CS_ERR_INVALID_PARAM, why, { operation });
}

const utf8 = new TextEncoder();
// eslint-disable-next-line no-control-regex -- NUL is ASCII too: any code unit below 0x80 is one UTF-8 byte
const ASCII = /^[\x00-\x7f]*$/;
/** UTF-8 length, without encoding the (usual) ASCII strings. */
export function byteLength(s: string): number {
  return ASCII.test(s) ? s.length : utf8.encode(s).length;
}

export function checkU32(operation: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw invalidParam(operation, `${name} must be an integer in 0..4294967295, got ${String(v)}`);
  }
  return v;
}

/** A count or size (capacity, length, maximum): a non-negative integer. */
export function checkCount(operation: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalidParam(operation, `${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

export function checkI32(operation: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw invalidParam(operation, `${name} must be an integer in -2147483648..2147483647, got ${String(v)}`);
  }
  return v;
}

export function checkU64(operation: string, name: string, v: unknown): bigint {
  const b = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof b !== 'bigint' || b < 0n || b > 0xffffffffffffffffn) {
    throw invalidParam(operation, `${name} must be a bigint in 0..2^64-1, got ${String(v)}`);
  }
  return b;
}
