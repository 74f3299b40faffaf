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
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const hint = what === 'callbacks' && key in HANDLE_OPTION_KEYS ? ` ('${key}' is a handle option: pass it in the options argument)` : '';
    throw new CsError(CS_ERR_INVALID_PARAM, `unknown ${what} key '${key}'${hint}; known: ${known.join(', ')}`, { operation });
  }
}

/** checkKeys for HandleOptions. */
export function checkHandleOptions(operation: string, opts: HandleOptions | undefined): void {
  checkKeys(operation, 'options', opts, Object.keys(HANDLE_OPTION_KEYS));
}
