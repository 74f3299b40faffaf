// Option checks of every initialize. Its own small module: sam/index.ts must not load the
// session (and with it the transport and codec) just to check its options.
import { CS_ERR_INVALID_PARAM, CsError } from '@corosync-ts/types';
import type { HandleOptions } from './session.js';

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
  kind('timeout', typeof opts.timeout === 'number' && !Number.isNaN(opts.timeout), 'a number of ms (negative or Infinity: none)');
  kind('signal', typeof opts.signal?.aborted === 'boolean' && typeof opts.signal.addEventListener === 'function', 'an AbortSignal');
  kind('connect', typeof opts.connect === 'function', 'a function');
  kind('retry', typeof opts.retry === 'boolean' || (typeof opts.retry === 'object' && opts.retry !== null), 'a boolean or a RetryPolicy');
  kind('reconnect', typeof opts.reconnect === 'boolean' || (typeof opts.reconnect === 'object' && opts.reconnect !== null), 'a boolean or a ReconnectPolicy');
}
