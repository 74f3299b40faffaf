// What the published bundle has where src/index.ts imports ../votequorum.ts (package.json "bundle":
// { "lazy" }): a VotequorumHandle whose initialize loads ../votequorum.ts as a file of its own on
// first use (scripts/bundle.mjs), as src/lazy/quorum.ts does for quorum. Types, src/ and the tests
// of src/ are ../votequorum.ts's.
import type * as Impl from '../votequorum.js';
import type { HandleOptions } from '../session.js';

let impl: typeof Impl | undefined;

/** The class users name; handles are instances of the real class (see src/lazy/quorum.ts). */
export class VotequorumHandle {
  static [Symbol.hasInstance](value: unknown): boolean {
    return impl !== undefined && value instanceof impl.VotequorumHandle;
  }

  private constructor() {}

  static async initialize(callbacks?: Impl.VotequorumCallbacks | null, opts?: HandleOptions): Promise<Impl.VotequorumHandle> {
    impl ??= await import('../votequorum.js');
    return impl.VotequorumHandle.initialize(callbacks, opts);
  }
}
