import { renderCorosyncConf, type ConfQuorum } from '@corosync-ts/types';
import { ConfigError } from './errors.js';

export interface NodeSpec {
  id: number;
  /** nodelist.node.X.quorum_votes (default 1). */
  votes?: number;
  /** nodelist.node.X.name (default `node<id>`). */
  name?: string;
  /** ring0_addr (default 127.0.0.<id>, or 127.0.<id>>8>.<id&255> above 254). */
  addr?: string;
}

/** The quorum section the simulator models: votequorum always, no raw lines. */
export interface QuorumSpec extends Omit<ConfQuorum, 'provider' | 'autoTieBreakerNode' | 'extra'> {
  /** 'lowest' | 'highest' | list of node ids. */
  autoTieBreakerNode?: 'lowest' | 'highest' | number[];
}

export interface ClusterSpec {
  /** A node count (ids 1..n) or explicit nodes. */
  nodes: number | NodeSpec[];
  clusterName?: string;
  quorum?: QuorumSpec;
  /** `quorum.provider` (default corosync_votequorum; null for none). */
  provider?: string | null;
}

function addrFor(id: number): string {
  return id <= 254 ? `127.0.0.${id}` : `127.0.${(id >> 8) & 255}.${id & 255 || 1}`;
}

/** Renders a cluster spec as the corosync.conf a real cluster would use. */
export function specToConf(spec: ClusterSpec): string {
  if (typeof spec.nodes === 'number' && !(Number.isSafeInteger(spec.nodes) && spec.nodes >= 1)) {
    throw new ConfigError(`nodes must be a positive integer or a list of nodes, got ${spec.nodes}`);
  }
  const nodes: NodeSpec[] = typeof spec.nodes === 'number'
    ? Array.from({ length: spec.nodes }, (_, i) => ({ id: i + 1 }))
    : spec.nodes;
  if (nodes.length === 0) throw new ConfigError('a cluster needs at least one node');
  const ids = new Set<number>();
  for (const n of nodes) {
    if (!Number.isInteger(n.id) || n.id < 1 || n.id > 0xffffffff) throw new ConfigError(`invalid node id ${n.id}`);
    if (ids.has(n.id)) throw new ConfigError(`duplicate node id ${n.id}`);
    ids.add(n.id);
  }
  const { provider, quorum } = spec;
  return renderCorosyncConf({
    totem: { version: 2, cluster_name: spec.clusterName ?? 'mockcluster', transport: 'knet', crypto_cipher: 'none', crypto_hash: 'none' },
    logging: { to_logfile: 'no', to_syslog: 'no', to_stderr: 'no', timestamp: 'on' },
    quorum: { ...quorum, ...(provider !== undefined ? { provider } : {}) },
    nodes: nodes.map((n) => ({ nodeid: n.id, name: n.name, addrs: [n.addr ?? addrFor(n.id)], votes: n.votes })),
  });
}
