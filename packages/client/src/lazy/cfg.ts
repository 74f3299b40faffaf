// What the published bundle has where src/index.ts exports ../cfg.ts (package.json "bundle": { "lazy" }):
// the constants, and a CfgHandle and a `cfg` whose initialize loads ../cfg.ts as a file of its own
// on first use (scripts/bundle.mjs). Types, src/ and the tests of src/ are ../cfg.ts's. Every
// export of ../cfg.ts is here with the real one's type (a constant's literal type: a value that
// drifts is a type error); test/entry-points.test.ts compares the two modules' export lists.
import type * as Impl from '../cfg.js';
import { freeFunctions, type HandleOptions } from '../session.js';

export const COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST: typeof Impl.COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST = 0;
export const COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS: typeof Impl.COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS = 1;
export const COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE: typeof Impl.COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE = 2;
export const COROSYNC_CFG_SHUTDOWN_FLAG_NO: typeof Impl.COROSYNC_CFG_SHUTDOWN_FLAG_NO = 0;
export const COROSYNC_CFG_SHUTDOWN_FLAG_YES: typeof Impl.COROSYNC_CFG_SHUTDOWN_FLAG_YES = 1;
export const CFG_NODE_STATUS_V1: typeof Impl.CFG_NODE_STATUS_V1 = 1;
export const CFG_MAX_LINKS: typeof Impl.CFG_MAX_LINKS = 8;
export const CFG_MAX_HOST_LEN: typeof Impl.CFG_MAX_HOST_LEN = 256;

let impl: typeof Impl | undefined;

/**
 * The class users name. Handles are instances of the real class (which extends Session), made
 * once its file is loaded: `instanceof` answers for them. No handle exists before, so none is
 * missed.
 */
export class CfgHandle {
  static [Symbol.hasInstance](value: unknown): boolean {
    return impl !== undefined && value instanceof impl.CfgHandle;
  }

  private constructor() {}

  static async initialize(callbacks?: Impl.CfgCallbacks | null, opts?: HandleOptions): Promise<Impl.CfgHandle> {
    impl ??= await import('../cfg.js');
    return impl.CfgHandle.initialize(callbacks, opts);
  }
}

/** libcfg: `const h = await cfg.initialize(); await cfg.localGet(h)`. */
export const cfg: typeof Impl.cfg = freeFunctions<Impl.CfgHandle>()(
  { initialize: CfgHandle.initialize },
  [
    'finalize', 'fdGet', 'dispatch',
    'ringStatusGet', 'nodeStatusGet', 'killNode', 'trackstart', 'trackstop', 'tryShutdown', 'replytoShutdown',
    'getNodeAddrs', 'localGet', 'reloadConfig', 'reopenLogFiles', 'events',
  ] as const,
);
