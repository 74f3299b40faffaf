// What the published bundle has where src/index.ts exports ../cpg.ts (package.json "bundle": { "lazy" }):
// the constants, and a CpgHandle and a `cpg` whose initialize loads ../cpg.ts, with zcb, as a file
// of its own on first use (scripts/bundle.mjs). Types, src/ and the tests of src/ are ../cpg.ts's.
// Every export of ../cpg.ts is here with the real one's type: a constant's literal type, so a value
// that drifts is a type error; test/entry-points.test.ts compares the two modules' export lists.
import type * as Impl from '../cpg.js';
import { checkKeys } from '../options.js';
import { common, freeFunctions, type HandleOptions } from '../session.js';

export const CPG_TYPE_UNORDERED: typeof Impl.CPG_TYPE_UNORDERED = 0;
export const CPG_TYPE_FIFO: typeof Impl.CPG_TYPE_FIFO = 1;
export const CPG_TYPE_AGREED: typeof Impl.CPG_TYPE_AGREED = 2;
export const CPG_TYPE_SAFE: typeof Impl.CPG_TYPE_SAFE = 3;
export const CPG_FLOW_CONTROL_DISABLED: typeof Impl.CPG_FLOW_CONTROL_DISABLED = 0;
export const CPG_FLOW_CONTROL_ENABLED: typeof Impl.CPG_FLOW_CONTROL_ENABLED = 1;
export const CPG_REASON_UNDEFINED: typeof Impl.CPG_REASON_UNDEFINED = 0;
export const CPG_REASON_JOIN: typeof Impl.CPG_REASON_JOIN = 1;
export const CPG_REASON_LEAVE: typeof Impl.CPG_REASON_LEAVE = 2;
export const CPG_REASON_NODEDOWN: typeof Impl.CPG_REASON_NODEDOWN = 3;
export const CPG_REASON_NODEUP: typeof Impl.CPG_REASON_NODEUP = 4;
export const CPG_REASON_PROCDOWN: typeof Impl.CPG_REASON_PROCDOWN = 5;
export const CPG_ITERATION_NAME_ONLY: typeof Impl.CPG_ITERATION_NAME_ONLY = 1;
export const CPG_ITERATION_ONE_GROUP: typeof Impl.CPG_ITERATION_ONE_GROUP = 2;
export const CPG_ITERATION_ALL: typeof Impl.CPG_ITERATION_ALL = 3;
export const CPG_MODEL_V1: typeof Impl.CPG_MODEL_V1 = 1;
export const CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF: typeof Impl.CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF = 0x01;
export const CPG_MAX_NAME_LENGTH: typeof Impl.CPG_MAX_NAME_LENGTH = 128;
export const CPG_MEMBERS_MAX: typeof Impl.CPG_MEMBERS_MAX = 128;
export const CPG_MAX_ATOMIC_MSGSIZE: typeof Impl.CPG_MAX_ATOMIC_MSGSIZE = 1048576 - 1024;

let impl: typeof Impl | undefined;
const load = async (): Promise<typeof Impl> => (impl ??= await import('../cpg.js'));

/**
 * The class users name. Handles are instances of the real class (which extends Session), made
 * once its file is loaded: `instanceof` answers for them. No handle exists before, so none is
 * missed.
 */
export class CpgHandle {
  static [Symbol.hasInstance](value: unknown): boolean {
    return impl !== undefined && value instanceof impl.CpgHandle;
  }

  private constructor() {}

  static async initialize(callbacks?: Impl.CpgCallbacks | null, opts?: HandleOptions): Promise<Impl.CpgHandle> {
    // The real one checks the callbacks before anything (a rejection, never a throw): so does this.
    checkKeys('cpg.initialize', 'callbacks', callbacks, ['deliverFn', 'confchgFn']);
    return (await load()).CpgHandle.initialize(callbacks, opts);
  }

  static async modelInitialize(model: number, modelData?: Impl.CpgModelV1Data | null, context?: unknown, opts?: HandleOptions): Promise<Impl.CpgHandle> {
    return (await load()).CpgHandle.modelInitialize(model, modelData, context, opts);
  }
}

/** libcpg: `const h = await cpg.initialize({ deliverFn }); await cpg.join(h, 'group')`. */
export const cpg: typeof Impl.cpg = freeFunctions<Impl.CpgHandle>()(
  { initialize: CpgHandle.initialize, modelInitialize: CpgHandle.modelInitialize },
  common,
  [
    'join', 'leave', 'mcastJoined', 'membershipGet', 'localGet', 'iterationInitialize', 'iterationNext',
    'iterationFinalize', 'maxAtomicMsgsizeGet', 'flowControlStateGet', 'events', 'zcbAlloc', 'zcbFree', 'zcbMcastJoined',
  ] as const,
);
