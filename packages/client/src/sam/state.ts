import { SamState } from '@corosync-ts/types';
import type { SamCmapLink, SamQuorumLink } from './links.js';
import type { ChildChannel } from './child.js';

export type HcCallback = () => unknown;

/** libsam's sam_internal_data: one per process, as libsam allows one SAM instance per process. */
export interface SamInternal {
  status: number;
  timeInterval: number;
  policy: number;
  instanceId: number;
  warnSignal: number;
  /** True in the supervised child once register() has resolved there. */
  amIChild: boolean;
  userData: Uint8Array | null;
  /** Set while initialize() awaits the quorum service, so a second call cannot race it. */
  busy: boolean;

  hcCallback: HcCallback | null;
  cbRegistered: boolean;
  /** The heartbeat ticker of sam_hc_callback_register: 0 stopped, 1 running, 3 failed for good. */
  cbStatus: number;
  cbCounter: number;
  cbTimer: ReturnType<typeof setTimeout> | undefined;

  channel: ChildChannel | undefined;
  quorum: SamQuorumLink | undefined;
  cmap: SamCmapLink | undefined;
}

export function freshState(): SamInternal {
  return {
    status: SamState.NOT_INITIALIZED,
    timeInterval: 0,
    policy: 0,
    instanceId: 0,
    warnSignal: 15,
    amIChild: false,
    userData: null,
    busy: false,
    hcCallback: null,
    cbRegistered: false,
    cbStatus: 0,
    cbCounter: 0,
    cbTimer: undefined,
    channel: undefined,
    quorum: undefined,
    cmap: undefined,
  };
}
