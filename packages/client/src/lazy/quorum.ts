// What the published bundle has where src/index.ts imports ../quorum.ts (package.json "bundle": { "lazy" }):
// a QuorumHandle whose initialize and modelInitialize load ../quorum.ts as a file of its own on first
// use (scripts/bundle.mjs): a fresh process compiles every byte it imports, and a cmap-only script
// never connects to quorum. Types, src/ and the tests of src/ are ../quorum.ts's; every export of
// ../quorum.ts that is a value is here (test/entry-points.test.ts compares the two modules).
import type * as Impl from '../quorum.js';
import type { HandleOptions } from '../session.js';

let impl: typeof Impl | undefined;
const load = async (): Promise<typeof Impl> => (impl ??= await import('../quorum.js'));

/**
 * The class users name. Handles are instances of the real class (which extends Session), made
 * once its file is loaded: `instanceof` answers for them. No handle exists before, so none is
 * missed. The real statics validate their arguments inside the returned promise, as these do.
 */
export class QuorumHandle {
  static [Symbol.hasInstance](value: unknown): boolean {
    return impl !== undefined && value instanceof impl.QuorumHandle;
  }

  private constructor() {}

  static async initialize(callbacks?: Impl.QuorumCallbacks | null, opts?: HandleOptions): Promise<Impl.QuorumHandle> {
    return (await load()).QuorumHandle.initialize(callbacks, opts);
  }

  static async modelInitialize(
    model: number,
    modelData?: Impl.QuorumCallbacks | Impl.QuorumV1Callbacks | null,
    context?: unknown,
    opts?: HandleOptions,
  ): Promise<Impl.QuorumHandle> {
    return (await load()).QuorumHandle.modelInitialize(model, modelData, context, opts);
  }
}
