/// <reference types="node" preserve="true" />
// The published .d.ts files name Node types (Buffer, EventEmitter, NodeJS.*): they bring them along.
import { CmapHandle } from './cmap.js';
import { QuorumHandle } from './quorum.js';
import { VotequorumHandle } from './votequorum.js';

export { CmapHandle, CmapTrackStream } from './cmap.js';
export type { CmapEntry, CmapGetOptions, CmapIterItem, CmapNotification, CmapNotifyFn, CmapNotifyValue, CmapSnapshot, CmapValue } from './cmap.js';
export { QuorumHandle } from './quorum.js';
export type {
  QuorumCallbacks, QuorumEvent, QuorumNotification, QuorumSnapshot, QuorumV1Callbacks,
  QuorumV1NodelistNotification, QuorumV1QuorumNotification, RingId,
} from './quorum.js';
export { VotequorumHandle } from './votequorum.js';
export type {
  VotequorumCallbacks, VotequorumEvent, VotequorumExpectedVotesNotification, VotequorumInfo, VotequorumNodeEntry,
  VotequorumNodelistNotification, VotequorumQuorumNotification, VotequorumSnapshot,
} from './votequorum.js';
export * from './cpg.js';
export * from './cfg.js';
export { Session } from './session.js';
export type { CallOptions, Connector, HandleOptions, IpcClientLike, ReconnectPolicy, ServiceName } from './session.js';
export type { ProviderPolicy } from '@corosync-ts/ipc';
export { DEFAULT_RETRY } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { EventStream } from './stream.js';
import { common, freeFunctions } from './session.js';
// The constants and CsError every caller of these APIs needs, from the one package that owns them.
export * from '@corosync-ts/types';


/** libcmap: `const h = await cmap.initialize(); await h.get('totem.cluster_name')`, or `cmap.get(h, key)`. */
export const cmap = freeFunctions<CmapHandle>()(
  { initialize: CmapHandle.initialize, initializeMap: CmapHandle.initializeMap },
  common,
  [
    'get', 'getInfo', 'set', 'setRaw', 'delete', 'inc', 'dec',
    'getInt8', 'getUint8', 'getInt16', 'getUint16', 'getInt32', 'getUint32', 'getInt64', 'getUint64', 'getFloat', 'getDouble', 'getString',
    'setInt8', 'setUint8', 'setInt16', 'setUint16', 'setInt32', 'setUint32', 'setInt64', 'setUint64', 'setFloat', 'setDouble', 'setString',
    'iterInit', 'iterNext', 'iterFinalize', 'iter', 'trackAdd', 'trackDelete', 'track',
  ] as const,
);

/** libquorum. */
export const quorum = freeFunctions<QuorumHandle>()(
  { initialize: QuorumHandle.initialize, modelInitialize: QuorumHandle.modelInitialize },
  common,
  ['getquorate', 'trackstart', 'trackstop', 'notifications'] as const,
);

/** libvotequorum. */
export const votequorum = freeFunctions<VotequorumHandle>()(
  { initialize: VotequorumHandle.initialize },
  common,
  [
    'getinfo', 'setexpected', 'setvotes', 'trackstart', 'trackstop',
    'qdeviceRegister', 'qdeviceUnregister', 'qdeviceUpdate', 'qdevicePoll', 'qdeviceMasterWins', 'notifications',
  ] as const,
);

/** libsam for Node: see src/sam/README.md (also importable alone as `@corosync-ts/client/sam`). */
export * as sam from './sam/index.js';
export type {
  HcCallback as SamHcCallback,
  InitializeOptions as SamInitializeOptions,
  RegisterOptions as SamRegisterOptions,
  SupervisorEvent as SamSupervisorEvent,
} from './sam/index.js';
