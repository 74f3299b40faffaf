import type { CsError } from '@corosync-ts/types';

/**
 * The two daemon connections libsam's supervisor holds: cmap (CMAP policy) to publish
 * resources.process.<pid>.*, and quorum (QUORUM policy) as a V0 client tracking CS_TRACK_CHANGES.
 */
export interface SamCmapLink {
  setString(key: string, value: string): Promise<void>;
  setUint64(key: string, value: bigint): Promise<void>;
  /** Deletes every key under `prefix` (cmap_iter_init + cmap_delete of each, errors ignored). */
  deletePrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

export interface SamQuorumLink {
  /** The quorate flag of the last V0 notification. */
  readonly quorate: boolean;
  /** Set once the connection broke (what quorum_dispatch would then return). */
  readonly failure: CsError | undefined;
  /** Called after every notification and once on failure: libsam's "quorum fd is readable". */
  onEvent(listener: () => void): void;
  close(): Promise<void>;
}

export interface SamLinkFactory {
  openCmap(): Promise<SamCmapLink>;
  /** quorum_initialize (V0) + trackstart(CS_TRACK_CHANGES) + the first notification. */
  openQuorum(): Promise<SamQuorumLink>;
}
