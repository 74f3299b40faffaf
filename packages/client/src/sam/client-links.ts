// Through the package's main entry, not ../cmap.js: the bundle keeps sam in a file of its own, and
// these must be the main entry's classes, not copies of them. The constants too: the bundle inlines
// @corosync-ts/types, and from here a copy of it would be a chunk shared with sam's entry file.
import { CS_ERR_LIBRARY, CS_ERR_NO_SECTIONS, CS_TRACK_CHANGES, CmapHandle, CsError, QuorumHandle, isCsError } from '../index.js';
import type { HandleOptions } from '../session.js';
import type { SamCmapLink, SamLinkFactory, SamQuorumLink } from './links.js';

/** The supervisor's daemon connections, over this package's own cmap and quorum handles. */
export function clientLinks(opts: HandleOptions = {}): SamLinkFactory {
  return {
    async openCmap(): Promise<SamCmapLink> {
      const h = await CmapHandle.initialize(opts);
      h.on('error', () => {});
      h.on('disconnect', () => {});
      return {
        setString: (key, value) => h.setString(key, value),
        setUint64: (key, value) => h.setUint64(key, value),
        async deletePrefix(prefix) {
          const iter = await h.iterInit(prefix);
          try {
            for (;;) {
              let key: string;
              try {
                key = (await h.iterNext(iter)).keyName;
              } catch (e) {
                if (isCsError(e, CS_ERR_NO_SECTIONS)) break;
                throw e;
              }
              await h.delete(key).catch(() => {});
            }
          } finally {
            await h.iterFinalize(iter).catch(() => {});
          }
        },
        close: () => h.finalize(),
      };
    },

    async openQuorum(): Promise<SamQuorumLink> {
      let quorate = false;
      let failure: CsError | undefined;
      let first!: () => void;
      const gotFirst = new Promise<void>((resolve) => (first = resolve));
      const listeners: (() => void)[] = [];
      const fire = () => {
        for (const l of listeners) l();
      };
      const h = await QuorumHandle.initialize(
        {
          quorumNotify: (n) => {
            quorate = n.quorate;
            first();
            fire();
          },
        },
        opts,
      );
      const broke = (reason: unknown) => {
        if (failure !== undefined) return;
        // quorum_dispatch's answer once the daemon is gone or sent garbage: CS_ERR_LIBRARY.
        failure = new CsError(CS_ERR_LIBRARY, 'quorum connection lost', { operation: 'quorum.dispatch', cause: reason });
        first();
        fire();
      };
      h.on('error', broke);
      h.on('disconnect', broke);
      try {
        await h.trackstart(CS_TRACK_CHANGES);
        // sam_initialize's quorum_dispatch(CS_DISPATCH_ONE): the snapshot trackstart sends.
        await gotFirst;
        if (failure !== undefined) throw failure;
      } catch (e) {
        await h.finalize().catch(() => {});
        throw e;
      }
      return {
        get quorate() {
          return quorate;
        },
        get failure() {
          return failure;
        },
        onEvent: (l) => void listeners.push(l),
        close: () => h.finalize(),
      };
    },
  };
}
