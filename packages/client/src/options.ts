// Option checks of every initialize. Its own small module: sam/index.ts must not load the
// session (and with it the transport and codec) just to check its options.
import { CS_ERR_INVALID_PARAM, CsError } from '@corosync-ts/types';
import { resolveRetry } from './retry.js';
import type { CallOptions, HandleOptions } from './session.js';

// Every HandleOptions key: an option added to the interface but not here fails to compile.
const HANDLE_OPTION_KEYS: Record<keyof HandleOptions, true> = {
  ipcPrefix: true,
  ipcName: true,
  dispatch: true,
  timeout: true,
  retry: true,
  reconnect: true,
  maxMessageSize: true,
  signal: true,
  connect: true,
  maxInFlight: true,
  allowProvider: true,
  capture: true,
};

/**
 * CS_ERR_INVALID_PARAM for a key `obj` does not know: a misspelt option, or `{ ipcPrefix }` slipped
 * into the callbacks object, must not silently reach the real corosync's names.
 */
export function checkKeys(operation: string, what: 'options' | 'callbacks', obj: object | null | undefined, known: readonly string[]): void {
  if (obj === null || obj === undefined) return;
  for (const [key, value] of Object.entries(obj)) {
    if (known.includes(key)) {
      // A callback is a function, or null/undefined for none (NULL in C); cpg's model data also holds `flags`.
      if (what === 'callbacks' && key !== 'flags' && value !== undefined && value !== null && typeof value !== 'function') {
        throw invalid(operation, `callback '${key}' must be a function, got ${typeof value}`);
      }
      continue;
    }
    const hint = what === 'callbacks' && key in HANDLE_OPTION_KEYS ? ` ('${key}' is a handle option: pass it in the options argument)` : '';
    throw invalid(operation, `unknown ${what} key '${key}'${hint}; known: ${known.join(', ')}`);
  }
}

const invalid = (operation: string, message: string) => new CsError(CS_ERR_INVALID_PARAM, message, { operation });

/**
 * checkKeys for HandleOptions, and the kind of each value the client itself reads (the transport
 * checks maxMessageSize, maxInFlight and allowProvider; captureWriterFor checks capture): a
 * `dispatch: 'Manual'` or `ipcPrefix: 5` must not become 'auto' or a TypeError deep inside.
 */
export function checkHandleOptions(operation: string, opts: HandleOptions | undefined): void {
  checkKeys(operation, 'options', opts, Object.keys(HANDLE_OPTION_KEYS));
  if (opts === undefined || opts === null) return;
  const kind = (name: keyof HandleOptions, ok: boolean, want: string) => {
    if (opts[name] !== undefined && !ok) throw invalid(operation, `option ${name} must be ${want}, got ${String(opts[name])}`);
  };
  kind('ipcPrefix', typeof opts.ipcPrefix === 'string', 'a string');
  kind('ipcName', typeof opts.ipcName === 'string', 'a string');
  kind('dispatch', opts.dispatch === 'auto' || opts.dispatch === 'manual', "'auto' or 'manual'");
  kind('timeout', isTimeout(opts.timeout), TIMEOUT);
  kind('signal', isSignal(opts.signal), 'an AbortSignal');
  kind('connect', typeof opts.connect === 'function', 'a function');
  kind('retry', typeof opts.retry === 'boolean' || (typeof opts.retry === 'object' && opts.retry !== null), 'a boolean or a RetryPolicy');
  kind('reconnect', typeof opts.reconnect === 'boolean' || (typeof opts.reconnect === 'object' && opts.reconnect !== null), 'a boolean or a ReconnectPolicy');
}

// String() throws for an object without a prototype.
const show = (v: unknown) => (typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : String(v));
const TIMEOUT = 'a number of ms (negative or Infinity: none)';
const isTimeout = (v: unknown) => typeof v === 'number' && !Number.isNaN(v);
const isSignal = (v: unknown) =>
  typeof (v as AbortSignal | undefined)?.aborted === 'boolean' && typeof (v as AbortSignal).addEventListener === 'function';

/**
 * The deadline and signal of a call, checked before it sends or queues anything: a NaN or '100'
 * deadline was no deadline at all, a signal without addEventListener a TypeError after the call
 * had taken its turn in a queue (which it then held for good).
 */
export function checkDeadline(operation: string, timeout: unknown, signal: unknown): void {
  if (timeout !== undefined && !isTimeout(timeout)) throw invalid(operation, `option timeout must be ${TIMEOUT}, got ${show(timeout)}`);
  if (signal !== undefined && !isSignal(signal)) throw invalid(operation, `option signal must be an AbortSignal, got ${show(signal)}`);
}

/** checkDeadline for a call's options, and its retry policy: for a call that queues before withDeadline() runs. */
export function checkCallOptions(operation: string, opts: CallOptions | undefined): void {
  if (opts === undefined || opts === null) return;
  checkDeadline(operation, opts.timeout, opts.signal);
  if (opts.retry !== undefined) resolveRetry(opts.retry);
}
