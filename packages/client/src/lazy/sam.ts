// What the published bundle has where src/index.ts exports ../sam/index.ts as `sam` (package.json
// "bundle": { "lazy" }): the same names, each loading dist/sam/index.js, the `./sam` entry, on its
// first call. That file is the one SAM state of the process whichever way it is reached: require()
// and import() of an ES module share Node's module map (require of ESM: Node >= 20.19, like
// the engines field). require, not import(): the synchronous calls (isSupervisedChild, state,
// hcSend...) must answer from that state even before any asynchronous one ran.
import type * as Impl from '../sam/index.js';

export {
  SAM_RECOVERY_POLICY_QUIT,
  SAM_RECOVERY_POLICY_RESTART,
  SAM_RECOVERY_POLICY_QUORUM,
  SAM_RECOVERY_POLICY_QUORUM_QUIT,
  SAM_RECOVERY_POLICY_QUORUM_RESTART,
  SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_CONFDB,
} from '@corosync-ts/types';

let impl: typeof Impl | undefined;
function sam(): typeof Impl {
  // Relative to the bundle's file in dist/, where the bundle writes this module (not to src/lazy/).
  impl ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('./sam/index.js') as typeof Impl;
  return impl;
}

type Fn = (...args: unknown[]) => unknown;
// Named as the real function (stack traces, util.inspect).
const named = <K extends keyof typeof Impl>(name: K, fn: Fn) => Object.defineProperty(fn, 'name', { value: name }) as unknown as (typeof Impl)[K];
const call = <K extends keyof typeof Impl>(name: K) => named(name, (...args) => (sam()[name] as Fn)(...args));
// An asynchronous call rejects, whatever fails (loading included), as the real one does.
const callAsync = <K extends keyof typeof Impl>(name: K) => named(name, async (...args) => (sam()[name] as Fn)(...args));

export const isSupervisedChild = call('isSupervisedChild');
export const initialize = callAsync('initialize');
export const register = callAsync('register');
export const start = callAsync('start');
export const stop = callAsync('stop');
export const hcSend = call('hcSend');
export const hcCallbackRegister = call('hcCallbackRegister');
export const warnSignalSet = callAsync('warnSignalSet');
export const dataStore = callAsync('dataStore');
export const dataGetsize = call('dataGetsize');
export const dataRestore = call('dataRestore');
export const markFailed = call('markFailed');
export const finalize = callAsync('finalize');
export const state = call('state');
