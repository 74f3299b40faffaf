// Everything except the vitest helpers, importable from plain Node scripts (e.g. tools/capture).
export { corosyncConf, type ConfOptions, type IpcTransport, type NodeSpec, type QuorumOptions } from './conf.js';
export {
  Namespace,
  openNamespaces,
  startNamespace,
  type CorosyncProcess,
  type NamespaceOptions,
  type StartCorosyncOptions,
} from './namespace.js';
export { startCluster, type Cluster, type ClusterOptions } from './cluster.js';
export { ccCacheDir, compileC, realCorosync } from './real.js';
export { crashTraceEnv, crashTraceLib } from './crashtrace.js';
export { ipcFds, shmMappings } from './leaks.js';
export { describeDifference, LineDriver, settled, spawnDriver } from './linedriver.js';
export { watchLines, type Ended } from './lines.js';
export { sequenceShare } from './share.js';
export { GiveUp, pidsInNetns, run, runOk, waitFor, type ExecOptions, type ExecResult } from './proc.js';
