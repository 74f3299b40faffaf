/// <reference types="node" preserve="true" />
// The published .d.ts files name Node types (Buffer, EventEmitter, NodeJS.*): they bring them along.
export { parseCorosyncConf, parseUidgidFile } from './config.js';
export type { ConfigEntry, ParseOptions } from './config.js';
export { CmapStore, isReadOnlyKey, isValidNewKeyName } from './cmap-store.js';
export type { CmapItem, CmapChange, CmapTrack } from './cmap-store.js';
export { encodeStored, decodeStored } from './values.js';
export type { CmapJsValue } from './values.js';
export { ManualClock, SystemClock } from './clock.js';
export type { Clock } from './clock.js';
export { VotequorumEngine, NodeFlags, NodeState, Atb } from './votequorum.js';
export type { RingId, VqMessage, VqInfo, VqNode, VqHost } from './votequorum.js';
export { Cluster, SimNode, createCluster } from './cluster.js';
export type { CreateClusterOptions, NodeListener, NodeStatus } from './cluster.js';
export { specToConf } from './spec.js';
export type { ClusterSpec, NodeSpec, QuorumSpec } from './spec.js';
export { ConfigError, isConfigError, MockError, isMockError } from './errors.js';
export { CpgBus, CpgNode, CpgConn, CpgReason, CpgIterationType, JoinState } from './cpg/groups.js';
export type { CpgAddress, CpgClient, CpgProcess, CpgIterationEntry } from './cpg/groups.js';
export { NodeServices } from './node-services.js';
export type { ServiceConnection } from './node-services.js';
export type { FrameSink, ClientInfo } from './services/connection.js';
export type { ServiceName } from './services/index.js';
export { Faults } from './faults.js';
export type { CallName, EventName, FaultRequest, ErrorFault, KillFault, FlowControlFault, DelayFault, FaultHandle } from './faults.js';
export { MockCorosync, startMockCorosync } from './server.js';
export type { MockCorosyncOptions, MockLimits, Endpoint } from './server.js';
